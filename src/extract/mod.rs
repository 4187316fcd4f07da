//! Extract stage: from an article page's HTML to its title, byline, date and clean body.
//!
//! Takes decoded HTML and the page URL; gives an [`Article`] whose `html` is sanitized and whose
//! `text` has one paragraph per line, with clutter removed. Clutter rules live as data in
//! [`rules`]. The `newsdesk extract` command that prints this for saved pages lives in the binary.

pub mod bounded;
mod content;
mod meta;
pub mod rules;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use content::{Block, Kind};
use scraper::Selector;
use url::Url;

use crate::model::Article;

/// An operator's rules for one site, from its source's config (`body_selector`,
/// `drop_selectors`): where the body is and what to remove besides the generic clutter rules.
/// Without rules the extractor is fully generic.
#[derive(Debug, Default)]
pub struct SiteRules {
    body: Option<Selector>,
    drop: Vec<Selector>,
}

/// A CSS selector in a site rule that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid CSS selector '{selector}': {reason}")]
pub struct SiteRuleError {
    /// The selector as written.
    pub selector: String,
    /// The parser's reason.
    pub reason: String,
}

impl SiteRules {
    /// Rules from a body selector (the elements holding the article text; several matches are
    /// read in document order) and selectors of elements to drop wherever they are.
    pub fn new(body: Option<&str>, drop: &[String]) -> Result<SiteRules, SiteRuleError> {
        let parse = |sel: &str| {
            Selector::parse(sel).map_err(|e| SiteRuleError {
                selector: sel.to_string(),
                reason: crate::config::selector_reason(&e.to_string()),
            })
        };
        Ok(SiteRules {
            body: body.map(parse).transpose()?,
            drop: drop.iter().map(|s| parse(s)).collect::<Result<_, _>>()?,
        })
    }

    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.body.is_none() && self.drop.is_empty()
    }
}

/// Extracts the article from `html`; `page_url` resolves relative links.
pub fn extract(html: &str, page_url: Option<&Url>) -> Article {
    extract_with(html, page_url, &SiteRules::default())
}

/// Extraction gave up on a page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The time budget ran out (a pathological page); the page is abandoned.
    #[error("extraction took longer than {0:?}")]
    TooSlow(Duration),
}

/// [`extract`] with an operator's [`SiteRules`]. A body selector that matches nothing on the
/// page (a redesign) falls back to the generic extraction rather than storing an empty body.
/// Nesting depth and element count are bounded (see [`bounded`]).
pub fn extract_with(html: &str, page_url: Option<&Url>, rules: &SiteRules) -> Article {
    // Without a budget there is no deadline to pass.
    extract_within(html, page_url, rules, None).unwrap_or_default()
}

/// [`extract_with`] that gives up once `budget` has been spent (checked between chunks of
/// parsing and between stages), so a blocking thread running it always comes back.
pub fn extract_within(
    html: &str,
    page_url: Option<&Url>,
    rules: &SiteRules,
    budget: Option<Duration>,
) -> Result<Article, ExtractError> {
    let started = Instant::now();
    let deadline = budget.and_then(|b| started.checked_add(b));
    let too_slow = || ExtractError::TooSlow(budget.unwrap_or_default());
    let past = || deadline.is_some_and(|d| Instant::now() >= d);
    let doc = bounded::parse_document(html, deadline).map_err(|_| too_slow())?;
    let meta = meta::read(&doc, page_url);
    if past() {
        return Err(too_slow());
    }
    let blocks = content::extract_blocks(&doc, &meta.title_variants, rules);
    if past() {
        return Err(too_slow());
    }
    let text = blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Article {
        title: meta.title,
        authors: meta.authors,
        published_at: meta.published_at,
        updated_at: meta.updated_at,
        site_name: meta.site_name,
        summary: meta.summary,
        language: meta.language,
        canonical_url: meta.canonical_url,
        text,
        html: sanitize(&assemble_html(&blocks), page_url),
    })
}

