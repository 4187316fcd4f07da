//! Dedup benchmarks on ECB+ (`../shared/bench/dedup/ecbplus/`).
//!
//! Run: `cargo bench --bench dedup` (all sections) or `cargo bench --bench dedup -- SECTION…`
//! with sections `neardup` (level 3: near-copy precision/recall, hard-negative merges),
//! `scale` (level 3 index at 1,000,000 stories: lookup latency, memory) and `cluster`
//! (level 4: same-event pair precision/recall/F1 over the whole corpus), `onetopic` (level 4
//! with each ECB+ topic alone as the window) and `cluster-scale` (level 4 with 100,000 stories
//! in the window). `ECBPLUS_DIR` overrides the data folder; `SCALE_N` and `CLUSTER_SCALE_N`
//! the number of stories of the scale sections.
//!
//! Without `--bench` in its arguments (as under `cargo test --all-targets`) it returns at once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;
use testkit::corpora;

use newsdesk::dedup::{
    ClusterParams, EventClusterer, EventTerms, Linkage, NearDupIndex, NearDupSignature,
    DEFAULT_THRESHOLD,
};
use newsdesk::extract::extract;

/// Counts live heap bytes, so the scale section measures the index's real memory.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(serde::Deserialize)]
struct Doc {
    doc_id: String,
    topic: u32,
    subtopic: String,
    text: String,
}

fn data_dir() -> PathBuf {
    std::env::var_os("ECBPLUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| corpora::corpus("dedup/ecbplus"))
}

fn load_docs() -> Vec<Doc> {
    let path = data_dir().join("docs.jsonl");
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    raw.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("docs.jsonl line"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Level 3: near-copies
// ---------------------------------------------------------------------------------------------

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The article's sentences grouped into paragraphs of up to three.
fn paragraphs(text: &str) -> Vec<String> {
    let sentences: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    sentences.chunks(3).map(|c| c.join(" ")).collect()
}

/// A headline made from the first words of the article.
fn headline(text: &str, words: usize) -> String {
    text.split_whitespace()
        .take(words)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Template 0: the original publisher, a WordPress-like news site full of clutter.
fn template_news(title: &str, paras: &[String]) -> String {
    let body: Vec<String> = paras.iter().map(|p| format!("<p>{}</p>", esc(p))).collect();
    let mid = body.len() / 2;
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t} | Daily Wire Service</title>
<meta property="og:title" content="{t}"><script>var dataLayer=[{{"event":"subscribe"}}];</script></head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. <button>Accept all cookies</button></div>
<header class="site-header"><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/us">U.S.</a> <a href="/newsletter">Newsletter</a></nav></header>
<main><article class="post"><h1 class="entry-title">{t}</h1>
<div class="byline">By <a rel="author" href="/author/kim">Kim Alvarez</a> · <time datetime="2026-11-02T09:30:00Z">November 2, 2026</time></div>
<div class="share-bar"><span class="share-count">31</span> <span class="comment-count">4</span></div>
<div class="entry-content">
{first}
<div class="ad-slot"><span class="ad-label">Advertisement</span></div>
<p class="read-more"><strong>Read more:</strong> <a href="/2026/10/other.html">What the numbers say about this season</a></p>
{second}
<div class="newsletter-signup"><h3>Discover more from Daily Wire Service</h3><p>Subscribe to get the latest posts sent to your email.</p><form><input type="email"><button>Subscribe</button></form></div>
</div></article>
<section class="related-posts"><h2>Related posts</h2><ul><li><a href="/a">Markets close higher on Friday</a></li><li><a href="/b">Five things to watch this week</a></li></ul></section>
<section id="comments" class="comments-area"><h2>Comments (4)</h2><p>Log in to comment.</p></section></main>
<footer class="site-footer">© 2026 Daily Wire Service · <a href="/privacy">Privacy policy</a></footer></body></html>"#,
        t = esc(title),
        first = body[..mid].join("\n"),
        second = body[mid..].join("\n"),
    )
}

/// Template 1: a syndication partner's div soup.
fn template_partner(title: &str, paras: &[String]) -> String {
    let body: Vec<String> = paras
        .iter()
        .map(|p| format!("<div class=\"txt\">{}</div>", esc(p)))
        .collect();
    format!(
        r##"<html><head><title>{t} - The Ledger</title></head><body><div class="wrapper">
<div class="topbar"><a href="/">The Ledger</a> | <a href="/markets">Markets</a> | <a href="/login">Log in</a></div>
<div class="col-main"><div class="headline"><h1>{t}</h1></div>
<div class="social"><a href="#">Share on X</a> · <a href="#">Share on LinkedIn</a> · <span class="likes">12 likes</span></div>
<div class="story-body">
{body}
</div>
<div class="promo-box">Sign up for our weekly briefing. <a href="/signup">Sign up</a></div>
<div class="more-stories"><h4>You might also like</h4><a href="/x">Oracle raises guidance</a><br><a href="/y">Chip stocks slide</a></div></div>
<div class="sidebar"><div class="sponsored">Sponsored: <a href="/ad">Compare mortgage rates</a></div>
<div class="popular"><h4>Most popular</h4><ol><li><a href="/p1">Weather turns cold</a></li></ol></div></div>
</div></body></html>"##,
        t = esc(title),
        body = body.join("\n")
    )
}

/// Template 2: a portal with an AMP-like layout and text broken by line breaks.
fn template_portal(title: &str, paras: &[String]) -> String {
    let body: Vec<String> = paras
        .iter()
        .map(|p| format!("<section class=\"para\"><p>\n  {}\n</p></section>", esc(p)))
        .collect();
    format!(
        r#"<!DOCTYPE html><html amp><head><meta charset="utf-8"><title>{t}</title>
<link rel="stylesheet" href="/s.css"></head><body>
<div class="masthead"><a href="/">NewsPortal</a><ul class="menu"><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li></ul></div>
<div class="content"><h1 class="story-title">{t}</h1><p class="dateline">Updated 3 hours ago</p>
<div class="article-body" itemprop="articleBody">
{body}
<aside class="inline-related"><h4>Related coverage</h4><a href="/r1">Officials respond</a></aside>
</div>
<div class="tags">Tags: <a href="/t/news">news</a>, <a href="/t/top">top stories</a></div>
<div class="comments"><h3>Join the conversation</h3><p>Comments are closed for this story.</p></div>
</div><div class="footer">Copyright NewsPortal. All rights reserved. <a href="/terms">Terms</a></div></body></html>"#,
        t = esc(title),
        body = body.join("\n")
    )
}

/// Whitespace and punctuation changes an editing system makes: curly quotes, dashes, doubled
/// spaces, a line break inside a paragraph.
fn retypeset(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 8);
    let mut open = true;
    for c in p.chars() {
        match c {
            '"' => {
                out.push(if open { '\u{201c}' } else { '\u{201d}' });
                open = !open;
            }
            '\'' => out.push('\u{2019}'),
            '-' => out.push('\u{2013}'),
            ',' => out.push_str(" ,"),
            ' ' if out.len().is_multiple_of(7) => out.push_str("  "),
            _ => out.push(c),
        }
    }
    out.replace(". ", ".\n ")
}

const ADDED: &str = "This article was originally published by a partner news organization and is \
    republished here with permission, updated with additional reporting from our own staff.";

/// A near-copy of a document, as another site would publish it.
fn variant(kind: usize, paras: &[String]) -> (String, Vec<String>) {
    let mut p: Vec<String> = paras.iter().map(|s| retypeset(s)).collect();
    match kind {
        // Another template, a new headline, one paragraph added.
        0 => {
            p.push(ADDED.to_string());
        }
        // One paragraph removed (the last but one, or the last sentence of a one-paragraph text).
        1 => {
            if p.len() >= 3 {
                p.remove(p.len() - 2);
            } else if let Some(last) = p.last_mut() {
                let cut = last.trim_end_matches('.').rfind(". ").map(|i| i + 1);
                if let Some(i) = cut {
                    last.truncate(i);
                }
            }
        }
        // Both: the first paragraph dropped and a note added.
        _ => {
            if p.len() >= 3 {
                p.remove(0);
            }
            p.insert(p.len() / 2, ADDED.to_string());
        }
    }
    (kind.to_string(), p)
}

fn shingles(text: &str, k: usize) -> std::collections::HashSet<u64> {
    use std::hash::{Hash, Hasher};
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words
        .windows(k)
        .map(|w| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            w.hash(&mut h);
            h.finish()
        })
        .collect()
}

