//! Normalization in front of feed-rs: turns what real servers send into XML feed-rs reads.
//!
//! Takes raw feed bytes and the HTTP `Content-Type`; gives UTF-8 text (with the encoding it was
//! read in) where HTML named entities are numeric references, stray `&` are escaped, the DTD is
//! gone (plain internal entities expanded, nothing external ever resolved), `<rss>` has a version
//! feed-rs knows, and Atom 0.3 is spelled as Atom 1.0. Entity definitions that reference other
//! entities (the "billion laughs" shape) are refused.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::SourceError;

/// Feed bytes made readable: UTF-8 text and the name of the encoding they were in.
#[derive(Debug, Clone)]
pub struct Normalized {
    /// UTF-8 text for the XML/JSON parser.
    pub text: String,
    /// The encoding detected, as a lower-case label (`utf-8`, `utf-16le`, `iso-8859-1`, …).
    pub encoding: String,
}

/// Output may grow by expanding internal entities; past this factor of the input it is refused.
const MAX_GROWTH: usize = 4;
/// Longest replacement text accepted for one internal entity.
const MAX_ENTITY_VALUE: usize = 1024;

/// Normalizes feed bytes (see the module docs).
pub fn normalize(body: &[u8], content_type: Option<&str>) -> Result<Normalized, SourceError> {
    let (text, encoding) = crate::encoding::decode_feed(body, content_type);
    let trimmed = text.trim_start_matches(['\u{FEFF}', ' ', '\t', '\r', '\n']);
    if trimmed.starts_with('{') {
        return Ok(Normalized {
            text: trimmed.to_string(),
            encoding,
        });
    }
    let text = strip_invalid_chars(trimmed);
    let text = replace_declaration(&text);
    let text = strip_late_declarations(&text);
    let (text, entities) = take_doctype(&text)?;
    let text = fix_references(&text, &entities);
    if text.len() > body.len().saturating_mul(MAX_GROWTH) + (1 << 20) {
        return Err(SourceError::Refused(
            "entity expansion grows the document too much".into(),
        ));
    }
    let mut text = fix_root(&text);
    if let Some(rss) = channel_root_to_rss(&text) {
        text = Cow::Owned(rss);
    }
    // A document cut inside its last end tag (`…</feed`): close the tag.
    if let Some(i) = text.trim_end().rfind("</") {
        let tail = &text.trim_end()[i + 2..];
        if !tail.is_empty()
            && tail
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
        {
            let mut owned = text.trim_end().to_string();
            owned.push('>');
            text = Cow::Owned(owned);
        }
    }
    Ok(Normalized {
        text: text.into_owned(),
        encoding,
    })
}

/// Removes characters XML 1.0 forbids (NUL, most C0 controls, U+FFFE/U+FFFF).
fn strip_invalid_chars(text: &str) -> Cow<'_, str> {
    let bad = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}');
    if text.contains(bad) {
        Cow::Owned(text.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// The text is UTF-8 now: the declaration must say so, or quick-xml would decode it again.
fn replace_declaration(text: &str) -> Cow<'_, str> {
    if let Some(rest) = text.strip_prefix("<?xml") {
        if let Some(end) = rest.find("?>") {
            return Cow::Owned(format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>{}",
                &rest[end + 2..]
            ));
        }
    }
    Cow::Borrowed(text)
}

static ENTITY_DECL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"<!ENTITY\s+(%\s+)?([^\s%]+)\s+(?:"([^"]*)"|'([^']*)'|((?:SYSTEM|PUBLIC)[^>]*))\s*>"#,
    )
    .expect("static regex")
});

