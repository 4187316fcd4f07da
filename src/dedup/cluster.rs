//! Level 4 of dedup: stories about one event, written in other words, grouped by a cluster id.
//!
//! Each story becomes a TF-IDF vector: sublinear term frequency (1 + ln tf) of its words
//! (stop words dropped), words written capitalized mid-sentence (names of people, places,
//! organisations) weighted up, the title's and the lead's words counted again; inverse document
//! frequencies over the stories in the window. A new story joins the cluster whose centroid
//! (the sum of its stories' unit vectors, in the window) is closest by cosine when that reaches
//! the threshold, else it starts its own cluster. After each run the whole window is
//! re-clustered at once by complete linkage ([`EventClusterer::recluster`]), which repairs what
//! arrival order got wrong. Stories older than the window are forgotten, so an event's cluster
//! closes once coverage stops.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

/// Most stories, newest first, a new story is compared with on arrival: the online step costs
/// time in proportion to the stories it reads, and past a thousand the re-clustering pass does
/// not run either, so this bounds the cost of a story in a very busy window.
pub const ONLINE_MAX_STORIES: usize = 1_000;

/// Hasher for term keys, which are already FNV hashes: SipHash over them was a quarter of a
/// busy daemon's CPU.
#[derive(Default)]
struct TermHasher(u64);

impl std::hash::Hasher for TermHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Spread the key so the table's low bits are not the FNV hash's weakest.
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
}

type TermMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<TermHasher>>;

/// Most stories [`EventClusterer::recluster`] takes on: it compares every pair and runs while
/// stores wait (982 ECB+ articles took 0.86 s in a release build, README).
pub const RECLUSTER_MAX_STORIES: usize = 1_000;

/// Words at the start of a text that make its lead (who, what, where).
pub const LEAD_WORDS: usize = 40;

/// How a new story is compared with a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// Its most similar story.
    Single,
    /// The average over its stories.
    Average,
    /// The centroid of its stories (the sum of their unit vectors).
    Centroid,
}

/// Clustering parameters.
#[derive(Debug, Clone, Copy)]
pub struct ClusterParams {
    /// Cosine similarity at or above which a story joins a cluster.
    pub threshold: f64,
    /// Weight factor of words written capitalized mid-sentence.
    pub entity_boost: f32,
    /// Times the title's words count.
    pub title_weight: f32,
    /// Times the lead's words (the first [`LEAD_WORDS`] words of the text) count.
    pub lead_weight: f32,
    /// How a story is compared with a cluster.
    pub linkage: Linkage,
    /// Stories this much older than the newest one are forgotten.
    pub window: chrono::Duration,
    /// Cosine similarity every pair of a cluster's stories must reach when the window is
    /// re-clustered at once ([`EventClusterer::recluster`], complete linkage).
    pub recluster_threshold: f64,
}

impl Default for ClusterParams {
    fn default() -> Self {
        // Picked on the ECB+ bench (README): centroid linkage with names and lead weighted
        // twice beat single and average linkage and unweighted terms.
        ClusterParams {
            threshold: 0.3,
            entity_boost: 2.0,
            title_weight: 2.0,
            lead_weight: 2.0,
            linkage: Linkage::Centroid,
            window: chrono::Duration::days(7),
            // The middle of the plateau measured on ECB+ (F1 0.874–0.895 for 0.11–0.15, and the
            // two halves' own best thresholds were 0.12 and 0.15).
            recluster_threshold: 0.13,
        }
    }
}

/// A story's terms: (term hash, weight before IDF), sorted by term.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTerms(Vec<(u64, f32)>);

impl EventTerms {
    /// Terms of a story.
    pub fn of_story(title: Option<&str>, text: &str, params: &ClusterParams) -> EventTerms {
        let mut counts: HashMap<u64, (f32, bool)> = HashMap::new();
        count_terms(text, 1.0, &mut counts);
        if params.lead_weight > 1.0 {
            let lead_end = text
                .split_inclusive(char::is_whitespace)
                .take(LEAD_WORDS)
                .map(str::len)
                .sum::<usize>();
            count_terms(&text[..lead_end], params.lead_weight - 1.0, &mut counts);
        }
        if let Some(t) = title {
            count_terms(t, params.title_weight, &mut counts);
        }
        let mut terms: Vec<(u64, f32)> = counts
            .into_iter()
            .map(|(t, (tf, entity))| {
                let w = 1.0 + tf.ln();
                (t, if entity { w * params.entity_boost } else { w })
            })
            .collect();
        terms.sort_unstable_by_key(|(t, _)| *t);
        EventTerms(terms)
    }

