//! Page metadata: headline, byline, publication time and canonical URL.
//!
//! Takes the parsed document and the page URL; gives a [`Meta`] read from `<meta>` tags, JSON-LD,
//! `<time>`, `<h1>`, `<title>` and `<link rel=canonical>`, in that order of trust.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use scraper::{ElementRef, Html, Node};
use serde_json::Value;
use url::Url;

/// What the page says about itself.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    /// Headline without the site-name suffix.
    pub title: Option<String>,
    /// Bylines.
    pub authors: Vec<String>,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// Modification time.
    pub updated_at: Option<DateTime<Utc>>,
    /// Publication name.
    pub site_name: Option<String>,
    /// Page language.
    pub language: Option<String>,
    /// Canonical URL, absolute.
    pub canonical_url: Option<String>,
    /// Every headline form seen (og:title, h1, `<title>`), normalized, to drop duplicated titles
    /// from the body.
    pub title_variants: Vec<String>,
}

/// `<meta>` keys (name, property or itemprop, lowercased) for each field, best first.
const TITLE_KEYS: &[&str] = &["og:title", "twitter:title", "headline", "dc.title"];
const SITE_KEYS: &[&str] = &["og:site_name", "application-name", "twitter:site"];
const AUTHOR_KEYS: &[&str] = &[
    "author",
    "article:author",
    "dc.creator",
    "byl",
    "sailthru.author",
    "parsely-author",
    "cxenseparse:author",
    "twitter:creator",
];
const DATE_KEYS: &[&str] = &[
    "article:published_time",
    "datepublished",
    "og:published_time",
    "published_time",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "dc.date.issued",
    "dc.date",
    "date",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "cxenseparse:recs:publishtime",
];
/// Separators between a headline and the site name in `<title>`.
const TITLE_SEPARATORS: &[&str] = &[" | ", " - ", " – ", " — ", " :: ", " » ", " · ", " / "];

#[derive(Default)]
struct Found {
    meta: Vec<(String, String)>,
    doc_title: Option<String>,
    h1: Option<String>,
    canonical: Option<String>,
    time: Option<String>,
    itemprop_author: Option<String>,
    ld: LdFields,
}

#[derive(Default)]
struct LdFields {
    headline: Option<String>,
    author: Option<String>,
    published: Option<String>,
}

