//! One item of a source: judged stage by stage to a verdict (known, deferred, failed,
//! duplicate, off topic, or a story to store), then recorded with its event.

use chrono::{DateTime, Utc};
use url::Url;

use super::offload::extract_article;
use super::source::PAGE_ACCEPT;
use super::{clean_event, Pipeline, LOG_TARGET};
use crate::config::SourceConfig;
use crate::dedup::{self, NearDupSignature, StoryFingerprint};
use crate::fetch::{FetchError, FetchOptions};
use crate::model::{
    Article, DuplicateKey, Event, EventScope, InsertOutcome, ItemRetry, NewStory, Outcome,
    SeenItem, SourceItem,
};
use crate::schedule::policy;
use crate::source;
use crate::store::StoreError;
use crate::topic::TopicVerdict;

#[cfg(test)]
mod tests;

/// Where an item's processing ended before the store.
pub(super) enum Verdict {
    Known,
    Duplicate {
        of: i64,
        reason: String,
        score: Option<f64>,
    },
    OffTopic(TopicVerdict),
    /// `retry`: not marked seen, so a later run tries again (until it is given up);
    /// `permanent`: an HTTP status that will not change (404, 410, 451).
    Failed {
        reason: String,
        retry: bool,
        permanent: bool,
    },
    /// Failed before and not due for another attempt yet.
    Deferred(DateTime<Utc>),
    Store(Box<NewStory>, TopicVerdict),
}

/// How an item left the pipeline.
pub(super) enum ItemEnd {
    /// Already seen: skipped without fetching, no event.
    Known,
    /// Failed before and waiting for its next attempt: skipped, no event.
    Deferred,
    /// Reached an outcome, recorded with its event; `retried` when it had failed before (so it
    /// is not a new item of the source).
    Done { outcome: Outcome, retried: bool },
}

/// HTTP statuses that mean the article is gone for good: retrying them is bounded tightly.
const PERMANENT_ITEM_STATUSES: &[u16] = &[404, 410, 451];

pub(super) struct ItemContext {
    /// The feed's title, cleaned.
    pub(super) title: Option<String>,
    /// The announced URL.
    pub(super) url: String,
    /// What marks the item seen.
    pub(super) seen: SeenItem,
}

impl ItemContext {
    /// What is known of an item before fetching it; its canonical URL is dedup's level 1 key.
    pub(super) fn of(cfg: &SourceConfig, item: &SourceItem) -> ItemContext {
        ItemContext {
            title: item.title.as_deref().map(source::clean_line),
            url: item.url.to_string(),
            seen: SeenItem {
                source: cfg.name.clone(),
                guid: item.guid.clone(),
                canonical_url: dedup::canonical_url(&item.url),
            },
        }
    }
}

impl Pipeline {
    /// Takes one item to its final outcome and records it.
    pub(super) async fn process_item(
        &self,
        run_id: i64,
        cfg: &SourceConfig,
        item: SourceItem,
    ) -> Result<ItemEnd, StoreError> {
        let ctx = ItemContext::of(cfg, &item);
        let (verdict, title, prior) = self.judge_item(cfg, &item, &ctx).await?;
        let retried = prior.is_some();
        let mut event = Event {
            id: 0,
            run_id,
            at: Utc::now(),
            source: cfg.name.clone(),
            scope: EventScope::Item,
            outcome: Outcome::Failed,
            url: Some(ctx.url.clone()),
            title: title.or(ctx.title.clone()),
            story_id: None,
            duplicate_of: None,
            score: None,
            reason: String::new(),
        };
        let outcome = match verdict {
            Verdict::Known => return Ok(ItemEnd::Known),
            Verdict::Deferred(_) => return Ok(ItemEnd::Deferred),
            Verdict::Duplicate { of, reason, score } => {
                event.outcome = Outcome::Duplicate;
                event.duplicate_of = Some(of);
                event.reason = reason;
                event.score = score;
                self.store
                    .record_item(Some(&ctx.seen), clean_event(&mut event))
                    .await?;
                log_item(&event);
                Outcome::Duplicate
            }
            Verdict::OffTopic(v) => {
                event.outcome = Outcome::OffTopic;
                event.score = Some(v.score);
                event.reason = v.reason;
                self.store
                    .record_item(Some(&ctx.seen), clean_event(&mut event))
                    .await?;
                log_item(&event);
                Outcome::OffTopic
            }
            Verdict::Failed {
                reason,
                retry,
                permanent,
            } => {
                event.outcome = Outcome::Failed;
                event.reason = reason;
                clean_event(&mut event);
                if retry {
                    self.record_failed_attempt(&ctx, event, prior.as_ref(), permanent)
                        .await?
                } else {
                    self.store.record_item(Some(&ctx.seen), &event).await?;
                    log_item(&event);
                    Outcome::Failed
                }
            }
            Verdict::Store(story, topic) => self.store_story(*story, topic, &ctx, event).await?,
        };
        Ok(ItemEnd::Done { outcome, retried })
    }

