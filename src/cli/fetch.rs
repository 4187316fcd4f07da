//! `newsdesk fetch`: one run now, through the running daemon's admin endpoint when one answers,
//! in this process otherwise, with progress on stderr and a per-source summary.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;

use anyhow::Context as _;

use newsdesk::config::Config;
use newsdesk::config::ListenAddr;
use newsdesk::daemon::protocol::FetchLine;
use newsdesk::model::{RunProgress, RunReport, SourceReport, Trigger};
use newsdesk::pipeline::{Pipeline, RunRequest};

use super::admin_client::{AdminClient, ClientError};
use super::{output, Format};

// `newsdesk fetch`'s arguments (the command's help is the variant's doc comment).
#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    /// Only this source (repeatable).
    #[arg(long = "source", value_name = "NAME")]
    sources: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Run in this process even when a daemon is up.
    #[arg(long)]
    no_daemon: bool,
}

/// Prints run progress on stderr: one rewritten line on a terminal, plain lines otherwise.
struct Progress {
    tty: bool,
    total: Option<usize>,
    done: usize,
    stored: i64,
    dirty: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            total: None,
            done: 0,
            stored: 0,
            dirty: false,
        }
    }

    fn started(&mut self, run_id: i64, sources: usize, where_: &str) {
        self.total = Some(sources);
        if self.tty {
            self.redraw("");
        } else {
            eprintln!("run {run_id} started {where_}: {sources} source(s)");
        }
    }

    fn source_done(&mut self, r: &SourceReport) {
        self.done += 1;
        self.stored += r.counts.stored;
        if self.tty {
            self.redraw(&format!("{} {}", r.name, r.status.short()));
        } else {
            let total = self.total.map_or("?".into(), |t| t.to_string());
            eprintln!(
                "[{}/{total}] {}: {}, {} item(s), {} stored, {} duplicate, {} off topic, {} failed",
                self.done,
                r.name,
                r.status,
                r.counts.items,
                r.counts.stored,
                r.counts.duplicates,
                r.counts.off_topic,
                r.counts.failed
            );
        }
    }

    fn redraw(&mut self, last: &str) {
        let total = self.total.map_or("?".into(), |t| t.to_string());
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Ksources {}/{total} done, {} stored  {last}",
            self.done, self.stored
        );
        let _ = err.flush();
        self.dirty = true;
    }

    fn finish(&mut self) {
        if self.dirty {
            eprintln!();
            self.dirty = false;
        }
    }

    fn on_progress(&mut self, p: &RunProgress, where_: &str) {
        match p {
            RunProgress::Started { run_id, sources } => self.started(*run_id, *sources, where_),
            RunProgress::SourceDone { report } => self.source_done(report),
        }
    }
}

/// `newsdesk fetch`: through the running daemon's admin endpoint when one answers, in this
/// process otherwise. Either way the run is recorded with trigger `manual`.
pub async fn run(config: Arc<Config>, args: FetchArgs) -> anyhow::Result<()> {
    let FetchArgs {
        sources,
        format,
        no_daemon,
    } = args;
    if !no_daemon && !config.admin.listen.is_empty() {
        let addr = ListenAddr::parse(&config.admin.listen)
            .map_err(|e| anyhow::anyhow!("admin.listen: {e}"))?;
        let client = AdminClient::new(addr.clone(), config.admin.token.clone());
        let mut progress = Progress::new();
        let where_ = format!("in the daemon ({addr})");
        let result = client
            .fetch(&sources, |line| match line {
                FetchLine::Queued if !progress.tty => {
                    eprintln!("queued {where_}")
                }
                FetchLine::Started { run_id, sources } => {
                    progress.started(*run_id, *sources, &where_)
                }
                FetchLine::SourceDone { report } => progress.source_done(report),
                _ => {}
            })
            .await;
        progress.finish();
        match result {
            Ok(report) => return print_report(&report, format),
            Err(ClientError::NotRunning { addr, source }) => {
                tracing::info!(%addr, error = %source, "no daemon answers; running in this process");
            }
            Err(e) => return Err(e).context("fetch through the running daemon"),
        }
    }
    let report = fetch_in_process(config, sources).await?;
    print_report(&report, format)
}

async fn fetch_in_process(config: Arc<Config>, sources: Vec<String>) -> anyhow::Result<RunReport> {
    let store = super::open_store(&config).await?;
    let pipeline = Pipeline::new(config.clone(), store.clone())?;
    pipeline.sync_sources().await?;
    let shutdown = super::run::shutdown_signal()?;
    let req = RunRequest {
        trigger: Trigger::Manual,
        sources,
        force: true,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let mut progress = Progress::new();
        while let Some(p) = rx.recv().await {
            progress.on_progress(&p, "in this process");
        }
        progress.finish();
    });
    let result = pipeline.run_with_progress(&req, shutdown, Some(&tx)).await;
    drop(tx);
    let _ = printer.await;
    store.close().await;
    Ok(result?)
}

fn print_report(report: &RunReport, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let mut rows: Vec<Vec<String>> = report
        .sources
        .iter()
        .map(|s| {
            let c = &s.counts;
            vec![
                s.name.clone(),
                s.status.to_string(),
                c.items.to_string(),
                c.known.to_string(),
                c.stored.to_string(),
                c.duplicates.to_string(),
                c.off_topic.to_string(),
                c.failed.to_string(),
            ]
        })
        .collect();
    let c = &report.counts;
    rows.push(vec![
        "TOTAL".into(),
        format!("{} source(s), {} failed", c.sources, c.sources_failed),
        c.items.to_string(),
        c.known.to_string(),
        c.stored.to_string(),
        c.duplicates.to_string(),
        c.off_topic.to_string(),
        c.failed.to_string(),
    ]);
    println!(
        "run {}{}",
        report.run_id,
        if report.interrupted {
            " (interrupted)"
        } else {
            ""
        }
    );
    print!(
        "{}",
        output::table(
            &[
                "SOURCE",
                "STATUS",
                "ITEMS",
                "KNOWN",
                "STORED",
                "DUPLICATE",
                "OFF_TOPIC",
                "FAILED"
            ],
            &rows,
            70
        )
    );
    Ok(())
}
