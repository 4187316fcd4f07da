//! Level 3 of dedup: near-copies (a syndicated copy in another template, a new headline, an added
//! or dropped paragraph) found by MinHash over word shingles, indexed by LSH bands.
//!
//! A signature holds [`HASHES`] MinHash values of the text's word [`SHINGLE_WORDS`]-shingles:
//! the first [`BAND_HASHES`] kept to 16 bits (they form the LSH band keys: [`BANDS`] bands of
//! [`ROWS`] rows, so a band key has 32 bits), the rest to 8 bits (b-bit MinHash: the low bits of
//! a minimum are uniform, its high bits are not). Similarity is the share of equal values,
//! corrected for chance collisions of the truncated values.
//!
//! The index is laid out for a million stories in well under 100 bytes each: flat arrays of
//! signatures and story ids, and per band one open-addressing table of `u32` slot numbers
//! (linear probing). A probe compares the band's rows of the slot it lands on, so the tables
//! store no keys; they are rebuilt from the signatures when they grow. A lookup visits a few
//! table entries per band: O(1) in the number of stories stored.

/// Words per shingle (3 found slightly more edited copies than 4 on the bench, with the same
/// zero merges of distinct articles).
pub const SHINGLE_WORDS: usize = 3;
/// LSH bands.
pub const BANDS: usize = 8;
/// Hashes per band.
pub const ROWS: usize = 2;
/// Hashes kept to 16 bits, the band rows.
pub const BAND_HASHES: usize = BANDS * ROWS;
/// Further hashes kept to 8 bits, used only to estimate similarity.
pub const EXTRA_HASHES: usize = 12;
/// All hashes compared by [`NearDupSignature::similarity`].
pub const HASHES: usize = BAND_HASHES + EXTRA_HASHES;
/// Texts with fewer words than this get no signature: too short to call a near-copy.
pub const MIN_WORDS: usize = 10;
/// Default estimated Jaccard similarity (of shingle sets) at or above which two texts are one
/// story. Picked on the ECB+ near-copy bench (README): copies with a paragraph added and/or
/// removed score 0.46 or more in 95% of cases, while the closest distinct articles about a
/// like event (ECB+ hard negatives) stay below 0.15.
pub const DEFAULT_THRESHOLD: f64 = crate::config::DEFAULT_NEAR_DUPLICATE_THRESHOLD;
/// First byte of a stored signature; a signature of another format is not loaded.
const FORMAT: u8 = 2;
const STORED_LEN: usize = 1 + BAND_HASHES * 2 + EXTRA_HASHES;

/// Expected number of equal values between two unrelated signatures (truncation collisions).
const CHANCE: f64 = BAND_HASHES as f64 / 65536.0 + EXTRA_HASHES as f64 / 256.0;

/// MinHash signature of a text's word shingles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearDupSignature {
    rows: [u16; BAND_HASHES],
    extra: [u8; EXTRA_HASHES],
}

impl NearDupSignature {
    /// Signature of a body text, or `None` when the text is too short to compare.
    pub fn of_text(text: &str) -> Option<NearDupSignature> {
        let words: Vec<std::borrow::Cow<'_, str>> = super::words(text).collect();
        if words.len() < MIN_WORDS {
            return None;
        }
        let mut minima = [u64::MAX; HASHES];
        for shingle in words.windows(SHINGLE_WORDS) {
            let base = shingle_hash(shingle);
            for (min, seed) in minima.iter_mut().zip(SEEDS.iter()) {
                let h = mix(base ^ seed);
                if h < *min {
                    *min = h;
                }
            }
        }
        let mut sig = NearDupSignature {
            rows: [0; BAND_HASHES],
            extra: [0; EXTRA_HASHES],
        };
        for (out, min) in sig.rows.iter_mut().zip(&minima[..BAND_HASHES]) {
            *out = *min as u16;
        }
        for (out, min) in sig.extra.iter_mut().zip(&minima[BAND_HASHES..]) {
            *out = *min as u8;
        }
        Some(sig)
    }