    /// Number of distinct terms.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the story had no usable words.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Adds a text's terms to `counts` (`weight` per occurrence); a term is an entity when any of
/// its occurrences is capitalized and not the first word of a sentence.
fn count_terms(text: &str, weight: f32, counts: &mut HashMap<u64, (f32, bool)>) {
    let mut sentence_start = true;
    let mut word = String::new();
    let mut flush = |word: &mut String, sentence_start: &mut bool| {
        if word.is_empty() {
            return;
        }
        let capitalized = word.chars().next().is_some_and(char::is_uppercase);
        let lower = word.to_lowercase();
        word.clear();
        let first = std::mem::replace(sentence_start, false);
        if lower.chars().count() < 2 || STOP_WORDS.contains(&lower.as_str()) {
            return;
        }
        let entry = counts.entry(term_hash(&lower)).or_insert((0.0, false));
        entry.0 += weight;
        entry.1 |= capitalized && !first;
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut sentence_start);
            if matches!(c, '.' | '!' | '?' | '\n' | ':' | '"' | '\u{201c}') {
                sentence_start = true;
            }
        }
    }
    flush(&mut word, &mut sentence_start);
}

fn term_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(Debug)]
struct Member {
    story_id: i64,
    cluster_id: i64,
    at: DateTime<Utc>,
    terms: EventTerms,
}

/// The best cluster for a story.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterMatch {
    /// The cluster (the id of its first story).
    pub cluster_id: i64,
    /// Its similarity to the story (per the linkage).
    pub similarity: f64,
}

/// Keeps in `best` the closer of it and `candidate`, if the candidate reaches `threshold`; a tie
/// goes to the older cluster (the lower id), so the choice does not depend on iteration order.
fn keep_closer(best: &mut Option<ClusterMatch>, candidate: ClusterMatch, threshold: f64) {
    if candidate.similarity < threshold {
        return;
    }
    let closer = best.is_none_or(|b| {
        candidate.similarity > b.similarity
            || (candidate.similarity == b.similarity && candidate.cluster_id < b.cluster_id)
    });
    if closer {
        *best = Some(candidate);
    }
}

/// The recent stories and their clusters.
#[derive(Debug)]
pub struct EventClusterer {
    params: ClusterParams,
    members: VecDeque<Member>,
    ids: HashSet<i64>,
    df: TermMap<u32>,
}

impl EventClusterer {
    /// An empty clusterer.
    pub fn new(params: ClusterParams) -> EventClusterer {
        EventClusterer {
            params,
            members: VecDeque::new(),
            ids: HashSet::new(),
            df: TermMap::default(),
        }
    }

    /// The parameters in force.
    pub fn params(&self) -> &ClusterParams {
        &self.params
    }

    /// Stories held (those in the window).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no story is held.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether this story is held.
    pub fn contains(&self, story_id: i64) -> bool {
        self.ids.contains(&story_id)
    }

    /// Cosine similarity of a story with these terms, seen at `at`, to every held story in the
    /// window around `at`: (story id, its cluster id, similarity).
    pub fn similar_stories(&self, terms: &EventTerms, at: DateTime<Utc>) -> Vec<(i64, i64, f64)> {
        let mut out = Vec::new();
        if terms.is_empty() {
            return out;
        }
        // IDF as if the new story were already counted.
        let q: Vec<(u64, f32)> = terms
            .0
            .iter()
            .map(|&(t, w)| (t, w * self.idf_with_new(t, terms)))
            .collect();
        let q_norm = q.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if q_norm == 0.0 {
            return out;
        }
        for m in &self.members {
            if (m.at - at).abs() > self.params.window {
                continue;
            }
            let mut dot = 0f32;
            let mut norm = 0f32;
            let mut qi = 0;
            for &(t, w) in &m.terms.0 {
                let wi = w * self.idf_with_new(t, terms);
                norm += wi * wi;
                while qi < q.len() && q[qi].0 < t {
                    qi += 1;
                }
                if qi < q.len() && q[qi].0 == t {
                    dot += wi * q[qi].1;
                }
            }
            if norm > 0.0 {
                out.push((
                    m.story_id,
                    m.cluster_id,
                    f64::from(dot / (norm.sqrt() * q_norm)),
                ));
            }
        }
        out
    }

