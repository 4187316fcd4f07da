//! Dedup stage: the keys that say two items are one story.
//!
//! Takes URLs and body text; gives a canonical URL ([`canonical_url`], checked before anything is
//! fetched), an exact [`StoryFingerprint`] of the normalized body, and a [`NearDupSignature`] with
//! an in-memory [`NearDupIndex`] answering "is there a near-copy of this text?". The store's
//! unique constraints on canonical URL and fingerprint make the first two race-free; the index is
//! rebuilt from stored signatures, so a restart never lets a near-copy through.

mod cluster;
mod fingerprint;
mod neardup;
mod url_canon;

pub use cluster::{ClusterMatch, ClusterParams, EventClusterer, EventTerms, Linkage};
pub use fingerprint::StoryFingerprint;
pub use neardup::{
    NearDupIndex, NearDupSignature, DEFAULT_THRESHOLD, MIN_WORDS as NEARDUP_MIN_WORDS,
};
pub use url_canon::{canonical_url, is_tracking_param};

/// The words of a text, lower-cased, split on anything that is not a letter or digit. The one
/// normalization every content key shares, so whitespace, punctuation and case never matter.
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}
