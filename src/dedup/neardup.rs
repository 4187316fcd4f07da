//! Level 3 of dedup: near-copies (a syndicated copy in another template, a new headline, an added
//! paragraph) found by MinHash over word shingles, indexed by LSH bands.
//!
//! A signature is [`HASHES`] 16-bit minima (b-bit MinHash): 2 bytes per hash keeps the stored
//! signature small while two unrelated texts collide on a hash only once in 65,536. The index
//! keeps every signature in memory and buckets it by [`BANDS`] bands of [`ROWS`] hashes, so a
//! lookup only compares the stories that share a band — about O(1) in the number stored.

use std::collections::HashMap;

/// Words per shingle. Four keeps a changed word from touching more than four shingles while
/// staying rare across unrelated articles.
const SHINGLE_WORDS: usize = 4;
/// Hashes per signature.
pub const HASHES: usize = 48;
/// LSH bands; `BANDS * ROWS == HASHES`.
pub const BANDS: usize = 16;
/// Hashes per band.
pub const ROWS: usize = HASHES / BANDS;
/// Texts with fewer words than this get no signature: too short to call a near-copy.
const MIN_WORDS: usize = 20;
/// Default estimated Jaccard similarity at or above which two texts are one story.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// MinHash signature of a text's word shingles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearDupSignature([u16; HASHES]);

impl NearDupSignature {
    /// Signature of a body text, or `None` when the text is too short to compare.
    pub fn of_text(text: &str) -> Option<NearDupSignature> {
        let words: Vec<String> = super::words(text).collect();
        if words.len() < MIN_WORDS {
            return None;
        }
        let mut minima = [u64::MAX; HASHES];
        for shingle in words.windows(SHINGLE_WORDS) {
            let base = shingle_hash(shingle);
            for (i, min) in minima.iter_mut().enumerate() {
                let h = mix(base ^ SEEDS[i]);
                if h < *min {
                    *min = h;
                }
            }
        }
        let mut sig = [0u16; HASHES];
        for (out, min) in sig.iter_mut().zip(minima) {
            *out = (min >> 48) as u16;
        }
        Some(NearDupSignature(sig))
    }