    /// Records a failed attempt at an item: its retry state and a `failed` event, or, when its
    /// attempts are used up, a final `given_up` event (the item is then marked seen).
    pub(super) async fn record_failed_attempt(
        &self,
        ctx: &ItemContext,
        mut event: Event,
        prior: Option<&ItemRetry>,
        permanent: bool,
    ) -> Result<Outcome, StoreError> {
        let now = event.at;
        let attempts = prior.map_or(0, |p| p.attempts).saturating_add(1);
        let first_failed_at = prior.map_or(now, |p| p.first_failed_at);
        let s = &self.config.schedule;
        match policy::next_item_attempt(s, attempts, first_failed_at, now, permanent) {
            Some(next_attempt_at) => {
                let retry = ItemRetry {
                    attempts,
                    first_failed_at,
                    last_failed_at: now,
                    next_attempt_at,
                    last_error: event.reason.clone(),
                };
                self.store
                    .record_item_retry(&ctx.seen, &event, &retry)
                    .await?;
                log_item(&event);
                Ok(Outcome::Failed)
            }
            None => {
                let kind = if permanent { "permanent" } else { "transient" };
                event.outcome = Outcome::GivenUp;
                event.reason = format!(
                    "gave up after {attempts} attempt(s) since {} ({kind} error): {}",
                    first_failed_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    event.reason
                );
                self.store.record_item(Some(&ctx.seen), &event).await?;
                log_item(&event);
                Ok(Outcome::GivenUp)
            }
        }
    }

    /// Everything up to the store: known? fetch, extract, exact duplicates, topic.
    pub(super) async fn judge_item(
        &self,
        cfg: &SourceConfig,
        item: &SourceItem,
        ctx: &ItemContext,
    ) -> Result<(Verdict, Option<String>, Option<ItemRetry>), StoreError> {
        if self
            .store
            .is_known(&cfg.name, item.guid.as_deref(), &ctx.seen.canonical_url)
            .await?
        {
            return Ok((Verdict::Known, None, None));
        }
        let prior = self
            .store
            .item_retry(&cfg.name, &ctx.seen.canonical_url)
            .await?;
        if let Some(p) = prior.as_ref().filter(|p| p.next_attempt_at > Utc::now()) {
            return Ok((Verdict::Deferred(p.next_attempt_at), None, prior));
        }
        let (verdict, title) = self.judge_new_item(cfg, item, ctx).await?;
        Ok((verdict, title, prior))
    }

