//! `newsdesk export`: stories for a publishing system (JSON Feed 1.1, Atom 1.0 or NDJSON), into
//! a file replaced atomically or on stdout, then optionally marked published.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum;

use newsdesk::config::Config;
use newsdesk::export::{self, StoryFormat};
use newsdesk::model::StoryStatus;

use super::args::StoryStatusArg;
use newsdesk::store::StoryFilter;

// `newsdesk export`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Only this status.
    #[arg(long, value_enum, default_value_t = StoryStatusArg::New)]
    status: StoryStatusArg,
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Format of the output.
    #[arg(long, value_enum, default_value_t = StoryFormatArg::Jsonfeed)]
    format: StoryFormatArg,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 100)]
    limit: i64,
    /// Write here instead of stdout (replaced atomically).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Mark the exported stories published once the output is written.
    #[arg(long)]
    mark_published: bool,
}

/// `--format` of `export`: the command line's names for the library's [`StoryFormat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoryFormatArg {
    /// JSON Feed 1.1.
    Jsonfeed,
    /// Atom 1.0.
    Atom,
    /// One JSON object per line.
    Ndjson,
}

impl From<StoryFormatArg> for StoryFormat {
    fn from(f: StoryFormatArg) -> StoryFormat {
        match f {
            StoryFormatArg::Jsonfeed => StoryFormat::Jsonfeed,
            StoryFormatArg::Atom => StoryFormat::Atom,
            StoryFormatArg::Ndjson => StoryFormat::Ndjson,
        }
    }
}

/// Reads the stories read-only; `--mark-published` writes through the daemon when it runs.
pub async fn run(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let store = super::open_store_read_only(config).await?;
    let filter = StoryFilter {
        status: Some(args.status.into()),
        source: args.source,
        cluster_id: None,
        limit: args.limit,
    };
    let stories = store.stories(&filter).await?;
    let title = format!("newsdesk: {}", config.topic.name);
    let related = export::relations(store.as_ref(), &stories).await?;
    let text = export::render_related(&stories, &related, args.format.into(), &title);
    match args.output.as_deref() {
        Some(path) => write_atomically(path, &text)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    if args.mark_published && !stories.is_empty() {
        let ids: Vec<i64> = stories.iter().map(|s| s.id).collect();
        let n = super::stories::set_status(config, &ids, StoryStatus::Published).await?;
        eprintln!("{n} story(ies) marked published");
    }
    Ok(())
}

pub(super) fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the mode of the file being replaced (a config may hold a token).
            f.set_permissions(meta.permissions())?;
        }
        // On disk before the rename: a crash never leaves an empty or partial file under the
        // real name.
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    // The rename itself is durable only once the folder is synced.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", dir.display()))?;
    Ok(())
}
