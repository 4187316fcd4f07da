//! Article Extraction Benchmark: quality (P, R, F1, accuracy as in `../shared/bench/aeb/README.md`),
//! single-core speed and peak memory of newsdesk's extractor, `dom_smoothie`, and html5ever
//! parse-only (the speed ceiling).
//!
//! Run: `cargo bench --bench aeb`. Each extractor runs in a child process of this binary
//! (`aeb --child NAME`) so one's memory does not pollute another's peak RSS.
//! `AEB_PREDICTIONS=DIR` writes `DIR/<extractor>.json` in the benchmark's prediction format.
//! `AEB_DIR` overrides the data folder.

use newsdesk::extract::extract;
use regex::Regex;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use url::Url;

const EXTRACTORS: &[&str] = &["newsdesk", "dom_smoothie", "parse-only"];

fn data_dir() -> PathBuf {
    std::env::var_os("AEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/aeb"))
}

fn ground_truth(dir: &Path) -> Map<String, Value> {
    let raw = std::fs::read_to_string(dir.join("ground-truth.json")).expect("ground-truth.json");
    match serde_json::from_str(&raw).expect("ground truth JSON") {
        Value::Object(m) => m,
        _ => panic!("ground truth is not an object"),
    }
}

fn page_ids(dir: &Path) -> Vec<String> {
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

fn load_page(dir: &Path, id: &str) -> String {
    let raw = std::fs::read(dir.join("html").join(format!("{id}.html.gz"))).expect("page");
    let mut out = String::new();
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_string(&mut out)
        .expect("gunzip page");
    out
}

fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn run_one(name: &str, html: &str, url: Option<&Url>) -> String {
    match name {
        "newsdesk" => extract(html, url).text,
        "dom_smoothie" => {
            let readability = dom_smoothie::Readability::new(html, url.map(Url::as_str), None);
            readability
                .ok()
                .and_then(|mut r| r.parse().ok())
                .map(|a| a.text_content.to_string())
                .unwrap_or_default()
        }
        _ => {
            let doc = scraper::Html::parse_document(html);
            std::hint::black_box(doc.tree.nodes().len());
            String::new()
        }
    }
}

/// Child: memory pass (one page in memory at a time), then a timed pass over pre-loaded pages.
fn child(name: &str) {
    let dir = data_dir();
    let ids = page_ids(&dir);
    let gt = ground_truth(&dir);
    let urls: Vec<Option<Url>> = ids
        .iter()
        .map(|id| gt[id]["url"].as_str().and_then(|u| Url::parse(u).ok()))
        .collect();
    let base_rss = vm_hwm_kb();
    let mut preds = Map::new();
    for (id, url) in ids.iter().zip(&urls) {
        let html = load_page(&dir, id);
        preds.insert(
            id.clone(),
            Value::String(run_one(name, &html, url.as_ref())),
        );
    }
    let peak_rss = vm_hwm_kb();
    let pages: Vec<String> = ids.iter().map(|id| load_page(&dir, id)).collect();
    let bytes: usize = pages.iter().map(String::len).sum();
    let start = Instant::now();
    for (html, url) in pages.iter().zip(&urls) {
        std::hint::black_box(run_one(name, html, url.as_ref()));
    }
    let secs = start.elapsed().as_secs_f64();
    let out = json!({
        "pages_per_s": pages.len() as f64 / secs,
        "mb_per_s": bytes as f64 / 1e6 / secs,
        "peak_rss_kb": peak_rss,
        "base_rss_kb": base_rss,
        "preds": preds,
    });
    println!("{out}");
}

/// Python's `re.findall(r'\w+', text, re.UNICODE)`: letters, numbers and underscore.
fn tokenize<'a>(re: &Regex, text: &'a str) -> Vec<&'a str> {
    re.find_iter(text).map(|m| m.as_str()).collect()
}

fn shingles<'a>(tokens: &[&'a str]) -> HashMap<Vec<&'a str>, u32> {
    let mut out = HashMap::new();
    if tokens.is_empty() {
        return out;
    }
    let n = tokens.len().saturating_sub(3).max(1);
    for i in 0..n {
        let end = (i + 4).min(tokens.len());
        *out.entry(tokens[i..end].to_vec()).or_insert(0) += 1;
    }
    out
}

struct PageScore {
    tp: f64,
    fp: f64,
    fn_: f64,
    exact: bool,
}