/// Reads the page's metadata.
pub fn read(doc: &Html, page_url: Option<&Url>) -> Meta {
    let mut found = Found::default();
    for node in doc.tree.nodes() {
        let Node::Element(el) = node.value() else {
            continue;
        };
        let get = |name: &str| {
            super::attr(el, name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        match el.name() {
            "meta" => {
                let key = get("property").or(get("name")).or(get("itemprop"));
                if let (Some(key), Some(content)) = (key, get("content")) {
                    found
                        .meta
                        .push((key.to_ascii_lowercase(), content.to_string()));
                }
            }
            "title" if found.doc_title.is_none() => {
                found.doc_title = ElementRef::wrap(node).map(element_text);
            }
            "h1" if found.h1.is_none() => {
                found.h1 = ElementRef::wrap(node)
                    .map(element_text)
                    .filter(|t| !t.is_empty());
            }
            "link" if found.canonical.is_none() => {
                let canonical = get("rel")
                    .is_some_and(|r| r.split_ascii_whitespace().any(|t| t == "canonical"));
                if canonical {
                    found.canonical = get("href").map(str::to_string);
                }
            }
            "time" if found.time.is_none() => {
                found.time = get("datetime").map(str::to_string);
            }
            "script" if get("type").is_some_and(|t| t.contains("ld+json")) => {
                if let Some(text) = ElementRef::wrap(node).map(|e| e.text().collect::<String>()) {
                    if let Ok(value) = serde_json::from_str::<Value>(&text) {
                        read_json_ld(&value, &mut found.ld);
                    }
                }
            }
            _ => {}
        }
        if let Some(prop) = get("itemprop") {
            if prop == "datePublished" {
                if let Some(v) = get("datetime").or(get("content")) {
                    found.meta.push(("datepublished".into(), v.to_string()));
                }
            } else if prop == "author" && found.itemprop_author.is_none() {
                found.itemprop_author = ElementRef::wrap(node)
                    .map(element_text)
                    .filter(|t| !t.is_empty() && t.len() < 100);
            }
        }
    }
    assemble(found, page_url)
}

fn assemble(found: Found, page_url: Option<&Url>) -> Meta {
    let lookup = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            found
                .meta
                .iter()
                .find(|(key, v)| key == k && !v.is_empty())
                .map(|(_, v)| v.clone())
        })
    };
    let site = lookup(SITE_KEYS);
    let raw_title = lookup(TITLE_KEYS)
        .or_else(|| found.ld.headline.clone())
        .or_else(|| found.h1.clone())
        .or_else(|| found.doc_title.clone());
    let title = raw_title.map(|t| strip_site(&collapse(&t), site.as_deref(), found.h1.as_deref()));
    let mut title_variants: Vec<String> = [
        title.clone(),
        found.h1.clone(),
        lookup(TITLE_KEYS),
        found.ld.headline.clone(),
        found.doc_title.clone(),
    ]
    .into_iter()
    .flatten()
    .map(|t| normalize_for_compare(&t))
    .filter(|t| !t.is_empty())
    .collect();
    title_variants.dedup();

    let author = lookup(AUTHOR_KEYS)
        .filter(|a| !a.starts_with("http") && !a.starts_with('@'))
        .or_else(|| found.ld.author.clone())
        .or_else(|| found.itemprop_author.clone())
        .map(|a| clean_author(&a))
        .filter(|a| !a.is_empty());

    let published_at = DATE_KEYS
        .iter()
        .filter_map(|k| found.meta.iter().find(|(key, _)| key == k))
        .map(|(_, v)| v.as_str())
        .chain(found.ld.published.as_deref())
        .chain(found.time.as_deref())
        .find_map(parse_date);

    let canonical_url = found
        .canonical
        .or_else(|| lookup(&["og:url"]))
        .and_then(|href| absolute(&href, page_url));

    Meta {
        title: title.filter(|t| !t.is_empty()),
        authors: author.into_iter().collect(),
        published_at,
        updated_at: None,
        site_name: site,
        language: None,
        canonical_url,
        title_variants,
    }
}

fn element_text(el: ElementRef<'_>) -> String {
    collapse(&el.text().collect::<String>())
}

/// Collapses runs of whitespace into one space and trims.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lowercased alphanumerics only, to compare a block with a headline.
pub fn normalize_for_compare(s: &str) -> String {
    compared_chars(s).collect()
}

/// Whether `text` normalizes to one of `variants` (each already normalized), without building
/// the normalized text: every block of a page is checked.
pub fn is_title_variant(text: &str, variants: &[String]) -> bool {
    variants.iter().any(|v| compared_chars(text).eq(v.chars()))
}

fn compared_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
}

fn clean_author(a: &str) -> String {
    let a = collapse(a);
    let a = a
        .strip_prefix("By ")
        .or(a.strip_prefix("by "))
        .unwrap_or(&a);
    a.trim().to_string()
}

/// Drops a site-name prefix or suffix from a headline.
fn strip_site(title: &str, site: Option<&str>, h1: Option<&str>) -> String {
    if let Some(h1) = h1 {
        if h1.len() >= 10 && title.contains(h1) && title.len() > h1.len() {
            return h1.to_string();
        }
    }
    for sep in TITLE_SEPARATORS {
        let Some((head, tail)) = title.rsplit_once(sep) else {
            continue;
        };
        let tail_is_site = site.is_some_and(|s| tail.eq_ignore_ascii_case(s.trim()))
            || tail.split_whitespace().count() <= 3;
        if tail_is_site && head.split_whitespace().count() >= 3 {
            return head.trim().to_string();
        }
        let head_is_site = site.is_some_and(|s| head.eq_ignore_ascii_case(s.trim()));
        if head_is_site {
            return tail.trim().to_string();
        }
    }
    title.to_string()
}

