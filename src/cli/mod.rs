//! Command line: the clap definitions of the commands and `main`; each subcommand's arguments
//! and work live in a file of their own and only call into the library. Errors end here as
//! `anyhow` with exit code 1; a refused config exits 2.

mod admin_client;
mod args;
mod export;
mod extract;
mod fetch;
mod logs;
mod man;
mod output;
mod preview;
mod run;
mod sources;
mod status;
mod stories;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};

use newsdesk::config::{Config, ConfigError};
use newsdesk::store::{self, Store};

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
    Fetch(fetch::FetchArgs),
    /// Show runs and what happened to every item, newest first.
    Logs(logs::LogsArgs),
    /// List stored stories, newest first; `publish`/`reject` set their status.
    #[command(args_conflicts_with_subcommands = true)]
    Stories(stories::StoriesArgs),
    /// Write stories for a publishing system (JSON Feed 1.1, Atom 1.0 or NDJSON).
    Export(export::ExportArgs),
    /// Each configured source with its fetch state; `import`/`export` OPML.
    #[command(args_conflicts_with_subcommands = true)]
    Sources(sources::SourcesArgs),
    /// Fetch one source without storing anything; list its items and what would happen.
    Preview(preview::PreviewArgs),
    /// Show what the extractor makes of saved pages (HTML, `.html.gz`, or `-` for stdin).
    Extract(extract::ExtractArgs),
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

/// The command line: the derived definitions plus the environment and files of `--help`.
fn command() -> clap::Command {
    Cli::command().after_long_help(man::environment_and_files_text())
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
    let command = match cli.command {
        Command::Extract(args) => return extract::run(&args),
        other => other,
    };
    let config_path = newsdesk::config::find_config(cli.config.as_deref());
    let mut config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => return config_refused(&e),
    };
    if let Command::CheckConfig = command {
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
        if matches!(command, Command::Run) {
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
    let result = runtime.block_on(dispatch(command, config, config_path));
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
        Command::Run => run::run(config, config_path).await,
        Command::Fetch(args) => fetch::run(config, args).await,
        Command::Logs(args) => logs::run(&config, args).await,
        Command::Stories(args) => stories::run(&config, args).await,
        Command::Export(args) => export::run(&config, args).await,
        Command::Sources(args) => sources::run(&config, &config_path, args).await,
        Command::Status { format } => status::cmd_status(&config, &config_path, format).await,
        Command::Preview(args) => preview::run(config, args).await,
        Command::CheckConfig | Command::Extract(_) | Command::Man { .. } => Ok(()),
    }
}
