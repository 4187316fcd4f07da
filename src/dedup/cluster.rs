//! Level 4 of dedup: stories about one event, written in other words, grouped by a cluster id.
//!
//! Each story becomes a TF-IDF vector: sublinear term frequency (1 + ln tf) of its words
//! (stop words dropped), words written capitalized mid-sentence (names of people, places,
//! organisations) weighted up, the title's and the lead's words counted again. A word's IDF
//! comes from how common it is in English at large (a background table shipped with the
//! binary, [`super::background`]) blended with its count in the window, so a window of ten
//! stories weighs words as one of a hundred thousand does; the topic's own required terms
//! (which every stored story has) weigh nothing.
//!
//! A new story is compared only with candidates: the recent stories that share one of its
//! strongest terms (an inverted index of each story's [`ClusterParams::index_terms`] rarest,
//! heaviest terms: names, numbers, rare words). It joins the closest candidate cluster when
//! that reaches the threshold, else starts its own. After each run, the stories that arrived
//! are re-clustered together with the clusters they reached ([`EventClusterer::recluster`],
//! complete linkage over the candidate graph), which repairs what arrival order got wrong.
//! The window is bounded by time only: stories older than it are forgotten, so an event's
//! cluster closes once coverage stops.

use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Utc};

use super::background::background;

/// Newest stories read from one index term's list when looking for candidates. The reports of
/// one event are recent and share several strong terms; a term in more recent stories than
/// this is not what tells one event from another.
pub const POSTING_READ: usize = 256;

/// Maps keyed by term hashes and story ids use `rustc-hash` (one multiply per integer key):
/// SipHash over them was a quarter of a busy daemon's CPU, and FNV's byte-at-a-time `write_u64`
/// made a new story's clustering p99 at 100,000 stories 862 → 1,082 µs (issue 16 re-measurement,
/// `cargo bench --bench dedup -- cluster-scale`); nothing here is keyed by input an attacker can
/// aim at.
pub(crate) type TermMap<V> = HashMap<u64, V, rustc_hash::FxBuildHasher>;
type IdMap<V> = HashMap<i64, V, rustc_hash::FxBuildHasher>;

/// Words at the start of a text that make its lead (who, what, where).
pub const LEAD_WORDS: usize = 40;

/// How a new story is compared with a cluster (over the cluster's stories among its
/// candidates).
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
    /// Cosine similarity every pair of a cluster's stories must reach when stories are
    /// re-clustered ([`EventClusterer::recluster`], complete linkage).
    pub recluster_threshold: f64,
    /// How many articles the background table counts as, against the window's own stories:
    /// below this many stories the background decides a word's weight, far above it the window.
    pub background_articles: f32,
    /// How clusters are compared when stories are re-clustered: [`Linkage::Single`] is not
    /// used there; [`Linkage::Average`] (mean cross pair, UPGMA) or the least similar cross
    /// pair (any other value: complete linkage).
    pub recluster_linkage: Linkage,
    /// A story's strongest terms kept in the candidate index.
    pub index_terms: usize,
    /// Most candidates a story is compared with (those sharing the most strong terms).
    pub max_candidates: usize,
    /// Strong terms two stories must share for re-clustering to compare them; fewer count as
    /// dissimilar.
    pub min_shared_terms: usize,
}

