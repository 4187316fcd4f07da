//! Mozilla Readability's test pages (`readability` under `NEWSDESK_BENCH_DATA`, or `READABILITY_DIR`) as a
//! second development set, shared by `benches/aeb.rs` and `tests/extract_aeb.rs`.
//!
//! Takes the folder; gives each page's source HTML, the text of Readability's `expected.html`
//! (block elements end a line, so words of adjacent paragraphs never run together) and its
//! `expected-metadata.json`. Body agreement is AEB's token-shingle F1 ([`crate::aeb`]) with
//! `expected.html`'s text as the truth: Readability's answer, not a human's.
use scraper::{Html, Node};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The address Readability's own test runner gives every page (relative links resolve against it).
pub const PAGE_URL: &str = "http://fakehost/test/page.html";

/// The folder: `READABILITY_DIR`, else `readability` under `NEWSDESK_BENCH_DATA`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("READABILITY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::corpora::corpus("readability"))
}

/// Page names (folder names under `pages/`), sorted.
pub fn page_ids(dir: &Path) -> Vec<String> {
    let pages = dir.join("pages");
    let mut ids: Vec<String> = std::fs::read_dir(&pages)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (set READABILITY_DIR to the set's folder)",
                pages.display()
            )
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("source.html").is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    ids.sort();
    ids
}

fn read(dir: &Path, id: &str, file: &str) -> String {
    let path = dir.join("pages").join(id).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A page's `source.html`.
pub fn source(dir: &Path, id: &str) -> String {
    read(dir, id, "source.html")
}

/// A page's `expected-metadata.json` (an empty object when it does not parse).
pub fn metadata(dir: &Path, id: &str) -> Map<String, Value> {
    match serde_json::from_str(&read(dir, id, "expected-metadata.json")) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Tags after which a line ends in [`html_text`].
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// The text of an HTML fragment, a line per block element.
pub fn html_text(html: &str) -> String {
    let doc = Html::parse_fragment(html);
    let mut out = String::new();
    for edge in doc.root_element().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(n) => {
                if let Node::Text(t) = n.value() {
                    out.push_str(t);
                }
            }
            ego_tree::iter::Edge::Close(n) => {
                if let Node::Element(e) = n.value() {
                    if BLOCK_TAGS.contains(&e.name()) {
                        out.push('\n');
                    }
                }
            }
        }
    }
    out
}

/// Ground truth in [`crate::aeb::summarize`]'s shape: id -> `{articleBody}` from
/// `expected.html`.
pub fn ground_truth(dir: &Path) -> Map<String, Value> {
    page_ids(dir)
        .into_iter()
        .map(|id| {
            let body = html_text(&read(dir, &id, "expected.html"));
            (id, serde_json::json!({ "articleBody": body }))
        })
        .collect()
}