/// Removes the DOCTYPE. Returns the internal general entities that are safe to expand (plain
/// text, bounded); refuses entities whose values reference others (exponential expansion).
/// External and parameter entities are never resolved: they are dropped.
fn take_doctype(text: &str) -> Result<(Cow<'_, str>, HashMap<String, String>), SourceError> {
    let mut entities = HashMap::new();
    // The first `<!DOCTYPE` outside comments.
    let mut from = 0;
    let start = loop {
        let Some(d) = text[from..].find("<!DOCTYPE").map(|i| from + i) else {
            return Ok((Cow::Borrowed(text), entities));
        };
        match text[from..d].find("<!--").map(|i| from + i) {
            Some(c) => match text[c + 4..].find("-->") {
                Some(e) => from = c + 4 + e + 3,
                None => return Ok((Cow::Borrowed(text), entities)),
            },
            None => break d,
        }
    };
    // A DOCTYPE belongs to the prolog: one after the root's start tag is text (in CDATA, say).
    let root = text
        .match_indices('<')
        .find(|(i, _)| {
            text[i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .map(|(i, _)| i);
    if root.is_some_and(|r| r < start) {
        return Ok((Cow::Borrowed(text), entities));
    }
    let after = &text[start..];
    let end = match (after.find('['), after.find('>')) {
        (Some(open), Some(gt)) if open < gt => {
            let close = after[open..]
                .find("]")
                .map(|c| open + c)
                .ok_or_else(|| SourceError::Feed("unterminated DOCTYPE".into()))?;
            // The internal subset ends at the last `]` before `>` (values may hold `]`).
            let subset_end = after[close..]
                .find("]>")
                .or_else(|| {
                    after[close..]
                        .find(']')
                        .and_then(|i| after[close + i..].find('>').map(|g| i + g))
                })
                .map(|i| close + i)
                .ok_or_else(|| SourceError::Feed("unterminated DOCTYPE".into()))?;
            let subset = &after[open..subset_end];
            for cap in ENTITY_DECL.captures_iter(subset) {
                let parameter = cap.get(1).is_some();
                let value = cap.get(3).or(cap.get(4)).map(|m| m.as_str());
                // External or parameter entities are never fetched, never expanded.
                if let (false, Some(v)) = (parameter, value) {
                    if v.contains('&') || v.contains('%') {
                        return Err(SourceError::Refused(
                            "DTD entity references another entity (expansion bomb shape)".into(),
                        ));
                    }
                    if v.len() > MAX_ENTITY_VALUE {
                        return Err(SourceError::Refused("DTD entity value too long".into()));
                    }
                    entities.insert(cap[2].to_string(), v.to_string());
                }
            }
            subset_end + after[subset_end..].find('>').map_or(0, |g| g + 1)
        }
        (_, Some(gt)) => gt + 1,
        _ => return Err(SourceError::Feed("unterminated DOCTYPE".into())),
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&after[end..]);
    Ok((Cow::Owned(out), entities))
}

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"&(?:#([0-9]{1,10});|#[xX]([0-9a-fA-F]{1,8});|([A-Za-z_][A-Za-z0-9._-]*);)?")
        .expect("static regex")
});

const XML_PREDEFINED: &[&str] = &["amp", "lt", "gt", "quot", "apos"];

fn xml_char_ok(n: u32) -> bool {
    char::from_u32(n).is_some_and(|c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

/// Rewrites references outside CDATA sections and comments: HTML named entities become numeric
/// references, DTD-declared ones their text, invalid numeric ones U+FFFD, and a bare `&` `&amp;`.
fn fix_references<'a>(text: &'a str, entities: &HashMap<String, String>) -> Cow<'a, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(map_markup(text, |seg| {
        REFERENCE.replace_all(seg, |c: &Captures| replace_reference(c, entities))
    }))
}

/// Applies `f` to the text outside CDATA sections and comments, copying those as they are.
fn map_markup<'t>(text: &'t str, f: impl Fn(&'t str) -> Cow<'t, str>) -> String {
    const RAW: [(&str, &str); 2] = [("<![CDATA[", "]]>"), ("<!--", "-->")];
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut pos = 0;
    // Where each kind of raw section next opens, in absolute offsets; searched again only once
    // passed (searching afresh for both on every section made this quadratic: 5,000 CDATA items
    // and no comment took a minute).
    let find_from = |from: usize, pat: &str| text[from..].find(pat).map(|i| from + i);
    let mut next_open: [Option<usize>; 2] = [find_from(0, RAW[0].0), find_from(0, RAW[1].0)];
    loop {
        for (k, slot) in next_open.iter_mut().enumerate() {
            if slot.is_some_and(|i| i < pos) {
                *slot = find_from(pos, RAW[k].0);
            }
        }
        let next_raw = next_open
            .iter()
            .enumerate()
            .filter_map(|(k, i)| i.map(|i| (i, RAW[k].1)))
            .min_by_key(|(i, _)| *i);
        let (markup_end, raw_end) = match next_raw {
            Some((i, close)) => {
                let close_at = text[i..]
                    .find(close)
                    .map_or(text.len(), |c| i + c + close.len());
                (i, Some(close_at))
            }
            None => (text.len(), None),
        };
        out.push_str(&f(&text[pos..markup_end]));
        match raw_end {
            Some(end) => {
                out.push_str(&text[markup_end..end]);
                pos = end;
            }
            None => break,
        }
    }
    out
}

