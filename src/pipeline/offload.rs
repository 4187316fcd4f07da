//! The stages that parse (a feed, an article page), run off the async threads: their parsers
//! are CPU-bound and `scraper::Html` is not `Send`.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::source::SourceFailure;
use crate::config::{SourceConfig, SourceKind};
use crate::extract;
use crate::fetch::Fetched;
use crate::model::{Article, SourceItem};
use crate::source;

/// Parses a fetched source body off the async threads (feeds can be megabytes).
pub(super) async fn list_items(
    cfg: &SourceConfig,
    fetched: &Fetched,
) -> Result<Vec<SourceItem>, SourceFailure> {
    let body = fetched.body.clone();
    let content_type = fetched.content_type.clone();
    let base = fetched.url.clone();
    let kind = cfg.kind;
    let selector = cfg.link_selector.clone().unwrap_or_default();
    tokio::task::spawn_blocking(move || match kind {
        SourceKind::Feed => source::parse_feed(&body, content_type.as_deref(), &base),
        SourceKind::Page => {
            let html = crate::encoding::decode_html(&body, content_type.as_deref());
            source::parse_listing(&html, &base, &selector)
        }
    })
    .await
    .map_err(|e| SourceFailure::Task(e.to_string()))?
    .map_err(SourceFailure::from)
}

/// Decodes and extracts an article page off the async threads (`scraper::Html` is not `Send`),
/// with the source's own site rules when it has any.
pub(super) async fn extract_article(
    body: Vec<u8>,
    content_type: Option<String>,
    url: Url,
    rules: Option<Arc<extract::SiteRules>>,
    budget: Duration,
) -> Result<Article, String> {
    let task = tokio::task::spawn_blocking(move || {
        let html = crate::encoding::decode_html(&body, content_type.as_deref());
        let rules = rules.unwrap_or_default();
        extract::extract_within(&html, Some(&url), &rules, Some(budget))
    });
    // The budget is checked inside extraction (so the thread comes back); this outer deadline
    // is the backstop should one stage run long between two checks.
    let backstop = budget.saturating_add(budget / 2);
    match tokio::time::timeout(backstop, task).await {
        Ok(Ok(Ok(article))) => Ok(article),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(e)) => Err(format!("extractor failed on this page: {e}")),
        Err(_) => Err(format!("extraction took longer than {backstop:?}")),
    }
}