    /// The cluster a story with these terms, seen at `at`, belongs to, if any reaches the
    /// threshold. Stories outside the window around `at` are not considered.
    pub fn best_cluster(&self, terms: &EventTerms, at: DateTime<Utc>) -> Option<ClusterMatch> {
        if self.params.linkage == Linkage::Centroid {
            return self.best_centroid(terms, at);
        }
        let mut by_cluster: HashMap<i64, (f64, f64, usize)> = HashMap::new();
        for (_, cluster_id, sim) in self.similar_stories(terms, at) {
            let e = by_cluster.entry(cluster_id).or_insert((0.0, 0.0, 0));
            e.0 = e.0.max(sim);
            e.1 += sim;
            e.2 += 1;
        }
        let mut best: Option<ClusterMatch> = None;
        for (cluster_id, (max, sum, n)) in by_cluster {
            let similarity = match self.params.linkage {
                Linkage::Single => max,
                Linkage::Average | Linkage::Centroid => sum / n as f64,
            };
            keep_closer(
                &mut best,
                ClusterMatch {
                    cluster_id,
                    similarity,
                },
                self.params.threshold,
            );
        }
        best
    }

    /// The cluster whose centroid is closest to the story, if it reaches the threshold.
    fn best_centroid(&self, terms: &EventTerms, at: DateTime<Utc>) -> Option<ClusterMatch> {
        if terms.is_empty() {
            return None;
        }
        let q: TermMap<f32> = terms
            .0
            .iter()
            .map(|&(t, w)| (t, w * self.idf_with_new(t, terms)))
            .collect();
        let q_norm = q.values().map(|w| w * w).sum::<f32>().sqrt();
        if q_norm == 0.0 {
            return None;
        }
        let mut centroids: HashMap<i64, TermMap<f32>> = HashMap::new();
        let mut weighted: Vec<(u64, f32)> = Vec::new();
        // Stories share most of their words: each term's IDF is worked out once per call.
        let mut idf_of: TermMap<f32> = TermMap::with_capacity_and_hasher(8192, Default::default());
        for m in self.members.iter().rev().take(ONLINE_MAX_STORIES) {
            if (m.at - at).abs() > self.params.window {
                continue;
            }
            weighted.clear();
            weighted.extend(m.terms.0.iter().map(|&(t, w)| {
                let idf = *idf_of
                    .entry(t)
                    .or_insert_with(|| self.idf_with_new(t, terms));
                (t, w * idf)
            }));
            let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm == 0.0 {
                continue;
            }
            let c = centroids.entry(m.cluster_id).or_default();
            for &(t, w) in &weighted {
                *c.entry(t).or_insert(0.0) += w / norm;
            }
        }
        let mut best: Option<ClusterMatch> = None;
        for (cluster_id, c) in centroids {
            let c_norm = c.values().map(|w| w * w).sum::<f32>().sqrt();
            let dot: f32 = q
                .iter()
                .filter_map(|(t, w)| c.get(t).map(|cw| w * cw))
                .sum();
            let similarity = f64::from(dot / (q_norm * c_norm));
            keep_closer(
                &mut best,
                ClusterMatch {
                    cluster_id,
                    similarity,
                },
                self.params.threshold,
            );
        }
        best
    }

    fn idf_with_new(&self, term: u64, new: &EventTerms) -> f32 {
        let in_new = new.0.binary_search_by_key(&term, |(t, _)| *t).is_ok();
        let n = self.members.len() as f32 + 1.0;
        let df = self.df.get(&term).copied().unwrap_or(0) as f32 + f32::from(u8::from(in_new));
        ((n + 1.0) / (df + 1.0)).ln() + 1.0
    }