static XML_DECL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<\?xml(?:\s.*?)?\?>").expect("static regex"));

/// Removes XML declarations after the first one: quick-xml (inside feed-rs) panics on a second
/// declaration that names an encoding (found by fuzzing). Removed everywhere, CDATA and comments
/// included: in broken documents quick-xml does not see those sections where we would (a
/// `<?xm<!--` opener is one processing instruction to it). `<?xml-stylesheet …?>` stays.
fn strip_late_declarations(text: &str) -> Cow<'_, str> {
    let keep = if text.starts_with("<?xml") {
        text.find("?>").map_or(0, |e| e + 2)
    } else {
        0
    };
    match XML_DECL.replace_all(&text[keep..], "") {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(rest) => Cow::Owned(format!("{}{rest}", &text[..keep])),
    }
}

fn replace_reference(c: &Captures, entities: &HashMap<String, String>) -> String {
    let numeric = |n: Option<u32>| match n {
        Some(n) if xml_char_ok(n) => c[0].to_string(),
        _ => "&#xFFFD;".to_string(),
    };
    if let Some(d) = c.get(1) {
        return numeric(d.as_str().parse().ok());
    }
    if let Some(h) = c.get(2) {
        // XML allows only a lower-case `x`; HTML (and feeds) also write `&#X41;`.
        return match u32::from_str_radix(h.as_str(), 16).ok() {
            Some(n) if xml_char_ok(n) => format!("&#x{n:X};"),
            other => numeric(other),
        };
    }
    let Some(name) = c.get(3).map(|m| m.as_str()) else {
        return "&amp;".into();
    };
    if XML_PREDEFINED.contains(&name) {
        return c[0].to_string();
    }
    if let Some(v) = entities.get(name) {
        return v.clone();
    }
    if let Some((_, cp)) = XHTML1_ENTITY_DIFFERENCES.iter().find(|(n, _)| *n == name) {
        return format!("&#{cp};");
    }
    match markup5ever::data::NAMED_ENTITIES.get(&format!("{name};")) {
        Some(&(cp, 0)) if cp != 0 => format!("&#{cp};"),
        Some(&(cp1, cp2)) if cp1 != 0 => format!("&#{cp1};&#{cp2};"),
        _ => format!("&amp;{name};"),
    }
}

/// Where feeds' entity set differs from HTML5's table: feeds name the XHTML 1.0 / HTML 4 entity
/// sets, and HTML5 remapped only these two (to U+27E8/U+27E9).
const XHTML1_ENTITY_DIFFERENCES: &[(&str, u32)] = &[("lang", 0x2329), ("rang", 0x232A)];

static RSS_ROOT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<rss(\s[^>]*)?>"#).expect("static regex"));
static RSS_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\sversion\s*=\s*("[^"]*"|'[^']*')"#).expect("static regex"));
static FEED_ROOT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<feed(\s[^>]*)?>"#).expect("static regex"));
static RSS_DEFAULT_NS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\sxmlns\s*=\s*("[^"]*"|'[^']*')"#).expect("static regex"));
/// RSS 0.90's namespace; feed-rs reads RSS 1.0, which has the same shape.
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS10_NS: &str = "http://purl.org/rss/1.0/";
static ATOM03_ELEMENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<(/?)((?:[A-Za-z_][\w.-]*:)?)(issued|modified|tagline|copyright)\b")
        .expect("static regex")
});