fn score_page(re: &Regex, truth: &str, pred: &str) -> PageScore {
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

fn precision(s: &PageScore) -> f64 {
    if s.fp == 0.0 && s.fn_ == 0.0 {
        1.0
    } else if s.tp + s.fp == 0.0 {
        0.0
    } else {
        s.tp / (s.tp + s.fp)
    }
}

fn recall(s: &PageScore) -> f64 {
    if s.fp == 0.0 && s.fn_ == 0.0 {
        1.0
    } else if s.tp + s.fn_ == 0.0 {
        0.0
    } else {
        s.tp / (s.tp + s.fn_)
    }
}

struct Summary {
    p: f64,
    r: f64,
    f1: f64,
    accuracy: f64,
    per_page: Vec<(String, f64, f64, f64)>,
}

fn summarize(re: &Regex, gt: &Map<String, Value>, preds: &Map<String, Value>) -> Summary {
    let mut ps = Vec::new();
    let mut rs = Vec::new();
    let mut exact = 0usize;
    let mut per_page = Vec::new();
    for (id, item) in gt {
        let truth = item["articleBody"].as_str().unwrap_or("");
        let pred = preds.get(id).and_then(Value::as_str).unwrap_or("");
        let s = score_page(re, truth, pred);
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

/// A short reason for a bad page: what was kept that should not be, or what was missed.
fn hint(truth: &str, pred: &str, p: f64, r: f64) -> String {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let truth_n = norm(truth);
    let pred_n = norm(pred);
    if pred_n.is_empty() {
        return "empty output".into();
    }
    let snippet = |s: &str| s.chars().take(60).collect::<String>();
    if p < r {
        let extra = pred
            .lines()
            .map(norm)
            .find(|l| l.len() > 3 && !truth_n.contains(l.as_str()))
            .unwrap_or_default();
        format!("clutter kept, e.g. {:?}", snippet(&extra))
    } else {
        let missed = truth
            .lines()
            .map(norm)
            .find(|l| l.len() > 3 && !pred_n.contains(l.as_str()))
            .unwrap_or_default();
        format!("body missed, e.g. {:?}", snippet(&missed))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        child(&args[pos + 1]);
        return;
    }
    let dir = data_dir();
    let gt = ground_truth(&dir);
    let exe = std::env::current_exe().expect("own path");
    let re = Regex::new(r"[\p{L}\p{N}_]+").expect("token regex");
    println!(
        "AEB: {} pages from {}; one thread, pages pre-loaded and gunzipped\n",
        gt.len(),
        dir.display()
    );
    println!(
        "{:<13} {:>7} {:>7} {:>7} {:>8} {:>9} {:>7} {:>13} {:>13}",
        "extractor", "P", "R", "F1", "accuracy", "pages/s", "MB/s", "peak RSS MB", "(data MB)"
    );
    let mut newsdesk_summary = None;
    let mut newsdesk_preds = Map::new();
    for name in EXTRACTORS {
        let out = Command::new(&exe)
            .args(["--child", name])
            .output()
            .expect("run child");
        if !out.status.success() {
            println!(
                "{name}: child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let v: Value = serde_json::from_slice(&out.stdout).expect("child JSON");
        let preds = v["preds"].as_object().cloned().unwrap_or_default();
        let peak = v["peak_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0;
        let base = v["base_rss_kb"].as_f64().unwrap_or(0.0) / 1024.0;
        let speed = v["pages_per_s"].as_f64().unwrap_or(0.0);
        let mbs = v["mb_per_s"].as_f64().unwrap_or(0.0);
        if *name == "parse-only" {
            println!(
                "{:<13} {:>7} {:>7} {:>7} {:>8} {:>9.1} {:>7.1} {:>13.1} {:>13.1}",
                name, "-", "-", "-", "-", speed, mbs, peak, base
            );
            continue;
        }
        let s = summarize(&re, &gt, &preds);
        println!(
            "{:<13} {:>7.4} {:>7.4} {:>7.4} {:>8.4} {:>9.1} {:>7.1} {:>13.1} {:>13.1}",
            name, s.p, s.r, s.f1, s.accuracy, speed, mbs, peak, base
        );
        if let Some(out_dir) = std::env::var_os("AEB_PREDICTIONS") {
            let wrapped: Map<String, Value> = preds
                .iter()
                .map(|(k, v)| (k.clone(), json!({ "articleBody": v })))
                .collect();
            let path = Path::new(&out_dir).join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_string(&wrapped).expect("JSON"))
                .expect("write predictions");
        }
        if *name == "newsdesk" {
            newsdesk_summary = Some(s);
            newsdesk_preds = preds;
        }
    }
    println!("\n(peak RSS: VmHWM of the child, one page in memory at a time; data MB: its RSS before any page)");
    if let Some(s) = newsdesk_summary {
        let mut pages = s.per_page;
        pages.sort_by(|a, b| a.3.total_cmp(&b.3));
        println!("\nnewsdesk: ten worst pages by F1");
        for (id, p, r, f) in pages.iter().take(10) {
            let truth = gt[id]["articleBody"].as_str().unwrap_or("");
            let pred = newsdesk_preds.get(id).and_then(Value::as_str).unwrap_or("");
            let host = gt[id]["url"]
                .as_str()
                .and_then(|u| Url::parse(u).ok())
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            println!(
                "  {} {:<24} F1 {:.3} P {:.3} R {:.3}  {}",
                &id[..12],
                host.chars().take(24).collect::<String>(),
                f,
                p,
                r,
                hint(truth, pred, *p, *r)
            );
        }
    }
}
