//! Source stage: turns a fetched feed or listing page into the items it announces.
//!
//! Takes the body of a feed (any RSS/Atom/JSON Feed flavour, any encoding) or of a listing page
//! with a link selector; gives [`SourceItem`]s with absolute URLs.

use url::Url;

use crate::model::SourceItem;

pub mod normalize;

/// Why a source body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Not a feed, or a feed too broken to recover.
    #[error("feed could not be parsed: {0}")]
    Feed(String),
    /// The document was refused for safety (e.g. a DTD shaped like an entity-expansion bomb).
    #[error("feed refused: {0}")]
    Refused(String),
    /// The selector is not valid CSS.
    #[error("invalid link selector: {0}")]
    Selector(String),
}

/// Parses a feed body (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed; any encoding).
///
/// The bytes are first normalized (see [`normalize`]): transcoded to UTF-8, HTML entities
/// rewritten, Atom 0.3 and version-less RSS made recognisable, DTDs refused. feed-rs then runs
/// under panic isolation, so a parser bug becomes an error, never a crash. Items without any
/// http(s) link are left out; relative links are resolved against `base`.
pub fn parse_feed(
    body: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<Vec<SourceItem>, SourceError> {
    Ok(parse_feed_full(body, content_type, base)?.items)
}

/// A parsed feed with its channel-level fields, for previews and the robustness corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    /// Encoding the bytes were read in (WHATWG name, lower case; `utf-32le`/`utf-32be` too).
    pub encoding: String,
    /// Channel title.
    pub title: Option<String>,
    /// Channel home page.
    pub link: Option<Url>,
    /// The items, in feed order.
    pub items: Vec<SourceItem>,
}

/// Like [`parse_feed`], but also gives the channel title/link and the encoding detected.
pub fn parse_feed_full(
    body: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<ParsedFeed, SourceError> {
    let (feed, encoding) = parse_feed_model(body, content_type, base)?;
    let items = feed
        .entries
        .iter()
        .filter_map(|e| entry_to_item(e, base))
        .collect();
    Ok(ParsedFeed {
        encoding,
        title: feed.title.as_ref().map(plain_text),
        link: pick_link(&feed.links, base),
        items,
    })
}

/// The normalized bytes parsed by feed-rs: its whole model (every entry, in order, linked or
/// not) and the encoding the bytes were read in. The corpus tests and the fuzzer use it.
pub fn parse_feed_model(
    body: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<(feed_rs::model::Feed, String), SourceError> {
    let norm = normalize::normalize(body, content_type)?;
    // A fresh parser per attempt: feed-rs keeps state in its parser (media RSS roots), and one
    // left over from a failed parse trips an assertion in the next.
    let parse = |text: &str| {
        let parser = feed_rs::parser::Builder::new()
            .base_uri(Some(base.as_str()))
            // An empty id marks "the feed gave none": never feed-rs' synthetic ids as guids.
            .id_generator(|_, _, _| String::new())
            .sanitize_content(false)
            .build();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            parser.parse(text.as_bytes())
        }))
        .map_err(|_| SourceError::Feed("the feed parser panicked on this input".into()))
    };
    reject_html_page(&norm.text)?;
    let feed = match parse(&norm.text)? {
        Ok(feed) => feed,
        // Broken nesting or a cut document: a second try with the tags rebalanced.
        Err(e) => match normalize::rebalance(&norm.text).map(|t| parse(&t)) {
            Some(Ok(Ok(feed))) => feed,
            // Say why in operator's terms when the body is no feed at all; feed-rs would try it
            // as JSON and report a JSON syntax error.
            _ => {
                reject_non_feed(&norm.text)?;
                return Err(SourceError::Feed(e.to_string()));
            }
        },
    };
    Ok((feed, norm.encoding))
}