/// RSS versions feed-rs dispatches on; anything else is read as 2.0 (0.93/0.94 are its drafts).
const RSS_VERSIONS_KNOWN: &[&str] = &["2.0", "0.91", "0.92"];
/// Atom 0.3 names → Atom 1.0 names.
const ATOM03_RENAMES: &[(&str, &str)] = &[
    ("issued", "published"),
    ("modified", "updated"),
    ("tagline", "subtitle"),
    ("copyright", "rights"),
];
const ATOM03_NS: &str = "http://purl.org/atom/ns#";
const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";

/// Gives `<rss>` a version feed-rs knows, and rewrites Atom 0.3 as Atom 1.0.
fn fix_root(text: &str) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(text);
    if let Some(m) = RSS_ROOT.find(&text) {
        let tag = m.as_str();
        let known = RSS_VERSION.captures(tag).is_some_and(|c| {
            let v = c[1].trim_matches(['"', '\'']).trim();
            RSS_VERSIONS_KNOWN.contains(&v)
        });
        // RSS 2.0 has no namespace; a default one (`backend.userland.com/rss2`) hides every
        // element from feed-rs.
        let default_ns = RSS_DEFAULT_NS.is_match(tag);
        if !known || default_ns {
            let inner = RSS_VERSION.replace(&tag[4..tag.len() - 1], "");
            let inner = RSS_DEFAULT_NS.replace(&inner, "");
            let version = RSS_VERSION
                .captures(tag)
                .map(|c| c[1].trim_matches(['"', '\'']).trim().to_string())
                .filter(|v| RSS_VERSIONS_KNOWN.contains(&v.as_str()))
                .unwrap_or_else(|| "2.0".into());
            let fixed = format!("<rss version=\"{version}\"{}>", inner);
            let (start, end) = (m.start(), m.end());
            text = Cow::Owned(format!("{}{}{}", &text[..start], fixed, &text[end..]));
        }
    }
    // `<feed>` under a namespace of Atom's drafts (echo, pie, example.com …): read as Atom.
    if let Some(m) = FEED_ROOT.find(&text) {
        let tag = m.as_str();
        if let Some(ns) = RSS_DEFAULT_NS.captures(tag) {
            let uri = ns[1].trim_matches(['"', '\'']);
            if uri != ATOM10_NS && uri != ATOM03_NS {
                let to = if RSS_VERSION
                    .captures(tag)
                    .is_some_and(|c| c[1].contains("0.3"))
                {
                    ATOM03_NS
                } else {
                    ATOM10_NS
                };
                let fixed = RSS_DEFAULT_NS.replace(tag, format!(" xmlns=\"{to}\""));
                let (start, end) = (m.start(), m.end());
                text = Cow::Owned(format!("{}{}{}", &text[..start], fixed, &text[end..]));
            }
        }
    }
    if text.contains(ATOM03_NS) {
        let swapped = text.replace(ATOM03_NS, ATOM10_NS);
        let renamed = ATOM03_ELEMENTS.replace_all(&swapped, |c: &Captures| {
            let to = ATOM03_RENAMES
                .iter()
                .find(|(from, _)| *from == &c[3])
                .map_or(&c[3], |(_, to)| to);
            format!("<{}{}{}", &c[1], &c[2], to)
        });
        text = Cow::Owned(renamed.into_owned());
    }
    if let Some(m) = RSS_ROOT.find(&text) {
        // `<rss>` that is empty or holds its items directly: feed-rs wants a `<channel>`.
        if !text.contains("<channel") {
            let (start, end) = (m.start(), m.end());
            let tag = m.as_str();
            let fixed = match tag.strip_suffix("/>") {
                Some(open) => format!("{open}><channel></channel></rss>"),
                None => {
                    let close = text.rfind("</rss>").filter(|c| *c >= end);
                    let body = close.map_or(&text[end..], |c| &text[end..c]);
                    let rest = close.map_or("", |c| &text[c..]);
                    format!("{tag}<channel>{body}</channel>{rest}")
                }
            };
            text = Cow::Owned(format!("{}{}", &text[..start], fixed));
        }
    }
    if text.contains(RSS090_NS) {
        text = Cow::Owned(text.replace(RSS090_NS, RSS10_NS));
    }
    if text.contains(ATOM10_NS) {
        if let Cow::Owned(fixed) = fix_atom_text_types(&text) {
            text = Cow::Owned(fixed);
        }
    }
    text
}

