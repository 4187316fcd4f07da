//! Metadata floors on Mozilla Readability's test pages (`readability` under `NEWSDESK_BENCH_DATA`, or
//! `READABILITY_DIR`), scored by the same code as `cargo bench --bench aeb`. Without the folder
//! the test is skipped with a `SKIPPED:` notice, and fails under `CI=true`.

#[allow(dead_code)]
#[path = "../benches/aeb/readability_meta.rs"]
mod readability_meta;

/// Floors a little under what the extractor reaches (title 122/127, byline 68/73, date 33/33 on
/// 2026-12-01; see README); the bench prints the figures.
const TITLE_FLOOR: f64 = 0.94;
const BYLINE_FLOOR: f64 = 0.90;
const DATE_FLOOR: f64 = 0.96;

#[test]
fn readability_set_metadata_floors() {
    let dir = readability_meta::data_dir();
    if !readability_meta::bench_data::available(&dir) {
        return;
    }
    let report = readability_meta::score(&dir);
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
