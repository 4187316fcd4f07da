//! Page metadata: headline, bylines, publication and modification times, site name, language
//! and the declared canonical URL.
//!
//! Takes the parsed document and the page URL; gives a [`Meta`]. One pass over the document
//! collects every source a page may state its metadata in; [`assemble`] then reads them in order
//! of trust: JSON-LD (`NewsArticle` & co., `@graph`, `@id` references), `<meta>` (Open Graph,
//! article:*, Twitter, Dublin Core, parsely-*, sailthru.*), microdata, `rel=author`, `<time>`,
//! byline- and date-classed elements near the headline, and last a date in the URL path. Which
//! keys and class words count is data (the tables below), not code.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ego_tree::{NodeId, NodeRef};
use html5ever::local_name;
use regex::Regex;
use scraper::{ElementRef, Html, Node};
use serde_json::Value;
use url::Url;

/// What the page says about itself.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    /// Headline without the site-name suffix.
    pub title: Option<String>,
    /// Bylines, one name each.
    pub authors: Vec<String>,
    /// Publication time, UTC.
    pub published_at: Option<DateTime<Utc>>,
    /// Last modification time, UTC (never before `published_at`).
    pub updated_at: Option<DateTime<Utc>>,
    /// Name of the publication.
    pub site_name: Option<String>,
    /// The page's own summary of the story (its description), at most [`SUMMARY_MAX_CHARS`].
    pub summary: Option<String>,
    /// Language tag as stated (`_` written `-`).
    pub language: Option<String>,
    /// Declared canonical URL (`rel=canonical`, else `og:url`), absolute.
    pub canonical_url: Option<String>,
    /// Every headline form seen (og:title, h1, `<title>`), normalized, to drop duplicated titles
    /// from the body.
    pub title_variants: Vec<String>,
}

/// `<meta>` keys (from `property`, `name` or `itemprop`, lowercased, `dc:`/`dcterms:` written
/// `dc.`/`dcterms.`) for each field, best first.
const TITLE_KEYS: &[&str] = &[
    "dc.title",
    "dcterms.title",
    "og:title",
    "twitter:title",
    "parsely-title",
    "sailthru.title",
    "headline",
    "title",
];
const SITE_KEYS: &[&str] = &[
    "og:site_name",
    "application-name",
    "dc.publisher",
    "dcterms.publisher",
    "twitter:site",
];
const SUMMARY_KEYS: &[&str] = &[
    "og:description",
    "twitter:description",
    "dc.description",
    "dcterms.description",
    "description",
    "sailthru.description",
];
const AUTHOR_KEYS: &[&str] = &[
    "dc.creator",
    "dcterms.creator",
    "author",
    "article:author",
    "og:article:author",
    "parsely-author",
    "sailthru.author",
    "byl",
    "cxenseparse:author",
    "dc.contributor",
];
const PUBLISHED_KEYS: &[&str] = &[
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "og:published_time",
    "published_time",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date.created",
    "dc.date",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "article:publicationdate",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "cxenseparse:recs:publishtime",
    "pdate",
    "datecreated",
];
const UPDATED_KEYS: &[&str] = &[
    "article:modified_time",
    "og:article:modified_time",
    "datemodified",
    "og:updated_time",
    "dcterms.modified",
    "dc.date.modified",
    "last-modified",
    "article.updated",
];
const LANGUAGE_KEYS: &[&str] = &[
    "content-language",
    "og:locale",
    "dc.language",
    "dcterms.language",
    "language",
];
/// Separators between a headline and the site name in `<title>`.
const TITLE_SEPARATORS: &[&str] = &[
    " | ", " - ", " – ", " — ", " :: ", " » ", " · ", " / ", " _ ", "_", " : ",
];
/// JSON-LD types whose fields describe the article.
const LD_ARTICLE_SUFFIXES: &[&str] = &["Article", "Posting", "Report", "Review", "BlogPosting"];
const LD_ARTICLE_TYPES: &[&str] = &["NewsArticle", "WebPage", "CreativeWork", "Blog"];

