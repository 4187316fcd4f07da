//! Dedup stage: the keys that say two items are one story.
//!
//! Takes URLs and body text; gives a canonical URL ([`canonical_url`], checked before anything is
//! fetched), an exact [`StoryFingerprint`] of the normalized body, and a [`NearDupSignature`] with
//! an in-memory [`NearDupIndex`] answering "is there a near-copy of this text?". The store's
//! unique constraints on canonical URL and fingerprint make the first two race-free; the index is
//! rebuilt from stored signatures, so a restart never lets a near-copy through.

use std::borrow::Cow;

mod background;
mod cluster;
mod fingerprint;
mod neardup;
mod state;
mod url_canon;

pub use cluster::{ClusterMatch, ClusterParams, EventClusterer, EventTerms, Linkage, POSTING_READ};
pub use fingerprint::StoryFingerprint;
pub use neardup::{
    NearDupIndex, NearDupSignature, DEFAULT_THRESHOLD, MIN_WORDS as NEARDUP_MIN_WORDS,
};
pub use state::{Checked, DedupStore, Deduper, Guard, Placement};
pub use url_canon::{canonical_url, is_tracking_param, published_url, same_site, strip_tracking};

/// The words of a text, lower-cased, split on anything that is not a letter or digit. The one
/// normalization every content key shares, so whitespace, punctuation and case never matter.
/// A word already in lower case is borrowed, so most words cost no allocation (the near-copy
/// check runs on every fetched story).
pub(crate) fn words(text: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let unchanged = if w.is_ascii() {
                !w.bytes().any(|b| b.is_ascii_uppercase())
            } else {
                // Title-case letters and the like change too: only the real lowering can tell.
                w.to_lowercase() == w
            };
            if unchanged {
                Cow::Borrowed(w)
            } else {
                Cow::Owned(w.to_lowercase())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowered_and_borrowed_when_already_lower() {
        let text = "Microsoft's deal, ǅemal İstanbul — ΣΟΦΙΑ and openai 2024";
        let got: Vec<Cow<'_, str>> = words(text).collect();
        let want: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        assert_eq!(got, want);
        // Title-case and dotted capitals are not `is_uppercase` alone: they still change.
        assert!(matches!(got[3], Cow::Owned(_)));
        assert!(matches!(got[4], Cow::Owned(_)));
        assert!(matches!(got[2], Cow::Borrowed("deal")));
        assert!(matches!(got[7], Cow::Borrowed("openai")));
    }
}
