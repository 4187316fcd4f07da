//! Metadata floors on Mozilla Readability's test pages (`readability` under `NEWSDESK_BENCH_DATA`, or
//! `READABILITY_DIR`), scored by the same code as `cargo bench --bench aeb`. Without the folder
//! the test is skipped with a `SKIPPED:` notice, and fails under `CI=true`.

use testkit::{corpora, readability_meta};
/// Floors a little under what the extractor reaches (title 122/127, byline 68/73, date 33/33 on
/// 2026-12-01; see docs/benchmarks.md); the bench prints the figures.
const TITLE_FLOOR: f64 = 0.94;
const BYLINE_FLOOR: f64 = 0.90;
const DATE_FLOOR: f64 = 0.96;

/// newsdesk's extractor, as the metadata scorer takes it.
fn extract_meta(html: &str) -> readability_meta::PageMeta {
    let article = newsdesk::extract::extract(html, None);
    readability_meta::PageMeta {
        title: article.title,
        authors: article.authors,
        published_at: article.published_at,
    }
}

#[test]
fn readability_set_metadata_floors() {
    let dir = readability_meta::data_dir();
    if !corpora::available(&dir) {
        return;
    }
    let report = readability_meta::score(&dir, &extract_meta);
    readability_meta::print(&report, &dir);
    assert_eq!(report.pages, 130, "the set has 130 pages");
    assert!(
        report.title.rate() >= TITLE_FLOOR,
        "title {:?}",
        report.title
    );
    assert!(
        report.byline.rate() >= BYLINE_FLOOR,
        "byline {:?}",
        report.byline
    );
    assert!(report.date.rate() >= DATE_FLOOR, "date {:?}", report.date);
}
