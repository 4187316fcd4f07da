//! Extract stage: from an article page's HTML to its title, byline, date and clean body.
//!
//! Takes decoded HTML and the page URL; gives an [`Article`] whose `html` is sanitized and whose
//! `text` has one paragraph per line, with clutter removed. Clutter rules live as data in
//! [`rules`]; [`run_extract_command`] backs the `newsdesk extract` CLI subcommand.

mod command;
mod content;
mod meta;
pub mod rules;

pub use command::{run_extract_command, ExtractCommandError, ExtractFormat};

use chrono::{DateTime, Utc};
use content::{Block, Kind};
use scraper::Html;
use url::Url;

/// What the extractor found on a page.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Article {
    /// Headline, without the site-name suffix.
    pub title: Option<String>,
    /// Byline.
    pub author: Option<String>,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// `<link rel=canonical>` or `og:url`, made absolute.
    pub canonical_url: Option<String>,
    /// Plain text, one paragraph per line, link text only.
    pub text: String,
    /// Sanitized HTML of the body.
    pub html: String,
}

/// Extracts the article from `html`; `page_url` resolves relative links.
pub fn extract(html: &str, page_url: Option<&Url>) -> Article {
    let doc = Html::parse_document(html);
    let meta = meta::read(&doc, page_url);
    let blocks = content::extract_blocks(&doc, &meta.title_variants);
    let text = blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Article {
        title: meta.title,
        author: meta.author,
        published_at: meta.published_at,
        canonical_url: meta.canonical_url,
        text,
        html: sanitize(&assemble_html(&blocks), page_url),
    }
}

/// An element's attribute by name. `Element::attr` interns the name as an atom on every call
/// (hashing, a lock for names outside the static set); comparing the few attributes an
/// element has is several times cheaper, and extraction asks for attributes of every element.
fn attr<'a>(el: &'a scraper::node::Element, name: &str) -> Option<&'a str> {
    el.attrs().find_map(|(k, v)| (k == name).then_some(v))
}

/// Wraps each block in its paragraph element; consecutive list items share one list.
fn assemble_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut in_list = false;
    for b in blocks {
        if in_list && b.kind != Kind::Item {
            out.push_str("</ul>");
            in_list = false;
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
        };
        out.push_str(open);
        out.push_str(&b.html);
        out.push_str(close);
        out.push('\n');
    }
    if in_list {
        out.push_str("</ul>");
    }
    out
}

/// Allow-list sanitizing: only text markup and links survive; relative URLs become absolute.
fn sanitize(html: &str, page_url: Option<&Url>) -> String {
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
    if let Some(base) = page_url {
        builder.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()));
    }
    builder.clean(html).to_string()
}

#[cfg(test)]
mod tests;
