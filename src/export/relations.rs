//! Related sources of stories: the other reports of a story's event (its cluster) and the
//! copies dropped as its duplicates, read from the store for the exports, the admin feeds and
//! the CLI's listings.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::Story;

/// Another stored story of the same event cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SameEvent {
    /// Its story id.
    pub id: i64,
    /// Its source.
    pub source: String,
    /// Its URL.
    pub url: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// An item dropped as a duplicate of a story: which source carried the same story, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroppedCopy {
    /// Its source.
    pub source: String,
    /// Its URL.
    pub url: Option<String>,
    /// When it was dropped.
    pub at: DateTime<Utc>,
}

/// What an editor wants beside a story: the other reports of its event and the copies dropped
/// for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoryRelations {
    /// The other stories of its cluster, oldest first.
    pub same_event: Vec<SameEvent>,
    /// The duplicates dropped for it, oldest first.
    pub duplicates: Vec<DroppedCopy>,
}

impl StoryRelations {
    /// The other sources that carried the event (its cluster's stories and the copies dropped
    /// for it), each once, without the story's own source.
    pub fn also_reported_by(&self, own_source: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let sources = self
            .same_event
            .iter()
            .map(|s| &s.source)
            .chain(self.duplicates.iter().map(|d| &d.source));
        for src in sources {
            if src != own_source && !out.contains(src) {
                out.push(src.clone());
            }
        }
        out
    }
}

/// Relations by story id.
pub type Relations = std::collections::HashMap<i64, StoryRelations>;

/// Most stories of one cluster read for its relations.
const CLUSTER_READ: i64 = 200;
/// Most duplicate events read for one listing.
const DUPLICATES_READ: i64 = 20_000;

/// The relations of `stories`: each cluster's other stories and the duplicate events that
/// name a story (since the oldest story was fetched).
pub async fn relations(
    store: &dyn crate::store::Store,
    stories: &[Story],
) -> Result<Relations, crate::store::StoreError> {
    use crate::model::Outcome;
    use crate::store::{EventFilter, StoryFilter};
    let mut by_cluster: std::collections::BTreeMap<i64, Vec<Story>> = Default::default();
    for c in stories.iter().filter_map(|s| s.cluster_id) {
        if by_cluster.contains_key(&c) {
            continue;
        }
        let filter = StoryFilter {
            cluster_id: Some(c),
            limit: CLUSTER_READ,
            ..StoryFilter::default()
        };
        let mut mates = store.stories(&filter).await?;
        mates.sort_by_key(|m| m.id);
        by_cluster.insert(c, mates);
    }
    let mut out = Relations::new();
    for s in stories {
        let same_event = s
            .cluster_id
            .and_then(|c| by_cluster.get(&c))
            .map(|mates| {
                mates
                    .iter()
                    .filter(|m| m.id != s.id)
                    .map(|m| SameEvent {
                        id: m.id,
                        source: m.source.clone(),
                        url: m.url.clone(),
                        fetched_at: m.fetched_at,
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            s.id,
            StoryRelations {
                same_event,
                duplicates: Vec::new(),
            },
        );
    }
    if let Some(since) = stories.iter().map(|s| s.fetched_at).min() {
        let filter = EventFilter {
            outcome: Some(Outcome::Duplicate),
            since: Some(since),
            limit: DUPLICATES_READ,
            ..EventFilter::default()
        };
        let mut events = store.events(&filter).await?;
        events.sort_by_key(|e| (e.at, e.id));
        for e in events {
            if let Some(r) = e.duplicate_of.and_then(|of| out.get_mut(&of)) {
                r.duplicates.push(DroppedCopy {
                    source: e.source,
                    url: e.url,
                    at: e.at,
                });
            }
        }
    }
    Ok(out)
}