    /// Estimated Jaccard similarity of the two texts' shingle sets, in 0..=1.
    pub fn similarity(&self, other: &NearDupSignature) -> f64 {
        similarity_parts(&self.rows, &self.extra, &other.rows, &other.extra)
    }

    /// The signature as stored in the database: a format byte, the 16-bit rows
    /// (little-endian), the 8-bit values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STORED_LEN);
        out.push(FORMAT);
        for r in &self.rows {
            out.extend_from_slice(&r.to_le_bytes());
        }
        out.extend_from_slice(&self.extra);
        out
    }

    /// Reads a stored signature; `None` when the bytes are not one of this format.
    pub fn from_bytes(bytes: &[u8]) -> Option<NearDupSignature> {
        if bytes.len() != STORED_LEN || bytes[0] != FORMAT {
            return None;
        }
        let mut sig = NearDupSignature {
            rows: [0; BAND_HASHES],
            extra: [0; EXTRA_HASHES],
        };
        for (out, pair) in sig.rows.iter_mut().zip(bytes[1..].chunks_exact(2)) {
            *out = u16::from_le_bytes([pair[0], pair[1]]);
        }
        sig.extra.copy_from_slice(&bytes[1 + BAND_HASHES * 2..]);
        Some(sig)
    }
}

fn similarity_parts(
    a_rows: &[u16; BAND_HASHES],
    a_extra: &[u8; EXTRA_HASHES],
    b_rows: &[u16; BAND_HASHES],
    b_extra: &[u8; EXTRA_HASHES],
) -> f64 {
    let same = a_rows.iter().zip(b_rows).filter(|(a, b)| a == b).count()
        + a_extra.iter().zip(b_extra).filter(|(a, b)| a == b).count();
    ((same as f64 - CHANCE) / (HASHES as f64 - CHANCE)).clamp(0.0, 1.0)
}

/// Table position of a band key: the band's two rows, mixed with the band number.
fn band_hash(rows: &[u16; BAND_HASHES], band: usize) -> u64 {
    let r = &rows[band * ROWS..(band + 1) * ROWS];
    let key = (u64::from(r[0]) << 16) | u64::from(r[1]);
    mix(key ^ ((band as u64 + 1) << 40))
}

const EMPTY: u32 = u32::MAX;
/// Tables grow when fuller than this…
const MAX_LOAD: f64 = 0.9;
/// …to this load.
const GROWN_LOAD: f64 = 0.75;