    /// Adds a stored story to its cluster (ignored when already held), then forgets stories
    /// that fell out of the window behind the newest one.
    pub fn insert(&mut self, story_id: i64, cluster_id: i64, at: DateTime<Utc>, terms: EventTerms) {
        if !self.ids.insert(story_id) {
            return;
        }
        for (t, _) in &terms.0 {
            *self.df.entry(*t).or_insert(0) += 1;
        }
        // Kept in time order (stories from a rebuild or another process can arrive late).
        let pos = self.members.partition_point(|m| m.at <= at);
        self.members.insert(
            pos,
            Member {
                story_id,
                cluster_id,
                at,
                terms,
            },
        );
        self.evict_before(self.members.back().map_or(at, |m| m.at) - self.params.window);
    }

    /// Re-clusters every story held at once and returns the stories whose cluster changed, as
    /// (story id, new cluster id). Online assignment depends on arrival order: an early story
    /// of a second event can pull its event into the first one's cluster for good. Here the two
    /// clusters whose least similar stories are closest merge first, until no pair of clusters
    /// has all its cross pairs at [`ClusterParams::recluster_threshold`] (complete linkage), so
    /// the result depends only on the stories held. A cluster's id is its earliest story's.
    ///
    /// `None` when more than [`RECLUSTER_MAX_STORIES`] stories are held: the pass compares every
    /// pair, and the online clusters then stay as they are.
    pub fn recluster(&mut self) -> Option<Vec<(i64, i64)>> {
        let n = self.members.len();
        if n > RECLUSTER_MAX_STORIES {
            return None;
        }
        let vectors: Vec<Vec<(u64, f32)>> = self
            .members
            .iter()
            .map(|m| {
                let mut v: Vec<(u64, f32)> = m
                    .terms
                    .0
                    .iter()
                    .map(|&(t, w)| {
                        let df = self.df.get(&t).copied().unwrap_or(1) as f32;
                        (t, w * (((n as f32 + 1.0) / (df + 1.0)).ln() + 1.0))
                    })
                    .collect();
                let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
                for (_, w) in &mut v {
                    *w /= norm.max(f32::MIN_POSITIVE);
                }
                v
            })
            .collect();
        let t = self.params.recluster_threshold;
        // Only stories linked by a pair at the threshold can share a cluster: cluster each
        // connected group of such pairs on its own, which keeps the cubic merge loop small.
        let mut sim: HashMap<(usize, usize), f64> = HashMap::new();
        let mut group: Vec<usize> = (0..n).collect();
        fn root(group: &mut [usize], mut i: usize) -> usize {
            while group[i] != i {
                group[i] = group[group[i]];
                i = group[i];
            }
            i
        }
        for i in 0..n {
            for j in i + 1..n {
                let c = f64::from(sparse_dot(&vectors[i], &vectors[j]));
                if c >= t {
                    sim.insert((i, j), c);
                    let (a, b) = (root(&mut group, i), root(&mut group, j));
                    group[a.max(b)] = a.min(b);
                }
            }
        }
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..n {
            let r = root(&mut group, i);
            groups.entry(r).or_default().push(i);
        }
        let mut changes = Vec::new();
        for members in groups.into_values() {
            for cluster in complete_linkage(&members, &sim, t) {
                let id = cluster
                    .iter()
                    .map(|&i| self.members[i].story_id)
                    .min()
                    .unwrap_or(0);
                for i in cluster {
                    let m = &mut self.members[i];
                    if m.cluster_id != id {
                        m.cluster_id = id;
                        changes.push((m.story_id, id));
                    }
                }
            }
        }
        changes.sort_unstable();
        Some(changes)
    }

    /// Forgets the stories seen before `cutoff`.
    pub fn evict_before(&mut self, cutoff: DateTime<Utc>) {
        while self.members.front().is_some_and(|m| m.at < cutoff) {
            let Some(m) = self.members.pop_front() else {
                break;
            };
            self.ids.remove(&m.story_id);
            for (t, _) in &m.terms.0 {
                if let Some(d) = self.df.get_mut(t) {
                    *d -= 1;
                    if *d == 0 {
                        self.df.remove(t);
                    }
                }
            }
        }
    }
}

/// Dot product of two term vectors sorted by term.
fn sparse_dot(a: &[(u64, f32)], b: &[(u64, f32)]) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    dot
}

