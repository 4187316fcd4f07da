//! `newsdesk preview`: one source fetched and each item judged as a run would, writing nothing.

use chrono::Utc;
use futures_util::stream::{self, StreamExt};

use super::item::{ItemContext, Verdict};
use super::{Pipeline, LOG_TARGET};
use crate::config::SourceConfig;
use crate::model::{Decision, ItemDecision, SourceState};
use crate::store::StoreError;

/// Why a preview could not list the source.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The source could not be fetched or parsed.
    #[error("source failed: {0}")]
    Source(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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