fn jaccard(a: &std::collections::HashSet<u64>, b: &std::collections::HashSet<u64>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    a.intersection(b).count() as f64 / a.union(b).count() as f64
}

fn pair_kind(a: &Doc, b: &Doc) -> usize {
    if a.subtopic == b.subtopic {
        0
    } else if a.topic == b.topic {
        1
    } else {
        2
    }
}

const KIND_NAMES: [&str; 3] = ["same event", "hard negative", "other topic"];

fn bench_neardup(docs: &[Doc]) {
    println!(
        "== level 3: near-copies of the {} ECB+ articles ==",
        docs.len()
    );
    let started = Instant::now();
    // Originals: template 0 through the real extractor.
    let originals: Vec<String> = docs
        .iter()
        .map(|d| {
            let page = template_news(&headline(&d.text, 9), &paragraphs(&d.text));
            extract(&page, None).text
        })
        .collect();
    let sigs: Vec<Option<NearDupSignature>> = originals
        .iter()
        .map(|t| NearDupSignature::of_text(t))
        .collect();
    let no_sig = sigs.iter().filter(|s| s.is_none()).count();
    // Exact 4-shingle Jaccard of the originals, to tell copies already in ECB+ (same event,
    // near-identical wire text) from false merges.
    let sh: Vec<_> = originals.iter().map(|t| shingles(t, 4)).collect();

    // Pairwise estimated similarity of the originals, by pair kind.
    let mut merges = [0usize; 3];
    let mut natural_copies = 0usize;
    let mut max_sim = [0f64; 3];
    for i in 0..docs.len() {
        for j in i + 1..docs.len() {
            let (Some(a), Some(b)) = (&sigs[i], &sigs[j]) else {
                continue;
            };
            let kind = pair_kind(&docs[i], &docs[j]);
            let s = a.similarity(b);
            max_sim[kind] = max_sim[kind].max(s);
            if s >= DEFAULT_THRESHOLD {
                merges[kind] += 1;
            }
            if kind == 0 && jaccard(&sh[i], &sh[j]) >= 0.5 {
                natural_copies += 1;
            }
        }
    }
    println!(
        "originals: {} ({} too short for a signature, < {} words)",
        docs.len(),
        no_sig,
        newsdesk::dedup::NEARDUP_MIN_WORDS
    );
    println!("pairs of originals at or above the threshold {DEFAULT_THRESHOLD}:");
    for k in 0..3 {
        println!(
            "  {:<14} {:>6} merged   (highest estimated similarity {:.3})",
            KIND_NAMES[k], merges[k], max_sim[k]
        );
    }
    println!("  (same-event pairs that are near-copies in ECB+ itself, exact 4-shingle J >= 0.5: {natural_copies})");

    // The near-copies, extracted once.
    let templates: [fn(&str, &[String]) -> String; 2] = [template_partner, template_portal];
    let mut copies: Vec<(usize, usize, Option<NearDupSignature>)> = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let paras = paragraphs(&d.text);
        for kind in 0..3 {
            let (_, vparas) = variant(kind, &paras);
            let title = format!("UPDATE: {}", headline(&d.text, 6).to_uppercase());
            let page = templates[(i + kind) % 2](&title, &vparas);
            copies.push((
                i,
                kind,
                NearDupSignature::of_text(&extract(&page, None).text),
            ));
        }
    }
    let mut copy_sims: Vec<f64> = copies
        .iter()
        .filter_map(|(i, _, s)| Some(s.as_ref()?.similarity(sigs[*i].as_ref()?)))
        .collect();
    copy_sims.sort_by(f64::total_cmp);
    let q = |p: f64| copy_sims[((copy_sims.len() - 1) as f64 * p) as usize];
    println!(
        "near-copies: {} (3 per article: other template, new headline, retypeset text; +1 paragraph / -1 paragraph / -1 +1 paragraph)",
        copies.len()
    );
    println!(
        "  estimated similarity copy↔original: min {:.3}, p1 {:.3}, p5 {:.3}, median {:.3}",
        copy_sims[0],
        q(0.01),
        q(0.05),
        q(0.5)
    );
    let thresholds = [0.3, 0.35, 0.4, 0.45, 0.5];
    for threshold in thresholds {
        neardup_at(
            docs,
            &sigs,
            &sh,
            &copies,
            threshold,
            threshold == DEFAULT_THRESHOLD,
        );
    }
    println!("({:.1}s)", started.elapsed().as_secs_f64());
}