/// In-memory index of stored stories' signatures.
#[derive(Debug)]
pub struct NearDupIndex {
    threshold: f64,
    /// Slot → story id.
    ids: Vec<u32>,
    /// Slot → 16-bit band rows.
    rows: Vec<[u16; BAND_HASHES]>,
    /// Slot → 8-bit values.
    extra: Vec<[u8; EXTRA_HASHES]>,
    /// Per band, `capacity` entries: a slot number or [`EMPTY`].
    tables: Vec<u32>,
    capacity: usize,
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
            ids: Vec::new(),
            rows: Vec::new(),
            extra: Vec::new(),
            tables: Vec::new(),
            capacity: 0,
        }
    }

    /// The similarity threshold in force.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Number of stories indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Heap bytes held by the index (capacities, not lengths).
    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4
            + self.rows.capacity() * std::mem::size_of::<[u16; BAND_HASHES]>()
            + self.extra.capacity() * EXTRA_HASHES
            + self.tables.capacity() * 4
    }

    /// Makes room for `additional` more stories at once (a rebuild from the database).
    pub fn reserve(&mut self, additional: usize) {
        let want = self.ids.len() + additional;
        self.ids.reserve_exact(additional);
        self.rows.reserve_exact(additional);
        self.extra.reserve_exact(additional);
        if want as f64 > self.capacity as f64 * MAX_LOAD {
            self.rebuild_tables(((want as f64 / 0.85) as usize).max(16));
        }
    }

    /// Adds a story. Returns `false` when it was not added: the id is already indexed with this
    /// signature, or lies outside `0..u32::MAX` (the index keeps 4-byte ids).
    pub fn insert(&mut self, story_id: i64, signature: &NearDupSignature) -> bool {
        let Ok(id) = u32::try_from(story_id) else {
            return false;
        };
        if id == EMPTY {
            return false;
        }
        if self.contains(id, signature) {
            return false;
        }
        let slot = self.ids.len();
        if (slot + 1) as f64 > self.capacity as f64 * MAX_LOAD {
            self.rebuild_tables((((slot + 1) as f64 / GROWN_LOAD) as usize).max(16));
        }
        grow_exact(&mut self.ids);
        grow_exact(&mut self.rows);
        grow_exact(&mut self.extra);
        self.ids.push(id);
        self.rows.push(signature.rows);
        self.extra.push(signature.extra);
        self.place(slot);
        true
    }

    /// The most similar stored story at or above the threshold, with its similarity in 0..=1
    /// (ties go to the oldest story, the original).
    pub fn find(&self, signature: &NearDupSignature) -> Option<(i64, f64)> {
        let mut best: Option<(u32, f64)> = None;
        if self.capacity == 0 {
            return None;
        }
        for band in 0..BANDS {
            let table = &self.tables[band * self.capacity..(band + 1) * self.capacity];
            let want = &signature.rows[band * ROWS..(band + 1) * ROWS];
            let mut pos = position(band_hash(&signature.rows, band), self.capacity);
            loop {
                let slot = table[pos];
                if slot == EMPTY {
                    break;
                }
                let s = slot as usize;
                if &self.rows[s][band * ROWS..(band + 1) * ROWS] == want {
                    let sim = similarity_parts(
                        &signature.rows,
                        &signature.extra,
                        &self.rows[s],
                        &self.extra[s],
                    );
                    if sim >= self.threshold {
                        let id = self.ids[s];
                        best = match best {
                            Some((b, bs)) if bs > sim || (bs == sim && b < id) => Some((b, bs)),
                            _ => Some((id, sim)),
                        };
                    }
                }
                pos += 1;
                if pos == self.capacity {
                    pos = 0;
                }
            }
        }
        best.map(|(id, sim)| (i64::from(id), sim))
    }

    fn contains(&self, id: u32, signature: &NearDupSignature) -> bool {
        if self.capacity == 0 {
            return false;
        }
        let table = &self.tables[..self.capacity];
        let mut pos = position(band_hash(&signature.rows, 0), self.capacity);
        loop {
            let slot = table[pos];
            if slot == EMPTY {
                return false;
            }
            if self.ids[slot as usize] == id && self.rows[slot as usize] == signature.rows {
                return true;
            }
            pos = (pos + 1) % self.capacity;
        }
    }

    fn place(&mut self, slot: usize) {
        let cap = self.capacity;
        for band in 0..BANDS {
            let table = &mut self.tables[band * cap..(band + 1) * cap];
            let mut pos = position(band_hash(&self.rows[slot], band), cap);
            while table[pos] != EMPTY {
                pos += 1;
                if pos == cap {
                    pos = 0;
                }
            }
            table[pos] = slot as u32;
        }
    }

    fn rebuild_tables(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.tables = Vec::new();
        self.tables.reserve_exact(capacity * BANDS);
        self.tables.resize(capacity * BANDS, EMPTY);
        for slot in 0..self.ids.len() {
            self.place(slot);
        }
    }
}

/// Grows a full vector by an eighth rather than doubling it, to keep the slack small.
fn grow_exact<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.capacity() / 8).max(16));
    }
}

/// Maps a hash onto `0..capacity` (multiply-shift: no power-of-two capacity needed).
fn position(hash: u64, capacity: usize) -> usize {
    (((hash >> 32) * capacity as u64) >> 32) as usize
}

