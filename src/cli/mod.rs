//! Command line: clap definitions and one small function per command, each calling into the
//! library. Errors end here as `anyhow` with exit code 1; a refused config exits 2.

mod man;
mod ops;
mod output;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use tokio::sync::watch;

use newsdesk::config::{Config, ConfigError};
use newsdesk::extract::SiteRules;
use newsdesk::model::{Outcome, RunReport, StoryStatus};
use newsdesk::pipeline::Pipeline;
use newsdesk::publish::StoryFormat;
use newsdesk::store::{self, EventFilter, Store, StoryFilter};

/// newsdesk: keeps a newsroom's intake full of clean, on-topic, de-duplicated stories.
#[derive(Parser, Debug)]
#[command(name = "newsdesk", version, about, propagate_version = true)]
struct Cli {
    /// Config file [default: /etc/newsdesk/newsdesk.toml when it exists, else
    /// config/newsdesk.toml].
    #[arg(long, global = true, env = "NEWSDESK_CONFIG")]
    config: Option<PathBuf>,
    /// Log line format on stderr (filter with RUST_LOG).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon: fetch due sources on the cron schedule until SIGTERM/SIGINT.
    Run,
    /// Run once now (all sources, or the named ones) and print a per-source summary. Goes
    /// through the running daemon's admin endpoint when one answers; runs in this process
    /// otherwise.
    Fetch {
        /// Only this source (repeatable).
        #[arg(long = "source", value_name = "NAME")]
        sources: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Run in this process even when a daemon is up.
        #[arg(long)]
        no_daemon: bool,
    },
    /// Show runs and what happened to every item, newest first.
    Logs {
        /// Only this run.
        #[arg(long = "run", value_name = "ID")]
        run: Option<i64>,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only this outcome.
        #[arg(long, value_enum)]
        outcome: Option<Outcome>,
        /// Only events newer than this (e.g. 30m, 2h, 7d).
        #[arg(long, value_parser = parse_age)]
        since: Option<std::time::Duration>,
        /// At most this many events.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Output format (`json` with `--follow`: one object per line).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Keep printing new events as they are written (Ctrl-C stops).
        #[arg(long, conflicts_with = "errors")]
        follow: bool,
        /// Failures grouped by source: count, last error and when.
        #[arg(long)]
        errors: bool,
    },
    /// List stored stories, newest first; `publish`/`reject` set their status.
    #[command(args_conflicts_with_subcommands = true)]
    Stories {
        #[command(subcommand)]
        action: Option<StoriesAction>,
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<StoryStatus>,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only this same-event cluster.
        #[arg(long)]
        cluster: Option<i64>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// One entry per event cluster: its lead story and the other sources that reported it.
        #[arg(long)]
        group: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write stories for a publishing system (JSON Feed 1.1, Atom 1.0 or NDJSON).
    Export {
        /// Only this status.
        #[arg(long, value_enum, default_value_t = StoryStatus::New)]
        status: StoryStatus,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Format of the output.
        #[arg(long, value_enum, default_value_t = StoryFormat::Jsonfeed)]
        format: StoryFormat,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Write here instead of stdout (replaced atomically).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Mark the exported stories published once the output is written.
        #[arg(long)]
        mark_published: bool,
    },
    /// Each configured source with its fetch state; `import`/`export` OPML.
    #[command(args_conflicts_with_subcommands = true)]
    Sources {
        #[command(subcommand)]
        action: Option<SourcesAction>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Fetch one source without storing anything; list its items and what would happen.
    Preview {
        /// Feed or listing-page URL.
        url: String,
        /// What the URL is.
        #[arg(long, value_enum, default_value_t = KindArg::Feed)]
        kind: KindArg,
        /// CSS selector of article links (for `--kind page`).
        #[arg(long)]
        link_selector: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show what the extractor makes of saved pages (HTML, `.html.gz`, or `-` for stdin).
    Extract {
        /// Page URL, to resolve relative links.
        #[arg(long)]
        url: Option<url::Url>,
        /// CSS selector of the body element(s), to try a source's `body_selector`.
        #[arg(long)]
        body_selector: Option<String>,
        /// CSS selector of elements to remove (repeatable), to try a source's `drop_selectors`.
        #[arg(long = "drop-selector")]
        drop_selectors: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExtractFormatArg::Text)]
        format: ExtractFormatArg,
        /// Files to read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Validate the config file and exit.
    CheckConfig,
    /// What an operator reads first: daemon up or not, last run, failing sources, next due
    /// source, stories waiting, database size.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write the man pages (generated from these definitions) into a folder.
    #[command(hide = true)]
    Man {
        /// Folder to write `newsdesk.1` and one `newsdesk-COMMAND.1` per command into.
        #[arg(long, default_value = "man/man1")]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum StoriesAction {
    /// Mark stories published.
    Publish {
        /// Story ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Mark stories rejected.
    Reject {
        /// Story ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

#[derive(Subcommand, Debug)]
enum SourcesAction {
    /// Add the feeds of an OPML file to the config file (those not configured yet).
    Import {
        /// OPML file.
        file: PathBuf,
        /// Show what would be added; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the configured sources as OPML 2.0.
    Export {
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExtractFormatArg {
    Text,
    Json,
    Ndjson,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Feed,
    Page,
}

/// The command line: the derived definitions plus the environment and files of `--help`.
fn command() -> clap::Command {
    Cli::command().after_long_help(man::environment_and_files_text())
}

fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration like 2h: {e}"))
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    init_tracing(cli.log_format, matches!(cli.command, Command::Run));
    if let Command::Man { dir } = &cli.command {
        return match man::write_pages(Cli::command(), dir) {
            Ok(n) => {
                println!("{n} man page(s) written to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    // Extraction needs no config: it must work on a bare checkout or a laptop.
    if let Command::Extract {
        url,
        body_selector,
        drop_selectors,
        format,
        files,
    } = &cli.command
    {
        let rules = match SiteRules::new(body_selector.as_deref(), drop_selectors) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        return cmd_extract(files, url.as_ref(), &rules, *format);
    }
    let config_path = newsdesk::config::find_config(cli.config.as_deref());
    let mut config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => return config_refused(&e),
    };
    if let Command::CheckConfig = cli.command {
        // Secrets behind ${CREDENTIALS_DIRECTORY} exist only inside the service.
        let note = match config.secrets_outside_service() {
            Some(why) => format!("; secrets not read here: {why}"),
            None => match config.load_secrets(&config_path) {
                Ok(()) => String::new(),
                Err(e) => return config_refused(&e),
            },
        };
        println!(
            "{}: ok ({} sources, storage {}){note}",
            config_path.display(),
            config.sources.len(),
            store::postgres::redact_url(&config.storage.url)
        );
        return ExitCode::SUCCESS;
    }
    if let Err(e) = config.load_secrets(&config_path) {
        // The daemon refuses to start without its secrets; the CLI goes on (an operator may
        // not read them, and read-only commands on SQLite need none).
        if matches!(cli.command, Command::Run) {
            return config_refused(&e);
        }
        tracing::debug!(error = %e, "secrets not loaded");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli.command, config, config_path));
    // A blocking task still running (an extraction past its budget) must not hold the exit:
    // dropping the runtime would wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cmd_extract(
    files: &[PathBuf],
    url: Option<&url::Url>,
    rules: &SiteRules,
    format: ExtractFormatArg,
) -> ExitCode {
    use newsdesk::extract::{run_extract_command, ExtractFormat};
    let format = match format {
        ExtractFormatArg::Text => ExtractFormat::Text,
        ExtractFormatArg::Json => ExtractFormat::Json,
        ExtractFormatArg::Ndjson => ExtractFormat::Ndjson,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match run_extract_command(files, url, rules, format, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config_refused(e: &ConfigError) -> ExitCode {
    eprintln!("error: config refused: {e}");
    ExitCode::from(2)
}

fn init_tracing(format: LogFormat, daemon: bool) {
    // html5ever reports every parse quirk of real-world HTML at warn level: noise for operators.
    let default = if daemon {
        "info,html5ever=error,tokio_cron_scheduler=warn"
    } else {
        "warn,html5ever=error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour codes only on a terminal: journald and log files get plain `key=value` lines.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Opens the database for reading only (no migration, no lock): for the commands that only
/// read, so an operator who may read the database file but not write it can run them.
async fn open_store_read_only(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::open_read_only(&config.storage.url)
        .await
        .with_context(|| {
            format!(
                "opening storage {} read-only",
                store::postgres::redact_url(&config.storage.url)
            )
        })?;
    Ok(Arc::from(store))
}

/// Opens the database for writing (creating and migrating it when needed).
async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::open(&config.storage.url).await.map_err(|e| {
        let url = store::postgres::redact_url(&config.storage.url);
        // An operator who may only read the database: say how writes get done instead.
        let hint = if e.to_string().contains("Permission denied") {
            "; this user may not write the database: start the daemon (writes then go through \
             its admin socket) or run the command as the daemon's user"
        } else {
            ""
        };
        anyhow::anyhow!("opening storage {url}: {e}{hint}")
    })?;
    Ok(Arc::from(store))
}

async fn dispatch(command: Command, config: Config, config_path: PathBuf) -> anyhow::Result<()> {
    let config = Arc::new(config);
    match command {
        Command::Run => cmd_run(config, config_path).await,
        Command::Fetch {
            sources,
            format,
            no_daemon,
        } => ops::cmd_fetch(config, sources, format, no_daemon).await,
        Command::Logs {
            run,
            source,
            outcome,
            since,
            limit,
            format,
            follow,
            errors,
        } => {
            let store = open_store_read_only(&config).await?;
            // A filter naming nothing that exists is a typo, not an empty log.
            if let Some(id) = run {
                if store.runs(1, Some(id)).await?.is_empty() {
                    anyhow::bail!("no run {id} in the database");
                }
            }
            if let Some(name) = &source {
                if config.source(name).is_none()
                    && !store.sources().await?.iter().any(|s| &s.name == name)
                {
                    anyhow::bail!("no source named '{name}' in the config or the database");
                }
            }
            let since = since
                .map(chrono::Duration::from_std)
                .transpose()
                .context("--since is too long")?
                .map(|d| chrono::Utc::now().checked_sub_signed(d))
                .map(|t| t.context("--since is too long"))
                .transpose()?;
            let filter = EventFilter {
                run_id: run,
                source,
                outcome,
                since,
                after_id: None,
                limit,
            };
            if follow {
                ops::cmd_follow(store.as_ref(), &filter, format).await
            } else if errors {
                ops::cmd_errors(store.as_ref(), &filter, format).await
            } else {
                cmd_logs(store.as_ref(), &filter, format).await
            }
        }
        Command::Stories {
            action: Some(action),
            ..
        } => match action {
            StoriesAction::Publish { ids } => {
                ops::cmd_set_status(&config, &ids, StoryStatus::Published).await
            }
            StoriesAction::Reject { ids } => {
                ops::cmd_set_status(&config, &ids, StoryStatus::Rejected).await
            }
        },
        Command::Export {
            status,
            source,
            format,
            limit,
            output,
            mark_published,
        } => {
            // Reading is read-only; `--mark-published` writes through the daemon when it runs.
            let store = open_store_read_only(&config).await?;
            let filter = StoryFilter {
                status: Some(status),
                source,
                cluster_id: None,
                limit,
            };
            ops::cmd_export(
                &config,
                store.as_ref(),
                &filter,
                format,
                output.as_deref(),
                mark_published,
            )
            .await
        }
        Command::Sources {
            action: Some(SourcesAction::Export { output }),
            ..
        } => ops::cmd_sources_export(&config, output.as_deref()),
        Command::Sources {
            action: Some(SourcesAction::Import { file, dry_run }),
            ..
        } => ops::cmd_sources_import(&config_path, &config, &file, dry_run),
        Command::Stories {
            action: None,
            status,
            source,
            cluster,
            limit,
            group,
            format,
        } => {
            let store = open_store_read_only(&config).await?;
            let filter = StoryFilter {
                status,
                source,
                cluster_id: cluster,
                limit,
            };
            if group {
                return ops::cmd_stories_grouped(store.as_ref(), &filter, format).await;
            }
            cmd_stories(store.as_ref(), &filter, format).await
        }
        Command::Sources {
            action: None,
            format,
        } => {
            // No sync: a source added to the config shows as "not polled yet" until the daemon
            // (or a fetch) syncs it, and the command stays read-only.
            let store = open_store_read_only(&config).await?;
            cmd_sources(&config, store.as_ref(), format).await
        }
        Command::Status { format } => status::cmd_status(&config, &config_path, format).await,
        Command::Preview {
            url,
            kind,
            link_selector,
            format,
        } => cmd_preview(config, url, kind, link_selector, format).await,
        Command::CheckConfig | Command::Extract { .. } | Command::Man { .. } => Ok(()),
    }
}

async fn cmd_preview(
    config: Arc<Config>,
    url: String,
    kind: KindArg,
    link_selector: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let kind_toml = match kind {
        KindArg::Feed => "feed",
        KindArg::Page => "page",
    };
    // The candidate goes through the same validation as a configured source.
    let mut entry = toml::Table::new();
    entry.insert("name".into(), "preview".into());
    entry.insert("kind".into(), kind_toml.into());
    entry.insert("url".into(), url.clone().into());
    if let Some(sel) = &link_selector {
        entry.insert("link_selector".into(), sel.clone().into());
    }
    let mut doc = toml::Table::new();
    doc.insert("sources".into(), toml::Value::Array(vec![entry.into()]));
    let candidate = Config::parse(&doc.to_string(), std::path::Path::new("<command line>"))
        .map_err(|e| anyhow::anyhow!("{}: {}", e.key.replace("sources[0].", "--"), e.reason))?;
    let source = candidate.sources[0].clone();
    let store = open_store(&config).await?;
    let pipeline = Pipeline::new(config, store)?;
    let decisions = pipeline.preview(&source).await?;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&decisions)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = decisions
        .iter()
        .map(|d| {
            vec![
                d.outcome.as_str().to_string(),
                output::opt(d.score.map(|s| format!("{s:.2}"))),
                d.title.clone().unwrap_or_default(),
                d.url.clone(),
                d.reason.clone(),
            ]
        })
        .collect();
    println!("{} item(s) at {url}", decisions.len());
    print!(
        "{}",
        output::table(&["WOULD_BE", "SCORE", "TITLE", "URL", "REASON"], &rows, 60)
    );
    Ok(())
}

/// Turns SIGTERM/SIGINT into a `true` on the returned channel.
fn shutdown_signal() -> anyhow::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight stories, then exiting"),
            _ = int.recv() => tracing::info!("SIGINT: finishing in-flight stories, then exiting"),
        }
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// Turns each SIGHUP into a reload request. Installed before anything slow so that a SIGHUP
/// during start-up is a request too, not the default action (death).
fn reload_signal() -> anyhow::Result<tokio::sync::mpsc::Receiver<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            // A request already waiting covers this one too.
            let _ = tx.try_send(());
        }
    });
    Ok(rx)
}

async fn cmd_run(config: Arc<Config>, config_path: PathBuf) -> anyhow::Result<()> {
    let requests = reload_signal()?;
    let shutdown = shutdown_signal()?;
    let store = open_store(&config).await?;
    let reloads = newsdesk::daemon::ReloadRequests {
        path: config_path,
        requests,
    };
    newsdesk::daemon::run(config, store, shutdown, Some(reloads)).await?;
    Ok(())
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

async fn cmd_logs(store: &dyn Store, filter: &EventFilter, format: Format) -> anyhow::Result<()> {
    let runs = store.runs(10, filter.run_id).await?;
    let events = store.events(filter).await?;
    if format == Format::Json {
        let v = serde_json::json!({ "runs": runs, "events": events });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let run_rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let c = &r.counts;
            vec![
                r.id.to_string(),
                r.trigger.as_str().into(),
                output::time(Some(r.started_at)),
                match (r.finished_at, r.abandoned_at) {
                    (None, Some(_)) => "abandoned".to_string(),
                    (finished, _) => output::time(finished),
                },
                format!("{}/{}", c.sources - c.sources_failed, c.sources),
                c.stored.to_string(),
                c.duplicates.to_string(),
                c.off_topic.to_string(),
                c.failed.to_string(),
            ]
        })
        .collect();
    println!("RUNS");
    print!(
        "{}",
        output::table(
            &[
                "RUN",
                "TRIGGER",
                "STARTED",
                "FINISHED",
                "SOURCES_OK",
                "STORED",
                "DUP",
                "OFF",
                "FAILED"
            ],
            &run_rows,
            40
        )
    );
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                output::time(Some(e.at)),
                e.run_id.to_string(),
                e.source.clone(),
                e.outcome.as_str().into(),
                e.title.clone().or(e.url.clone()).unwrap_or_default(),
                e.reason.clone(),
            ]
        })
        .collect();
    println!("\nEVENTS");
    print!(
        "{}",
        output::table(
            &["AT", "RUN", "SOURCE", "OUTCOME", "ITEM", "REASON"],
            &rows,
            60
        )
    );
    Ok(())
}

async fn cmd_stories(
    store: &dyn Store,
    filter: &StoryFilter,
    format: Format,
) -> anyhow::Result<()> {
    let stories = store.stories(filter).await?;
    let related = newsdesk::publish::relations(store, &stories).await?;
    if format == Format::Json {
        println!("{}", ops::stories_json(&stories, &related)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = stories
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.status.as_str().into(),
                s.source.clone(),
                output::opt(s.cluster_id),
                output::time(s.published_at.or(Some(s.fetched_at))),
                s.title.clone().unwrap_or_default(),
                s.url.clone(),
                ops::dropped_copies(related.get(&s.id)),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "ID",
                "STATUS",
                "SOURCE",
                "CLUSTER",
                "PUBLISHED",
                "TITLE",
                "URL",
                "DUPLICATES DROPPED"
            ],
            &rows,
            60
        )
    );
    Ok(())
}

/// A source's state with when and why the daemon tries it next (`sources --format json`).
#[derive(serde::Serialize)]
struct SourceRow<'a> {
    #[serde(flatten)]
    state: &'a newsdesk::model::SourceState,
    enabled: bool,
    next_try_at: Option<chrono::DateTime<chrono::Utc>>,
    next_try_reason: String,
}

async fn cmd_sources(config: &Config, store: &dyn Store, format: Format) -> anyhow::Result<()> {
    let states: Vec<_> = store
        .sources()
        .await?
        .into_iter()
        .filter(|s| config.source(&s.name).is_some())
        .collect();
    let now = chrono::Utc::now();
    let tries: Vec<_> = states
        .iter()
        .map(|s| newsdesk::schedule::next_try(config, s, now))
        .collect();
    if format == Format::Json {
        let rows: Vec<SourceRow> = states
            .iter()
            .zip(&tries)
            .map(|(s, t)| SourceRow {
                state: s,
                enabled: config.source(&s.name).is_some_and(|c| c.enabled),
                next_try_at: t.at,
                next_try_reason: t.reason.clone(),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = states
        .iter()
        .zip(&tries)
        .map(|(s, t)| {
            vec![
                s.name.clone(),
                s.kind.clone(),
                output::time(s.last_success_at),
                s.consecutive_errors.to_string(),
                output::opt(s.last_error.clone()),
                output::time(t.at),
                t.reason.clone(),
                humantime::format_duration(std::time::Duration::from_secs(
                    s.interval_secs.max(0) as u64
                ))
                .to_string(),
                s.url.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "SOURCE",
                "KIND",
                "LAST_SUCCESS",
                "ERRORS",
                "LAST_ERROR",
                "NEXT_TRY",
                "WHY",
                "INTERVAL",
                "URL"
            ],
            &rows,
            60
        )
    );
    let unsynced: Vec<&str> = config
        .sources
        .iter()
        .filter(|c| !states.iter().any(|s| s.name == c.name))
        .map(|c| c.name.as_str())
        .collect();
    if !unsynced.is_empty() {
        println!(
            "not in the database yet (the daemon adds them when it starts): {}",
            unsynced.join(", ")
        );
    }
    Ok(())
}
