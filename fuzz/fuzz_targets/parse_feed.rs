//! `parse_feed` (normalization layer + feed-rs) on arbitrary bytes, with one of a few
//! Content-Type headers chosen by the last byte (so seed feeds stay feeds). libfuzzer-sys aborts
//! on any panic, even one `parse_feed`'s own `catch_unwind` would turn into an error, so feed-rs
//! panics show up too.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/rss+xml"),
    Some("text/xml"),
    Some("application/atom+xml; charset=iso-8859-1"),
    Some("text/xml; charset=utf-16"),
    Some("application/feed+json"),
    Some("text/html; charset=shift_jis"),
    Some("application/xml; charset=\"bogus\""),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_last() else {
        return;
    };
    let ct = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let base = url::Url::parse("https://fuzz.example/feeds/main.xml").expect("base");
    let _ = newsdesk::source::parse_feed(body, ct, &base);
});