fn absolute(href: &str, base: Option<&Url>) -> Option<String> {
    let parsed = match base {
        Some(base) => base.join(href).ok(),
        None => Url::parse(href).ok(),
    }?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

fn read_json_ld(value: &Value, out: &mut LdFields) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| read_json_ld(v, out)),
        Value::Object(map) => {
            if let Some(graph) = map.get("@graph") {
                read_json_ld(graph, out);
            }
            let is_article = match map.get("@type") {
                Some(Value::String(t)) => is_article_type(t),
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(is_article_type),
                _ => false,
            };
            if !is_article {
                return;
            }
            if out.headline.is_none() {
                out.headline = map.get("headline").and_then(Value::as_str).map(collapse);
            }
            if out.published.is_none() {
                out.published = map
                    .get("datePublished")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            if out.author.is_none() {
                out.author = map.get("author").and_then(ld_names);
            }
        }
        _ => {}
    }
}

fn is_article_type(t: &str) -> bool {
    t.ends_with("Article") || t.contains("Posting") || t == "Report" || t == "Review"
}

fn ld_names(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(collapse(s)),
        Value::Object(m) => m.get("name").and_then(Value::as_str).map(collapse),
        Value::Array(items) => {
            let names: Vec<String> = items.iter().filter_map(ld_names).collect();
            (!names.is_empty()).then(|| names.join(", "))
        }
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// Parses the date forms seen in `<meta>`, JSON-LD and `<time>`; a date without a zone is UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    const ZONED: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ];
    if let Some(d) = ZONED
        .iter()
        .find_map(|f| DateTime::parse_from_str(s, f).ok())
    {
        return Some(d.with_timezone(&Utc));
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ];
    if let Some(d) = NAIVE
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        return Some(d.and_utc());
    }
    let date_part = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meta_json_ld_and_canonical() {
        let html = r#"<html><head><title>Deal reshaped | Example News</title>
            <meta property="og:site_name" content="Example News">
            <link rel="canonical" href="/2026/deal">
            <script type="application/ld+json">{"@graph":[{"@type":"NewsArticle",
              "headline":"Deal reshaped","datePublished":"2026-01-02T03:04:05+01:00",
              "author":[{"@type":"Person","name":"Ann Lee"},{"name":"Bo Chen"}]}]}</script>
            </head><body><h1>Deal reshaped</h1></body></html>"#;
        let doc = Html::parse_document(html);
        let base = Url::parse("https://example.com/x?y=1").unwrap();
        let m = read(&doc, Some(&base));
        assert_eq!(m.title.as_deref(), Some("Deal reshaped"));
        assert_eq!(m.authors, ["Ann Lee, Bo Chen"]);
        assert_eq!(
            m.published_at.map(|d| d.to_rfc3339()),
            Some("2026-01-02T02:04:05+00:00".into())
        );
        assert_eq!(
            m.canonical_url.as_deref(),
            Some("https://example.com/2026/deal")
        );
    }

    #[test]
    fn title_suffix_is_stripped_and_meta_author_wins() {
        let html = r#"<html><head><title>Big merger talks collapse - The Daily Site</title>
            <meta name="author" content="By Jo Smith">
            <meta property="og:url" content="https://daily.example/a">
            </head><body><time datetime="2025-05-06">May 6</time></body></html>"#;
        let doc = Html::parse_document(html);
        let m = read(&doc, None);
        assert_eq!(m.title.as_deref(), Some("Big merger talks collapse"));
        assert_eq!(m.authors, ["Jo Smith"]);
        assert_eq!(
            m.published_at.map(|d| d.to_rfc3339()),
            Some("2025-05-06T00:00:00+00:00".into())
        );
        assert_eq!(m.canonical_url.as_deref(), Some("https://daily.example/a"));
    }
}
