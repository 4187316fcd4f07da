//! `newsdesk preview`: one source fetched and each item judged as a run would, writing nothing.

use chrono::Utc;
use futures_util::stream::{self, StreamExt};

use super::item::{ItemContext, Verdict};
use super::{Pipeline, LOG_TARGET};
use crate::config::{Config, SourceConfig};
use crate::extract::SiteRules;
use crate::fetch::{FetchOptions, Fetcher};
use crate::model::{Article, Decision, ItemDecision, SourceState};
use crate::store::StoreError;
use crate::topic::{TopicMatcher, TopicVerdict};

/// Why a preview could not list the source.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The source could not be fetched or parsed.
    #[error("source failed: {0}")]
    Source(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An article preview failed: the sentence says where (url, fetch, extraction, topic).
    #[error("{0}")]
    Article(String),
}

/// One article URL as a run would take it: its address after redirects, its extraction and
/// its topic verdict.
#[derive(Debug)]
pub struct ArticlePreview {
    /// The address after redirects.
    pub final_url: String,
    /// What extraction gave.
    pub article: Article,
    /// The topic's verdict on its title and text.
    pub verdict: TopicVerdict,
}

/// Longest an article preview may spend extracting (the daemon's own bound is
/// `http.extract_timeout`; this one never exceeds it).
const ARTICLE_PREVIEW_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Fetches one article with the configured HTTP client (its SSRF rules, caps and timeouts
/// apply), extracts it (with `body_selector` when given) and judges it, writing nothing.
pub async fn preview_article(
    config: &Config,
    url: &str,
    body_selector: Option<&str>,
) -> Result<ArticlePreview, PreviewError> {
    let fail = PreviewError::Article;
    let url = url::Url::parse(url).map_err(|e| fail(format!("url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(fail("url: only http and https URLs can be fetched".into()));
    }
    let rules = SiteRules::new(body_selector, &[]).map_err(|e| fail(e.to_string()))?;
    let fetcher = Fetcher::new(&config.http).map_err(|e| fail(e.to_string()))?;
    let fetched = fetcher
        .get(
            &url,
            &FetchOptions {
                accept: Some("text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"),
                ..FetchOptions::default()
            },
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    let html = crate::encoding::decode_html(&fetched.body, fetched.content_type.as_deref());
    let final_url = fetched.url.clone();
    let budget = config.http.extract_timeout.min(ARTICLE_PREVIEW_BUDGET);
    let page_url = final_url.clone();
    let article = tokio::task::spawn_blocking(move || {
        crate::extract::extract_within(&html, Some(&page_url), &rules, Some(budget))
    })
    .await
    .map_err(|e| fail(format!("extraction stopped: {e}")))?
    .map_err(|e| fail(e.to_string()))?;
    let topic = TopicMatcher::new(&config.topic).map_err(|e| fail(e.to_string()))?;
    let verdict = topic.evaluate(article.title.as_deref().unwrap_or(""), &article.text);
    Ok(ArticlePreview {
        final_url: final_url.to_string(),
        article,
        verdict,
    })
}

impl Pipeline {
    /// Fetches one source and says what would happen to each item, writing nothing.
    pub async fn preview(&self, cfg: &SourceConfig) -> Result<Vec<ItemDecision>, PreviewError> {
        let state = SourceState {
            name: cfg.name.clone(),
            kind: cfg.kind.as_str().into(),
            url: cfg.url.clone(),
            etag: None,
            last_modified: None,
            last_fetch_at: None,
            last_success_at: None,
            last_error: None,
            consecutive_errors: 0,
            next_due_at: Utc::now(),
            interval_secs: 0,
            last_new_story_at: None,
            lease_owner: None,
            lease_until: None,
        };
        let Some((_, mut items)) = self
            .fetch_source(cfg, &state)
            .await
            .map_err(|e| PreviewError::Source(e.to_string()))?
        else {
            return Ok(Vec::new());
        };
        // Like a run: the newest `max_items_per_run` only, without fetching the rest.
        let cap = self.config.max_items_per_run(cfg);
        if items.len() > cap {
            items.sort_by_key(|i| std::cmp::Reverse(i.published_at));
            tracing::info!(
                target: LOG_TARGET,
                source = %cfg.name,
                listed = items.len(),
                max_items_per_run = cap,
                "preview shows the newest items only"
            );
            items.truncate(cap);
        }
        let decisions = stream::iter(items)
            .map(|item| async move {
                let ctx = ItemContext::of(cfg, &item);
                let (verdict, title, _) = self.judge_item(cfg, &item, &ctx).await?;
                let title = title.or(ctx.title.clone());
                let (outcome, reason, score) = match verdict {
                    Verdict::Known => (
                        Decision::Known,
                        "already seen; would be skipped".to_string(),
                        None,
                    ),
                    Verdict::Deferred(at) => (
                        Decision::Deferred,
                        format!("failed before; next attempt at {at}"),
                        None,
                    ),
                    Verdict::Duplicate { reason, score, .. } => {
                        (Decision::Duplicate, reason, score)
                    }
                    Verdict::OffTopic(v) => (Decision::OffTopic, v.reason, Some(v.score)),
                    Verdict::Failed { reason, .. } => (Decision::Failed, reason, None),
                    Verdict::Store(story, v) => {
                        let mut dedup = self.dedup.lock().await;
                        dedup.refresh(&*self.store).await?;
                        match dedup.check(&story.text).near_copy_of {
                            Some((of, sim)) => (
                                Decision::Duplicate,
                                format!("near-duplicate of story {of} (similarity {sim:.2})"),
                                Some(sim),
                            ),
                            None => (Decision::Stored, v.reason, Some(v.score)),
                        }
                    }
                };
                Ok::<_, StoreError>(ItemDecision {
                    url: ctx.url,
                    title,
                    outcome,
                    reason,
                    score,
                })
            })
            .buffered(self.config.schedule.item_concurrency)
            .collect::<Vec<_>>()
            .await;
        decisions
            .into_iter()
            .map(|d| d.map_err(PreviewError::from))
            .collect()
    }
}