/// Parts of class/id words (split at `-`, `_`, camel case) that mark a byline, and those that
/// mark something else sharing the word (a bio box, a comment's author, a job title).
const BYLINE_WORDS: &[&str] = &[
    "byline",
    "byl",
    "author",
    "authors",
    "writer",
    "contributor",
    "byauthor",
    "authorname",
];
const BYLINE_NAME_WORDS: &[&str] = &["name", "link", "fn", "authorname"];
const NOT_BYLINE_WORDS: &[&str] = &[
    "comment",
    "comments",
    "bio",
    "avatar",
    "photo",
    "img",
    "image",
    "follow",
    "social",
    "date",
    "time",
    "title",
    "desc",
    "description",
    "widget",
    "sidebar",
    "related",
    "more",
    "share",
    "email",
    "about",
    "info",
    "box",
    "container",
    "wrapper",
    "list",
    "picture",
    "thumb",
    "job",
    "role",
    "position",
    "twitter",
    "card",
    "badge",
    "meta",
    "reply",
    "form",
    "label",
    "tooltip",
    "ad",
    "ads",
    "bypostauthor",
    "byuser",
    "section",
];
/// Class/id words (parts) of a date line.
const DATE_WORDS: &[&str] = &[
    "date",
    "dateline",
    "time",
    "timestamp",
    "published",
    "pubdate",
    "posted",
    "meta",
    "byline",
];
/// Ancestors with these tags or class/id parts hold other articles' bylines and dates.
const CLUTTER_TAGS: &[&str] = &["footer", "aside", "nav", "form", "noscript"];
/// Elements whose classes describe the whole page, not a part of it.
const PAGE_TAGS: &[&str] = &["html", "body", "main"];
const CLUTTER_WORDS: &[&str] = &[
    "comment",
    "comments",
    "related",
    "sidebar",
    "footer",
    "widget",
    "promo",
    "teaser",
    "recommend",
    "recommended",
    "trending",
    "popular",
    "newsletter",
    "rail",
    "outbrain",
    "taboola",
    "respond",
    "discussion",
];
/// Words a byline starts with before the name, lowercased, longest first.
const BYLINE_PREFIXES: &[&str] = &[
    "written by",
    "posted by",
    "words by",
    "story by",
    "text by",
    "reported by",
    "published by",
    "authors:",
    "author:",
    "auteur :",
    "auteur:",
    "autor:",
    "by:",
    "by",
    "par",
    "von",
    "por",
    "door",
    "di",
    "de :",
    "texte :",
];
/// Where a byline's name part ends: another role, a place, a source line.
const BYLINE_CUTS: &[&str] = &[
    " edited by ",
    " reviewed by ",
    " photographs by ",
    " photos by ",
    " illustrations by ",
    " additional reporting ",
    " updated ",
    " published ",
    " posted ",
    " from: ",
    " in ",
    " | ",
    " • ",
    " · ",
    " — ",
    " – ",
    " - ",
    " / ",
    "@",
    " on ",
];
/// Separators between several authors.
const AUTHOR_SPLITS: &[&str] = &[
    " and ", " & ", " et ", " und ", " y ", " e ", ";", " with ", " avec ", " mit ", " con ",
];
/// Name particles that may be lowercase.
const NAME_PARTICLES: &[&str] = &[
    "de", "da", "di", "del", "der", "den", "van", "von", "la", "le", "du", "dos", "das", "bin",
    "al", "el", "ter", "ten", "y", "e",
];
/// Academic and professional suffixes written after a name ("Brenda Goodman, MA").
const CREDENTIALS: &[&str] = &[
    "ma", "ms", "msc", "mba", "md", "phd", "mph", "rn", "jd", "do", "dds", "bsc", "ba", "bs", "jr",
    "sr", "ii", "iii", "cfa", "cpa", "facp",
];
/// Values that name nobody.
const NOT_NAMES: &[&str] = &[
    "admin",
    "administrator",
    "unknown",
    "anonymous",
    "staff",
    "editor",
    "guest",
    "null",
    "none",
    "undefined",
    "follow",
    "follow author",
    "share",
    "author",
    "about the author",
    "posted",
];

/// Month names (lowercased, by language) and their numbers, for dates written out.
const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("sept", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
    ("janvier", 1),
    ("février", 2),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("januar", 1),
    ("februar", 2),
    ("märz", 3),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("dezember", 12),
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("março", 3),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("gennaio", 1),
    ("febbraio", 2),
    ("aprile", 4),
    ("maggio", 5),
    ("giugno", 6),
    ("luglio", 7),
    ("settembre", 9),
    ("ottobre", 10),
    ("dicembre", 12),
];

/// The earliest publication date accepted: older ones are template or parsing accidents.
const EARLIEST_YEAR: i32 = 1995;
/// Text read from one element for a byline or a date line.
const MAX_ELEMENT_TEXT: usize = 300;
/// Candidates kept per kind (bylines, times, date lines): the first ones after the headline.
const MAX_CANDIDATES: usize = 512;
/// Candidates read per kind, nearest the headline first.
const NEAREST_CANDIDATES: usize = 12;

static MONTH_NAMES: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<&str> = MONTHS.iter().map(|(n, _)| *n).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    names.join("|")
});
/// "March 25, 2015", "Mar. 25th 2015".
static MDY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b({})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b",
        *MONTH_NAMES
    ))
    .expect("static regex")
});
/// "25 March 2015", "25. März 2015", "30 avril 2015", "22 Dec, 2016".
static DMY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th|er)?\.?\s+(?:de\s+)?({})\.?,?\s+(?:de\s+)?(\d{{4}})\b",
        *MONTH_NAMES
    ))
    .expect("static regex")
});
/// "2015-03-25", "2015/03/25", "2015.03.25".
static YMD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})\b").expect("static regex")
});
/// A date in a URL path: `/2026/11/30/` or `/2026-11-30-`.
static PATH_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:[/-]|\.html?|$)")
        .expect("static regex")
});
/// Where the name part of a byline text ends: a date, a time, digits.
static BYLINE_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(\b(?:{})\.?\s+\d|\d|\b(?:updated|last updated|published|posted)\b)",
        *MONTH_NAMES
    ))
    .expect("static regex")
});
static LANGUAGE_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$").expect("static regex")
});

/// A `<meta>` value.
struct MetaTag {
    key: String,
    content: String,
    /// Declared with `property` (RDFa, Open Graph): more specific than `name`.
    property: bool,
}

/// An element that may carry a byline or a date, by document position. Its text is read (and
/// its ancestors checked for clutter) only when the sources before it said nothing: most pages
/// state their metadata in the head.
struct Candidate {
    order: usize,
    node: NodeId,
    /// A `<time>`'s `datetime` attribute.
    stamp: Option<String>,
    /// For bylines: a name-specific class (`author-name`); for times: marked as publication.
    strong: bool,
}

impl Candidate {
    /// The candidate's text, `None` when it sits in clutter (comments, sidebars, …).
    fn text(&self, doc: &Html) -> Option<String> {
        let node = doc.tree.get(self.node)?;
        if in_clutter(node) {
            return None;
        }
        match &self.stamp {
            Some(s) => Some(s.clone()),
            None => ElementRef::wrap(node).map(|e| bounded_text(e, MAX_ELEMENT_TEXT)),
        }
    }
}

#[derive(Default)]
struct Found {
    meta: Vec<MetaTag>,
    html_lang: Option<String>,
    doc_title: Option<String>,
    h1s: Vec<(usize, String)>,
    canonical: Option<String>,
    ld: Vec<Value>,
    micro_authors: Vec<String>,
    micro_published: Vec<String>,
    micro_modified: Vec<String>,
    rel_authors: Vec<Candidate>,
    times: Vec<Candidate>,
}