    /// [`Pipeline::judge_item`] for an item not seen before or due for another attempt.
    pub(super) async fn judge_new_item(
        &self,
        cfg: &SourceConfig,
        item: &SourceItem,
        ctx: &ItemContext,
    ) -> Result<(Verdict, Option<String>), StoreError> {
        if self.config.http.respect_robots_txt && !self.fetcher.allowed_by_robots(&item.url).await {
            return Ok((
                Verdict::Failed {
                    reason: "article page disallowed by robots.txt".into(),
                    retry: false,
                    permanent: false,
                },
                None,
            ));
        }
        let opts = FetchOptions {
            validators: None,
            max_body_bytes: cfg.max_body_bytes,
            accept: Some(PAGE_ACCEPT),
        };
        let fetched = match self.fetcher.get(&item.url, &opts).await {
            Ok(f) => f,
            Err(e) => {
                let permanent = matches!(&e, FetchError::Status { status, .. }
                    if PERMANENT_ITEM_STATUSES.contains(status));
                return Ok((
                    Verdict::Failed {
                        reason: format!("article fetch: {e}"),
                        retry: true,
                        permanent,
                    },
                    None,
                ));
            }
        };
        let fetched_at = Utc::now();
        let rules = self.site_rules.get(&cfg.name).cloned();
        let article = match extract_article(
            fetched.body,
            fetched.content_type,
            fetched.url.clone(),
            rules,
            self.config.http.extract_timeout,
        )
        .await
        {
            Ok(a) => a,
            Err(reason) => {
                return Ok((
                    Verdict::Failed {
                        reason,
                        retry: true,
                        permanent: false,
                    },
                    None,
                ))
            }
        };
        let title = article
            .title
            .as_deref()
            .or(item.title.as_deref())
            .map(source::clean_line)
            .filter(|t| !t.is_empty());
        if article.text.trim().is_empty() {
            return Ok((
                Verdict::Failed {
                    reason: "no article body found on the page".into(),
                    retry: false,
                    permanent: false,
                },
                title,
            ));
        }
        let page_canonical = page_canonical_url(&article, &fetched.url);
        if page_canonical != ctx.seen.canonical_url {
            if let Some(of) = self.store.story_by_canonical_url(&page_canonical).await? {
                return Ok((
                    Verdict::Duplicate {
                        of,
                        reason: format!("page's canonical URL {page_canonical} is story {of}"),
                        score: None,
                    },
                    title,
                ));
            }
        }
        let fingerprint = StoryFingerprint::of_text(&article.text);
        if let Some(of) = self.store.story_by_fingerprint(&fingerprint.0).await? {
            return Ok((
                Verdict::Duplicate {
                    of,
                    reason: format!("same body text as story {of}"),
                    score: Some(1.0),
                },
                title,
            ));
        }
        let verdict = self
            .topic
            .evaluate(title.as_deref().unwrap_or(""), &article.text);
        if !verdict.on_topic {
            return Ok((Verdict::OffTopic(verdict), title));
        }
        // Remote text: control and bidi characters never reach the store or a terminal.
        let authors = if article.authors.is_empty() {
            item.author.iter().cloned().collect()
        } else {
            article.authors
        }
        .iter()
        .map(|a| source::clean_line(a))
        .filter(|a| !a.is_empty())
        .collect();
        let story = NewStory {
            source: cfg.name.clone(),
            url: dedup::published_url(article.canonical_url.as_deref(), &fetched.url),
            fetched_url: fetched.url.to_string(),
            dedup_key: page_canonical,
            guid: item.guid.clone(),
            title: title.clone(),
            authors,
            site_name: article.site_name,
            summary: article.summary,
            language: article.language,
            published_at: article.published_at.or(item.published_at),
            updated_at: article.updated_at,
            fetched_at,
            text: article.text,
            html: article.html,
            fingerprint: fingerprint.0,
            near_dup: None,
            cluster_id: None,
            topic_score: Some(verdict.score),
        };
        Ok((Verdict::Store(Box::new(story), verdict), title))
    }

