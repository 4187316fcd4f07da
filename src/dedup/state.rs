//! The dedup stage's memory: the near-duplicate index and the event clusters of the stored
//! stories, both rebuilt from the store (so a restart loses nothing) and topped up from it
//! before each check (so stories stored by another process count too).
//!
//! [`Deduper`] reads the store through [`DedupStore`], the three queries it needs; the pipeline
//! hands it the store. It decides nothing about events or outcomes: it answers "near-copy of
//! which story?" and "which event cluster?", and learns the stories that were stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    ClusterMatch, ClusterParams, EventClusterer, EventTerms, NearDupIndex, NearDupSignature,
};
use crate::config::DedupConfig;
use crate::model::RecentStory;

/// What the dedup state reads from (and writes to) the store.
#[async_trait]
pub trait DedupStore: Send + Sync {
    /// The store's error.
    type Error: Send;

    /// Near-duplicate signatures of stories with an id above `after_id`, ascending.
    async fn near_dup_signatures(&self, after_id: i64) -> Result<Vec<(i64, Vec<u8>)>, Self::Error>;

    /// Stories with an id above `after_id` fetched at or after `since`, ascending by id.
    async fn recent_stories(
        &self,
        after_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentStory>, Self::Error>;

    /// Moves stories to other event clusters, (story id, cluster id) each.
    async fn set_cluster_ids(&self, changes: &[(i64, i64)]) -> Result<(), Self::Error>;
}

/// What [`Deduper::check`] found for a story's text.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The text's near-duplicate signature (`None` for a text too short to have one).
    pub signature: Option<NearDupSignature>,
    /// The stored story it is a near-copy of, with the similarity.
    pub near_copy_of: Option<(i64, f64)>,
}

/// Where a story goes among the event clusters.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Its terms (kept for [`Deduper::commit`]).
    terms: EventTerms,
    /// The closest cluster it joins, if any reaches the threshold.
    pub cluster: Option<ClusterMatch>,
}

/// A story's signature, checked against signatures stored concurrently (inside the insert's
/// transaction, where the store calls [`Guard::near_copy`]).
#[derive(Debug, Clone)]
pub struct Guard {
    signature: Option<NearDupSignature>,
    threshold: f64,
}

impl Guard {
    /// The closest near-copy among `stored` (story id, signature bytes), with its similarity.
    pub fn near_copy(&self, stored: &[(i64, Vec<u8>)]) -> Option<(i64, f64)> {
        let sig = self.signature.as_ref()?;
        stored
            .iter()
            .filter_map(|(id, bytes)| {
                let other = NearDupSignature::from_bytes(bytes)?;
                Some((*id, sig.similarity(&other)))
            })
            .filter(|(_, s)| *s >= self.threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }
}

/// The near-duplicate index and event clusters over the stored stories.
pub struct Deduper {
    index: NearDupIndex,
    clusters: EventClusterer,
    /// Highest story id whose signature was read into `index`.
    index_max_id: i64,
    /// Highest story id read into `clusters`.
    clusters_max_id: i64,
}

impl Deduper {
    /// Empty index and clusterer with the config's thresholds; `ignored` phrases (the topic's
    /// required terms, which every stored story names) tell no event apart.
    pub fn new<'a>(config: &DedupConfig, ignored: impl IntoIterator<Item = &'a str>) -> Deduper {
        let window = chrono::Duration::from_std(config.cluster_window)
            .unwrap_or_else(|_| ClusterParams::default().window);
        let mut clusters = EventClusterer::new(ClusterParams {
            threshold: config.cluster_threshold,
            recluster_threshold: config.recluster_threshold,
            window,
            ..ClusterParams::default()
        });
        clusters.ignore_terms(ignored);
        Deduper {
            index: NearDupIndex::with_threshold(config.near_duplicate_threshold),
            clusters,
            index_max_id: 0,
            clusters_max_id: 0,
        }
    }