/// Complete-linkage clusters of `items` (indices; `sim` holds the pairs at or above
/// `threshold`, a missing pair is below it).
fn complete_linkage(
    items: &[usize],
    sim: &HashMap<(usize, usize), f64>,
    threshold: f64,
) -> Vec<Vec<usize>> {
    let pair = |a: usize, b: usize| sim.get(&(a.min(b), a.max(b))).copied().unwrap_or(0.0);
    let mut clusters: Vec<Vec<usize>> = items.iter().map(|&i| vec![i]).collect();
    // Cluster-to-cluster similarity: the least similar cross pair.
    let k = clusters.len();
    let mut link: Vec<Vec<f64>> = (0..k)
        .map(|a| (0..k).map(|b| pair(items[a], items[b])).collect())
        .collect();
    let mut alive = vec![true; k];
    // Each cluster's closest partner, so a merge costs O(k) instead of a scan of all pairs.
    let closest = |a: usize, link: &[Vec<f64>], alive: &[bool]| {
        (0..k)
            .filter(|&b| b != a && alive[b])
            .map(|b| (link[a][b], b))
            .max_by(|x, y| x.0.total_cmp(&y.0))
            .unwrap_or((f64::MIN, a))
    };
    let mut partner: Vec<(f64, usize)> = (0..k).map(|a| closest(a, &link, &alive)).collect();
    while let Some((a, &(top, b))) = partner
        .iter()
        .enumerate()
        .filter(|&(a, _)| alive[a])
        .max_by(|x, y| x.1 .0.total_cmp(&y.1 .0))
    {
        if top < threshold || a == b {
            break;
        }
        for c in (0..k).filter(|&c| alive[c] && c != a && c != b) {
            let v = link[a][c].min(link[b][c]);
            link[a][c] = v;
            link[c][a] = v;
        }
        alive[b] = false;
        // Complete linkage only lowers similarities: only clusters whose partner was one of
        // the two merged need a new partner.
        for c in (0..k).filter(|&c| alive[c]) {
            if c == a || partner[c].1 == a || partner[c].1 == b {
                partner[c] = closest(c, &link, &alive);
            }
        }
        let moved = std::mem::take(&mut clusters[b]);
        clusters[a].extend(moved);
    }
    clusters
        .into_iter()
        .zip(alive)
        .filter_map(|(c, a)| a.then_some(c))
        .collect()
}

/// Words that say nothing about which event a story reports.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "said",
    "same",
    "says",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "told",
    "according",
    "one",
    "two",
    "new",
    "year",
    "years",
    "mr",
    "mrs",
    "ms",
    "s",
    "t",
    "there",
    "been",
    "may",
    "like",
];

#[cfg(test)]
mod tests {
    use super::*;

