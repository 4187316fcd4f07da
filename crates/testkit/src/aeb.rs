//! The Article Extraction Benchmark's data and metric, shared by `benches/aeb.rs` and
//! `tests/extract_aeb.rs`.
//!
//! Takes the benchmark folder (`../shared/bench/aeb/`, or `AEB_DIR`) and predicted bodies; gives
//! corpus P, R, F1 and accuracy exactly as the upstream `evaluate.py` computes them (see the data
//! README): `\w+` tokens, case-sensitive, multisets of 4-token shingles, per-page tp/fp/fn
//! normalized to one, macro means of per-page precision and recall, F1 of the two means.
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::corpora;

/// The benchmark folder: `AEB_DIR`, else `aeb` under `NEWSDESK_BENCH_DATA`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("AEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| corpora::corpus("aeb"))
}

/// `ground-truth.json`: id -> `{articleBody, url}`.
pub fn ground_truth(dir: &Path) -> Map<String, Value> {
    let path = dir.join("ground-truth.json");
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set AEB_DIR to the benchmark folder)",
            path.display()
        )
    });
    match serde_json::from_str(&raw).expect("ground truth JSON") {
        Value::Object(m) => m,
        _ => panic!("ground truth is not an object"),
    }
}

/// Page ids (file names up to the first dot), sorted.
pub fn page_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir.join("html"))
        .expect("html folder")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.split('.').next().map(str::to_string)
        })
        .collect();
    ids.sort();
    ids
}

/// Path of a page's `.html.gz` file.
pub fn page_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("html").join(format!("{id}.html.gz"))
}

/// A page, gunzipped.
pub fn load_page(dir: &Path, id: &str) -> String {
    let raw = std::fs::read(page_path(dir, id)).expect("page");
    let mut out = String::new();
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_string(&mut out)
        .expect("gunzip page");
    out
}

/// Python's `re.findall(r'\w+', text, re.UNICODE)`: letters, numbers and underscore.
pub fn token_regex() -> Regex {
    Regex::new(r"[\p{L}\p{N}_]+").expect("token regex")
}

fn tokenize<'a>(re: &Regex, text: &'a str) -> Vec<&'a str> {
    re.find_iter(text).map(|m| m.as_str()).collect()
}

fn shingles<'a>(tokens: &'a [&'a str]) -> HashMap<&'a [&'a str], u32> {
    let mut out = HashMap::new();
    if tokens.is_empty() {
        return out;
    }
    let n = tokens.len().saturating_sub(3).max(1);
    for i in 0..n {
        let end = (i + 4).min(tokens.len());
        *out.entry(&tokens[i..end]).or_insert(0) += 1;
    }
    out
}

/// One page's normalized counts.
pub struct PageScore {
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
    pub exact: bool,
}

/// Scores one page's prediction against its truth.
pub fn score_page(re: &Regex, truth: &str, pred: &str) -> PageScore {
    let (tt, pt) = (tokenize(re, truth), tokenize(re, pred));
    let (ts, ps) = (shingles(&tt), shingles(&pt));
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for key in ts.keys().chain(ps.keys().filter(|k| !ts.contains_key(*k))) {
        let t = f64::from(*ts.get(key).unwrap_or(&0));
        let p = f64::from(*ps.get(key).unwrap_or(&0));
        tp += t.min(p);
        fp += (p - t).max(0.0);
        fn_ += (t - p).max(0.0);
    }
    let sum = tp + fp + fn_;
    if sum > 0.0 {
        (tp, fp, fn_) = (tp / sum, fp / sum, fn_ / sum);
    }
    PageScore {
        tp,
        fp,
        fn_,
        exact: tt == pt,
    }
}

/// Per-page precision as `evaluate.py` defines it.
pub fn precision(s: &PageScore) -> f64 {
    if s.fp == 0.0 && s.fn_ == 0.0 {
        1.0
    } else if s.tp + s.fp == 0.0 {
        0.0
    } else {
        s.tp / (s.tp + s.fp)
    }
}

/// Per-page recall as `evaluate.py` defines it.
pub fn recall(s: &PageScore) -> f64 {
    if s.fp == 0.0 && s.fn_ == 0.0 {
        1.0
    } else if s.tp + s.fn_ == 0.0 {
        0.0
    } else {
        s.tp / (s.tp + s.fn_)
    }
}

/// Corpus figures plus per-page `(id, P, R, F1)`.
pub struct Summary {
    pub p: f64,
    pub r: f64,
    pub f1: f64,
    pub accuracy: f64,
    pub per_page: Vec<(String, f64, f64, f64)>,
}

/// Corpus P, R, F1, accuracy over every ground-truth item (a missing prediction is `""`).
pub fn summarize(gt: &Map<String, Value>, preds: &HashMap<String, String>) -> Summary {
    let re = token_regex();
    let mut ps = Vec::new();
    let mut rs = Vec::new();
    let mut exact = 0usize;
    let mut per_page = Vec::new();
    for (id, item) in gt {
        let truth = item["articleBody"].as_str().unwrap_or("");
        let pred = preds.get(id).map(String::as_str).unwrap_or("");
        let s = score_page(&re, truth, pred);
        let (p, r) = (precision(&s), recall(&s));
        if s.tp + s.fp > 0.0 {
            ps.push(p);
        }
        if s.tp + s.fn_ > 0.0 {
            rs.push(r);
        }
        exact += usize::from(s.exact);
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        per_page.push((id.clone(), p, r, f));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (p, r) = (mean(&ps), mean(&rs));
    Summary {
        p,
        r,
        f1: if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        },
        accuracy: exact as f64 / gt.len().max(1) as f64,
        per_page,
    }
}