    /// Reads the stories stored since the last look (by this process or another) into the
    /// near-duplicate index and the event clusters; the first call rebuilds both.
    pub async fn refresh<S: DedupStore + ?Sized>(&mut self, store: &S) -> Result<(), S::Error> {
        let signatures = store.near_dup_signatures(self.index_max_id).await?;
        if self.index_max_id == 0 {
            self.index.reserve(signatures.len());
        }
        for (id, bytes) in signatures {
            // A signature of another format (an older release) is skipped, not fatal: the
            // exact keys still guard that story.
            if let Some(sig) = NearDupSignature::from_bytes(&bytes) {
                self.index.insert(id, &sig);
            }
            self.index_max_id = self.index_max_id.max(id);
        }
        let now = Utc::now();
        let since = now
            .checked_sub_signed(self.clusters.params().window)
            .unwrap_or(now);
        for s in store.recent_stories(self.clusters_max_id, since).await? {
            self.clusters_max_id = self.clusters_max_id.max(s.id);
            if self.clusters.contains(s.id) {
                continue;
            }
            let terms = EventTerms::of_story(s.title.as_deref(), &s.text, self.clusters.params());
            self.clusters
                .insert_known(s.id, s.cluster_id.unwrap_or(s.id), s.fetched_at, terms);
        }
        Ok(())
    }

    /// The text's signature and the stored story it nearly copies, if one does.
    pub fn check(&self, text: &str) -> Checked {
        let signature = NearDupSignature::of_text(text);
        let near_copy_of = signature.as_ref().and_then(|sig| self.index.find(sig));
        Checked {
            signature,
            near_copy_of,
        }
    }

    /// The event cluster a story fetched at `at` joins (level 4: same event, other words).
    pub fn place(&self, title: Option<&str>, text: &str, at: DateTime<Utc>) -> Placement {
        let terms = EventTerms::of_story(title, text, self.clusters.params());
        let cluster = self.clusters.best_cluster(&terms, at);
        Placement { terms, cluster }
    }

    /// The highest story id this state has compared with: an insert compares the story with
    /// the ones above it inside its transaction ([`Deduper::guard`]).
    pub fn checked_up_to(&self) -> i64 {
        self.index_max_id
    }

    /// The check an insert runs on the signatures stored since [`Deduper::checked_up_to`]
    /// (stories another process stored meanwhile).
    pub fn guard(&self, signature: Option<NearDupSignature>) -> Guard {
        Guard {
            signature,
            threshold: self.index.threshold(),
        }
    }

    /// Learns a story that was stored as `id` in cluster `cluster_id`.
    pub fn commit(
        &mut self,
        id: i64,
        signature: Option<&NearDupSignature>,
        cluster_id: i64,
        at: DateTime<Utc>,
        placement: Placement,
    ) {
        // Our own id is read again by the next refresh; both inserts ignore repeats.
        if let Some(sig) = signature {
            self.index.insert(id, sig);
        }
        self.clusters.insert(id, cluster_id, at, placement.terms);
    }

    /// Re-clusters the stories of the clustering window (see [`EventClusterer::recluster`]) and
    /// stores the cluster ids that changed; gives (stories in the window, stories moved).
    pub async fn recluster<S: DedupStore + ?Sized>(
        &mut self,
        store: &S,
    ) -> Result<(usize, usize), S::Error> {
        self.refresh(store).await?;
        let changes = self.clusters.recluster();
        if !changes.is_empty() {
            store.set_cluster_ids(&changes).await?;
        }
        Ok((self.clusters.len(), changes.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        DEFAULT_CLUSTER_THRESHOLD, DEFAULT_CLUSTER_WINDOW, DEFAULT_NEAR_DUPLICATE_THRESHOLD,
        DEFAULT_RECLUSTER_THRESHOLD,
    };

    /// Config owns the defaults (it depends on no stage); the stage's own defaults must be the
    /// same numbers, or a config without `[dedup]` would behave unlike the benches measured.
    #[test]
    fn config_defaults_are_the_stages_defaults() {
        let p = ClusterParams::default();
        assert_eq!(DEFAULT_CLUSTER_THRESHOLD, p.threshold);
        assert_eq!(DEFAULT_RECLUSTER_THRESHOLD, p.recluster_threshold);
        assert_eq!(
            chrono::Duration::from_std(DEFAULT_CLUSTER_WINDOW).ok(),
            Some(p.window)
        );
        assert_eq!(
            DEFAULT_NEAR_DUPLICATE_THRESHOLD,
            NearDupIndex::default().threshold()
        );
    }
}
