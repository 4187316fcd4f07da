//! `newsdesk preview`: fetches one candidate source without storing anything and lists what
//! would happen to each item.

use std::sync::Arc;

use clap::ValueEnum;

use newsdesk::config::Config;
use newsdesk::pipeline::Pipeline;

use super::{output, Format};

// `newsdesk preview`'s arguments.
#[derive(clap::Args, Debug)]
pub struct PreviewArgs {
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Feed,
    Page,
}

/// Checks the candidate like a configured source, then previews it with the configured
/// pipeline.
pub async fn run(config: Arc<Config>, args: PreviewArgs) -> anyhow::Result<()> {
    let PreviewArgs {
        url,
        kind,
        link_selector,
        format,
    } = args;
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
    let store = super::open_store(&config).await?;
    let pipeline = Pipeline::new(config, store.clone())?;
    let decisions = pipeline.preview(&source).await;
    store.close().await;
    let decisions = decisions?;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&decisions)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = decisions
        .iter()
        .map(|d| {
            vec![
                d.outcome.as_str().into(),
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