    /// Near-duplicate check and insert, under one lock so that two near-copies in one run
    /// cannot both pass.
    pub(super) async fn store_story(
        &self,
        story: NewStory,
        topic: TopicVerdict,
        ctx: &ItemContext,
        mut event: Event,
    ) -> Result<Outcome, StoreError> {
        let mut dedup = self.dedup.lock().await;
        dedup.refresh(&*self.store).await?;
        let checked = dedup.check(&story.text);
        if let Some((of, similarity)) = checked.near_copy_of {
            event.outcome = Outcome::Duplicate;
            event.duplicate_of = Some(of);
            event.score = Some(similarity);
            event.reason = format!("near-duplicate of story {of} (similarity {similarity:.2})");
            self.store
                .record_item(Some(&ctx.seen), clean_event(&mut event))
                .await?;
            log_item(&event);
            return Ok(Outcome::Duplicate);
        }
        event.outcome = Outcome::Stored;
        event.score = Some(topic.score);
        event.reason = topic.reason;
        let mut story = story;
        story.near_dup = checked.signature.as_ref().map(NearDupSignature::to_bytes);
        // Level 4: same event, other words — a separate story in the closest cluster.
        let placement = dedup.place(story.title.as_deref(), &story.text, story.fetched_at);
        let cluster = placement.cluster;
        story.cluster_id = cluster.map(|c| c.cluster_id);
        // Stories another process stored since the refresh are compared inside the insert's
        // transaction, so two runs at once cannot both store near-copies of one story.
        let guard = dedup.guard(checked.signature.clone());
        let guard = move |stored: &[(i64, Vec<u8>)]| guard.near_copy(stored);
        let inserted = self
            .store
            .insert_story_guarded(
                &story,
                &ctx.seen,
                clean_event(&mut event),
                dedup.checked_up_to(),
                &guard,
            )
            .await?;
        match inserted {
            InsertOutcome::Stored(id) => {
                event.story_id = Some(id);
                log_item(&event);
                let cluster_id = story.cluster_id.unwrap_or(id);
                let signature = checked.signature.as_ref();
                dedup.commit(id, signature, cluster_id, story.fetched_at, placement);
                tracing::debug!(
                    target: LOG_TARGET,
                    story = id,
                    cluster = cluster_id,
                    similarity = cluster.map(|c| c.similarity),
                    "story clustered"
                );
                Ok(Outcome::Stored)
            }
            InsertOutcome::Duplicate { of, key } => {
                event.outcome = Outcome::Duplicate;
                event.duplicate_of = Some(of);
                event.reason = match key {
                    DuplicateKey::NearDup => {
                        format!("near-duplicate of story {of} (stored by another run)")
                    }
                    DuplicateKey::CanonicalUrl | DuplicateKey::Fingerprint => {
                        format!("same {key} as story {of} (stored by another run)")
                    }
                };
                log_item(&event);
                Ok(Outcome::Duplicate)
            }
        }
    }
}

/// One structured log line per item outcome: source, url, outcome, reason (and the story ids).
/// Failures are logged at warn level so `journalctl -p warning` lists them.
fn log_item(e: &Event) {
    let url = crate::fetch::url_for_message(e.url.as_deref().unwrap_or(""));
    let outcome = e.outcome.as_str();
    if matches!(e.outcome, Outcome::Failed | Outcome::GivenUp) {
        tracing::warn!(
            target: LOG_TARGET,
            run_id = e.run_id,
            source = %e.source,
            url = %url,
            outcome = %outcome,
            reason = %e.reason,
            "item"
        );
    } else {
        tracing::info!(
            target: LOG_TARGET,
            run_id = e.run_id,
            source = %e.source,
            url = %url,
            outcome = %outcome,
            reason = %e.reason,
            story_id = e.story_id,
            duplicate_of = e.duplicate_of,
            score = e.score,
            "item"
        );
    }
}

/// The page's own canonical URL when it names a plausible one, else the fetched URL; both
/// canonicalized. A `rel=canonical` pointing at a site's front page (a common template bug) is
/// ignored, or every article of that site would look like one story.
fn page_canonical_url(article: &Article, fetched: &Url) -> String {
    let declared = article
        .canonical_url
        .as_deref()
        .and_then(|c| fetched.join(c).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .filter(|u| u.path().trim_matches('/').len() > 1);
    dedup::canonical_url(declared.as_ref().unwrap_or(fetched))
}