static ATOM_TEXT_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"<((?:[A-Za-z_][\w.-]*:)?(title|subtitle|summary|rights|content|info))(\s[^>]*?)?(/?)>([^<]*)",
    )
    .expect("static regex")
});
static TYPE_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\stype\s*=\s*("[^"]*"|'[^']*')"#).expect("static regex"));
static MODE_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\smode\s*=\s*("[^"]*"|'[^']*')"#).expect("static regex"));

/// Atom text constructs (and `<content>`) carry `type` values feed-rs refuses: MIME types
/// (`text/plain`, `application/xhtml+xml`, Atom 0.3 style), empty ones, Atom 0.3's `mode`
/// (`escaped`, `base64`) and base64 bodies of a non-text type. Rewrites them to `text`, `html`
/// or `xhtml`, decoding base64 bodies that are UTF-8.
fn fix_atom_text_types(text: &str) -> Cow<'_, str> {
    ATOM_TEXT_START.replace_all(text, |c: &Captures| {
        let whole = &c[0];
        let attrs = c.get(3).map_or("", |m| m.as_str());
        let is_content = &c[2] == "content";
        let attr_value = |re: &Regex| {
            re.captures(attrs)
                .map(|a| a[1].trim_matches(['"', '\'']).trim().to_ascii_lowercase())
        };
        let ty = attr_value(&TYPE_ATTR);
        let mode = attr_value(&MODE_ATTR);
        if attrs.contains("src=") {
            return whole.to_string();
        }
        let body = &c[5];
        let non_text_mime = ty
            .as_deref()
            .is_some_and(|t| t.contains('/') && !t.starts_with("text/") && !t.ends_with("xml"));
        let mut new_body = None;
        let new_type: Option<&str> = if mode.as_deref() == Some("base64") || non_text_mime {
            match base64_decode(body).and_then(|b| String::from_utf8(b).ok()) {
                Some(decoded) => {
                    new_body = Some(
                        decoded
                            .replace('&', "&amp;")
                            .replace('<', "&lt;")
                            .replace('>', "&gt;"),
                    );
                    Some("html")
                }
                None if is_content => None,
                None => Some("text"),
            }
        } else if mode.as_deref() == Some("escaped") {
            Some("html")
        } else {
            match ty.as_deref() {
                None | Some("text" | "html" | "xhtml") => None,
                Some("" | "text/plain" | "plain") => Some("text"),
                Some("text/html") => Some("html"),
                Some("application/xhtml+xml") => Some("xhtml"),
                Some(t) if is_content && t.contains('/') => None,
                Some(t) if t.ends_with("xml") => Some("xhtml"),
                Some(_) => Some("text"),
            }
        };
        let Some(new_type) = new_type else {
            return whole.to_string();
        };
        let kept = MODE_ATTR
            .replace_all(&TYPE_ATTR.replace_all(attrs, ""), "")
            .into_owned();
        format!(
            "<{}{} type=\"{new_type}\"{}>{}",
            &c[1],
            kept,
            &c[4],
            new_body.as_deref().unwrap_or(body)
        )
    })
}

/// Standard or URL-safe base64, whitespace ignored; `None` when it is not base64.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut seen = 0usize;
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace()) {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        seen += 1;
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (seen > 0).then_some(out)
}

