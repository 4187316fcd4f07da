//! Feed robustness on the whole bench corpus (`../shared/bench/feeds/`: every `wellformed`,
//! `encoding`, `entities` and `illformed` file) and the probes. The same corpus with throughput
//! figures is `cargo bench --bench feeds`.

use testkit::{corpora, feed_corpus};

use feed_corpus::Parse;

/// newsdesk's feed parsing, as the corpus runner takes it.
const API: feed_corpus::FeedApi = feed_corpus::FeedApi {
    parse: |body, content_type, base| {
        newsdesk::source::parse_feed_model(body, content_type, base).map_err(|e| e.to_string())
    },
    pick_link: newsdesk::source::pick_link,
    plain_text: newsdesk::source::plain_text,
};

#[test]
fn feedparser_corpus() {
    if !corpora::available(&feed_corpus::bench_dir()) {
        return;
    }
    let exps = feed_corpus::load_expectations();
    let results: Vec<_> = exps
        .iter()
        .map(|e| feed_corpus::run_file(&API, e))
        .collect();
    let figs = feed_corpus::figures(&results);
    println!("{}", feed_corpus::figures_table(&figs));

    let panics: Vec<_> = results
        .iter()
        .filter(|r| r.parse == Parse::Panic)
        .map(|r| &r.file)
        .collect();
    assert!(panics.is_empty(), "panics: {panics:?}");

    // Every charset case parses and names the encoding feedparser names.
    let enc = &figs["encoding"];
    let wrong: Vec<_> = results
        .iter()
        .filter(|r| r.folder == "encoding" && !r.right())
        .map(|r| (&r.file, &r.parse, &r.failures))
        .collect();
    assert_eq!(enc.right, enc.files, "encoding cases not right: {wrong:?}");

    // Entities: every one decoded as feedparser expects.
    let ent = &figs["entities"];
    let wrong: Vec<_> = results
        .iter()
        .filter(|r| r.folder == "entities" && !r.right())
        .map(|r| r.file.as_str())
        .collect();
    assert_eq!(ent.parsed, ent.files);
    assert!(wrong.is_empty(), "{wrong:?}");

    // Wellformed: at least 99% parse and at least 99% with every title/link check met (the rest:
    // Content-Location bases, `<dc:title>`-only titles, link-less RSS 1.0 items).
    let well = &figs["wellformed"];
    assert!(
        well.parsed * 100 >= well.files * 99,
        "wellformed parsed {}/{}",
        well.parsed,
        well.files
    );
    assert!(
        well.right * 100 >= well.files * 99,
        "wellformed right {}/{}",
        well.right,
        well.files
    );
}

#[test]
fn encoding_probes_all_correct_with_http_charset() {
    if !corpora::available(&feed_corpus::bench_dir()) {
        return;
    }
    let probes = feed_corpus::run_encoding_probes(&API, true);
    let wrong: Vec<_> = probes.iter().filter(|p| p.verdict != "correct").collect();
    assert_eq!(probes.len(), 44);
    assert!(wrong.is_empty(), "{wrong:?}");
    // From the bytes alone, only GB2312/GBK without any declaration are misread (chardetng
    // takes two Chinese characters for Cyrillic); nothing panics.
    let bytes_only = feed_corpus::run_encoding_probes(&API, false);
    assert!(bytes_only.iter().all(|p| p.verdict != "panic"));
    let wrong: Vec<_> = bytes_only
        .iter()
        .filter(|p| p.verdict != "correct")
        .map(|p| p.file.as_str())
        .collect();
    assert!(
        wrong
            .iter()
            .all(|f| *f == "gb2312__nodecl.xml" || *f == "gbk__nodecl.xml"),
        "{wrong:?}"
    );
}

#[test]
fn malformed_probes_never_panic_and_never_expand_bombs() {
    if !corpora::available(&feed_corpus::bench_dir()) {
        return;
    }
    let mal = feed_corpus::run_malformed_probes(&API);
    assert_eq!(mal.len(), 32);
    for m in &mal {
        assert_ne!(m.outcome, "panic", "{}", m.file);
    }
    let by = |f: &str| mal.iter().find(|m| m.file == f).expect(f);
    assert!(
        by("billion_laughs_doctype.xml").outcome.contains("refused"),
        "{:?}",
        by("billion_laughs_doctype.xml")
    );
    // The external entity is never fetched nor expanded: no file content in the title.
    let xxe = by("xxe_external_entity.xml");
    assert!(
        xxe.item_title
            .as_deref()
            .is_none_or(|t| !t.contains("root:")),
        "{xxe:?}"
    );
    for f in [
        "rss_no_version.xml",
        "atom_wrong_namespace_atom03.xml",
        "html_entity_nbsp_in_title.xml",
        "html_entity_eacute_in_title.xml",
        "leading_whitespace_before_decl.xml",
        "utf8_bom_then_whitespace.xml",
        "control_char_nul.xml",
    ] {
        assert_eq!(by(f).entries, 1, "{:?}", by(f));
    }
    // Recovered by rebalancing: a missing close, an unclosed inner tag, a cut document.
    for f in [
        "missing_channel_close.xml",
        "unclosed_inner_tag.xml",
        "truncated_mid_item.xml",
    ] {
        assert!(by(f).like_reference(), "{:?}", by(f));
    }
    // UTF-8 bytes under a Latin-1 declaration are read as UTF-8.
    assert_eq!(
        by("declared_encoding_mismatch_utf8_bytes_says_latin1.xml")
            .item_title
            .as_deref(),
        Some("Café")
    );
    let like = mal.iter().filter(|m| m.like_reference()).count();
    assert!(like >= 23, "only {like}/32 like feedparser");
}