impl Default for ClusterParams {
    fn default() -> Self {
        // Picked on the ECB+ benches (README): centroid linkage online; complete linkage when
        // re-clustering; names weighted 1.5 and the lead twice; the background worth 500
        // articles. Picked on the one-topic windows (each topic alone as the window), checked
        // on the whole corpus.
        ClusterParams {
            threshold: 0.3,
            entity_boost: 1.5,
            title_weight: 2.0,
            lead_weight: 2.0,
            linkage: Linkage::Average,
            window: chrono::Duration::days(7),
            recluster_threshold: 0.11,
            recluster_linkage: Linkage::Centroid,
            background_articles: 500.0,
            index_terms: 16,
            max_candidates: 64,
            min_shared_terms: 1,
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

/// FNV-1a 64 hash of a word: the key of a term (stable across builds and platforms, unlike std's
/// hasher, so a term's key never depends on the binary).
pub(crate) fn term_hash(word: &str) -> u64 {
    use std::hash::Hasher as _;
    let mut h = fnv::FnvHasher::default();
    h.write(word.as_bytes());
    h.finish()
}

#[derive(Debug)]
struct Member {
    cluster_id: i64,
    at: DateTime<Utc>,
    terms: EventTerms,
    /// Background share of each term, in the order of `terms`.
    background: Box<[f32]>,
    /// Strongest terms: this story's entries in the candidate index.
    keys: Box<[u64]>,
    /// Its unit vector's weights (in the order of `terms`) with the IDF of when it arrived:
    /// the online step reads these instead of weighing every candidate's terms again, while
    /// re-clustering weighs its stories afresh, so the result still does not depend on when
    /// a story came.
    unit: Box<[f32]>,
}

impl Member {
    /// Dot product of a sorted unit vector with this story's arrival-time unit vector.
    fn dot_cached(&self, q: &[(u64, f32)]) -> f32 {
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        let t = &self.terms.0;
        while i < q.len() && j < t.len() {
            match q[i].0.cmp(&t[j].0) {
                std::cmp::Ordering::Equal => {
                    dot += q[i].1 * self.unit.get(j).copied().unwrap_or(0.0);
                    i += 1;
                    j += 1;
                }
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
            }
        }
        dot
    }
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

/// The recent stories, their clusters and the candidate index over them.
#[derive(Debug)]
pub struct EventClusterer {
    params: ClusterParams,
    /// Terms that weigh nothing: the topic's required terms.
    ignored: TermMap<()>,
    members: IdMap<Member>,
    /// (arrival time, story id), for forgetting in time order.
    by_time: BTreeSet<(DateTime<Utc>, i64)>,
    /// Stories of the window using each term.
    df: TermMap<u32>,
    /// Strong term → stories indexed under it, oldest first.
    postings: TermMap<VecDeque<i64>>,
    /// Cluster id → its stories in the window.
    clusters: IdMap<Vec<i64>>,
    /// Stories inserted since the last [`EventClusterer::recluster`].
    dirty: Vec<i64>,
    /// Stories the last re-clustering pass took on, and its largest linked group.
    last_pass: (usize, usize),
}

impl EventClusterer {
    /// An empty clusterer.
    pub fn new(params: ClusterParams) -> EventClusterer {
        EventClusterer {
            params,
            ignored: TermMap::default(),
            members: IdMap::default(),
            by_time: BTreeSet::new(),
            df: TermMap::default(),
            postings: TermMap::default(),
            clusters: IdMap::default(),
            dirty: Vec::new(),
            last_pass: (0, 0),
        }
    }

    /// Makes these words weigh nothing in event similarity: the topic's required terms, which
    /// every stored story has by construction. A phrase's every word is ignored. Call before
    /// inserting stories (the candidate index is built with the words in force).
    pub fn ignore_terms<'a>(&mut self, phrases: impl IntoIterator<Item = &'a str>) {
        for phrase in phrases {
            for w in super::words(phrase) {
                self.ignored.insert(term_hash(&w), ());
            }
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
        self.members.contains_key(&story_id)
    }

    /// The cluster a held story is in.
    pub fn cluster_of(&self, story_id: i64) -> Option<i64> {
        self.members.get(&story_id).map(|m| m.cluster_id)
    }

    /// A term's IDF: background share blended with the window's count, as the share of
    /// `background_articles + n` articles using it. Ignored terms weigh nothing.
    fn idf(&self, term: u64, share: f32) -> f32 {
        if self.ignored.contains_key(&term) {
            return 0.0;
        }
        let m = self.params.background_articles.max(0.0);
        let n = self.members.len() as f32;
        let df = self.df.get(&term).copied().unwrap_or(0) as f32;
        let p = ((df + m * share) / (n + m)).clamp(1e-9, 1.0);
        -p.ln()
    }

    /// A story's weighted unit vector, sorted by term (empty when nothing weighs).
    fn unit_vector(&self, terms: &EventTerms, shares: &[f32]) -> Vec<(u64, f32)> {
        let mut v: Vec<(u64, f32)> = terms
            .0
            .iter()
            .zip(shares)
            .map(|(&(t, w), &s)| (t, w * self.idf(t, s)))
            .filter(|(_, w)| *w > 0.0)
            .collect();
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, w) in &mut v {
                *w /= norm;
            }
        }
        v
    }

    /// [`EventClusterer::unit_vector`]'s weights, one per term (zero for an ignored term).
    fn unit_weights(&self, terms: &EventTerms, shares: &[f32]) -> Box<[f32]> {
        let mut w: Vec<f32> = terms
            .0
            .iter()
            .zip(shares)
            .map(|(&(t, w), &s)| w * self.idf(t, s))
            .collect();
        let norm = w.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut w {
                *x /= norm;
            }
        }
        w.into_boxed_slice()
    }

    fn member_vector(&self, m: &Member) -> Vec<(u64, f32)> {
        self.unit_vector(&m.terms, &m.background)
    }

    /// A story's strongest terms by weight and background rarity alone (so its index entries
    /// never change): names, numbers and rare words first.
    fn keys_of(&self, terms: &EventTerms, shares: &[f32]) -> Box<[u64]> {
        let mut scored: Vec<(f32, u64)> = terms
            .0
            .iter()
            .zip(shares)
            .filter(|((t, _), _)| !self.ignored.contains_key(t))
            .map(|(&(t, w), &s)| (w * -s.max(1e-9).ln(), t))
            .collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(self.params.index_terms)
            .map(|(_, t)| t)
            .collect()
    }

    /// Held stories in the window around `at` that share a strong term with `keys`: those
    /// sharing the most first, then the newest, at most [`ClusterParams::max_candidates`].
    fn candidates(&self, keys: &[u64], at: DateTime<Utc>, exclude: Option<i64>) -> Vec<i64> {
        let mut hits: IdMap<u32> = IdMap::default();
        for k in keys {
            if let Some(list) = self.postings.get(k) {
                for &id in list.iter().rev().take(POSTING_READ) {
                    *hits.entry(id).or_insert(0) += 1;
                }
            }
        }
        let mut found: Vec<(u32, i64)> = hits
            .into_iter()
            .filter(|&(id, _)| Some(id) != exclude)
            .filter(|(id, _)| {
                self.members
                    .get(id)
                    .is_some_and(|m| (m.at - at).abs() <= self.params.window)
            })
            .map(|(id, n)| (n, id))
            .collect();
        found.sort_unstable_by(|a, b| b.cmp(a));
        found.truncate(self.params.max_candidates);
        found.into_iter().map(|(_, id)| id).collect()
    }

    /// The candidate stories a story with these terms would be compared with (their ids),
    /// most strong terms shared first.
    pub fn candidate_stories(&self, terms: &EventTerms, at: DateTime<Utc>) -> Vec<i64> {
        let shares = shares_of(terms);
        self.candidates(&self.keys_of(terms, &shares), at, None)
    }

    /// Cosine similarity of a story with these terms, seen at `at`, to every held story in the
    /// window around `at`: (story id, its cluster id, similarity). Reads the whole window: for
    /// benchmarks and diagnostics, not for clustering.
    pub fn similar_stories(&self, terms: &EventTerms, at: DateTime<Utc>) -> Vec<(i64, i64, f64)> {
        let q = self.unit_vector(terms, &shares_of(terms));
        if q.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<(i64, i64, f64)> = self
            .members
            .iter()
            .filter(|(_, m)| (m.at - at).abs() <= self.params.window)
            .map(|(&id, m)| {
                let v = self.member_vector(m);
                (id, m.cluster_id, f64::from(sparse_dot(&q, &v)))
            })
            .collect();
        out.sort_unstable_by_key(|&(id, _, _)| id);
        out
    }

    /// The cluster a story with these terms, seen at `at`, belongs to, if any reaches the
    /// threshold. Only its candidates ([`EventClusterer::candidate_stories`]) are compared.
    pub fn best_cluster(&self, terms: &EventTerms, at: DateTime<Utc>) -> Option<ClusterMatch> {
        let shares = shares_of(terms);
        let q = self.unit_vector(terms, &shares);
        if q.is_empty() {
            return None;
        }
        let candidates = self.candidates(&self.keys_of(terms, &shares), at, None);
        // Per cluster: (max, sum, count) of the similarities, and the sum of unit vectors.
        let mut by_cluster: IdMap<(f64, f64, usize, TermMap<f32>)> = IdMap::default();
        for id in candidates {
            let Some(m) = self.members.get(&id) else {
                continue;
            };
            let sim = f64::from(m.dot_cached(&q));
            let e = by_cluster
                .entry(m.cluster_id)
                .or_insert_with(|| (f64::MIN, 0.0, 0, TermMap::default()));
            e.0 = e.0.max(sim);
            e.1 += sim;
            e.2 += 1;
            if self.params.linkage == Linkage::Centroid {
                for (&(t, _), w) in m.terms.0.iter().zip(m.unit.iter()) {
                    *e.3.entry(t).or_insert(0.0) += w;
                }
            }
        }
        let mut best: Option<ClusterMatch> = None;
        for (cluster_id, (max, sum, n, centroid)) in by_cluster {
            let similarity = match self.params.linkage {
                Linkage::Single => max,
                Linkage::Average => sum / n as f64,
                Linkage::Centroid => {
                    let norm = centroid.values().map(|w| w * w).sum::<f32>().sqrt();
                    let dot: f32 = q
                        .iter()
                        .filter_map(|(t, w)| centroid.get(t).map(|c| c * w))
                        .sum();
                    if norm > 0.0 {
                        f64::from(dot / norm)
                    } else {
                        0.0
                    }
                }
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

    /// Adds a story just stored in `cluster_id`, seen at `at`, and forgets the stories that
    /// fell out of the window. The next [`EventClusterer::recluster`] revisits it. A story
    /// already held is left as it is.
    pub fn insert(&mut self, story_id: i64, cluster_id: i64, at: DateTime<Utc>, terms: EventTerms) {
        if self.add(story_id, cluster_id, at, terms) {
            self.dirty.push(story_id);
        }
    }

    /// Adds a story read back from the store with the cluster it was given then (a restart,
    /// or a story another process stored and re-clustered): re-clustering does not revisit it
    /// unless a new story reaches its cluster.
    pub fn insert_known(
        &mut self,
        story_id: i64,
        cluster_id: i64,
        at: DateTime<Utc>,
        terms: EventTerms,
    ) {
        self.add(story_id, cluster_id, at, terms);
    }

    fn add(
        &mut self,
        story_id: i64,
        cluster_id: i64,
        at: DateTime<Utc>,
        terms: EventTerms,
    ) -> bool {
        if self.members.contains_key(&story_id) {
            return false;
        }
        let background = shares_of(&terms);
        let keys = self.keys_of(&terms, &background);
        for (t, _) in &terms.0 {
            *self.df.entry(*t).or_insert(0) += 1;
        }
        let unit = self.unit_weights(&terms, &background);
        for k in keys.iter() {
            let list = self.postings.entry(*k).or_default();
            // Kept in id order (ids grow with time; a late story from another process is rare).
            let pos = list.partition_point(|&id| id < story_id);
            list.insert(pos, story_id);
        }
        self.clusters.entry(cluster_id).or_default().push(story_id);
        self.by_time.insert((at, story_id));
        self.members.insert(
            story_id,
            Member {
                cluster_id,
                at,
                terms,
                background,
                keys,
                unit,
            },
        );
        let newest = self.by_time.last().map_or(at, |(t, _)| *t);
        self.evict_before(newest - self.params.window);
        true
    }

    /// Re-clusters the stories inserted since the last call together with every cluster they
    /// reached, and returns the stories whose cluster changed, as (story id, new cluster id).
    ///
    /// Online assignment depends on arrival order: an early story of a second event can pull
    /// its event into the first one's cluster. Here each new story's candidates at
    /// [`ClusterParams::recluster_threshold`] name the clusters it reached; those clusters'
    /// stories and the new ones are grouped by the pairs at the threshold among them, and
    /// each group is clustered by complete linkage (the two clusters whose least similar
    /// stories are closest merge first, until no two clusters have all their cross pairs at
    /// the threshold). A cluster's id is its earliest story's. Clusters no new story reached
    /// are not touched, so the cost follows the new stories, not the window.
    pub fn recluster(&mut self) -> Vec<(i64, i64)> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.retain(|id| self.members.contains_key(id));
        dirty.sort_unstable();
        dirty.dedup();
        if dirty.is_empty() {
            return Vec::new();
        }
        let t = self.params.recluster_threshold;
        let mut touched: BTreeSet<i64> = BTreeSet::new();
        for &d in &dirty {
            let Some(m) = self.members.get(&d) else {
                continue;
            };
            touched.insert(m.cluster_id);
            let q = self.member_vector(m);
            // Which clusters it reaches: candidates' arrival-time vectors are close enough to
            // tell, and weighing every candidate afresh would cost the window's growth.
            for c in self.candidates(&m.keys, m.at, Some(d)) {
                let Some(cm) = self.members.get(&c) else {
                    continue;
                };
                if f64::from(cm.dot_cached(&q)) >= t {
                    touched.insert(cm.cluster_id);
                }
            }
        }
        let mut set: Vec<i64> = touched
            .iter()
            .filter_map(|c| self.clusters.get(c))
            .flatten()
            .copied()
            .chain(dirty.iter().copied())
            .collect();
        set.sort_unstable();
        set.dedup();
        // The set weighed afresh: each distinct term's IDF is worked out once, and terms are
        // numbered locally so a pair's dot product reads one story's weights from a table.
        let mut local_terms: TermMap<(u32, f32)> = TermMap::default();
        let mut items: Vec<Weighed> = Vec::with_capacity(set.len());
        for id in &set {
            let Some(m) = self.members.get(id) else {
                continue;
            };
            let mut v: Vec<(u32, f32)> = Vec::with_capacity(m.terms.0.len());
            for (&(term, w), &share) in m.terms.0.iter().zip(m.background.iter()) {
                let next = local_terms.len() as u32;
                let &mut (index, idf) = local_terms
                    .entry(term)
                    .or_insert_with(|| (next, self.idf(term, share)));
                let x = w * idf;
                if x > 0.0 {
                    v.push((index, x));
                }
            }
            // As in `unit_vector`: the same sums in the same order, so the same weights.
            let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                for (_, w) in &mut v {
                    *w /= norm;
                }
            }
            items.push((*id, m.at, v));
        }
        let window = self.params.window;
        // The candidate graph among them: pairs sharing a strong term, kept at the threshold.
        let mut local: TermMap<Vec<usize>> = TermMap::default();
        for (i, (id, _, _)) in items.iter().enumerate() {
            if let Some(m) = self.members.get(id) {
                for k in m.keys.iter() {
                    local.entry(*k).or_default().push(i);
                }
            }
        }
        let mut group: Vec<usize> = (0..items.len()).collect();
        // Similarities of the candidate pairs at the threshold; a pair that shares no strong
        // term is below it, so complete linkage never merges across it.
        let mut edges: IdMap<f64> = IdMap::default();
        let mut edge_list: Vec<(usize, usize, f64)> = Vec::new();
        let min_shared = self.params.min_shared_terms.max(1) as u32;
        // Per story b: the stories before it in its strong terms' lists (as in the window's
        // index, the newest POSTING_READ of them, not every story of a common term), with the
        // number of terms they share; b's weights spread over a table of the local terms.
        let mut seen_by = vec![usize::MAX; items.len()];
        let mut shared = vec![0u32; items.len()];
        let mut before: Vec<usize> = Vec::new();
        let mut table = vec![0.0f32; local_terms.len()];
        for b in 0..items.len() {
            let Some(m) = self.members.get(&items[b].0) else {
                continue;
            };
            before.clear();
            for k in m.keys.iter() {
                let Some(list) = local.get(k) else {
                    continue;
                };
                let x = list.partition_point(|&i| i < b);
                for &a in &list[x.saturating_sub(POSTING_READ)..x] {
                    if seen_by[a] != b {
                        seen_by[a] = b;
                        shared[a] = 0;
                        before.push(a);
                    }
                    shared[a] += 1;
                }
            }
            if before.is_empty() {
                continue;
            }
            before.sort_unstable();
            for &(i, w) in &items[b].2 {
                table[i as usize] = w;
            }
            for &a in &before {
                if shared[a] < min_shared || (items[a].1 - items[b].1).abs() > window {
                    continue;
                }
                // Products in a's term order, as `sparse_dot` adds them.
                let dot: f32 = items[a]
                    .2
                    .iter()
                    .fold(0.0, |acc, &(i, w)| acc + w * table[i as usize]);
                let s = f64::from(dot);
                if s >= t {
                    edges.insert(pair_key(a, b), s);
                    edge_list.push((a, b, s));
                    let (ra, rb) = (root(&mut group, a), root(&mut group, b));
                    group[ra.max(rb)] = ra.min(rb);
                }
            }
            for &(i, _) in &items[b].2 {
                table[i as usize] = 0.0;
            }
        }
        let sim =
            |a: usize, b: usize| -> f64 { edges.get(&pair_key(a, b)).copied().unwrap_or(0.0) };
        let mut groups: BTreeSet<(usize, usize)> = BTreeSet::new();
        for i in 0..items.len() {
            groups.insert((root(&mut group, i), i));
        }
        let mut by_root: Vec<Vec<usize>> = Vec::new();
        let mut last_root = usize::MAX;
        for (r, i) in groups {
            if r != last_root {
                by_root.push(Vec::new());
                last_root = r;
            }
            if let Some(g) = by_root.last_mut() {
                g.push(i);
            }
        }
        self.last_pass = (items.len(), by_root.iter().map(Vec::len).max().unwrap_or(0));
        for c in &touched {
            self.clusters.remove(c);
        }
        let mut changes = Vec::new();
        let found: Vec<Vec<usize>> = if self.params.recluster_linkage == Linkage::Average {
            by_root
                .iter()
                .flat_map(|members| complete_linkage(members, &sim, t, true))
                .collect()
        } else {
            // Complete linkage over the edges alone: its memory and time follow the pairs at
            // the threshold, not the square of a large linked group.
            sparse_complete_linkage(items.len(), &edge_list, t)
        };
        for cluster in found {
            let id = cluster.iter().map(|&i| items[i].0).min().unwrap_or(0);
            let mut ids = Vec::with_capacity(cluster.len());
            for i in cluster {
                let story = items[i].0;
                ids.push(story);
                if let Some(m) = self.members.get_mut(&story) {
                    if m.cluster_id != id {
                        m.cluster_id = id;
                        changes.push((story, id));
                    }
                }
            }
            self.clusters.entry(id).or_default().extend(ids);
        }
        changes.sort_unstable();
        changes
    }

    /// Forgets the stories seen before `cutoff`.
    pub fn evict_before(&mut self, cutoff: DateTime<Utc>) {
        while let Some(&(at, id)) = self.by_time.first() {
            if at >= cutoff {
                break;
            }
            self.by_time.pop_first();
            let Some(m) = self.members.remove(&id) else {
                continue;
            };
            for (t, _) in &m.terms.0 {
                if let Some(d) = self.df.get_mut(t) {
                    *d -= 1;
                    if *d == 0 {
                        self.df.remove(t);
                    }
                }
            }
            for k in m.keys.iter() {
                if let Some(list) = self.postings.get_mut(k) {
                    if let Ok(pos) = list.binary_search(&id) {
                        list.remove(pos);
                    }
                    if list.is_empty() {
                        self.postings.remove(k);
                    }
                }
            }
            if let Some(list) = self.clusters.get_mut(&m.cluster_id) {
                list.retain(|&s| s != id);
                if list.is_empty() {
                    self.clusters.remove(&m.cluster_id);
                }
            }
        }
    }

    /// Stories the last [`EventClusterer::recluster`] took on (the new ones and the clusters
    /// they reached), and the largest group of them linked at the threshold.
    pub fn last_recluster_size(&self) -> (usize, usize) {
        self.last_pass
    }

    /// Heap bytes held per story, roughly (terms, index entries, bookkeeping): for the scale
    /// benchmark's memory figure.
    pub fn heap_bytes(&self) -> usize {
        let member = std::mem::size_of::<(i64, Member)>() + 8;
        let per_story: usize = self
            .members
            .values()
            .map(|m| {
                m.terms.0.capacity() * 16
                    + (m.background.len() + m.unit.len()) * 4
                    + m.keys.len() * 16
            })
            .sum();
        let df = self.df.capacity() * (12 + 1);
        let postings = self.postings.capacity() * (8 + 32 + 1);
        self.members.capacity() * (member + 1) + per_story + df + postings
    }
}

/// Background share of each of a story's terms.
fn shares_of(terms: &EventTerms) -> Box<[f32]> {
    let bg = background();
    terms.0.iter().map(|(t, _)| bg.share(*t)).collect()
}

/// A story weighed for re-clustering: (story id, arrival time, unit vector over the pass's
/// locally numbered terms, in the order of the story's terms).
type Weighed = (i64, DateTime<Utc>, Vec<(u32, f32)>);

/// Key of an unordered pair of indices.
fn pair_key(a: usize, b: usize) -> i64 {
    ((a.min(b) as i64) << 32) | a.max(b) as i64
}

/// Union-find root, halving the path on the way.
fn root(group: &mut [usize], mut i: usize) -> usize {
    while group[i] != i {
        group[i] = group[group[i]];
        i = group[i];
    }
    i
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

/// A possible merge of two clusters (by index, `lo < hi`) at their link's similarity, with
/// the versions both had when it was found: a merge of either since makes it stale.
#[derive(Debug, PartialEq)]
struct Merge {
    similarity: f64,
    lo: usize,
    hi: usize,
    versions: (u32, u32),
}

impl Eq for Merge {}

impl Ord for Merge {
    /// Most similar first; a tie goes to the lowest indices, as a scan in index order would.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.similarity
            .total_cmp(&other.similarity)
            .then(other.lo.cmp(&self.lo))
            .then(other.hi.cmp(&self.hi))
    }
}

impl PartialOrd for Merge {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Complete-linkage clusters of the items `0..n` given only their pairs at the threshold
/// (`edges`: (a, b, similarity) with similarity ≥ `threshold`; every other pair is below it).
///
/// Two clusters can merge only when every cross pair is an edge, so each cluster keeps just
/// the clusters it is completely linked to, with the least similar cross pair; merging two
/// keeps the neighbours both were linked to. The most similar link merges first (ties: lowest
/// indices), until none is left — the same clusters as the dense algorithm over the full
/// similarity matrix, in memory and time that follow the edges.
fn sparse_complete_linkage(
    n: usize,
    edges: &[(usize, usize, f64)],
    threshold: f64,
) -> Vec<Vec<usize>> {
    let mut links: Vec<IdMap<f64>> = (0..n).map(|_| IdMap::default()).collect();
    let mut heap = std::collections::BinaryHeap::new();
    for &(a, b, s) in edges {
        if s < threshold || a == b || a >= n || b >= n {
            continue;
        }
        let (lo, hi) = (a.min(b), a.max(b));
        links[lo].insert(hi as i64, s);
        links[hi].insert(lo as i64, s);
        heap.push(Merge {
            similarity: s,
            lo,
            hi,
            versions: (0, 0),
        });
    }
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut version = vec![0u32; n];
    let mut alive = vec![true; n];
    while let Some(m) = heap.pop() {
        let (lo, hi) = (m.lo, m.hi);
        if !alive[lo] || !alive[hi] || m.versions != (version[lo], version[hi]) {
            continue;
        }
        // hi merges into lo: the merged cluster is linked to what both were linked to.
        let from_hi = std::mem::take(&mut links[hi]);
        let from_lo = std::mem::take(&mut links[lo]);
        let mut merged: IdMap<f64> = IdMap::default();
        for (&c, &s_lo) in &from_lo {
            if c as usize == hi {
                continue;
            }
            if let Some(&s_hi) = from_hi.get(&c) {
                merged.insert(c, s_lo.min(s_hi));
            }
        }
        for &c in from_lo.keys().chain(from_hi.keys()) {
            let c = c as usize;
            if c == lo || c == hi {
                continue;
            }
            links[c].remove(&(lo as i64));
            links[c].remove(&(hi as i64));
        }
        alive[hi] = false;
        version[lo] += 1;
        let moved = std::mem::take(&mut members[hi]);
        members[lo].extend(moved);
        for (&c, &s) in &merged {
            let c = c as usize;
            links[c].insert(lo as i64, s);
            let (a, b) = (lo.min(c), lo.max(c));
            heap.push(Merge {
                similarity: s,
                lo: a,
                hi: b,
                versions: (version[a], version[b]),
            });
        }
        links[lo] = merged;
    }
    members
        .into_iter()
        .zip(alive)
        .filter_map(|(c, a)| a.then_some(c))
        .collect()
}

/// Complete-linkage clusters of `items` (indices; `sim` gives a pair's similarity).
fn complete_linkage(
    items: &[usize],
    sim: &dyn Fn(usize, usize) -> f64,
    threshold: f64,
    average: bool,
) -> Vec<Vec<usize>> {
    let mut clusters: Vec<Vec<usize>> = items.iter().map(|&i| vec![i]).collect();
    let k = clusters.len();
    if k == 1 {
        return clusters;
    }
    // Cluster-to-cluster similarity: the least similar cross pair.
    let mut link: Vec<Vec<f64>> = vec![vec![0.0; k]; k];
    for a in 0..k {
        for b in a + 1..k {
            let s = sim(items[a], items[b]);
            link[a][b] = s;
            link[b][a] = s;
        }
    }
    let mut alive = vec![true; k];
    // Each cluster's closest partner, so a merge costs O(k) instead of a scan of all pairs.
    let closest = |a: usize, link: &[Vec<f64>], alive: &[bool]| {
        (0..k)
            .filter(|&b| b != a && alive[b])
            .map(|b| (link[a][b], b))
            .max_by(|x, y| x.0.total_cmp(&y.0).then(y.1.cmp(&x.1)))
            .unwrap_or((f64::MIN, a))
    };
    let mut partner: Vec<(f64, usize)> = (0..k).map(|a| closest(a, &link, &alive)).collect();
    while let Some((a, &(top, b))) = partner
        .iter()
        .enumerate()
        .filter(|&(a, _)| alive[a])
        .max_by(|x, y| x.1 .0.total_cmp(&y.1 .0).then(y.0.cmp(&x.0)))
    {
        if top < threshold || a == b {
            break;
        }
        let (na, nb) = (clusters[a].len() as f64, clusters[b].len() as f64);
        for c in (0..k).filter(|&c| alive[c] && c != a && c != b) {
            let v = if average {
                (na * link[a][c] + nb * link[b][c]) / (na + nb)
            } else {
                link[a][c].min(link[b][c])
            };
            link[a][c] = v;
            link[c][a] = v;
        }
        alive[b] = false;
        // Complete linkage only lowers similarities: only clusters whose partner was one of
        // the two merged need a new partner (an average can rise: then every one does).
        for c in (0..k).filter(|&c| alive[c]) {
            if average || c == a || partner[c].1 == a || partner[c].1 == b {
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

    /// Term keys stay the FNV-1a 64 of the word they were before the `fnv` crate (published
    /// vectors, and what the hand-written version gave for "openai").
    #[test]
    fn term_hash_is_fnv1a_64() {
        assert_eq!(term_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(term_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(term_hash("foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(term_hash("openai"), 0x8a1b_8f4a_0a91_3503);
    }
    use crate::dedup::background::background;

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
        assert_eq!(changes, vec![(2, 2), (3, 3), (4, 1), (5, 2)]);
        assert_eq!(c.recluster(), vec![], "a second pass changes nothing");
    }

    #[test]
    fn no_story_cap_the_window_is_bounded_by_time_only() {
        let params = ClusterParams::default();
        let mut c = EventClusterer::new(params);
        // The first Chile report, then 3,000 other stories (more than the old 1,000-story
        // caps), then the second report: it still finds the first, and re-clustering runs.
        c.insert(1, 1, t0(), EventTerms::of_story(None, CHILE_A, &params));
        for id in 2..=3_001 {
            let text = format!(
                "Story {id} about item{id} and widget{} in town{}.",
                id * 7,
                id % 97
            );
            c.insert(id, id, t0(), EventTerms::of_story(None, &text, &params));
        }
        assert_eq!(c.len(), 3_001);
        let b = EventTerms::of_story(None, CHILE_B, &params);
        assert_eq!(c.best_cluster(&b, t0()).map(|m| m.cluster_id), Some(1));
        c.insert(3_002, 3_002, t0(), b);
        let changes = c.recluster();
        assert!(changes.contains(&(3_002, 1)), "{changes:?}");
        assert_eq!(c.cluster_of(3_002), Some(1));
        assert_eq!(c.len(), 3_002);
    }

    #[test]
    fn candidates_are_the_stories_sharing_strong_terms() {
        let params = ClusterParams::default();
        let mut c = EventClusterer::new(params);
        for (id, text) in [(1, CHILE_A), (2, JAPAN_A), (3, FOOTBALL)] {
            c.insert(id, id, t0(), EventTerms::of_story(None, text, &params));
        }
        let chile = c.candidate_stories(&EventTerms::of_story(None, CHILE_B, &params), t0());
        assert_eq!(chile.first(), Some(&1), "{chile:?}");
        assert!(!chile.contains(&3), "{chile:?}");
        let japan = c.candidate_stories(&EventTerms::of_story(None, JAPAN_B, &params), t0());
        assert_eq!(japan.first(), Some(&2), "{japan:?}");
        assert!(!japan.contains(&3), "{japan:?}");
        // A story that shares no strong term has no candidates, whatever the window holds.
        let none = EventTerms::of_story(
            None,
            "Quarterly dividend of the cooperative bakery.",
            &params,
        );
        assert_eq!(c.candidate_stories(&none, t0()), Vec::<i64>::new());
    }

    #[test]
    fn a_small_window_weighs_words_by_the_background() {
        let params = ClusterParams::default();
        let mut c = EventClusterer::new(params);
        let terms = EventTerms::of_story(None, CHILE_A, &params);
        c.insert(1, 1, t0(), terms);
        // One story holds both words once: window counts alone would weigh them the same.
        let bg = background();
        let idf = |c: &EventClusterer, w: &str| {
            let t = term_hash(w);
            c.idf(t, bg.share(t))
        };
        assert!(idf(&c, "valparaiso") > 2.0 * idf(&c, "people"));
        // A window 200 times larger, of unrelated stories, barely moves their relative weight
        // (which is what cosine similarity sees).
        let before = idf(&c, "valparaiso") / idf(&c, "emergency");
        for id in 2..=200 {
            let text = format!("Match report {id}: Arsenal and Chelsea drew at the stadium.");
            c.insert(id, id, t0(), EventTerms::of_story(None, &text, &params));
        }
        let after = idf(&c, "valparaiso") / idf(&c, "emergency");
        assert!((before / after - 1.0).abs() < 0.05, "{before} → {after}");
    }

    #[test]
    fn the_topics_required_terms_weigh_nothing() {
        // Two different events of a one-topic intake: every story names both companies.
        const PROBE: &str = "Microsoft and OpenAI face an FTC probe. The FTC asked Microsoft \
            and OpenAI for documents on the Microsoft OpenAI investment, Microsoft said.";
        const EARNINGS: &str = "Microsoft earnings beat estimates as OpenAI demand grew. \
            Microsoft said OpenAI usage lifted Azure revenue; Microsoft and OpenAI shares rose.";
        let params = ClusterParams::default();
        let sim = |ignore: bool| {
            let mut c = EventClusterer::new(params);
            if ignore {
                c.ignore_terms(["Microsoft", "OpenAI"]);
            }
            c.insert(1, 1, t0(), EventTerms::of_story(None, PROBE, &params));
            let q = EventTerms::of_story(None, EARNINGS, &params);
            (c.similar_stories(&q, t0())[0].2, c.best_cluster(&q, t0()))
        };
        let (with_names, joined) = sim(false);
        let (without, none) = sim(true);
        assert!(
            with_names >= params.threshold && joined.is_some(),
            "{with_names}"
        );
        assert!(without < 0.1 && none.is_none(), "{without}");
    }

    #[test]
    fn names_weigh_more_than_common_words() {
        let params = ClusterParams {
            lead_weight: 1.0,
            entity_boost: 2.0,
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
    fn sparse_complete_linkage_finds_what_the_full_matrix_finds() {
        // Random graphs: the edges are the pairs at the threshold, every other pair is below.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..200 {
            let n = 2 + (next() % 30) as usize;
            let density = 1 + next() % 9;
            let mut sim = vec![0.0f64; n * n];
            let mut edges = Vec::new();
            for a in 0..n {
                for b in a + 1..n {
                    if next() % 10 < density {
                        // Few distinct values, so ties are common.
                        let s = 0.5 + (next() % 8) as f64 / 16.0;
                        sim[a * n + b] = s;
                        sim[b * n + a] = s;
                        edges.push((a, b, s));
                    }
                }
            }
            let items: Vec<usize> = (0..n).collect();
            let canon = |mut cs: Vec<Vec<usize>>| {
                for c in &mut cs {
                    c.sort_unstable();
                }
                cs.sort();
                cs
            };
            let dense = canon(complete_linkage(&items, &|a, b| sim[a * n + b], 0.5, false));
            let sparse = canon(sparse_complete_linkage(n, &edges, 0.5));
            assert_eq!(sparse, dense, "round {round}, n {n}");
        }
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