/// A document whose root is `<channel>` in any case: Microsoft CDF (`<CHANNEL HREF>`,
/// `<ITEM HREF>`, `<TITLE>`, `<ABSTRACT>`) or RSS that lost its `<rss>` wrapper. Rewritten as
/// RSS 2.0: element names lower-cased, `HREF` as `<link>`, `ABSTRACT` as `<description>`,
/// `BASE` as `xml:base`. `None` for any other root.
fn channel_root_to_rss(text: &str) -> Option<String> {
    use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(text.len() + 64));
    let mut seen_root = false;
    let rename = |name: &str| -> String {
        match name.to_ascii_lowercase().as_str() {
            "abstract" => "description".into(),
            other => other.to_string(),
        }
    };
    loop {
        let ev = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(ev) => ev,
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().into_inner().to_string();
                if !seen_root && !name.eq_ignore_ascii_case("channel") {
                    return None;
                }
                let empty = matches!(ev, Event::Empty(_));
                let lower = rename(&name);
                let attr = |key: &str| {
                    e.attributes().flatten().find_map(|a| {
                        a.key.into_inner().eq_ignore_ascii_case(key).then(|| {
                            quick_xml::escape::unescape(&a.value)
                                .map_or_else(|_| a.value.to_string(), |v| v.into_owned())
                        })
                    })
                };
                let mut start = BytesStart::new(lower.clone());
                if !seen_root {
                    seen_root = true;
                    let mut rss = BytesStart::new("rss");
                    rss.push_attribute(("version", "2.0"));
                    writer.write_event(Event::Start(rss)).ok()?;
                    if let Some(b) = attr("base") {
                        start.push_attribute(("xml:base", b.as_str()));
                    }
                }
                writer.write_event(Event::Start(start)).ok()?;
                let href = attr("href").filter(|_| lower == "channel" || lower == "item");
                if let Some(href) = href {
                    writer
                        .write_event(Event::Start(BytesStart::new("link")))
                        .ok()?;
                    writer
                        .write_event(Event::Text(BytesText::new(&href)))
                        .ok()?;
                    writer.write_event(Event::End(BytesEnd::new("link"))).ok()?;
                }
                if empty {
                    writer.write_event(Event::End(BytesEnd::new(lower))).ok()?;
                }
            }
            Event::End(e) => {
                let lower = rename(e.name().into_inner());
                writer
                    .write_event(Event::End(BytesEnd::new(lower.clone())))
                    .ok()?;
                if lower == "channel" {
                    writer.write_event(Event::End(BytesEnd::new("rss"))).ok()?;
                }
            }
            // Declaration, comments and doctype before the root stay; text is kept as it is.
            other => writer.write_event(other).ok()?,
        }
    }
    if !seen_root {
        return None;
    }
    String::from_utf8(writer.into_inner()).ok()
}