/// FNV-1a over the shingle's words, each followed by a space: stable across Rust versions and
/// platforms, which stored signatures need (std's hasher makes no such promise). Exactly FNV-1a 64 (the `fnv` crate's `FnvHasher`, fed the bytes directly): the signatures in
/// existing databases were computed with it, so any other hash would stop them matching.
fn shingle_hash(words: &[std::borrow::Cow<'_, str>]) -> u64 {
    use std::hash::Hasher as _;
    let mut h = fnv::FnvHasher::default();
    for word in words {
        h.write(word.as_bytes());
        h.write(b" ");
    }
    h.finish()
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

    /// Signatures are stored: the shingle hash must stay the FNV-1a 64 the stored ones were made
    /// with. The expected values are what the hand-written FNV-1a gave before the `fnv` crate
    /// replaced it (and the published FNV-1a 64 vectors for "" and "a").
    #[test]
    fn shingle_hash_is_the_stored_fnv1a() {
        use std::borrow::Cow;
        let words: Vec<Cow<'_, str>> = ["microsoft", "openai", "partnership"]
            .into_iter()
            .map(Cow::Borrowed)
            .collect();
        assert_eq!(shingle_hash(&words), 0xbb04_6e5b_87f2_2625);
        assert_eq!(shingle_hash(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(shingle_hash(&[Cow::Borrowed("a")]), {
            let mut h = 0xaf63_dc4c_8601_ec8c_u64;
            h ^= u64::from(b' ');
            h.wrapping_mul(0x0100_0000_01b3)
        });
    }

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
        assert!(index.insert(7, &original));
        assert!(index.insert(8, &NearDupSignature::of_text(OTHER).expect("long enough")));

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
        assert_eq!(sig.to_bytes().len(), STORED_LEN);
        assert_eq!(NearDupSignature::from_bytes(&[1, 2, 3]), None);
        let mut other_format = sig.to_bytes();
        other_format[0] = 1;
        assert_eq!(NearDupSignature::from_bytes(&other_format), None);
        assert_eq!(NearDupSignature::of_text("too short to compare"), None);
        assert!((sig.similarity(&sig) - 1.0).abs() < f64::EPSILON);
        let other = NearDupSignature::of_text(OTHER).expect("long enough");
        assert!(sig.similarity(&other) < 0.1, "{}", sig.similarity(&other));
    }

    /// Pseudo-random texts of distinct words, so any two share no shingle.
    fn text(seed: u64, words: usize) -> String {
        (0..words)
            .map(|i| {
                format!(
                    "w{:x}",
                    mix(seed.wrapping_mul(1_000_003) + i as u64) % 50_000
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_index_grows_and_still_finds_every_story() {
        let mut index = NearDupIndex::default();
        let n = 5_000;
        for i in 0..n {
            let sig = NearDupSignature::of_text(&text(i, 60)).expect("long");
            assert!(index.insert(i as i64 + 1, &sig));
        }
        assert_eq!(index.len(), n as usize);
        // Re-inserting an indexed story is a no-op; ids that do not fit are refused.
        let sig0 = NearDupSignature::of_text(&text(0, 60)).expect("long");
        assert!(!index.insert(1, &sig0));
        assert!(!index.insert(-5, &sig0));
        assert!(!index.insert(i64::from(u32::MAX) + 1, &sig0));
        assert_eq!(index.len(), n as usize);
        for i in (0..n).step_by(7) {
            let sig = NearDupSignature::of_text(&text(i, 60)).expect("long");
            assert_eq!(index.find(&sig), Some((i as i64 + 1, 1.0)), "story {i}");
        }
        let fresh = NearDupSignature::of_text(&text(n + 1, 60)).expect("long");
        assert_eq!(index.find(&fresh), None);
        // Well under 100 bytes a story, table slack included.
        assert!(
            index.heap_bytes() / index.len() < 100,
            "{} bytes",
            index.heap_bytes()
        );
    }

    #[test]
    fn the_oldest_of_equal_copies_is_the_original() {
        let mut index = NearDupIndex::default();
        let sig = NearDupSignature::of_text(STORY).expect("long enough");
        index.insert(12, &sig);
        index.insert(5, &sig);
        assert_eq!(index.find(&sig), Some((5, 1.0)));
    }
}
