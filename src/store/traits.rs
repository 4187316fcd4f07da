//! The store's interfaces, one per kind of caller, and [`Store`], all of them together.
//!
//! A stage takes the narrow trait it needs (`&dyn SourceStore`, `&dyn StoryStore`, …); what
//! holds the whole store (the daemon, the CLI, the admin server) keeps `Arc<dyn Store>`, which
//! coerces to each. Every database implements the narrow traits (see [`super::sql`]); [`Store`]
//! comes with them.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{EventFilter, NearDupCheck, StoreError, StoryFilter};
use crate::config::SourceConfig;
use crate::model::{
    Event, InsertOutcome, ItemRetry, NewStory, RecentStory, Run, RunCounts, SeenItem, SourceState,
    SourceUpdate, Story, StoryStatus, Trigger,
};

/// Sources and their leases: what the lease loop and the schedule need.
#[async_trait]
pub trait SourceStore: Send + Sync {
    /// Creates or updates sources from the config (new ones are due at once, polled every
    /// `default_interval` unless they set their own); removed ones simply stop being polled.
    async fn sync_sources(
        &self,
        sources: &[SourceConfig],
        default_interval: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// All sources with their state, by name.
    async fn sources(&self) -> Result<Vec<SourceState>, StoreError>;

    /// Takes a lease on the named sources (all when `names` is empty) that are due — or all of
    /// them when `force` — and that no other live run holds. Returns the leased ones.
    async fn lease_sources(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<SourceState>, StoreError> {
        self.lease_batch(names, force, owner, now, lease, usize::MAX)
            .await
    }

    /// Like [`SourceStore::lease_sources`], but takes at most `limit` sources, the longest overdue
    /// first (by due time, then name). A daemon leases a batch, fetches it, and leases the next,
    /// so several daemons share a big pass instead of the first one holding every source.
    async fn lease_batch(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<SourceState>, StoreError>;

    /// Writes a fetch's result and releases the lease held by `owner`.
    async fn finish_source(
        &self,
        name: &str,
        owner: &str,
        update: &SourceUpdate,
    ) -> Result<(), StoreError>;

    /// Extends `owner`'s lease on `name` to `until` (a heartbeat while the run still works on
    /// it); `false` when the lease is no longer `owner`'s (another run took the source over).
    async fn renew_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// Runs and the ingestion log (events): what runs record and operators read.
#[async_trait]
pub trait RunLog: Send + Sync {
    /// Records the start of a run; gives its id.
    async fn start_run(&self, trigger: Trigger, now: DateTime<Utc>) -> Result<i64, StoreError>;

    /// Names `owner` (the pipeline's lease owner) as the process of run `run_id`, and marks
    /// abandoned every other unfinished run started more than `lease` before `now` whose process
    /// holds no live lease; gives how many were marked.
    async fn claim_run_and_mark_abandoned(
        &self,
        run_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<u64, StoreError>;

    /// Records the end of a run.
    async fn finish_run(
        &self,
        run_id: i64,
        counts: &RunCounts,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records an event alone (source-level outcomes).
    async fn record_event(&self, event: &Event) -> Result<(), StoreError>;

    /// Events, newest first.
    async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError>;

    /// Events matching `filter` with an id below `before_id`, newest first: the next page of
    /// a paginated log.
    async fn events_before(
        &self,
        filter: &EventFilter,
        before_id: i64,
    ) -> Result<Vec<Event>, StoreError>;

    /// Events about one story, newest first: the one that stored it and the items dropped as
    /// its duplicates.
    async fn story_events(&self, story_id: i64, limit: i64) -> Result<Vec<Event>, StoreError>;

    /// Runs, newest first.
    async fn runs(&self, limit: i64, run_id: Option<i64>) -> Result<Vec<Run>, StoreError>;

    /// Deletes events older than `before` (and retry states of items last failing before it,
    /// left by items that later succeeded); gives how many events.
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Stories: the dedup lookups, writing an item's outcome, and publishing (reading stories and
/// setting their status).
#[async_trait]
pub trait StoryStore: Send + Sync {
    /// Whether an announced item reached a final outcome before (by GUID within the source, or
    /// by canonical URL in any source or story).
    async fn is_known(
        &self,
        source: &str,
        guid: Option<&str>,
        canonical_url: &str,
    ) -> Result<bool, StoreError>;

    /// The story with this canonical URL.
    async fn story_by_canonical_url(&self, canonical_url: &str) -> Result<Option<i64>, StoreError>;

    /// The story with this fingerprint.
    async fn story_by_fingerprint(&self, fingerprint: &str) -> Result<Option<i64>, StoreError>;

    /// Near-duplicate signatures of stories with an id above `after_id`, ascending.
    async fn near_dup_signatures(&self, after_id: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;

    /// Stories with an id above `after_id` fetched at or after `since`, ascending by id: what
    /// the event clusterer (re)builds its window from.
    async fn recent_stories(
        &self,
        after_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentStory>, StoreError>;

    /// Moves stories to other event clusters, (story id, cluster id) each, in one transaction:
    /// the result of re-clustering the window ([`crate::dedup::EventClusterer::recluster`]).
    async fn set_cluster_ids(&self, changes: &[(i64, i64)]) -> Result<(), StoreError>;

    /// Stores a story, its seen item and its event in one transaction. When the canonical URL or
    /// the fingerprint is taken (a race with another run), stores the seen item and a
    /// `duplicate` event instead. A story with no `cluster_id` starts its own cluster: its
    /// cluster id is set to its own id in the same transaction.
    async fn insert_story(
        &self,
        story: &NewStory,
        seen: &SeenItem,
        event: &Event,
    ) -> Result<InsertOutcome, StoreError>;

    /// [`StoryStore::insert_story`] guarded against near-copies stored concurrently: in the same
    /// transaction, after the story's row is written (which serializes this with every other
    /// writer), `near_dup` is called with the near-duplicate signatures of the other stories
    /// with an id above `after_id` (those the caller has not compared the story with yet).
    /// When it names one (story id, similarity), the transaction is rolled back, the seen item
    /// and a `duplicate` event are stored instead, and `Duplicate { key: "near_dup" }` is
    /// returned.
    async fn insert_story_guarded(
        &self,
        story: &NewStory,
        seen: &SeenItem,
        event: &Event,
        after_id: i64,
        near_dup: &NearDupCheck,
    ) -> Result<InsertOutcome, StoreError>;

    /// Records an item's final non-stored outcome: its seen item (unless `failed`, which is
    /// retried next run) and its event, in one transaction. With a seen item, the item's retry
    /// state (if any) is removed in the same transaction.
    async fn record_item(&self, seen: Option<&SeenItem>, event: &Event) -> Result<(), StoreError>;

    /// The retry state of an item (by source and canonical URL of the announced link).
    async fn item_retry(
        &self,
        source: &str,
        canonical_url: &str,
    ) -> Result<Option<ItemRetry>, StoreError>;

    /// Records a failed attempt at an item that will be tried again: its `failed` event and
    /// its new retry state, in one transaction.
    async fn record_item_retry(
        &self,
        seen: &SeenItem,
        event: &Event,
        retry: &ItemRetry,
    ) -> Result<(), StoreError>;

    /// Stories, newest first.
    async fn stories(&self, filter: &StoryFilter) -> Result<Vec<Story>, StoreError>;

    /// One story by id (the desk's story page).
    async fn story(&self, id: i64) -> Result<Option<Story>, StoreError>;

    /// Sets the status of stories; gives how many changed.
    async fn set_story_status(&self, ids: &[i64], status: StoryStatus) -> Result<u64, StoreError>;

    /// How many stories each status has (statuses with none are left out).
    async fn story_counts(&self) -> Result<Vec<(StoryStatus, i64)>, StoreError>;
}

/// The database's health: reachability, size and a standing write failure.
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// Cheap round trip, for health checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Size of the database in bytes, as the database reports it.
    async fn database_size(&self) -> Result<i64, StoreError>;

    /// The standing write failure (a full disk) a run reported, for health checks.
    fn write_error(&self) -> Option<String>;

    /// Records (or, with `None`, clears) the standing write failure.
    fn set_write_error(&self, error: Option<String>);

    /// Closes every connection and waits until each has: SQLite checkpoints and removes its
    /// `-wal` and `-shm` files then, instead of leaving them to a process that may exit halfway.
    async fn close(&self);
}

/// The whole store: every narrow trait. Implemented for every type that implements them all.
pub trait Store: SourceStore + RunLog + StoryStore + StoreHealth {}

impl<T: SourceStore + RunLog + StoryStore + StoreHealth + ?Sized> Store for T {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{RunLog, SourceStore, Store, StoreHealth, StoryStore};
    use crate::model::Trigger;

    /// A stage is handed only the narrow trait it needs: the whole store coerces to each.
    #[tokio::test]
    async fn the_whole_store_coerces_to_each_narrow_trait() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("narrow.db").display());
        let store: Arc<dyn Store> = Arc::from(crate::store::open(&url).await.expect("open"));
        let sources: Arc<dyn SourceStore> = store.clone();
        let runs: &dyn RunLog = &*store;
        let stories: &dyn StoryStore = &*store;
        let health: &dyn StoreHealth = &*store;

        assert!(sources.sources().await.expect("sources").is_empty());
        let run = runs
            .start_run(Trigger::Manual, chrono::Utc::now())
            .await
            .expect("run");
        let listed = store.runs(10, Some(run)).await.expect("runs");
        assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [run]);
        assert!(!stories
            .is_known("s", None, "https://example.com/a")
            .await
            .expect("known"));
        health.ping().await.expect("ping");
    }
}
