//! The article extractor's entry points on arbitrary bytes: charset detection and decoding
//! (`decode_html`), then `extract` (bounded parse, container scoring, metadata, sanitizing).
//! An input starting with `R` is the rest repeated up to ~200 KB, so short inputs reach the deep
//! nesting and huge element counts the parser bounds exist for (seeds: `fuzz/seeds/extract/`).
//! Run with `-timeout=5`: a slow input is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let repeated;
    let data = match data.split_first() {
        Some((b'R', rest)) if !rest.is_empty() => {
            repeated = rest.repeat((200_000 / rest.len()).max(1));
            &repeated[..]
        }
        _ => data,
    };
    let html = newsdesk::encoding::decode_html(data, None);
    let url = url::Url::parse("https://fuzz.example/2026/11/story.html").expect("url");
    let article = newsdesk::extract::extract(&html, Some(&url));
    // Cheap invariants: the sanitized HTML never carries a script element.
    assert!(!article.html.to_ascii_lowercase().contains("<script"));
});