/// An element's attribute by name. `Element::attr` interns the name as an atom on every call
/// (hashing, a lock for names outside the static set); comparing the few attributes an
/// element has is several times cheaper, and extraction asks for attributes of every element.
fn attr<'a>(el: &'a scraper::node::Element, name: &str) -> Option<&'a str> {
    el.attrs().find_map(|(k, v)| (k == name).then_some(v))
}

/// Wraps each block in its paragraph element; consecutive list items share one list, and
/// consecutive table rows one table.
fn assemble_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut in_list = false;
    let mut in_table = false;
    for b in blocks {
        if in_list && b.kind != Kind::Item {
            out.push_str("</ul>");
            in_list = false;
        }
        if in_table && b.kind != Kind::Row {
            out.push_str("</table>\n");
            in_table = false;
        }
        let (open, close) = match b.kind {
            Kind::Para => ("<p>", "</p>"),
            Kind::Heading(level) => {
                let level = level.clamp(2, 6);
                out.push_str(&format!("<h{level}>{}</h{level}>\n", b.html));
                continue;
            }
            Kind::Item => {
                if !in_list {
                    out.push_str("<ul>");
                    in_list = true;
                }
                ("<li>", "</li>")
            }
            Kind::Quote => ("<blockquote><p>", "</p></blockquote>"),
            Kind::Pre => ("<pre>", "</pre>"),
            Kind::Row => {
                if !in_table {
                    out.push_str("<table>");
                    in_table = true;
                }
                ("<tr>", "</tr>")
            }
        };
        out.push_str(open);
        out.push_str(&b.html);
        out.push_str(close);
        out.push('\n');
    }
    if in_list {
        out.push_str("</ul>");
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out
}

thread_local! {
    /// The sanitizer, built once per thread: building its allow-lists (a few hundred set
    /// inserts) cost an eighth of what cleaning a page's body does.
    static SANITIZER: RefCell<ammonia::Builder<'static>> = RefCell::new(sanitizer());
}

/// Allow-list: only text markup and links survive.
fn sanitizer() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder.tags(
        [
            "p",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "ul",
            "li",
            "table",
            "tbody",
            "tr",
            "td",
            "blockquote",
            "pre",
            "a",
            "b",
            "strong",
            "i",
            "em",
            "code",
            "sub",
            "sup",
            "s",
            "u",
            "mark",
        ]
        .into_iter()
        .collect(),
    );
    builder
}

/// Allow-list sanitizing (see [`sanitizer`]); relative URLs become absolute.
fn sanitize(html: &str, page_url: Option<&Url>) -> String {
    SANITIZER.with_borrow_mut(|builder| {
        // Set on every call: the builder outlives the page.
        builder.url_relative(match page_url {
            Some(base) => ammonia::UrlRelative::RewriteWithBase(base.clone()),
            None => ammonia::UrlRelative::PassThrough,
        });
        // Serialized straight into one buffer (`to_string` serializes into one, then copies it
        // through the formatter into a second, grown by doubling).
        let mut out = Vec::with_capacity(html.len());
        let cleaned = builder.clean(html);
        match cleaned.write_to(&mut out) {
            Ok(()) => String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            // Writing to memory does not fail; were it to, `to_string` gives the same text.
            Err(_) => cleaned.to_string(),
        }
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sanitize_tests {
    use super::*;

    #[test]
    fn each_page_gets_its_own_base_url() {
        // One thread reuses one sanitizer: a page's base must not leak into the next page.
        let body = r#"<p>See <a href="/more.html">more</a>.</p>"#;
        let a = Url::parse("https://a.example/news/1").expect("url");
        let b = Url::parse("http://b.example/x/").expect("url");
        assert!(sanitize(body, Some(&a)).contains(r#"href="https://a.example/more.html""#));
        assert!(sanitize(body, Some(&b)).contains(r#"href="http://b.example/more.html""#));
        assert!(sanitize(body, None).contains(r#"href="/more.html""#));
        let cleaned = sanitize(
            r#"<p onclick="x()">t<script>y()</script><img src=z></p>"#,
            None,
        );
        assert_eq!(cleaned, "<p>t</p>");
    }
}