/// Reads the page's metadata; dates later than now are refused.
pub fn read(doc: &Html, page_url: Option<&Url>) -> Meta {
    read_at(doc, page_url, Utc::now())
}

/// [`read`] with the fetch time: a date later than `now` or before 1995 is refused.
pub fn read_at(doc: &Html, page_url: Option<&Url>, now: DateTime<Utc>) -> Meta {
    assemble(collect(doc), doc, page_url, now)
}

fn collect(doc: &Html) -> Found {
    let mut found = Found::default();
    for (order, node) in doc.tree.nodes().enumerate() {
        let Node::Element(el) = node.value() else {
            continue;
        };
        let get = |name: &str| {
            super::attr(el, name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        // The three attributes every element is asked for, in one pass over its attributes.
        let (mut class, mut id, mut itemprop) = (None, None, None);
        // Names compared as interned atoms (one integer compare each), not as strings.
        for (k, v) in el.attrs.iter() {
            let slot = if k.local == local_name!("class") {
                &mut class
            } else if k.local == local_name!("id") {
                &mut id
            } else if k.local == local_name!("itemprop") {
                &mut itemprop
            } else {
                continue;
            };
            *slot = Some(v.trim()).filter(|v| !v.is_empty());
        }
        let name = el.name();
        match name {
            "html" => found.html_lang = get("lang").or(get("xml:lang")).map(str::to_string),
            "meta" => {
                let content = get("content");
                let keys = [
                    (get("property"), true),
                    (get("name"), false),
                    (get("itemprop"), false),
                    (get("http-equiv"), false),
                ];
                if let Some(content) = content {
                    for (attr, property) in keys {
                        for key in attr.into_iter().flat_map(str::split_ascii_whitespace) {
                            found.meta.push(MetaTag {
                                key: meta_key(key),
                                content: content.to_string(),
                                property,
                            });
                        }
                    }
                }
            }
            "title" if found.doc_title.is_none() && !in_svg(node) => {
                found.doc_title = ElementRef::wrap(node)
                    .map(element_text)
                    .filter(|t| !t.is_empty());
            }
            "h1" if found.h1s.len() < 8 => {
                if let Some(t) = ElementRef::wrap(node)
                    .map(element_text)
                    .filter(|t| !t.is_empty())
                {
                    found.h1s.push((order, t));
                }
            }
            "link" if found.canonical.is_none() && has_token(get("rel"), "canonical") => {
                found.canonical = get("href").map(str::to_string);
            }
            "script" if get("type").is_some_and(is_json_ld_type) => {
                if let Some(text) = ElementRef::wrap(node).map(|e| e.text().collect::<String>()) {
                    if let Some(value) = parse_json_ld(&text) {
                        found.ld.push(value);
                    }
                }
            }
            "time" if found.times.len() < MAX_CANDIDATES => {
                let hints = [class, itemprop, id];
                let strong = el.attrs().any(|(k, _)| k == "pubdate")
                    || hints.iter().flatten().any(|h| {
                        let h = h.to_ascii_lowercase();
                        (h.contains("publish") || h.contains("pubdate"))
                            && !h.contains("modif")
                            && !h.contains("update")
                    });
                found.times.push(Candidate {
                    order,
                    node: node.id(),
                    stamp: get("datetime").map(str::to_string),
                    strong,
                });
            }
            "a" if has_token(get("rel"), "author") && found.rel_authors.len() < MAX_CANDIDATES => {
                found.rel_authors.push(Candidate {
                    order,
                    node: node.id(),
                    stamp: None,
                    strong: false,
                });
            }
            _ => {}
        }
        if let Some(props) = itemprop.filter(|_| name != "meta") {
            for prop in props.split_ascii_whitespace() {
                match prop {
                    "datePublished" | "dateCreated" => {
                        if let Some(v) = get("datetime").or(get("content")) {
                            found.micro_published.push(v.to_string());
                        }
                    }
                    "dateModified" => {
                        if let Some(v) = get("datetime").or(get("content")) {
                            found.micro_modified.push(v.to_string());
                        }
                    }
                    "author" | "creator" if found.micro_authors.len() < 8 => {
                        if let Some(name) = microdata_name(node) {
                            found.micro_authors.push(name);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    found
}

/// Whether a `<script>`'s `type` declares JSON-LD (the only script text read; the parser leaves
/// out the text of all others).
pub(super) fn is_json_ld_type(script_type: &str) -> bool {
    script_type.contains("ld+json")
}

/// Byline- and date-classed elements, by document position. A second walk over the document,
/// made only when no earlier source named the authors or the date (most pages state both in
/// the head), so the common path never looks at class words.
fn classed_candidates(doc: &Html) -> (Vec<Candidate>, Vec<Candidate>) {
    let (mut bylines, mut date_lines) = (Vec::new(), Vec::new());
    for (order, node) in doc.tree.nodes().enumerate() {
        let Node::Element(el) = node.value() else {
            continue;
        };
        let (class, id) = (super::attr(el, "class"), super::attr(el, "id"));
        if class.is_none() && id.is_none() {
            continue;
        }
        // Most class words are none of ours: a substring scan rules them out before splitting.
        let maybe = class
            .into_iter()
            .chain(id)
            .any(|v| CLASS_TRIGGERS.is_match(v));
        if !maybe {
            continue;
        }
        let flags = class_flags(class, id);
        let byline = flags & BYLINE != 0 && flags & NOT_BYLINE == 0;
        if byline && bylines.len() < MAX_CANDIDATES {
            bylines.push(Candidate {
                order,
                node: node.id(),
                stamp: None,
                strong: flags & BYLINE_NAME != 0,
            });
        }
        if flags & DATE_LINE != 0 && date_lines.len() < MAX_CANDIDATES {
            date_lines.push(Candidate {
                order,
                node: node.id(),
                stamp: None,
                strong: false,
            });
        }
    }
    (bylines, date_lines)
}

fn assemble(found: Found, doc: &Html, page_url: Option<&Url>, now: DateTime<Utc>) -> Meta {
    let ld = LdArticle::from_values(&found.ld);
    let classed = std::cell::OnceCell::new();
    let classed = || classed.get_or_init(|| classed_candidates(doc));
    // A key declared with `property` (RDFa, Open Graph) wins over the same key with `name`;
    // several values of one kind are all kept (two `DC.creator`s are two authors).
    let metas = |key: &str| -> Vec<&str> {
        let v: Vec<&MetaTag> = found.meta.iter().filter(|m| m.key == key).collect();
        let any_property = v.iter().any(|m| m.property);
        v.into_iter()
            .filter(|m| m.property == any_property)
            .map(|m| m.content.as_str())
            .collect()
    };
    let first_meta = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| metas(k).first().map(|v| collapse(v)))
            .filter(|v| !v.is_empty())
    };

    // The standfirst the body leaves out (a dek is not body text) usually is the description.
    let summary = ld
        .description
        .clone()
        .or_else(|| first_meta(SUMMARY_KEYS))
        .map(|s| cut_on_word(&s, SUMMARY_MAX_CHARS));

    let site_name = first_meta(&SITE_KEYS[..1])
        .or_else(|| ld.site_name.clone())
        .or_else(|| first_meta(&SITE_KEYS[1..]).filter(|s| !s.starts_with('@')));

    // Headline.
    let meta_titles: Vec<String> = TITLE_KEYS
        .iter()
        .flat_map(|k| metas(k))
        .map(collapse)
        .filter(|t| !t.is_empty())
        .collect();
    let candidates: Vec<String> = ld
        .headline
        .iter()
        .chain(ld.name.iter())
        .cloned()
        .chain(meta_titles.iter().cloned())
        .collect();
    let h1s: Vec<&str> = found.h1s.iter().map(|(_, t)| t.as_str()).collect();
    let title = choose_title(
        &candidates,
        found.doc_title.as_deref(),
        &h1s,
        site_name.as_deref(),
    );
    let mut title_variants: Vec<String> = title
        .iter()
        .map(String::as_str)
        .chain(h1s.first().copied())
        .chain(meta_titles.first().map(String::as_str))
        .chain(ld.headline.as_deref())
        .chain(found.doc_title.as_deref())
        .map(normalize_for_compare)
        .filter(|t| !t.is_empty())
        .collect();
    title_variants.dedup();

    // Bylines.
    let headline_at = found.h1s.first().map_or(0, |(o, _)| *o);
    let meta_authors = AUTHOR_KEYS.iter().find_map(|k| {
        let names: Vec<String> = metas(k)
            .into_iter()
            .filter(|v| !looks_like_url(v) && !v.starts_with('@'))
            .flat_map(clean_stated_byline)
            .collect();
        (!names.is_empty()).then_some(names)
    });
    let from_candidates = |cands: &[Candidate], prefer_strong: bool| -> Option<Vec<String>> {
        let ordered = near_headline(cands, headline_at, prefer_strong);
        ordered.into_iter().find_map(|c| {
            let names = clean_byline(&c.text(doc)?);
            (!names.is_empty()).then_some(names)
        })
    };
    let authors = Some(
        ld.authors
            .iter()
            .flat_map(|a| clean_stated_byline(a))
            .collect(),
    )
    .filter(|v: &Vec<String>| !v.is_empty())
    .or(meta_authors)
    .or_else(|| {
        let names: Vec<String> = found
            .micro_authors
            .iter()
            .flat_map(|a| clean_byline(a))
            .collect();
        (!names.is_empty()).then_some(names)
    })
    .or_else(|| from_candidates(&found.rel_authors, false))
    .or_else(|| from_candidates(&classed().0, true))
    .map(dedup_names)
    .unwrap_or_default();

    // Dates.
    let valid = |d: DateTime<Utc>| d <= now && d.year() >= EARLIEST_YEAR;
    let parse_valid = |s: &str| parse_date(s).filter(|d| valid(*d));
    let published_at = ld
        .published
        .iter()
        .map(String::as_str)
        .chain(PUBLISHED_KEYS.iter().flat_map(|k| metas(k)))
        .chain(found.micro_published.iter().map(String::as_str))
        .find_map(parse_valid)
        .or_else(|| {
            near_headline(&found.times, headline_at, true)
                .iter()
                .find_map(|c| c.text(doc).as_deref().and_then(parse_valid))
        })
        .or_else(|| {
            near_headline(&classed().1, headline_at, false)
                .iter()
                .find_map(|c| {
                    c.text(doc)
                        .as_deref()
                        .and_then(text_date)
                        .filter(|d| valid(*d))
                })
        })
        .or_else(|| {
            page_url
                .and_then(|u| path_date(u.path()))
                .filter(|d| valid(*d))
        });
    let updated_at = ld
        .modified
        .iter()
        .map(String::as_str)
        .chain(UPDATED_KEYS.iter().flat_map(|k| metas(k)))
        .chain(found.micro_modified.iter().map(String::as_str))
        .find_map(parse_valid)
        .filter(|u| published_at.is_none_or(|p| *u >= p));

    let language = found
        .html_lang
        .iter()
        .map(String::as_str)
        .chain(LANGUAGE_KEYS.iter().flat_map(|k| metas(k)))
        .chain(ld.language.iter().map(String::as_str))
        .find_map(language_tag);

    let canonical_url = found
        .canonical
        .or_else(|| metas("og:url").first().map(|s| s.to_string()))
        .and_then(|href| absolute(&href, page_url));

    Meta {
        title,
        authors,
        published_at,
        updated_at,
        site_name,
        summary,
        language,
        canonical_url,
        title_variants,
    }
}

/// Longest summary kept, in characters: a sentence or two; a page may state a whole article.
pub const SUMMARY_MAX_CHARS: usize = 1000;

/// `s` cut to at most `max` characters, on a word boundary when there is one, with "…" when cut.
/// Not `fetch::truncate_chars` (which cuts mid-word, fine for URLs in log lines): a summary is
/// read by people, and stages do not import each other (tests/architecture.rs).
fn cut_on_word(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => {
            let head = s.get(..cut).unwrap_or(s);
            let head = head.rsplit_once(' ').map_or(head, |(words, _)| words);
            format!("{}…", head.trim_end())
        }
    }
}

/// Candidates after the headline first (nearest first), then those before it (nearest first);
/// with `prefer_strong`, strong ones of each group go first.
fn near_headline(cands: &[Candidate], headline_at: usize, prefer_strong: bool) -> Vec<&Candidate> {
    let mut v: Vec<&Candidate> = cands.iter().collect();
    v.sort_by_key(|c| {
        let after = c.order >= headline_at;
        let distance = c.order.abs_diff(headline_at);
        (!after, prefer_strong && !c.strong, distance)
    });
    // A byline or date line far from the headline belongs to something else; reading few
    // also bounds the work on pages that state nothing.
    v.truncate(NEAREST_CANDIDATES);
    v
}

/// The headline: the first stated headline (JSON-LD, then `<meta>`) that agrees with the
/// document title, else the h1 that agrees with it, else the first stated headline, else the
/// document title — with the site name cut off.
fn choose_title(
    candidates: &[String],
    doc_title: Option<&str>,
    h1s: &[&str],
    site: Option<&str>,
) -> Option<String> {
    // A stated headline agrees with the document title when it is the title, its longer side
    // around a separator, or its beginning ("Headline. Subtitle | by Author | Site").
    let agrees = |c: &str| {
        doc_title.is_some_and(|d| {
            part_of_title(d, c)
                || (c.split_whitespace().count() >= 3
                    && normalize_for_compare(d).starts_with(&normalize_for_compare(c)))
        })
    };
    if let Some(c) = candidates.iter().find(|c| agrees(c)) {
        return Some(strip_site(c, site, h1s));
    }
    if let Some(h1) = h1s.iter().find(|h| agrees(h)) {
        return Some(h1.to_string());
    }
    // An h1 stated as a headline too (a page without `<title>`).
    if let Some(c) = candidates
        .iter()
        .find(|c| h1s.iter().any(|h| part_of_title(c, h)))
    {
        return Some(strip_site(c, site, h1s));
    }
    candidates
        .first()
        .map(|c| strip_site(c, site, h1s))
        .or_else(|| doc_title.map(|d| strip_site(d, site, h1s)))
        .or_else(|| h1s.first().map(|h| h.to_string()))
        .filter(|t| !t.is_empty())
}

/// Whether `part` is `title`, or the longer side of `title` cut at a separator (the shorter
/// side is the site name: a logo h1 must not pass for the headline).
fn part_of_title(title: &str, part: &str) -> bool {
    let (t, p) = (normalize_for_compare(title), normalize_for_compare(part));
    if p.is_empty() {
        return false;
    }
    if t == p {
        return true;
    }
    let longer = |(a, b): (&str, &str)| {
        let (na, nb) = (normalize_for_compare(a), normalize_for_compare(b));
        if na.chars().count() >= nb.chars().count() {
            na
        } else {
            nb
        }
    };
    TITLE_SEPARATORS.iter().any(|sep| {
        title.split_once(sep).map(longer).is_some_and(|x| x == p)
            || title.rsplit_once(sep).map(longer).is_some_and(|x| x == p)
    })
}

fn element_text(el: ElementRef<'_>) -> String {
    collapse(&el.text().collect::<String>())
}

/// The element's text, whitespace collapsed, cut at about `max` bytes (a byline or date line is
/// short; a container that matched a class word must not cost a copy of the page).
fn bounded_text(el: ElementRef<'_>, max: usize) -> String {
    let mut out = String::new();
    for t in el.text() {
        for w in t.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
            if out.len() >= max {
                return out;
            }
        }
        // Text nodes are separate words ("Nolan" + "22 Dec").
        if !out.is_empty() && !out.ends_with(' ') && t.ends_with(|c: char| !c.is_whitespace()) {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
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

fn meta_key(key: &str) -> String {
    let k = key.to_lowercase();
    for (from, to) in [("dcterms:", "dcterms."), ("dc:", "dc.")] {
        if let Some(rest) = k.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    k
}

fn has_token(attr: Option<&str>, token: &str) -> bool {
    attr.is_some_and(|r| {
        r.split_ascii_whitespace()
            .any(|t| t.eq_ignore_ascii_case(token))
    })
}

/// Bits of [`class_flags`]: which tables a class or id word (or part of one) is in.
const BYLINE: u8 = 1;
const BYLINE_NAME: u8 = 2;
const NOT_BYLINE: u8 = 4;
const DATE_LINE: u8 = 8;
const CLUTTER: u8 = 16;

/// Substrings every byline or date-line class word contains one of (case-insensitive).
static CLASS_TRIGGERS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "aut", "byl", "writ", "contrib", "dat", "tim", "publish", "posted", "meta",
        ])
        .expect("static patterns")
});

/// Every table word with its bits, for one hash lookup per class word part.
static CLASS_TABLE: LazyLock<HashMap<&'static str, u8>> = LazyLock::new(|| {
    let mut m: HashMap<&'static str, u8> = HashMap::new();
    for (table, bit) in [
        (BYLINE_WORDS, BYLINE),
        (BYLINE_NAME_WORDS, BYLINE_NAME),
        (NOT_BYLINE_WORDS, NOT_BYLINE),
        (DATE_WORDS, DATE_LINE),
        (CLUTTER_WORDS, CLUTTER),
    ] {
        for w in table {
            *m.entry(*w).or_default() |= bit;
        }
    }
    m
});

/// The table bits of a class and id: each word whole and split into parts
/// (`post__author-name` → post, author, name; `authorName` → author, name), compared in
/// lowercase without allocating (every element with a class is checked).
fn class_flags(class: Option<&str>, id: Option<&str>) -> u8 {
    let mut flags = 0;
    let mut look = |part: &str| {
        let mut buf = [0u8; 32];
        let Some(dst) = buf.get_mut(..part.len()) else {
            return;
        };
        dst.copy_from_slice(part.as_bytes());
        dst.make_ascii_lowercase();
        if let Some(bits) = std::str::from_utf8(dst)
            .ok()
            .and_then(|k| CLASS_TABLE.get(k))
        {
            flags |= bits;
        }
    };
    for word in class
        .into_iter()
        .chain(id)
        .flat_map(str::split_ascii_whitespace)
    {
        look(word);
        let bytes = word.as_bytes();
        let mut start = None;
        for (i, &b) in bytes.iter().enumerate() {
            let alnum = b.is_ascii_alphanumeric();
            let camel = b.is_ascii_uppercase()
                && i > 0
                && bytes.get(i - 1).is_some_and(u8::is_ascii_lowercase);
            if let Some(st) = start {
                if !alnum || camel {
                    look(word.get(st..i).unwrap_or_default());
                    start = None;
                }
            }
            if alnum && start.is_none() {
                start = Some(i);
            }
        }
        if let Some(st) = start.filter(|&st| st > 0) {
            look(word.get(st..).unwrap_or_default());
        }
    }
    flags
}

fn in_svg(node: NodeRef<'_, Node>) -> bool {
    node.ancestors()
        .any(|a| matches!(a.value(), Node::Element(e) if e.name() == "svg"))
}

/// Whether the node sits in a footer, sidebar, comment thread or a list of other articles.
fn in_clutter(node: NodeRef<'_, Node>) -> bool {
    node.ancestors().any(|a| {
        let Node::Element(e) = a.value() else {
            return false;
        };
        if CLUTTER_TAGS.contains(&e.name()) {
            return true;
        }
        // Page-wide classes ("single-post sidebar-primary") say nothing about this element.
        if PAGE_TAGS.contains(&e.name()) {
            return false;
        }
        class_flags(super::attr(e, "class"), super::attr(e, "id")) & CLUTTER != 0
    })
}

/// A microdata `author`: its `itemprop=name` (attribute `content` or text), else its text.
fn microdata_name(node: NodeRef<'_, Node>) -> Option<String> {
    let el = ElementRef::wrap(node)?;
    if let Some(c) = super::attr(el.value(), "content").filter(|c| !looks_like_url(c)) {
        return Some(collapse(c));
    }
    let named = node.descendants().find_map(|d| {
        let Node::Element(e) = d.value() else {
            return None;
        };
        let is_name = super::attr(e, "itemprop")
            .is_some_and(|p| p.split_ascii_whitespace().any(|t| t == "name"));
        if !is_name {
            return None;
        }
        super::attr(e, "content")
            .map(collapse)
            .or_else(|| ElementRef::wrap(d).map(|e| bounded_text(e, MAX_ELEMENT_TEXT)))
    });
    named
        .or_else(|| Some(bounded_text(el, MAX_ELEMENT_TEXT)))
        .filter(|t| !t.is_empty())
}

fn looks_like_url(s: &str) -> bool {
    let s = s.trim_start();
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("//")
}

/// Names in a byline: "By Ann Lee and Bo Chen, March 3, 2026" → ["Ann Lee", "Bo Chen"].
/// Text scraped from the page must look like names (capitalized words); a field that says it
/// holds the author (`<meta name=author>`, JSON-LD) only needs to be short and name no date.
fn clean_byline(raw: &str) -> Vec<String> {
    clean_names(raw, true)
}

fn clean_stated_byline(raw: &str) -> Vec<String> {
    clean_names(raw, false)
}

fn clean_names(raw: &str, strict: bool) -> Vec<String> {
    // Parentheses hold a middle name, a co-author list ("(avec X et Y)") or a link: their
    // content stays, the brackets go.
    let mut s = collapse(&raw.replace(['(', ')', '[', ']'], " "));
    // Drop e-mail addresses, handles, links and user ids ("CC7567"), wherever they are.
    s = s
        .split(' ')
        .filter(|w| {
            let mixed = w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(char::is_alphabetic);
            !w.contains('@') && !looks_like_url(w) && !w.starts_with("www.") && !mixed
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut lower = s.to_lowercase();
    // Prefixes, repeatedly ("By: By Ann Lee").
    while let Some(p) = BYLINE_PREFIXES.iter().find(|p| {
        lower.starts_with(**p)
            && lower.get(p.len()..).is_some_and(|rest| {
                rest.chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() || p.ends_with(':'))
            })
    }) {
        let Some(rest) = s.get(p.len()..) else {
            break;
        };
        s = rest
            .trim_start_matches([' ', ':', '-', '–', '—'])
            .to_string();
        lower = s.to_lowercase();
    }
    // The name part ends at the first date, digit, other role or separator.
    let mut end = s.len();
    if let Some(m) = BYLINE_TAIL.find(&s) {
        end = end.min(m.start());
    }
    let padded = format!(" {lower} ");
    for cut in BYLINE_CUTS {
        if let Some(i) = padded.find(cut) {
            end = end.min(i.saturating_sub(1));
        }
    }
    let head = s.get(..end).unwrap_or(&s).trim();
    let mut parts: Vec<String> = vec![head.to_string()];
    for sep in AUTHOR_SPLITS {
        parts = parts.iter().flat_map(|p| split_ci(p, sep)).collect();
    }
    // Commas separate authors ("Stella Kim, Jennifer Jett"), unless the byline is
    // "Surname, Given" or a name with credentials ("Brenda Goodman, MA").
    let mut names = Vec::new();
    for part in parts {
        let pieces: Vec<&str> = part.split(',').map(str::trim).collect();
        // A piece starting with a credential ends the name ("Goodman, MA WebMD Health News").
        let credential = |p: &str| {
            p.split_whitespace().next().is_some_and(|w| {
                CREDENTIALS.contains(&w.trim_end_matches('.').to_lowercase().as_str())
            })
        };
        let kept: Vec<&str> = pieces
            .iter()
            .copied()
            .take_while(|p| !credential(p))
            .filter(|p| !p.is_empty())
            .collect();
        let all_full_names =
            kept.len() > 1 && kept.iter().all(|p| p.split_whitespace().count() >= 2);
        if all_full_names || kept.len() <= 1 {
            names.extend(kept.iter().map(|p| p.to_string()));
        } else {
            names.push(kept.join(", "));
        }
    }
    names
        .into_iter()
        .map(|n| {
            n.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != ')')
                .to_string()
        })
        .filter(|n| is_plausible_name(n, strict))
        .collect()
}

fn split_ci(s: &str, sep: &str) -> Vec<String> {
    let lower = s.to_lowercase();
    if lower.len() != s.len() {
        // Lowercasing changed byte offsets (rare scripts): split on the exact separator only.
        return s.split(sep).map(|p| p.trim().to_string()).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(i) = lower.get(start..).and_then(|rest| rest.find(sep)) {
        out.push(
            s.get(start..start + i)
                .unwrap_or_default()
                .trim()
                .to_string(),
        );
        start += i + sep.len();
    }
    out.push(s.get(start..).unwrap_or_default().trim().to_string());
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

/// A person's or an organisation's name, not a sentence, a date or a button label.
fn is_plausible_name(n: &str, strict: bool) -> bool {
    let words: Vec<&str> = n.split_whitespace().collect();
    if words.is_empty() || words.len() > 6 || n.chars().count() > 60 {
        return false;
    }
    if NOT_NAMES.contains(&n.to_lowercase().as_str()) || n.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    if !n.chars().any(char::is_alphabetic) {
        return false;
    }
    if !strict {
        return true;
    }
    // Scripts without case (CJK, Arabic, …) pass; cased words must be capitalized unless they
    // are particles ("Michiel de Jong").
    words.iter().all(|w| {
        let first = w.chars().find(|c| c.is_alphabetic());
        match first {
            None => true,
            Some(c) if !c.is_lowercase() => true,
            Some(_) => NAME_PARTICLES.contains(&w.to_lowercase().as_str()),
        }
    })
}

fn dedup_names(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.iter().any(|o| o.to_lowercase() == n.to_lowercase()) {
            out.push(n);
        }
    }
    out
}

/// Drops a site-name prefix or suffix from a headline.
fn strip_site(title: &str, site: Option<&str>, h1s: &[&str]) -> String {
    let title = collapse(title);
    if let Some(h1) = h1s
        .iter()
        .find(|h| h.len() >= 10 && title.len() > h.len() && part_of_title(&title, h))
    {
        return h1.to_string();
    }
    for sep in TITLE_SEPARATORS {
        let Some((head, tail)) = title.rsplit_once(sep) else {
            continue;
        };
        let tail_is_site = site.is_some_and(|s| tail.trim().eq_ignore_ascii_case(s.trim()));
        if tail_is_site && !head.trim().is_empty() {
            return head.trim().to_string();
        }
        let head_is_site = site.is_some_and(|s| head.trim().eq_ignore_ascii_case(s.trim()));
        if head_is_site && !tail.trim().is_empty() {
            return tail.trim().to_string();
        }
        let short_tail = tail.split_whitespace().count() <= 3 && sep.trim().len() == 1;
        if short_tail && sep.starts_with(' ') && head.split_whitespace().count() >= 4 {
            return head.trim().to_string();
        }
    }
    title
}

fn absolute(href: &str, base: Option<&Url>) -> Option<String> {
    let parsed = match base {
        Some(base) => base.join(href).ok(),
        None => Url::parse(href).ok(),
    }?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

/// `en_US` → `en-US`; anything that is not a language tag → `None`.
fn language_tag(s: &str) -> Option<String> {
    let s = s.trim();
    LANGUAGE_TAG.is_match(s).then(|| s.replace('_', "-"))
}

/// A JSON-LD script's value. Pages saved through a DOM wrap it in `<![CDATA[ … ]]>` (sometimes
/// inside `/* */` or `//` comments) or `<!-- -->`; text after the value is ignored.
fn parse_json_ld(text: &str) -> Option<Value> {
    let mut t = text.trim();
    for (open, close) in [
        ("/*<![CDATA[*/", "/*]]>*/"),
        ("//<![CDATA[", "//]]>"),
        ("<![CDATA[", "]]>"),
        ("<!--", "-->"),
    ] {
        if let Some(rest) = t.strip_prefix(open) {
            t = rest.trim();
            t = t.strip_suffix(close).unwrap_or(t).trim();
        }
    }
    serde_json::Deserializer::from_str(t)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
}

/// The fields of a page's JSON-LD that describe its article.
#[derive(Default)]
struct LdArticle {
    headline: Option<String>,
    name: Option<String>,
    authors: Vec<String>,
    published: Option<String>,
    modified: Option<String>,
    site_name: Option<String>,
    language: Option<String>,
    description: Option<String>,
}

impl LdArticle {
    fn from_values(values: &[Value]) -> LdArticle {
        let mut nodes: Vec<&serde_json::Map<String, Value>> = Vec::new();
        for v in values {
            flatten(v, &mut nodes, 0);
        }
        let by_id: HashMap<&str, &serde_json::Map<String, Value>> = nodes
            .iter()
            .filter_map(|n| n.get("@id").and_then(Value::as_str).map(|id| (id, *n)))
            .collect();
        let type_of = |n: &serde_json::Map<String, Value>, pred: &dyn Fn(&str) -> bool| match n
            .get("@type")
        {
            Some(Value::String(t)) => pred(t),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(pred),
            _ => false,
        };
        let is_article = |t: &str| {
            LD_ARTICLE_SUFFIXES.iter().any(|s| t.ends_with(s)) || LD_ARTICLE_TYPES.contains(&t)
        };
        // The article: the first node of an article type with a date or author, else any
        // article-typed node, else any node stating a publication date.
        let article = nodes
            .iter()
            .find(|n| {
                type_of(n, &|t| is_article(t) && t != "WebPage")
                    && (n.contains_key("datePublished") || n.contains_key("author"))
            })
            .or_else(|| nodes.iter().find(|n| type_of(n, &|t| is_article(t))))
            .or_else(|| nodes.iter().find(|n| n.contains_key("datePublished")));
        let mut out = LdArticle::default();
        let str_of = |n: &serde_json::Map<String, Value>, k: &str| {
            n.get(k)
                .and_then(Value::as_str)
                .map(collapse)
                .filter(|s| !s.is_empty())
        };
        if let Some(a) = article {
            out.headline = str_of(a, "headline");
            out.name = str_of(a, "name");
            out.published = str_of(a, "datePublished").or_else(|| str_of(a, "dateCreated"));
            out.modified = str_of(a, "dateModified");
            out.language = str_of(a, "inLanguage");
            out.description = str_of(a, "description");
            if let Some(author) = a.get("author").or_else(|| a.get("creator")) {
                ld_names(author, &by_id, &mut out.authors, 0);
            }
            out.site_name = a
                .get("publisher")
                .map(|p| resolve(p, &by_id))
                .and_then(|p| p.and_then(|p| str_of(p, "name")));
        }
        if out.site_name.is_none() {
            out.site_name = nodes
                .iter()
                .find(|n| type_of(n, &|t| t == "WebSite"))
                .and_then(|n| str_of(n, "name"));
        }
        out
    }
}

/// Every JSON object of a JSON-LD document that has an `@type`, depth-first, bounded.
fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>, depth: usize) {
    if depth > 8 || out.len() > 256 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out, depth + 1)),
        Value::Object(map) => {
            if map.contains_key("@type") {
                out.push(map);
            }
            for (k, child) in map {
                if k != "author" && k != "creator" && (child.is_object() || child.is_array()) {
                    flatten(child, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn resolve<'a>(
    v: &'a Value,
    by_id: &HashMap<&str, &'a serde_json::Map<String, Value>>,
) -> Option<&'a serde_json::Map<String, Value>> {
    let map = v.as_object()?;
    if map.contains_key("name") {
        return Some(map);
    }
    map.get("@id")
        .and_then(Value::as_str)
        .and_then(|id| by_id.get(id).copied())
        .or(Some(map))
}

fn ld_names(
    v: &Value,
    by_id: &HashMap<&str, &serde_json::Map<String, Value>>,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > 3 || out.len() > 16 {
        return;
    }
    match v {
        Value::String(s) if !looks_like_url(s) => out.push(collapse(s)),
        Value::Array(items) => items
            .iter()
            .for_each(|i| ld_names(i, by_id, out, depth + 1)),
        Value::Object(_) => {
            if let Some(m) = resolve(v, by_id) {
                match m.get("name") {
                    Some(Value::String(s)) => out.push(collapse(s)),
                    Some(n @ Value::Array(_)) => ld_names(n, by_id, out, depth + 1),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Parses the date forms seen in `<meta>`, JSON-LD, `<time>` and compact stamps; a date
/// without a zone is UTC.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.len() > 64 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    const ZONED: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
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
        "%Y-%m-%d %H:%M",
        "%Y%m%d%H%M%S",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ];
    if let Some(d) = NAIVE
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        return Some(d.and_utc());
    }
    if let Some(ts) = s.strip_suffix('Z').filter(|t| t.len() >= 10) {
        if let Ok(d) = NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f") {
            return Some(d.and_utc());
        }
    }
    const DAYS: &[&str] = &["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"];
    let date_part = s.get(..10).unwrap_or(s);
    DAYS.iter()
        .find_map(|f| {
            NaiveDate::parse_from_str(date_part, f)
                .ok()
                .or_else(|| NaiveDate::parse_from_str(s, f).ok())
        })
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .or_else(|| text_date(s))
}

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_lowercase();
    MONTHS
        .iter()
        .find(|(n, _)| *n == lower.trim_end_matches('.'))
        .map(|(_, m)| *m)
}

/// The first date written out in a line of text ("Updated March 25, 2015 at 3:46 PM"), as
/// midnight UTC of that day.
fn text_date(s: &str) -> Option<DateTime<Utc>> {
    fn group<'h>(c: &regex::Captures<'h>, i: usize) -> &'h str {
        c.get(i).map_or("", |m| m.as_str())
    }
    let day = |y: &str, m: Option<u32>, d: &str| {
        NaiveDate::from_ymd_opt(y.parse().ok()?, m?, d.parse().ok()?)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| Utc.from_utc_datetime(&d))
    };
    // (pattern, index of year, month, day); the earliest match in the text wins.
    let forms: [(&Regex, usize, usize, usize, bool); 3] = [
        (&MDY, 3, 1, 2, true),
        (&DMY, 3, 2, 1, true),
        (&YMD, 1, 2, 3, false),
    ];
    forms
        .iter()
        .filter_map(|(re, y, m, d, named)| {
            let c = re.captures(s)?;
            let month = if *named {
                month_number(group(&c, *m))
            } else {
                group(&c, *m).parse().ok()
            };
            let at = c.get(0)?.start();
            day(group(&c, *y), month, group(&c, *d)).map(|d| (at, d))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, d)| d)
}

/// A date in a URL path (`/2026/11/30/slug`), as midnight UTC.
fn path_date(path: &str) -> Option<DateTime<Utc>> {
    let c = PATH_DATE.captures(path)?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    NaiveDate::from_ymd_opt(i32::try_from(num(1)?).ok()?, num(2)?, num(3)?)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

#[cfg(test)]
mod tests;
