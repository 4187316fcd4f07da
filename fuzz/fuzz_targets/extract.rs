//! The article extractor's entry points on arbitrary bytes: charset detection and decoding
//! (`decode_html`), then `extract` (scraper parse, container scoring, metadata, sanitizing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = newsdesk::fetch::charset::decode_html(data, None);
    let url = url::Url::parse("https://fuzz.example/2026/11/story.html").expect("url");
    let article = newsdesk::extract::extract(&html, Some(&url));
    // Cheap invariants: the sanitized HTML never carries a script element.
    assert!(!article.html.to_ascii_lowercase().contains("<script"));
});