/// Repairs the nesting of a document feed-rs refused: an end tag that closes an element still
/// open closes the ones inside it too, an end tag that matches nothing open is dropped, and at
/// the end (or where the document is cut mid-tag) every open element is closed. `None` when
/// nothing needed repair. Used only as a second try, so well-formed feeds never pay for it.
pub fn rebalance(text: &str) -> Option<String> {
    use quick_xml::events::{BytesEnd, Event};
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    reader.config_mut().allow_unmatched_ends = true;
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(text.len() + 64));
    let mut open: Vec<String> = Vec::new();
    let mut repaired = false;
    loop {
        let ev = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(ev) => ev,
            Err(_) => {
                repaired = true;
                break;
            }
        };
        let written = match ev {
            Event::Start(start) => {
                open.push(start.name().into_inner().to_string());
                writer.write_event(Event::Start(start))
            }
            Event::End(end) => {
                let name = end.name().into_inner().to_string();
                match open.iter().rposition(|n| *n == name) {
                    Some(at) => {
                        repaired |= at + 1 != open.len();
                        let mut r = Ok(());
                        for n in open.drain(at..).rev() {
                            r = r.and(writer.write_event(Event::End(BytesEnd::new(n))));
                        }
                        r
                    }
                    None => {
                        repaired = true;
                        Ok(())
                    }
                }
            }
            other => writer.write_event(other),
        };
        written.ok()?;
    }
    repaired |= !open.is_empty();
    for n in open.into_iter().rev() {
        writer.write_event(Event::End(BytesEnd::new(n))).ok()?;
    }
    if !repaired {
        return None;
    }
    String::from_utf8(writer.into_inner()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &[u8]) -> String {
        normalize(s, None).unwrap().text
    }

    #[test]
    fn entities_and_ampersands() {
        assert!(
            norm(b"<rss version=\"2.0\"><title>&#X41;&#x42;</title></rss>")
                .contains("<title>&#x41;&#x42;</title>")
        );
        let t = norm(b"<rss version=\"2.0\"><channel><title>AT&T &eacute; &nbsp; &amp; &bogus; &#0;</title><description><![CDATA[a && b &eacute;]]></description></channel></rss>");
        assert!(
            t.contains("AT&amp;T &#233; &#160; &amp; &amp;bogus; &#xFFFD;"),
            "{t}"
        );
        assert!(t.contains("<![CDATA[a && b &eacute;]]>"), "{t}");
    }

    #[test]
    fn billion_laughs_refused_and_plain_entities_expanded() {
        let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><rss><channel><title>&lol2;</title></channel></rss>";
        assert!(matches!(
            normalize(bomb, None),
            Err(SourceError::Refused(_))
        ));
        let t = norm(b"<!DOCTYPE rss [<!ENTITY id \"tag:x,\"><!ENTITY ext SYSTEM \"file:///etc/passwd\">]><rss version=\"2.0\"><guid>&id;1 &ext;</guid></rss>");
        assert!(t.contains("<guid>tag:x,1 &amp;ext;</guid>"), "{t}");
        assert!(!t.contains("DOCTYPE"));
    }

    #[test]
    fn rss_version_and_atom03() {
        assert!(norm(b"<rss><channel/></rss>").starts_with("<rss version=\"2.0\">"));
        assert!(norm(b"<rss version='0.94' a='b'><channel/></rss>")
            .starts_with("<rss version=\"2.0\" a='b'>"));
        let t = norm(b"<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><modified>x</modified><entry><issued>y</issued><content mode=\"escaped\">z</content></entry></feed>");
        assert!(
            t.contains(ATOM10_NS) && t.contains("<updated>x</updated>"),
            "{t}"
        );
        assert!(
            t.contains("<published>y</published>") && t.contains("type=\"html\""),
            "{t}"
        );
    }

    #[test]
    fn raw_sections_in_any_order_keep_their_text() {
        let t = norm(b"<rss version=\"2.0\"><channel><!-- a & b --><title>&eacute;</title><description><![CDATA[x & &eacute;]]></description><!-- c &nbsp; --><link>?a=1&b=2</link><![CDATA[&]]></channel></rss>");
        assert!(t.contains("<!-- a & b --><title>&#233;</title>"), "{t}");
        assert!(
            t.contains("<![CDATA[x & &eacute;]]></description><!-- c &nbsp; -->"),
            "{t}"
        );
        assert!(t.contains("<link>?a=1&amp;b=2</link><![CDATA[&]]>"), "{t}");
        // An unclosed CDATA section runs to the end, untouched.
        let t = norm(b"<rss version=\"2.0\"><channel><![CDATA[&eacute;");
        assert!(t.ends_with("<![CDATA[&eacute;"), "{t}");
    }

    #[test]
    fn rss_without_channel_and_cut_end_tag() {
        assert_eq!(
            norm(b"<rss version=\"2.0\"><item><title>t</title></item></rss>"),
            "<rss version=\"2.0\"><channel><item><title>t</title></item></channel></rss>"
        );
        assert_eq!(
            norm(b"<rss version=\"2.0\"/>"),
            "<rss version=\"2.0\"><channel></channel></rss>"
        );
        assert!(norm(b"<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed\n").ends_with("</feed>"));
    }

    #[test]
    fn atom_text_types_made_readable() {
        let t = norm(b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"text/plain\">a</title><subtitle type=\"\">b</subtitle><rights type='application/xhtml+xml'><div>c</div></rights><entry><title type=\"application/octet-stream\">RXhhbXBsZSA8Yj5BdG9tPC9iPg==</title><content type=\"image/png\">iVBORw0KGgo=</content><summary mode=\"escaped\" type=\"text/html\">&lt;b&gt;</summary></entry></feed>");
        assert!(t.contains("<title type=\"text\">a</title>"), "{t}");
        assert!(t.contains("<subtitle type=\"text\">b</subtitle>"), "{t}");
        assert!(t.contains("<rights type=\"xhtml\"><div>"), "{t}");
        assert!(
            t.contains("<title type=\"html\">Example &lt;b&gt;Atom&lt;/b&gt;</title>"),
            "{t}"
        );
        // Binary content stays as it is; `mode` and `type` give one `type`.
        assert!(
            t.contains("<content type=\"image/png\">iVBORw0KGgo=</content>"),
            "{t}"
        );
        assert!(
            t.contains("<summary type=\"html\">&lt;b&gt;</summary>"),
            "{t}"
        );
        assert_eq!(base64_decode("QQ=="), Some(b"A".to_vec()));
        assert_eq!(base64_decode("not base64!"), None);
    }

    #[test]
    fn late_xml_declarations_removed() {
        let t = norm(b"<?xml version=\"1.0\"?><!-- c --><rss version=\"2.0\"><?xml version=\"1.0\" encoding=\"iso-8859-1\"?><channel><title>t</title><![CDATA[<?xml version=\"1.0\"?>]]></channel><?xml-stylesheet href=\"s.xsl\"?></rss>");
        assert!(t.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><!-- c --><rss version=\"2.0\"><channel>"), "{t}");
        assert!(t.contains("<![CDATA[]]>"), "{t}");
        assert!(t.contains("<?xml-stylesheet href=\"s.xsl\"?>"), "{t}");
        let t = norm(b"<rss version=\"2.0\"><channel><title>a<?XML version='1.0' encoding='x?y'?>b</title></channel></rss>");
        assert!(t.contains("<title>ab</title>"), "{t}");
    }

    #[test]
    fn doctype_only_in_the_prolog() {
        let t = norm(b"<rss version=\"2.0\"><channel><item><description><![CDATA[ <!DOCTYPE ]]></description></item></channel></rss>");
        assert!(t.contains("<![CDATA[ <!DOCTYPE ]]>"), "{t}");
        let t = norm(b"<!-- say \"<!DOCTYPE\" --><!DOCTYPE rss [<!ENTITY a \"b\">]><rss version=\"2.0\"><title>&a;</title></rss>");
        assert!(t.starts_with("<!-- say \"<!DOCTYPE\" --><rss"), "{t}");
        assert!(t.contains("<title>b</title>"), "{t}");
    }

    #[test]
    fn cdf_becomes_rss() {
        assert_eq!(
            norm(b"<CHANNEL HREF=\"http://x.example/\" BASE=\"http://b.example/\"><TITLE>T</TITLE><ABSTRACT>A</ABSTRACT><ITEM HREF=\"/1\"><TITLE>I</TITLE></ITEM><ITEM HREF=\"/2\"/></CHANNEL>"),
            "<rss version=\"2.0\"><channel xml:base=\"http://b.example/\"><link>http://x.example/</link><title>T</title><description>A</description><item><link>/1</link><title>I</title></item><item><link>/2</link></item></channel></rss>"
        );
        // Other roots are left alone.
        assert_eq!(channel_root_to_rss("<rss><channel/></rss>"), None);
        // Atom under a draft namespace.
        let t = norm(
            b"<feed version=\"0.3\" xmlns=\"http://purl.org/echo/\"><modified>x</modified></feed>",
        );
        assert!(
            t.contains(ATOM10_NS) && t.contains("<updated>x</updated>"),
            "{t}"
        );
    }

    #[test]
    fn rebalance_closes_and_drops() {
        assert_eq!(rebalance("<a><b>x</b></a>"), None);
        assert_eq!(
            rebalance("<rss><channel><item><description><p>Hi</description></item></rss>")
                .as_deref(),
            Some("<rss><channel><item><description><p>Hi</p></description></item></channel></rss>")
        );
        assert_eq!(
            rebalance("<rss><channel><title>t</title></x><item><title>Hel").as_deref(),
            Some("<rss><channel><title>t</title><item><title>Hel</title></item></channel></rss>")
        );
    }

    #[test]
    fn mislabelled_utf8_is_read_as_utf8() {
        let n = normalize(
            "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss><title>Café</title></rss>"
                .as_bytes(),
            None,
        )
        .unwrap();
        assert_eq!(n.encoding, "utf-8");
        assert!(n.text.contains("Café"));
    }

    #[test]
    fn encodings() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "<rss version=\"2.0\"/>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let n = normalize(&utf16, None).unwrap();
        assert_eq!(
            (n.text.as_str(), n.encoding.as_str()),
            ("<rss version=\"2.0\"><channel></channel></rss>", "utf-16le")
        );
        let latin =
            b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss><title>caf\xe9</title></rss>";
        let n = normalize(latin, None).unwrap();
        assert_eq!(n.encoding, "iso-8859-1");
        assert!(n.text.contains("café") && n.text.contains("encoding=\"utf-8\""));
        let n = normalize(b"<rss/>", Some("text/xml")).unwrap();
        assert_eq!(n.encoding, "us-ascii");
    }
}