    const CHILE_A: &str = "A magnitude 7.8 earthquake struck off the coast of Chile on Monday, \
        shaking buildings in Valparaiso and Santiago. The Chilean navy issued a tsunami warning \
        for the coast near Valparaiso. President Boric said emergency teams were checking \
        bridges and hospitals in the Valparaiso region.";
    const CHILE_B: &str = "Residents of Valparaiso fled to higher ground after a strong \
        earthquake hit central Chile. Officials in Santiago reported power cuts, and the navy \
        lifted its tsunami alert hours later. Boric thanked rescue teams working through the \
        night in Valparaiso.";
    const JAPAN_A: &str = "A magnitude 7.1 earthquake shook northern Japan on Monday, \
        damaging roads in Sendai and Fukushima. The Japan Meteorological Agency warned of a \
        tsunami along the Miyagi coast. Prime Minister Ishiba said nuclear plants in Fukushima \
        reported no damage.";
    const JAPAN_B: &str = "Trains were halted in Sendai after a powerful earthquake hit \
        Miyagi. The Meteorological Agency lifted its tsunami warning for the coast by evening, \
        and Ishiba told reporters the Fukushima plants were safe.";
    const FOOTBALL: &str = "Arsenal beat Chelsea two goals to one at the Emirates Stadium on \
        Saturday. Saka scored the winner in the second half, and Arteta praised his defence \
        after a tense finish in north London.";

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    /// Feeds the texts in order; returns each one's cluster id (ids are 1-based positions).
    fn cluster_all(c: &mut EventClusterer, texts: &[&str]) -> Vec<i64> {
        let params = *c.params();
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let id = i as i64 + 1;
                let terms = EventTerms::of_story(None, text, &params);
                let cluster = c.best_cluster(&terms, t0()).map_or(id, |m| m.cluster_id);
                c.insert(id, cluster, t0(), terms);
                cluster
            })
            .collect()
    }

    #[test]
    fn reports_of_one_event_share_a_cluster_and_a_like_event_does_not() {
        let mut c = EventClusterer::new(ClusterParams::default());
        let clusters = cluster_all(&mut c, &[CHILE_A, JAPAN_A, FOOTBALL, CHILE_B, JAPAN_B]);
        assert_eq!(clusters, vec![1, 2, 3, 1, 2]);
        assert_eq!(c.len(), 5);
        assert!(c.contains(4) && !c.contains(6));
    }

    #[test]
    fn reclustering_regroups_by_content_whatever_the_online_labels() {
        let params = ClusterParams::default();
        let mut c = EventClusterer::new(params);
        // Labels as a bad arrival order could leave them: Japan in Chile's cluster, the
        // second Chile report alone, the match report with the first Japan report.
        for (id, cluster, text) in [
            (1, 1, CHILE_A),
            (2, 1, JAPAN_A),
            (3, 2, FOOTBALL),
            (4, 4, CHILE_B),
            (5, 1, JAPAN_B),
        ] {
            c.insert(id, cluster, t0(), EventTerms::of_story(None, text, &params));
        }
        let changes = c.recluster();
        // Chile {1, 4}, Japan {2, 5}, the match alone: each cluster named by its first story.
        assert_eq!(changes, Some(vec![(2, 2), (3, 3), (4, 1), (5, 2)]));
        assert_eq!(c.recluster(), Some(vec![]), "a second pass changes nothing");
    }

    #[test]
    fn reclustering_skips_a_window_too_large_to_compare_pairwise() {
        let params = ClusterParams::default();
        let mut c = EventClusterer::new(params);
        let terms = EventTerms::of_story(None, FOOTBALL, &params);
        for id in 1..=RECLUSTER_MAX_STORIES as i64 + 1 {
            c.insert(id, id, t0(), terms.clone());
        }
        assert_eq!(c.recluster(), None);
    }

    #[test]
    fn names_weigh_more_than_common_words() {
        let params = ClusterParams {
            lead_weight: 1.0,
            ..ClusterParams::default()
        };
        let terms = EventTerms::of_story(None, CHILE_A, &params);
        let weight = |w: &str| {
            let h = term_hash(w);
            terms.0.iter().find(|(t, _)| *t == h).map(|(_, w)| *w)
        };
        // "Valparaiso" three times and capitalized; "coast" once; "the" is a stop word.
        assert!(weight("valparaiso") > weight("coast").map(|w| w * 2.0));
        assert_eq!(weight("the"), None);
        // The sentence-initial "The" and "A" do not make entities.
        assert!(weight("navy").is_some_and(|w| w < 1.5));
    }

    #[test]
    fn stories_outside_the_window_are_forgotten() {
        let params = ClusterParams::default();
        let mut c = EventClusterer::new(params);
        let a = EventTerms::of_story(None, CHILE_A, &params);
        c.insert(1, 1, t0(), a);
        let b = EventTerms::of_story(None, CHILE_B, &params);
        assert_eq!(c.best_cluster(&b, t0()).map(|m| m.cluster_id), Some(1));
        let later = t0() + params.window + chrono::Duration::hours(1);
        assert_eq!(c.best_cluster(&b, later), None, "too old to compare");
        // A newer story pushes the old one out.
        c.insert(2, 2, later, EventTerms::of_story(None, FOOTBALL, &params));
        assert!(!c.contains(1));
        assert_eq!(c.len(), 1);
        // Re-inserting a held story changes nothing.
        c.insert(2, 2, later, EventTerms::of_story(None, FOOTBALL, &params));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn an_empty_text_joins_nothing() {
        let params = ClusterParams::default();
        let mut c = EventClusterer::new(params);
        c.insert(1, 1, t0(), EventTerms::of_story(None, CHILE_A, &params));
        let empty = EventTerms::of_story(None, "the and of", &params);
        assert!(empty.is_empty());
        assert_eq!(c.best_cluster(&empty, t0()), None);
    }
}
