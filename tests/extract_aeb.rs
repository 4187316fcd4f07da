//! The extractor against the Article Extraction Benchmark (`../shared/bench/aeb/`, or `AEB_DIR`):
//! a quality floor with the benchmark's exact metric (shared with `benches/aeb.rs`), and
//! `newsdesk extract` over all 181 pages in one call, as JSON, NDJSON and from stdin; and a floor on
//! body agreement with Readability on its test pages (`../shared/bench/readability/`).

use newsdesk::extract::extract;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use testkit::{aeb, corpora, readability};
use url::Url;

/// Regressions below this fail CI; the bench reports the real figure (0.9823 when this floor was
/// last raised, issue 15's target being 0.977).
const F1_FLOOR: f64 = 0.980;

#[test]
fn aeb_f1_stays_above_the_floor() {
    let dir = aeb::data_dir();
    if !corpora::available(&dir) {
        return;
    }
    let gt = aeb::ground_truth(&dir);
    let ids = aeb::page_ids(&dir);
    assert_eq!(ids.len(), 181, "benchmark pages in {}", dir.display());
    let preds: HashMap<String, String> = ids
        .iter()
        .map(|id| {
            let url = gt[id]["url"].as_str().and_then(|u| Url::parse(u).ok());
            let html = aeb::load_page(&dir, id);
            (id.clone(), extract(&html, url.as_ref()).text)
        })
        .collect();
    let s = aeb::summarize(&gt, &preds);
    assert!(
        s.f1 >= F1_FLOOR,
        "AEB F1 {:.4} (P {:.4} R {:.4}) fell below {F1_FLOOR}",
        s.f1,
        s.p,
        s.r
    );
}

/// Body agreement with Readability's answers on its 130 test pages (`../shared/bench/readability`,
/// or `READABILITY_DIR`): a floor below the bench's figure, so a rule fitted to AEB that breaks
/// other sites fails CI (0.9583 when this floor was last raised, 0.9506 with the synthetic page
/// `lazy-image-3` scored as before the no-prose fallback; issue 15's target being 0.95).
const READABILITY_FLOOR: f64 = 0.955;

#[test]
fn readability_set_agreement_stays_above_the_floor() {
    let dir = readability::data_dir();
    if !corpora::available(&dir) {
        return;
    }
    let ids = readability::page_ids(&dir);
    assert_eq!(ids.len(), 130, "Readability pages in {}", dir.display());
    let gt = readability::ground_truth(&dir);
    let url = Url::parse(readability::PAGE_URL).ok();
    let preds: HashMap<String, String> = ids
        .iter()
        .map(|id| {
            let html = readability::source(&dir, id);
            (id.clone(), extract(&html, url.as_ref()).text)
        })
        .collect();
    let s = aeb::summarize(&gt, &preds);
    assert!(
        s.f1 >= READABILITY_FLOOR,
        "Readability-set body F1 {:.4} (P {:.4} R {:.4}) fell below {READABILITY_FLOOR}",
        s.f1,
        s.p,
        s.r
    );
}

#[test]
fn metric_matches_the_benchmark_definition() {
    let gt: serde_json::Map<String, Value> = serde_json::from_str(
        r#"{"a": {"articleBody": "one two three four five"},
            "b": {"articleBody": "Alpha beta gamma delta"},
            "c": {"articleBody": "x y"}}"#,
    )
    .unwrap();
    let preds: HashMap<String, String> = [
        // shingles: truth {1234, 2345}; pred {1234, 2345, 3456}: tp 2, fp 1 -> P 2/3, R 1
        ("a", "one two three four five six"),
        // case-sensitive: no shared shingle -> P 0, R 0
        ("b", "alpha beta gamma delta"),
        // c missing -> empty: left out of P, R 0
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let s = aeb::summarize(&gt, &preds);
    assert!((s.p - (2.0 / 3.0 + 0.0) / 2.0).abs() < 1e-9, "P {}", s.p);
    assert!((s.r - 1.0 / 3.0).abs() < 1e-9, "R {}", s.r);
    let f1 = 2.0 * s.p * s.r / (s.p + s.r);
    assert!((s.f1 - f1).abs() < 1e-12);
    assert_eq!(s.accuracy, 0.0);
}

fn newsdesk_extract(args: &[String], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("extract")
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run newsdesk extract");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).expect("write stdin");
    }
    drop(pipe);
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "newsdesk extract failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn extract_command_handles_all_181_pages_in_one_call() {
    let dir = aeb::data_dir();
    if !corpora::available(&dir) {
        return;
    }
    let gt = aeb::ground_truth(&dir);
    let ids = aeb::page_ids(&dir);
    assert_eq!(ids.len(), 181);
    let files: Vec<String> = ids
        .iter()
        .map(|id| aeb::page_path(&dir, id).display().to_string())
        .collect();

    let mut args = vec!["--format".to_string(), "ndjson".to_string()];
    args.extend(files.iter().cloned());
    let ndjson = newsdesk_extract(&args, None);
    let records: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(records.len(), 181);
    let mut texts = HashMap::new();
    for (rec, (id, file)) in records.iter().zip(ids.iter().zip(&files)) {
        assert_eq!(rec["file"].as_str(), Some(file.as_str()));
        for key in ["title", "authors", "published_at", "text", "html"] {
            assert!(rec.get(key).is_some(), "{key} missing for {file}");
        }
        let text = rec["text"].as_str().expect("text");
        assert!(!text.is_empty(), "empty text for {file}");
        assert!(!rec["html"].as_str().unwrap_or("").contains("<script"));
        texts.insert(id.clone(), text.to_string());
    }
    // What the command prints is what scores: the same floor as the library.
    let s = aeb::summarize(&gt, &texts);
    assert!(s.f1 >= F1_FLOOR, "CLI output F1 {:.4}", s.f1);

    let mut args = vec!["--format".to_string(), "json".to_string()];
    args.extend(files.iter().cloned());
    let json: Value = serde_json::from_str(&newsdesk_extract(&args, None)).expect("JSON array");
    let array = json.as_array().expect("an array for many files");
    assert_eq!(array.len(), 181);
    for (a, b) in array.iter().zip(&records) {
        assert_eq!(a, b, "json and ndjson disagree");
    }

    // stdin: the first page, gunzipped, as `-`.
    let html = aeb::load_page(&dir, &ids[0]);
    let args = vec!["--format".into(), "json".into(), "-".into()];
    let one: Value = serde_json::from_str(&newsdesk_extract(&args, Some(html.as_bytes())))
        .expect("one JSON object");
    assert_eq!(one["file"].as_str(), Some("-"));
    assert_eq!(one["text"], records[0]["text"]);
}
