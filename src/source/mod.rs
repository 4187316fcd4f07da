//! Source stage: turns a fetched feed or listing page into the items it announces.
//!
//! Takes the body of a feed (any RSS/Atom/JSON Feed flavour, any encoding) or of a listing page
//! with a link selector; gives [`SourceItem`]s with absolute URLs.

use chrono::{DateTime, Utc};
use url::Url;

/// One item a source announces.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceItem {
    /// The feed's own id for the item (GUID / Atom id / JSON Feed id), when it gives one.
    pub guid: Option<String>,
    /// Absolute article URL.
    pub url: Url,
    /// Title as the feed gives it.
    pub title: Option<String>,
    /// Author as the feed gives it.
    pub author: Option<String>,
    /// Publication date as the feed gives it.
    pub published_at: Option<DateTime<Utc>>,
}

/// Why a source body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Not a feed, or a feed too broken to recover.
    #[error("feed could not be parsed: {0}")]
    Feed(String),
    /// The selector is not valid CSS.
    #[error("invalid link selector: {0}")]
    Selector(String),
}

/// Parses a feed body.
pub fn parse_feed(
    body: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<Vec<SourceItem>, SourceError> {
    let _ = (body, content_type, base);
    unimplemented!("source stage")
}

/// Lists the article links of a listing page.
pub fn parse_listing(
    html: &str,
    base: &Url,
    link_selector: &str,
) -> Result<Vec<SourceItem>, SourceError> {
    let _ = (html, base, link_selector);
    unimplemented!("source stage")
}
