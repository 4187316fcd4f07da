//! Dedup stage: the keys that say two items are one story.
//!
//! Takes URLs and body text; gives a canonical URL, an exact [`StoryFingerprint`] and a 64-bit
//! SimHash, plus an in-memory index answering "is there a near-copy of this text?".

use url::Url;

/// Canonical form of an article URL: tracking parameters, fragments, default ports, AMP variants
/// and other noise removed, so two links to one article compare equal.
pub fn canonical_url(url: &Url) -> String {
    let _ = url;
    unimplemented!("dedup stage")
}

/// Exact-content fingerprint: a hash of the normalized body text, as hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoryFingerprint(pub String);

impl StoryFingerprint {
    /// Fingerprint of a body text.
    pub fn of_text(text: &str) -> StoryFingerprint {
        let _ = text;
        unimplemented!("dedup stage")
    }
}

/// 64-bit SimHash of the body text's word shingles.
pub fn simhash(text: &str) -> u64 {
    let _ = text;
    unimplemented!("dedup stage")
}

/// In-memory near-duplicate index of stored stories' SimHashes.
#[derive(Debug, Default)]
pub struct NearDupIndex {}

impl NearDupIndex {
    /// Adds a story.
    pub fn insert(&mut self, story_id: i64, hash: u64) {
        let _ = (story_id, hash);
        unimplemented!("dedup stage")
    }

    /// The most similar stored story at or above the near-duplicate threshold, with its
    /// similarity in 0..=1.
    pub fn find(&self, hash: u64) -> Option<(i64, f64)> {
        let _ = hash;
        unimplemented!("dedup stage")
    }
}