/// Level 3 figures at one threshold: index A holds every original, index B the even-numbered
/// ones (the odd ones' copies must match nothing).
fn neardup_at(
    docs: &[Doc],
    sigs: &[Option<NearDupSignature>],
    sh: &[std::collections::HashSet<u64>],
    copies: &[(usize, usize, Option<NearDupSignature>)],
    threshold: f64,
    verbose: bool,
) {
    let mut all = NearDupIndex::with_threshold(threshold);
    let mut even = NearDupIndex::with_threshold(threshold);
    for (i, s) in sigs.iter().enumerate() {
        if let Some(s) = s {
            all.insert(i as i64 + 1, s);
            if i.is_multiple_of(2) {
                even.insert(i as i64 + 1, s);
            }
        }
    }
    let kinds = ["+1 paragraph", "-1 paragraph", "-1 +1 paragraph"];
    let mut tp = [0usize; 3];
    let mut fn_ = [0usize; 3];
    let (mut fp_other, mut fp_natural, mut fp_hard) = (0usize, 0usize, 0usize);
    let (mut held_out_fp, mut held_out_natural, mut held_out_queries) = (0usize, 0usize, 0usize);
    let (mut no_sig, mut below, mut lsh_miss) = (0usize, 0usize, 0usize);
    let mut false_matches: Vec<String> = Vec::new();
    let natural =
        |i: usize, j: usize| docs[j].subtopic == docs[i].subtopic && jaccard(&sh[i], &sh[j]) >= 0.5;
    for (i, kind, sig) in copies {
        let (i, kind) = (*i, *kind);
        let d = &docs[i];
        let own = i as i64 + 1;
        match sig.as_ref().and_then(|s| all.find(s)) {
            Some((id, _)) if id == own => tp[kind] += 1,
            Some((id, _)) if natural(i, (id - 1) as usize) => {
                // ECB+ holds the same wire text twice: a copy of either is a copy of both.
                fp_natural += 1;
                tp[kind] += 1;
            }
            Some((id, sim)) => {
                let j = (id - 1) as usize;
                fp_other += 1;
                fn_[kind] += 1;
                fp_hard += usize::from(pair_kind(d, &docs[j]) == 1);
                false_matches.push(format!(
                    "{} copy → {} ({}, {sim:.2})",
                    d.doc_id,
                    docs[j].doc_id,
                    KIND_NAMES[pair_kind(d, &docs[j])]
                ));
            }
            None => {
                fn_[kind] += 1;
                match (sig, &sigs[i]) {
                    (Some(a), Some(b)) if a.similarity(b) >= threshold => lsh_miss += 1,
                    (Some(_), Some(_)) => below += 1,
                    _ => no_sig += 1,
                }
            }
        }
        if i % 2 == 1 {
            held_out_queries += 1;
            if let Some((id, sim)) = sig.as_ref().and_then(|s| even.find(s)) {
                let j = (id - 1) as usize;
                if natural(i, j) {
                    held_out_natural += 1;
                } else {
                    held_out_fp += 1;
                    fp_hard += usize::from(pair_kind(d, &docs[j]) == 1);
                    false_matches.push(format!(
                        "{} held-out copy → {} ({}, {sim:.2})",
                        d.doc_id,
                        docs[j].doc_id,
                        KIND_NAMES[pair_kind(d, &docs[j])]
                    ));
                }
            }
        }
    }
    let tps: usize = tp.iter().sum();
    let fns: usize = fn_.iter().sum();
    let fps = fp_other + held_out_fp;
    let precision = tps as f64 / (tps + fps) as f64;
    let recall = tps as f64 / (tps + fns) as f64;
    println!(
        "RESULT level3 threshold {threshold:.2}: precision {precision:.4} recall {recall:.4} (tp {tps}, fp {fps}, fn {fns}: {no_sig} without signature, {below} below the threshold, {lsh_miss} missed by the bands); hard-negative merges {fp_hard}; recall by kind {}",
        (0..3).map(|k| format!("{:.3}", tp[k] as f64 / (tp[k] + fn_[k]) as f64)).collect::<Vec<_>>().join(" / ")
    );
    if verbose {
        for k in 0..3 {
            println!(
                "  {:<16} found {:>4} / {:>4}  recall {:.4}",
                kinds[k],
                tp[k],
                tp[k] + fn_[k],
                tp[k] as f64 / (tp[k] + fn_[k]) as f64
            );
        }
        println!("  matched another article: {fp_other}; matched an ECB+ near-identical same-event article (counted correct): {fp_natural}");
        println!("  held-out: {held_out_queries} copies of articles not in the index: {held_out_fp} false matches, {held_out_natural} matches to ECB+ near-identical same-event articles");
        for m in &false_matches {
            println!("  false match: {m}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scale: a million stories
// ---------------------------------------------------------------------------------------------

/// Texts that read like news to a shingle hash: a word-bigram Markov chain over ECB+.
struct Babbler {
    words: Vec<String>,
    /// Word id → ids of the words that follow it somewhere in the corpus.
    next: Vec<Vec<u32>>,
    state: u64,
}

impl Babbler {
    fn new(docs: &[Doc]) -> Babbler {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut words = Vec::new();
        let mut next: Vec<Vec<u32>> = Vec::new();
        for d in docs {
            let mut prev: Option<u32> = None;
            for w in d.text.split_whitespace() {
                let id = *ids.entry(w.to_string()).or_insert_with(|| {
                    words.push(w.to_string());
                    next.push(Vec::new());
                    (words.len() - 1) as u32
                });
                if let Some(p) = prev {
                    next[p as usize].push(id);
                }
                prev = Some(id);
            }
        }
        Babbler {
            words,
            next,
            state: 0x2545_f491_4f6c_dd1d,
        }
    }

    fn rand(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn text(&mut self, words: usize) -> String {
        let mut out = String::with_capacity(words * 7);
        let mut cur = (self.rand() % self.words.len() as u64) as usize;
        for _ in 0..words {
            out.push_str(&self.words[cur]);
            out.push(' ');
            let (r1, r2, r3) = (self.rand(), self.rand(), self.rand());
            let n = &self.next[cur];
            cur = if n.is_empty() || r1.is_multiple_of(12) {
                (r2 % self.words.len() as u64) as usize
            } else {
                n[(r3 % n.len() as u64) as usize] as usize
            };
        }
        out
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

fn bench_scale(docs: &[Doc]) {
    let n: usize = std::env::var("SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("== scale: {n} stories in the near-duplicate index ==");
    let mut babbler = Babbler::new(docs);
    let t = Instant::now();
    let before = LIVE.load(Ordering::Relaxed);
    let mut index = NearDupIndex::default();
    let mut inserted = 0usize;
    let mut sig_time = 0f64;
    for i in 0..n {
        let words = 150 + (babbler.rand() % 500) as usize;
        let text = babbler.text(words);
        let ts = Instant::now();
        let sig = NearDupSignature::of_text(&text).expect("long enough");
        sig_time += ts.elapsed().as_secs_f64();
        if index.insert(i as i64 + 1, &sig) {
            inserted += 1;
        }
    }
    // The ECB+ articles on top, to look their near-copies up among a million others.
    let base = n as i64 + 1;
    let mut own_sigs = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let page = template_news(&headline(&d.text, 9), &paragraphs(&d.text));
        if let Some(sig) = NearDupSignature::of_text(&extract(&page, None).text) {
            index.insert(base + i as i64, &sig);
            own_sigs.push((i, sig));
        }
    }
    let live = LIVE.load(Ordering::Relaxed) - before;
    let build = t.elapsed().as_secs_f64();
    println!(
        "built: {} stories ({} random texts of 150–650 words, {} ECB+ articles) in {build:.1}s; signatures {:.1} µs each",
        index.len(),
        inserted,
        own_sigs.len(),
        sig_time / n as f64 * 1e6
    );
    println!(
        "memory: {} heap bytes live after building (counting allocator) = {:.1} bytes/story; index's own count {:.1} bytes/story",
        live,
        live as f64 / index.len() as f64,
        index.heap_bytes() as f64 / index.len() as f64
    );

    // Lookups: near-copies of ECB+ articles (hits) and fresh random texts (misses).
    let mut find_us = Vec::new();
    let mut check_us = Vec::new();
    let mut hits = 0usize;
    let mut wrong = 0usize;
    for (i, _) in &own_sigs {
        let d = &docs[*i];
        let (_, vparas) = variant(i % 3, &paragraphs(&d.text));
        let text = extract(&template_partner("Other headline", &vparas), None).text;
        let t = Instant::now();
        let sig = NearDupSignature::of_text(&text);
        let t_sig = t.elapsed();
        let tf = Instant::now();
        let found = sig.as_ref().and_then(|s| index.find(s));
        let t_find = tf.elapsed();
        find_us.push(t_find.as_secs_f64() * 1e6);
        check_us.push((t_sig + t_find).as_secs_f64() * 1e6);
        match found {
            Some((id, _)) if id == base + *i as i64 => hits += 1,
            Some((id, _)) if id >= base => {}
            Some(_) => wrong += 1,
            None => {}
        }
    }
    let mut false_hits = 0usize;
    let misses = 5_000;
    for _ in 0..misses {
        let words = 150 + (babbler.rand() % 500) as usize;
        let text = babbler.text(words);
        let t = Instant::now();
        let sig = NearDupSignature::of_text(&text).expect("long");
        let t_sig = t.elapsed();
        let tf = Instant::now();
        let found = index.find(&sig);
        let t_find = tf.elapsed();
        find_us.push(t_find.as_secs_f64() * 1e6);
        check_us.push((t_sig + t_find).as_secs_f64() * 1e6);
        if found.is_some() {
            false_hits += 1;
        }
    }
    find_us.sort_by(f64::total_cmp);
    check_us.sort_by(f64::total_cmp);
    println!(
        "lookups: {} near-copies of ECB+ articles ({} found their original, {} matched a random text), {} fresh random texts ({} matched anything)",
        own_sigs.len(),
        hits,
        wrong,
        misses,
        false_hits
    );
    println!(
        "index.find: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        percentile(&find_us, 0.5),
        percentile(&find_us, 0.99),
        find_us[find_us.len() - 1]
    );
    println!(
        "RESULT scale: n {} · check (signature + find) p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs · memory {:.1} bytes/story",
        index.len(),
        percentile(&check_us, 0.5),
        percentile(&check_us, 0.99),
        check_us[check_us.len() - 1],
        live as f64 / index.len() as f64
    );
}

// ---------------------------------------------------------------------------------------------
// Level 4: same-event clusters
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct Prf {
    p: f64,
    r: f64,
    f1: f64,
    predicted: usize,
    gold: usize,
}

/// Pair precision/recall/F1 of an assignment against the sub-topics.
fn pair_prf(docs: &[&Doc], cluster: &[i64]) -> Prf {
    let mut tp = 0usize;
    let mut predicted = 0usize;
    let mut gold = 0usize;
    for i in 0..docs.len() {
        for j in i + 1..docs.len() {
            let same_gold = docs[i].subtopic == docs[j].subtopic;
            let same_pred = cluster[i] == cluster[j];
            gold += usize::from(same_gold);
            predicted += usize::from(same_pred);
            tp += usize::from(same_gold && same_pred);
        }
    }
    let p = if predicted == 0 {
        0.0
    } else {
        tp as f64 / predicted as f64
    };
    let r = tp as f64 / gold as f64;
    let f1 = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    Prf {
        p,
        r,
        f1,
        predicted,
        gold,
    }
}

/// Stories per run in the daemon-path sections: a feed poll brings a handful at a time.
const RUN_LEN: usize = 5;

/// A shuffled arrival order of `n` stories.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// Feeds the documents to the real clusterer as the daemon does: in a shuffled order, one at
/// a time (online step, then insert), and with `recluster` re-clusters after every run of
/// [`RUN_LEN`] stories, as the daemon does after each run. The clusterer holds only these
/// documents, so its weights come only from what a daemon would hold then.
fn run_online(docs: &[&Doc], params: ClusterParams, seed: u64, recluster: bool) -> Vec<i64> {
    let order = shuffled(docs.len(), seed);
    let at = chrono::Utc::now();
    let mut clusterer = EventClusterer::new(params);
    let run_len = std::env::var("RUN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RUN_LEN);
    for run in order.chunks(run_len) {
        for &i in run {
            let terms = EventTerms::of_story(None, &docs[i].text, &params);
            let id = i as i64 + 1;
            let c = clusterer
                .best_cluster(&terms, at)
                .map_or(id, |m| m.cluster_id);
            clusterer.insert(id, c, at, terms);
        }
        if recluster {
            clusterer.recluster();
        }
    }
    (1..=docs.len() as i64)
        .map(|id| clusterer.cluster_of(id).unwrap_or(id))
        .collect()
}

/// The mean over the arrival orders of `seeds`, and each order's F1.
fn mean_prf(
    docs: &[&Doc],
    params: ClusterParams,
    seeds: &[u64],
    recluster: bool,
) -> (Prf, Vec<f64>) {
    let mut m = Prf::default();
    let mut per_order = Vec::new();
    for &s in seeds {
        let r = pair_prf(docs, &run_online(docs, params, s, recluster));
        per_order.push(r.f1);
        m.p += r.p / seeds.len() as f64;
        m.r += r.r / seeds.len() as f64;
        m.f1 += r.f1 / seeds.len() as f64;
        m.gold = r.gold;
        m.predicted += r.predicted / seeds.len();
    }
    (m, per_order)
}

/// The daemon's re-clustering pass ([`EventClusterer::recluster`]) over all of `docs` at once,
/// at `threshold`: each document's cluster.
fn batch_clusters(docs: &[&Doc], threshold: f64) -> Vec<i64> {
    let params = ClusterParams {
        recluster_threshold: threshold,
        ..ClusterParams::default()
    };
    let at = chrono::Utc::now();
    let mut c = EventClusterer::new(params);
    for (i, d) in docs.iter().enumerate() {
        let id = i as i64 + 1;
        c.insert(id, id, at, EventTerms::of_story(None, &d.text, &params));
    }
    c.recluster();
    (1..=docs.len() as i64)
        .map(|id| c.cluster_of(id).unwrap_or(id))
        .collect()
}

/// `BATCH=1`: what the re-clustering pass alone scores at several thresholds, on all topics, on
/// each half, and with the threshold picked on the other half.
fn bench_batch_clustering(docs: &[Doc]) {
    let thresholds: Vec<f64> = std::env::var("BATCH_THRESHOLDS")
        .ok()
        .map(|l| l.split(',').filter_map(|t| t.parse().ok()).collect())
        .unwrap_or_else(|| vec![0.10, 0.11, 0.12, 0.13, 0.14, 0.15]);
    let mut by_half = Vec::new();
    for half in [None, Some(0u32), Some(1)] {
        let set: Vec<&Doc> = docs
            .iter()
            .filter(|d| half.is_none_or(|h| d.topic % 2 == h))
            .collect();
        let scores: Vec<Prf> = thresholds
            .iter()
            .map(|&t| pair_prf(&set, &batch_clusters(&set, t)))
            .collect();
        let line: Vec<String> = thresholds
            .iter()
            .zip(&scores)
            .map(|(t, r)| format!("{t:.2}→P{:.3}/R{:.3}/F1 {:.3}", r.p, r.r, r.f1))
            .collect();
        let name = match half {
            None => "all topics".to_string(),
            Some(0) => "even topics".to_string(),
            Some(_) => "odd topics".to_string(),
        };
        println!("batch complete linkage, {name}: {}", line.join(" "));
        by_half.push(scores);
    }
    for (fit, test, fit_name, test_name) in [(2, 1, "odd", "even"), (1, 2, "even", "odd")] {
        let (k, picked) = by_half[fit]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.f1.total_cmp(&b.1.f1))
            .expect("thresholds");
        let r = by_half[test][k];
        println!(
            "batch fold: threshold {:.2} picked on the {fit_name} topics (F1 {:.3}) → on the {test_name} topics P {:.3} R {:.3} F1 {:.3}",
            thresholds[k], picked.f1, r.p, r.r, r.f1
        );
    }
}

fn bench_cluster(docs: &[Doc]) {
    println!(
        "== level 4: same-event clusters over the {} ECB+ articles ==",
        docs.len()
    );
    let all: Vec<&Doc> = docs.iter().collect();
    let started = Instant::now();
    if std::env::var_os("BATCH").is_some() {
        bench_batch_clustering(docs);
    }

    // Diagnostic: pairwise cosine of our vectors (IDF over all documents), best F1 over
    // thresholds, comparable with the README's TF-IDF baseline (0.807).
    let diag_boosts: &[f32] = if std::env::var_os("SKIP_PAIRWISE").is_some() {
        &[]
    } else {
        &[1.0, 2.0, 3.0]
    };
    for &boost in diag_boosts {
        let params = ClusterParams {
            entity_boost: boost,
            ..ClusterParams::default()
        };
        let at = chrono::Utc::now();
        let mut c = EventClusterer::new(params);
        let terms: Vec<EventTerms> = docs
            .iter()
            .map(|d| EventTerms::of_story(None, &d.text, &params))
            .collect();
        for (i, t) in terms.iter().enumerate() {
            c.insert(i as i64, i as i64, at, t.clone());
        }
        let mut scored: Vec<(f64, bool)> = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            for (j, _, sim) in c.similar_stories(t, at) {
                let j = j as usize;
                if j > i {
                    scored.push((sim, docs[i].subtopic == docs[j].subtopic));
                }
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let gold = scored.iter().filter(|s| s.1).count();
        let (mut tp, mut best) = (0usize, (0.0, 0.0, 0.0, 0.0));
        for (k, (sim, pos)) in scored.iter().enumerate() {
            tp += usize::from(*pos);
            let p = tp as f64 / (k + 1) as f64;
            let r = tp as f64 / gold as f64;
            let f1 = 2.0 * p * r / (p + r);
            if f1 > best.0 {
                best = (f1, *sim, p, r);
            }
        }
        println!(
            "pairwise cosine, entity boost {boost}: best F1 {:.3} at cos >= {:.3} (P {:.3}, R {:.3})",
            best.0, best.1, best.2, best.3
        );
    }

    // Online clustering: grid over linkage, entity boost and threshold (one shuffle each).
    let thresholds: Vec<f64> = match std::env::var("THRESHOLDS") {
        Ok(list) => list.split(',').filter_map(|t| t.parse().ok()).collect(),
        Err(_) => (0..13).map(|i| 0.10 + 0.025 * i as f64).collect(),
    };
    let mut grid = Vec::new();
    let linkages: Vec<Linkage> = match std::env::var("LINKAGES") {
        Ok(list) => list
            .split(',')
            .filter_map(|l| match l {
                "single" => Some(Linkage::Single),
                "average" => Some(Linkage::Average),
                "centroid" => Some(Linkage::Centroid),
                _ => None,
            })
            .collect(),
        Err(_) => vec![Linkage::Single, Linkage::Average, Linkage::Centroid],
    };
    for linkage in linkages {
        let boosts: Vec<f32> = match std::env::var("BOOSTS") {
            Ok(list) => list.split(',').filter_map(|t| t.parse().ok()).collect(),
            Err(_) => vec![2.0, 3.0],
        };
        for &boost in &boosts {
            let mut line = format!("{linkage:?} boost {boost}:");
            for &threshold in &thresholds {
                let params = ClusterParams {
                    threshold,
                    entity_boost: boost,
                    linkage,
                    lead_weight: std::env::var("LEAD")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(ClusterParams::default().lead_weight),
                    ..ClusterParams::default()
                };
                let (r, _) = mean_prf(&all, params, &[1], false);
                line.push_str(&format!(" {threshold:.3}→{:.3}", r.f1));
                eprintln!(
                    "{linkage:?} boost {boost} threshold {threshold:.3}: P {:.3} R {:.3} F1 {:.3}",
                    r.p, r.r, r.f1
                );
                grid.push((params, r));
            }
            println!("{line}");
        }
    }
    let (best_params, _) = grid
        .iter()
        .max_by(|a, b| a.1.f1.total_cmp(&b.1.f1))
        .copied()
        .expect("grid");
    println!(
        "best on the grid: {:?}, entity boost {}, threshold {:.3}",
        best_params.linkage, best_params.entity_boost, best_params.threshold
    );
    let seeds = [11u64, 22, 33, 44, 55];
    let d = params_from_env();
    // Cost of one re-clustering pass near its size limit (all the articles at once).
    {
        let at = chrono::Utc::now();
        let mut c = EventClusterer::new(d);
        for (i, doc) in docs.iter().enumerate() {
            let id = i as i64 + 1;
            c.insert(id, id, at, EventTerms::of_story(None, &doc.text, &d));
        }
        let t = Instant::now();
        let moved = c.recluster().len();
        println!(
            "re-clustering {} stories: {:.0} ms ({moved} moved)",
            c.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    let (online, online_orders) = mean_prf(&all, d, &seeds, false);
    let online_orders: Vec<String> = online_orders.iter().map(|f| format!("{f:.3}")).collect();
    println!(
        "online only ({:?}, entity boost {}, threshold {:.3}; mean of {} orders): P {:.3} R {:.3} F1 {:.3}; per order F1 {}",
        d.linkage, d.entity_boost, d.threshold, seeds.len(), online.p, online.r, online.f1, online_orders.join(" ")
    );
    let (r, per_order) = mean_prf(&all, d, &seeds, true);
    let per_order: Vec<String> = per_order.iter().map(|f| format!("{f:.3}")).collect();
    println!(
        "RESULT level4 (shipped: online {:?} at {:.3}, re-clustered by complete linkage at {:.3} after every run of 5; mean of {} shuffled arrival orders): P {:.3} R {:.3} F1 {:.3} ({} predicted pairs, {} gold); per order F1 {}",
        d.linkage, d.threshold, d.recluster_threshold, seeds.len(), r.p, r.r, r.f1, r.predicted, r.gold, per_order.join(" ")
    );
    // Two-fold check that the re-clustering threshold is not fitted to the test documents:
    // pick it on the odd topics, measure on the even ones, and the other way round.
    let recluster_thresholds: Vec<f64> = std::env::var("RECLUSTER_THRESHOLDS")
        .ok()
        .map(|l| l.split(',').filter_map(|t| t.parse().ok()).collect())
        .unwrap_or_else(|| vec![0.10, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16]);
    for (fit, test) in [(1u32, 0u32), (0, 1)] {
        let fit_docs: Vec<&Doc> = docs.iter().filter(|x| x.topic % 2 == fit).collect();
        let test_docs: Vec<&Doc> = docs.iter().filter(|x| x.topic % 2 == test).collect();
        let mut best = (0.0, 0.0);
        for &t in &recluster_thresholds {
            let params = ClusterParams {
                recluster_threshold: t,
                ..d
            };
            let f = mean_prf(&fit_docs, params, &[1], true).0.f1;
            if f > best.0 {
                best = (f, t);
            }
        }
        let (r, _) = mean_prf(
            &test_docs,
            ClusterParams {
                recluster_threshold: best.1,
                ..d
            },
            &seeds,
            true,
        );
        println!(
            "fold: re-clustering threshold {:.3} picked on {} {} topics (F1 {:.3}) → on the {} {} topics P {:.3} R {:.3} F1 {:.3}",
            best.1,
            fit_docs.len(),
            if fit == 1 { "odd" } else { "even" },
            best.0,
            test_docs.len(),
            if test == 1 { "odd" } else { "even" },
            r.p,
            r.r,
            r.f1
        );
    }
    println!("{:.1}s", started.elapsed().as_secs_f64());
}

/// The shipped parameters, with `RT` (re-clustering threshold), `CT` (online threshold),
/// `BGA` (background articles), `KEYS` (index terms per story) and `CANDS` (candidates)
/// overridable for tuning.
fn params_from_env() -> ClusterParams {
    fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
        std::env::var(name).ok().and_then(|v| v.parse().ok())
    }
    let d = ClusterParams::default();
    ClusterParams {
        recluster_threshold: var("RT").unwrap_or(d.recluster_threshold),
        threshold: var("CT").unwrap_or(d.threshold),
        background_articles: var("BGA").unwrap_or(d.background_articles),
        index_terms: var("KEYS").unwrap_or(d.index_terms),
        max_candidates: var("CANDS").unwrap_or(d.max_candidates),
        min_shared_terms: var("SHARED").unwrap_or(d.min_shared_terms),
        recluster_linkage: match std::env::var("RLINK").as_deref() {
            Ok("average") => Linkage::Average,
            Ok("complete") => Linkage::Centroid,
            _ => d.recluster_linkage,
        },
        entity_boost: var("BOOST").unwrap_or(d.entity_boost),
        ..d
    }
}

/// One-topic windows: each ECB+ topic alone (two events of one kind, ~20 articles) as the
/// daemon's whole window, then groups of five topics mixed, through the daemon's clustering
/// path ([`run_online`]: shuffled arrival, runs of five, re-clustering after each).
fn bench_onetopic(docs: &[Doc]) {
    let params = params_from_env();
    let seeds = [11u64, 22, 33];
    let mut topics: std::collections::BTreeMap<u32, Vec<&Doc>> = Default::default();
    for d in docs {
        topics.entry(d.topic).or_default().push(d);
    }
    println!(
        "== one-topic windows: {} ECB+ topics alone, {} shuffled orders each, runs of {RUN_LEN} ==",
        topics.len(),
        seeds.len()
    );
    let started = Instant::now();
    let (mut sum, mut all_one, mut alone, mut worst) = (Prf::default(), 0.0, 0.0, (1.0f64, 0u32));
    let mut lines = Vec::new();
    for (topic, set) in &topics {
        let n = set.len();
        let mut f = Prf::default();
        for &seed in &seeds {
            let r = pair_prf(set, &run_online(set, params, seed, true));
            f.p += r.p / seeds.len() as f64;
            f.r += r.r / seeds.len() as f64;
            f.f1 += r.f1 / seeds.len() as f64;
            if r.f1 < worst.0 {
                worst = (r.f1, *topic);
            }
        }
        let one = pair_prf(set, &vec![1; n]).f1;
        let each = pair_prf(set, &(1..=n as i64).collect::<Vec<_>>()).f1;
        lines.push(format!("{topic}:{:.2}", f.f1));
        sum.p += f.p / topics.len() as f64;
        sum.r += f.r / topics.len() as f64;
        sum.f1 += f.f1 / topics.len() as f64;
        all_one += one / topics.len() as f64;
        alone += each / topics.len() as f64;
    }
    println!("per topic F1: {}", lines.join(" "));
    let keys: Vec<u32> = topics.keys().copied().collect();
    let mut mixed = 0.0;
    let groups: Vec<&[u32]> = keys.chunks(5).collect();
    for g in &groups {
        let set: Vec<&Doc> = g.iter().flat_map(|t| topics[t].iter().copied()).collect();
        let f: f64 = seeds
            .iter()
            .map(|&seed| pair_prf(&set, &run_online(&set, params, seed, true)).f1)
            .sum::<f64>()
            / seeds.len() as f64;
        mixed += f / groups.len() as f64;
    }
    println!(
        "RESULT onetopic (re-clustering threshold {:.3}, background articles {}): mean pairwise F1 {:.3} (P {:.3} R {:.3}) over {} topics; worst order F1 {:.3} (topic {}); baselines: all in one cluster {:.3}, each story alone {:.3}; five topics mixed ({} groups): mean F1 {:.3} ({:.1}s)",
        params.recluster_threshold,
        params.background_articles,
        sum.f1,
        sum.p,
        sum.r,
        topics.len(),
        worst.0,
        worst.1,
        all_one,
        alone,
        groups.len(),
        mixed,
        started.elapsed().as_secs_f64()
    );
}

/// Scale of level 4: `CLUSTER_SCALE_N` (100,000) stories in the window, re-clustered after
/// every run of 50 as the daemon does; the cost of clustering one new story, of one
/// re-clustering pass, memory per story, and the ECB+ articles' F1 when they arrive into it.
/// CPU time of this thread, in seconds: the scale figures count the clusterer's own work, not
/// the time other processes of a shared machine take from it.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn bench_cluster_scale(docs: &[Doc]) {
    let n: usize = std::env::var("CLUSTER_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let params = params_from_env();
    println!("== level 4 scale: {n} stories in the clustering window ==");
    let mut babbler = Babbler::new(docs);
    let texts_started = Instant::now();
    let base = chrono::Utc::now() - chrono::Duration::days(1);
    let before = LIVE.load(Ordering::Relaxed);
    let mut c = EventClusterer::new(params);
    let (mut step_us, mut terms_us, mut recluster_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut pass_sizes: Vec<(usize, usize)> = Vec::new();
    let measure_from = n.saturating_sub(10_000);
    let run = 50;
    for i in 0..n {
        let words = 150 + (babbler.rand() % 500) as usize;
        let text = babbler.text(words);
        let at = base + chrono::Duration::milliseconds(i as i64 * 500);
        let t0 = thread_cpu();
        let terms = EventTerms::of_story(None, &text, &params);
        let t1 = thread_cpu();
        let id = i as i64 + 1;
        let cluster = c.best_cluster(&terms, at).map_or(id, |m| m.cluster_id);
        c.insert(id, cluster, at, terms);
        let t2 = thread_cpu();
        if i >= measure_from {
            terms_us.push((t1 - t0) * 1e6);
            step_us.push((t2 - t1) * 1e6);
        }
        if (i + 1) % run == 0 {
            let t = thread_cpu();
            c.recluster();
            if i >= measure_from {
                recluster_ms.push((thread_cpu() - t) * 1e3);
                pass_sizes.push(c.last_recluster_size());
            }
        }
    }
    let live = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "built: {} stories in {:.1}s (texts, terms, online step, re-clustering every {run})",
        c.len(),
        texts_started.elapsed().as_secs_f64()
    );
    // The ECB+ articles arrive into the full window, in runs of 50.
    let at = base + chrono::Duration::milliseconds(n as i64 * 500);
    let order = shuffled(docs.len(), 7);
    let first = n as i64 + 1;
    for chunk in order.chunks(run) {
        for &i in chunk {
            let terms = EventTerms::of_story(None, &docs[i].text, &params);
            let id = first + i as i64;
            let t = thread_cpu();
            let cluster = c.best_cluster(&terms, at).map_or(id, |m| m.cluster_id);
            c.insert(id, cluster, at, terms);
            step_us.push((thread_cpu() - t) * 1e6);
        }
        let t = thread_cpu();
        c.recluster();
        recluster_ms.push((thread_cpu() - t) * 1e3);
        pass_sizes.push(c.last_recluster_size());
    }
    let all: Vec<&Doc> = docs.iter().collect();
    let labels: Vec<i64> = (0..docs.len())
        .map(|i| c.cluster_of(first + i as i64).unwrap_or(0))
        .collect();
    let ecb = pair_prf(&all, &labels);
    let mean_pass =
        pass_sizes.iter().map(|p| p.0).sum::<usize>() as f64 / pass_sizes.len().max(1) as f64;
    println!(
        "re-clustering passes: {:.0} stories taken on on average (most {}), largest linked group {}; times are this thread's CPU time",
        mean_pass,
        pass_sizes.iter().map(|p| p.0).max().unwrap_or(0),
        pass_sizes.iter().map(|p| p.1).max().unwrap_or(0)
    );
    step_us.sort_by(f64::total_cmp);
    terms_us.sort_by(f64::total_cmp);
    recluster_ms.sort_by(f64::total_cmp);
    println!(
        "term extraction (not part of the clustering step): p50 {:.0} µs, p99 {:.0} µs",
        percentile(&terms_us, 0.5),
        percentile(&terms_us, 0.99)
    );
    println!(
        "RESULT cluster-scale: window {} stories · clustering a new story (candidates, online step, insert) p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} measured) · re-clustering after a run of {run}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} passes) · memory {:.0} bytes/story (counting allocator; clusterer's own count {:.0}) · ECB+ arriving into it: P {:.3} R {:.3} F1 {:.3}",
        c.len(),
        percentile(&step_us, 0.5),
        percentile(&step_us, 0.99),
        step_us[step_us.len() - 1],
        step_us.len(),
        percentile(&recluster_ms, 0.5),
        percentile(&recluster_ms, 0.99),
        recluster_ms[recluster_ms.len() - 1],
        recluster_ms.len(),
        live as f64 / n as f64,
        c.heap_bytes() as f64 / c.len() as f64,
        ecb.p,
        ecb.r,
        ecb.f1
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let sections: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |s: &str| sections.is_empty() || sections.contains(&s);
    let docs = load_docs();
    if want("neardup") {
        bench_neardup(&docs);
    }
    if want("scale") {
        bench_scale(&docs);
    }
    if want("onetopic") {
        bench_onetopic(&docs);
    }
    if want("cluster") {
        bench_cluster(&docs);
    }
    if want("cluster-scale") {
        bench_cluster_scale(&docs);
    }
}
