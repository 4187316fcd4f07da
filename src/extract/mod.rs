//! Extract stage: from an article page's HTML to its title, byline, date and clean body.
//!
//! Takes decoded HTML and the page URL; gives an [`Article`] whose `html` is sanitized and whose
//! `text` has one paragraph per line, with clutter removed.

use chrono::{DateTime, Utc};
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
    let _ = (html, page_url);
    unimplemented!("extract stage")
}
