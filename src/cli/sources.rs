//! `newsdesk sources`: each configured source with its fetch state and when the daemon tries it
//! next; `sources export` writes them as OPML, `sources import` adds an OPML file's feeds to
//! the config file.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use newsdesk::config::Config;
use newsdesk::export::opml;
use newsdesk::store::Store;

use super::export::write_atomically;
use super::{output, Format};

// `newsdesk sources`'s arguments.
#[derive(clap::Args, Debug)]
pub struct SourcesArgs {
    #[command(subcommand)]
    action: Option<SourcesAction>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Subcommand, Debug)]
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

/// Lists the sources (read-only), or exports/imports OPML.
pub async fn run(config: &Config, config_path: &Path, args: SourcesArgs) -> anyhow::Result<()> {
    match args.action {
        Some(SourcesAction::Export { output }) => cmd_sources_export(config, output.as_deref()),
        Some(SourcesAction::Import { file, dry_run }) => {
            cmd_sources_import(config_path, config, &file, dry_run)
        }
        None => {
            // No sync: a source added to the config shows as "not polled yet" until the daemon
            // (or a fetch) syncs it, and the command stays read-only.
            let store = super::open_store_read_only(config).await?;
            cmd_sources(config, store.as_ref(), args.format).await
        }
    }
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

/// `newsdesk sources export`: OPML 2.0 on stdout or into a file.
fn cmd_sources_export(config: &Config, output_file: Option<&Path>) -> anyhow::Result<()> {
    let text = opml::opml_export(&config.sources);
    match output_file {
        Some(p) => write_atomically(p, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// `newsdesk sources import FILE.opml`: appends the file's feeds (and newsdesk pages) that are
/// not configured yet to the config file, after checking the result like any config.
fn cmd_sources_import(
    config_path: &Path,
    config: &Config,
    opml_path: &Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    let opml = std::fs::read_to_string(opml_path)
        .with_context(|| format!("reading {}", opml_path.display()))?;
    let found =
        opml::opml_import(&opml).with_context(|| format!("reading {}", opml_path.display()))?;
    let plan = opml::plan_import(&config.sources, &found);
    for (s, why) in &plan.skipped {
        println!("skip  {:<24} {}  ({why})", s.title, s.url);
    }
    for s in &plan.added {
        println!("add   {:<24} {}  ({})", s.name, s.url, s.kind.as_str());
    }
    if plan.added.is_empty() {
        println!("nothing to add");
        return Ok(());
    }
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let new_text = newsdesk::config::edit::append_sources(&text, &plan.added, opml_path);
    Config::parse(&new_text, config_path)
        .map_err(|e| anyhow::anyhow!("the imported sources would make the config invalid: {e}"))?;
    if dry_run {
        println!(
            "dry run: {} source(s) would be added to {}",
            plan.added.len(),
            config_path.display()
        );
        return Ok(());
    }
    write_atomically(config_path, &new_text)?;
    println!(
        "{} source(s) added to {}; reload the service to poll them \
         (systemctl reload newsdesk, or kill -HUP the daemon)",
        plan.added.len(),
        config_path.display()
    );
    Ok(())
}