/// A feed text construct as plain text: HTML and XHTML titles lose their tags, and the content
/// of `script`, `style` and similar elements (feedparser's sanitizer does the same to titles);
/// plain text is only trimmed.
pub fn plain_text(t: &feed_rs::model::Text) -> String {
    let sub = t.content_type.subty().as_str();
    if sub != "html" && sub != "xhtml" && sub != "xhtml+xml" {
        return t.content.trim().to_string();
    }
    let frag = scraper::Html::parse_fragment(&t.content);
    let mut out = String::new();
    for node in frag.root_element().descendants() {
        let Some(text) = node.value().as_text() else {
            continue;
        };
        let hidden = node.ancestors().any(|a| {
            a.value().as_element().is_some_and(|e| {
                matches!(
                    e.name(),
                    "script" | "style" | "template" | "noscript" | "iframe"
                )
            })
        });
        if !hidden {
            out.push_str(text);
        }
    }
    out.trim().to_string()
}

fn trim_body_start(text: &str) -> &str {
    text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Refuses an HTML page (a site's home or error page where a feed was expected).
fn reject_html_page(text: &str) -> Result<(), SourceError> {
    let head: String = trim_body_start(text).chars().take(16).collect();
    let lower = head.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Err(SourceError::Feed(
            "an HTML page, not a feed (no RSS, Atom or JSON Feed root)".into(),
        ));
    }
    Ok(())
}

/// Refuses, with a message an operator can act on, a body that cannot be a feed.
fn reject_non_feed(text: &str) -> Result<(), SourceError> {
    reject_html_page(text)?;
    let start = trim_body_start(text);
    let head: String = start.chars().take(40).collect();
    if start.starts_with('<') || start.starts_with('{') {
        return Ok(());
    }
    if start.is_empty() {
        return Err(SourceError::Feed("empty body".into()));
    }
    Err(SourceError::Feed(format!(
        "not a feed: the body starts with {head:?}, neither XML nor JSON"
    )))
}

/// The link of a feed or entry: `alternate` (or no rel) first, then any.
pub fn pick_link(links: &[feed_rs::model::Link], base: &Url) -> Option<Url> {
    let preferred = links
        .iter()
        .filter(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"));
    preferred
        .chain(links.iter())
        .find_map(|l| http_url(base, l.href.trim()))
}

/// `href` resolved against `base`, when it is http(s).
fn http_url(base: &Url, href: &str) -> Option<Url> {
    let u = base.join(href).ok()?;
    matches!(u.scheme(), "http" | "https").then_some(u)
}

/// Whether `c` is a control character (C0, DEL, C1) or a bidirectional formatting character
/// (embeddings, overrides, isolates, marks): what lets a remote site drive an operator's
/// terminal (ESC sequences, BEL) or reorder what it shows (`U+202E`).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Remote text made one safe line: whitespace controls become spaces, other controls and
/// bidirectional formatting characters are removed, runs of spaces collapse, ends are trimmed.
pub fn clean_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => ' ',
            c if is_unsafe_char(c) => continue,
            c => c,
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    out
}

fn entry_to_item(e: &feed_rs::model::Entry, base: &Url) -> Option<SourceItem> {
    let guid = Some(e.id.trim().to_string()).filter(|s| !s.is_empty());
    // An RSS guid is often the permalink itself when there is no <link>.
    let url = pick_link(&e.links, base).or_else(|| {
        guid.as_deref()
            .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
            .and_then(|g| http_url(base, g))
    })?;
    Some(SourceItem {
        guid,
        url,
        title: e
            .title
            .as_ref()
            .map(|t| clean_line(&plain_text(t)))
            .filter(|t| !t.is_empty()),
        author: e
            .authors
            .iter()
            .find_map(|p| p.name.as_deref().map(clean_line).filter(|n| !n.is_empty())),
        published_at: e.published.or(e.updated),
    })
}

/// Lists the article links of a listing page.
///
/// Each element matched by `link_selector` gives its own `href`, or that of its first `a[href]`
/// descendant. Links are resolved against the page's `<base href>` (if any) and `base`;
/// fragments are dropped, non-http(s) links skipped and duplicates removed (first kept).
pub fn parse_listing(
    html: &str,
    base: &Url,
    link_selector: &str,
) -> Result<Vec<SourceItem>, SourceError> {
    let sel = scraper::Selector::parse(link_selector).map_err(|e| {
        SourceError::Selector(format!(
            "'{link_selector}': {}",
            crate::config::selector_reason(&e.to_string())
        ))
    })?;
    let anchor =
        scraper::Selector::parse("a[href]").map_err(|e| SourceError::Selector(e.to_string()))?;
    let base_sel =
        scraper::Selector::parse("base[href]").map_err(|e| SourceError::Selector(e.to_string()))?;
    // Bounded like article pages: a listing page is just as remote.
    let doc = crate::extract::bounded::parse(html);
    let page_base = doc
        .select(&base_sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| base.join(h.trim()).ok())
        .unwrap_or_else(|| base.clone());
    let mut seen = std::collections::HashSet::new();
    let mut items = Vec::new();
    for el in doc.select(&sel) {
        let (href, text_el) = match el.value().attr("href") {
            Some(h) => (h, el),
            None => match el.select(&anchor).next() {
                Some(a) => (a.value().attr("href").unwrap_or(""), a),
                None => continue,
            },
        };
        let Some(mut url) = http_url(&page_base, href.trim()) else {
            continue;
        };
        url.set_fragment(None);
        if !seen.insert(url.clone()) {
            continue;
        }
        let title = text_el.text().collect::<Vec<_>>().join(" ");
        let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
        items.push(SourceItem {
            guid: None,
            url,
            title: Some(title).filter(|t| !t.is_empty()),
            author: None,
            published_at: None,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example.com/section/").unwrap()
    }

    #[test]
    fn clean_line_strips_terminal_controls_and_bidi_overrides() {
        assert_eq!(
            clean_line("Story \u{1b}[31mRED\u{7} \u{202E}gnp.exe\u{9b}2J\n next"),
            "Story [31mRED gnp.exe2J next"
        );
        assert_eq!(clean_line("  plain  title "), "plain title");
        assert_eq!(clean_line("\u{2067}x\u{2069}\u{200F}"), "x");
    }

    #[test]
    fn a_body_that_is_no_feed_is_refused_with_a_reason() {
        let err = |body: &[u8]| parse_feed(body, None, &base()).unwrap_err().to_string();
        assert!(err(b"this is {not} a feed").contains("neither XML nor JSON"));
        assert!(err(b"  <!DOCTYPE html><html><body>Oops</body></html>").contains("HTML page"));
        assert!(err(b"   ").contains("empty body"));
    }

    #[test]
    fn rss_items_resolved() {
        let xml =
            br#"<rss version="2.0"><channel><title>T</title><link>https://news.example.com/</link>
<item><title>One &amp; two</title><link>/a/1</link><guid>g1</guid><author>x@y (X)</author>
<pubDate>Tue, 10 Jun 2025 04:00:00 GMT</pubDate></item>
<item><title>No link</title><guid isPermaLink="true">https://news.example.com/a/2</guid></item>
<item><title>Nothing</title></item></channel></rss>"#;
        let items = parse_feed(xml, Some("application/rss+xml"), &base()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].url.as_str(), "https://news.example.com/a/1");
        assert_eq!(items[0].title.as_deref(), Some("One & two"));
        assert_eq!(items[0].guid.as_deref(), Some("g1"));
        assert!(items[0].published_at.is_some());
        assert_eq!(items[1].url.as_str(), "https://news.example.com/a/2");
    }

    #[test]
    fn atom_and_json_feed() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>urn:1</id><title>E</title><link rel="alternate" href="https://x.example/e"/>
<author><name>Ann</name></author><updated>2025-01-01T00:00:00Z</updated></entry></feed>"#;
        let items = parse_feed(atom, None, &base()).unwrap();
        assert_eq!(items[0].author.as_deref(), Some("Ann"));
        assert_eq!(items[0].guid.as_deref(), Some("urn:1"));
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","url":"https://x.example/j","title":"JT"}]}"#;
        let items = parse_feed(json, Some("application/feed+json"), &base()).unwrap();
        assert_eq!(items[0].url.as_str(), "https://x.example/j");
    }

    #[test]
    fn html_titles_become_plain_text() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">&lt;blink&gt;safe&lt;/blink&gt; description</title>
<entry><id>1</id><title type="html">safe&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; sound</title><link href="https://x.example/1"/></entry>
<entry><id>2</id><title>&lt;b&gt; is a tag</title><link href="https://x.example/2"/></entry></feed>"#;
        let f = parse_feed_full(atom, None, &base()).unwrap();
        assert_eq!(f.title.as_deref(), Some("safe description"));
        assert_eq!(f.items[0].title.as_deref(), Some("safe & sound"));
        // A plain-text title keeps its angle brackets.
        assert_eq!(f.items[1].title.as_deref(), Some("<b> is a tag"));
    }

    /// Found by `cargo fuzz run parse_feed` (crash-e0e021cf…): a second XML declaration naming an
    /// encoding made quick-xml, inside feed-rs, panic ("set_encoding() called after prefix buffer
    /// was drained"); `catch_unwind` turned it into an error, now the feed is read.
    #[test]
    fn fuzz_regression_late_xml_declaration() {
        let xml = b"<!-- c -->\n<rss>\n<channel>\n<title>testing &ordf; entity</title>\n<?xml version=\"1.0\" encoding=\"iso-8859-1\"?></channel></rss>";
        let f = parse_feed_full(xml, None, &base()).expect("parses");
        assert_eq!(f.title.as_deref(), Some("testing \u{aa} entity"));
        // The fuzzer's input: its last byte (10) picked the Content-Type `text/xml`.
        let crash = include_bytes!("../../tests/fixtures/fuzz/parse_feed-crash-e0e021cf.bin");
        let crash = &crash[..crash.len() - 1];
        if let Err(e) = parse_feed(crash, Some("text/xml"), &base()) {
            assert!(!e.to_string().contains("panicked"), "{e}");
        }
        // Its second find: the late declaration hides behind a broken `<?xm<!--` opener that
        // quick-xml reads as one processing instruction.
        let crash = include_bytes!("../../tests/fixtures/fuzz/parse_feed-crash-d2231152.bin");
        let (ct, body) = (
            Some("text/html; charset=shift_jis"),
            &crash[..crash.len() - 1],
        );
        if let Err(e) = parse_feed(body, ct, &base()) {
            assert!(!e.to_string().contains("panicked"), "{e}");
        }
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let html =
            b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</p></body></html>";
        assert!(matches!(
            parse_feed(html, Some("text/html"), &base()),
            Err(SourceError::Feed(_))
        ));
    }

    #[test]
    fn listing_links() {
        let html = r##"<html><body>
<ul class="news"><li><a href="/a/1">First <b>story</b></a></li>
<li><a href="a/2#comments">Second</a></li><li><a href="/a/1">dup</a></li>
<li><a href="mailto:x@y">mail</a></li><li><a href="javascript:void(0)">js</a></li>
<li class="card"><h2><a href="https://other.example/p">Card</a></h2></li></ul></body></html>"##;
        let items = parse_listing(html, &base(), "ul.news a, li.card").unwrap();
        let urls: Vec<_> = items.iter().map(|i| i.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://news.example.com/a/1",
                "https://news.example.com/section/a/2",
                "https://other.example/p"
            ]
        );
        assert_eq!(items[0].title.as_deref(), Some("First story"));
        assert!(matches!(
            parse_listing(html, &base(), "a[[["),
            Err(SourceError::Selector(_))
        ));
    }
}