    /// Estimated Jaccard similarity of the two texts' shingle sets, in 0..=1.
    pub fn similarity(&self, other: &NearDupSignature) -> f64 {
        let same = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a == b)
            .count();
        same as f64 / HASHES as f64
    }

    /// The signature as stored in the database (little-endian u16s).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|h| h.to_le_bytes()).collect()
    }

    /// Reads a stored signature; `None` when the bytes are not one (other length).
    pub fn from_bytes(bytes: &[u8]) -> Option<NearDupSignature> {
        if bytes.len() != HASHES * 2 {
            return None;
        }
        let mut sig = [0u16; HASHES];
        for (out, pair) in sig.iter_mut().zip(bytes.chunks_exact(2)) {
            *out = u16::from_le_bytes([pair[0], pair[1]]);
        }
        Some(NearDupSignature(sig))
    }

    fn band_key(&self, band: usize) -> u64 {
        let mut key = band as u64;
        for h in &self.0[band * ROWS..(band + 1) * ROWS] {
            key = (key << 16) ^ u64::from(*h);
        }
        mix(key ^ (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// In-memory index of stored stories' signatures.
#[derive(Debug)]
pub struct NearDupIndex {
    threshold: f64,
    signatures: HashMap<i64, NearDupSignature>,
    buckets: HashMap<u64, Vec<i64>>,
}

impl Default for NearDupIndex {
    fn default() -> Self {
        Self::with_threshold(DEFAULT_THRESHOLD)
    }
}

impl NearDupIndex {
    /// An empty index calling texts at or above `threshold` estimated similarity near-copies.
    pub fn with_threshold(threshold: f64) -> NearDupIndex {
        NearDupIndex {
            threshold,
            signatures: HashMap::new(),
            buckets: HashMap::new(),
        }
    }

    /// Number of stories indexed.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// Adds a story (a second insert of one id is ignored).
    pub fn insert(&mut self, story_id: i64, signature: &NearDupSignature) {
        if self.signatures.contains_key(&story_id) {
            return;
        }
        for band in 0..BANDS {
            self.buckets
                .entry(signature.band_key(band))
                .or_default()
                .push(story_id);
        }
        self.signatures.insert(story_id, signature.clone());
    }

    /// The most similar stored story at or above the threshold, with its similarity in 0..=1
    /// (ties go to the oldest story, the original).
    pub fn find(&self, signature: &NearDupSignature) -> Option<(i64, f64)> {
        let mut best: Option<(i64, f64)> = None;
        for band in 0..BANDS {
            let Some(ids) = self.buckets.get(&signature.band_key(band)) else {
                continue;
            };
            for &id in ids {
                let Some(stored) = self.signatures.get(&id) else {
                    continue;
                };
                let sim = signature.similarity(stored);
                if sim < self.threshold {
                    continue;
                }
                best = match best {
                    Some((b, bs)) if bs > sim || (bs == sim && b < id) => Some((b, bs)),
                    _ => Some((id, sim)),
                };
            }
        }
        best
    }
}

/// FNV-1a over the shingle's words: stable across Rust versions and platforms, which stored
/// signatures need (std's hasher makes no such promise).
fn shingle_hash(words: &[String]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for word in words {
        for b in word.as_bytes().iter().chain(std::iter::once(&b' ')) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// SplitMix64's finalizer: turns one hash into many independent-looking ones.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const SEEDS: [u64; HASHES] = {
    let mut seeds = [0u64; HASHES];
    let mut i = 0;
    while i < HASHES {
        seeds[i] =
            mix(0x6e65_7773_6465_736b ^ ((i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        i += 1;
    }
    seeds
};

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "Microsoft and OpenAI announced on Tuesday a restructured partnership \
        that gives the software company a stake of roughly twenty seven percent in the new public \
        benefit corporation while OpenAI gains the freedom to buy computing power from other \
        cloud providers. The agreement ends months of negotiation between the two companies and \
        clears the way for OpenAI to raise money from new investors. Microsoft keeps its rights \
        to OpenAI models until the early twenty thirties, including models released after any \
        declaration of artificial general intelligence, which an expert panel will now verify.";

    const OTHER: &str = "Google introduced a new family of Gemini models on Wednesday and said \
        the largest of them beats its rivals on most reasoning benchmarks. The company will roll \
        the models out to its search engine first and then to its productivity apps, charging \
        developers less per token than the previous generation. Analysts said the price cut put \
        pressure on competitors that sell access to their own models through cloud platforms, \
        and that the launch shows how quickly the frontier is moving this year for everyone.";

    #[test]
    fn a_near_copy_is_found_and_an_other_story_is_not() {
        let mut index = NearDupIndex::default();
        let original = NearDupSignature::of_text(STORY).expect("long enough");
        index.insert(7, &original);
        index.insert(8, &NearDupSignature::of_text(OTHER).expect("long enough"));

        let copy = format!("{STORY} Reporting by a wire service; editing by the desk.");
        let found = index.find(&NearDupSignature::of_text(&copy).expect("long enough"));
        assert!(
            matches!(found, Some((7, s)) if s >= DEFAULT_THRESHOLD),
            "{found:?}"
        );

        let unrelated = "Apple reported record iPhone sales in the quarter that ended in \
            September, driven by strong demand in China and India, and said services revenue \
            grew faster than analysts expected while its wearables business shrank again.";
        assert_eq!(
            index.find(&NearDupSignature::of_text(unrelated).expect("long")),
            None
        );
    }

    #[test]
    fn signatures_round_trip_and_short_texts_have_none() {
        let sig = NearDupSignature::of_text(STORY).expect("long enough");
        assert_eq!(
            NearDupSignature::from_bytes(&sig.to_bytes()),
            Some(sig.clone())
        );
        assert_eq!(sig.to_bytes().len(), HASHES * 2);
        assert_eq!(NearDupSignature::from_bytes(&[1, 2, 3]), None);
        assert_eq!(NearDupSignature::of_text("too short to compare"), None);
        assert!((sig.similarity(&sig) - 1.0).abs() < f64::EPSILON);
    }
}
