//! The preview page: what a feed or page would give (the library's preview path, the one
//! `newsdesk preview` uses: fetch, extract, judge, write nothing), or how one article URL is
//! extracted. Fetches go through the daemon's HTTP client settings, so its SSRF rules
//! (`http.allow_private_networks`), size caps and timeouts apply as to any source.

use std::sync::Arc;

use crate::config::Config;
use crate::model::{Article, ItemDecision};
use crate::pipeline::Pipeline;
use crate::topic::TopicVerdict;

/// What to preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A feed (RSS, Atom, JSON Feed): each item as a run would judge it.
    Feed,
    /// A listing page whose links (`link_selector`) are the articles.
    Page,
    /// One article: its extraction and its topic verdict.
    Article,
}

impl Kind {
    /// The kinds in the form's order, with their form values and labels.
    pub(crate) const ALL: &'static [(Kind, &'static str, &'static str)] = &[
        (Kind::Feed, "feed", "Feed: what each item would become"),
        (Kind::Page, "page", "Page: links found by the link selector"),
        (Kind::Article, "article", "Article: its extraction"),
    ];

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL
            .iter()
            .find(|(_, v, _)| *v == s)
            .map(|(k, _, _)| *k)
    }
}

/// The form's fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub url: String,
    pub kind: Kind,
    pub link_selector: Option<String>,
    pub body_selector: Option<String>,
}

impl Request {
    /// Reads the posted form; a missing URL or unknown kind is the editor's mistake to show.
    pub(crate) fn from_form(form: &[(String, String)]) -> Result<Request, String> {
        let get = |k: &str| {
            super::first(form, k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let url = get("url").ok_or("Paste the URL to preview.")?;
        let kind = match get("kind") {
            Some(k) => Kind::parse(&k).ok_or_else(|| format!("Unknown kind '{k}'."))?,
            None => Kind::Feed,
        };
        Ok(Request {
            url,
            kind,
            link_selector: get("link_selector"),
            body_selector: get("body_selector"),
        })
    }
}

/// What the preview found.
pub(crate) enum Outcome {
    /// Items of a feed or page, as a run would decide them.
    Items(Vec<ItemDecision>),
    /// One article.
    Article {
        /// URL after redirects.
        final_url: String,
        article: Box<Article>,
        verdict: TopicVerdict,
    },
}

/// Runs the preview with the config in force. Errors are sentences for the page.
pub(crate) async fn run(
    config: Arc<Config>,
    store: Arc<dyn crate::store::Store>,
    req: &Request,
) -> Result<Outcome, String> {
    match req.kind {
        Kind::Feed | Kind::Page => {
            let source = candidate(req)?;
            let pipeline = Pipeline::new(config, store).map_err(|e| e.to_string())?;
            pipeline
                .preview(&source)
                .await
                .map(Outcome::Items)
                .map_err(|e| e.to_string())
        }
        Kind::Article => article(&config, req).await,
    }
}

/// The candidate source, validated exactly like a configured one (as `newsdesk preview`
/// does), so a bad URL or selector gets the config's own message.
fn candidate(req: &Request) -> Result<crate::config::SourceConfig, String> {
    let mut entry = toml::Table::new();
    entry.insert("name".into(), "preview".into());
    entry.insert(
        "kind".into(),
        if req.kind == Kind::Page {
            "page"
        } else {
            "feed"
        }
        .into(),
    );
    entry.insert("url".into(), req.url.clone().into());
    if let Some(sel) = &req.link_selector {
        entry.insert("link_selector".into(), sel.clone().into());
    }
    if let Some(sel) = &req.body_selector {
        entry.insert("body_selector".into(), sel.clone().into());
    }
    let mut doc = toml::Table::new();
    doc.insert("sources".into(), toml::Value::Array(vec![entry.into()]));
    let parsed = Config::parse(&doc.to_string(), std::path::Path::new("<desk preview>"))
        .map_err(|e| format!("{}: {}", e.key.replace("sources[0].", ""), e.reason))?;
    parsed
        .sources
        .into_iter()
        .next()
        .ok_or_else(|| "no source in the preview".to_string())
}

async fn article(config: &Config, req: &Request) -> Result<Outcome, String> {
    let p = crate::pipeline::preview_article(config, &req.url, req.body_selector.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Outcome::Article {
        final_url: p.final_url,
        article: Box::new(p.article),
        verdict: p.verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_needs_a_url_and_a_known_kind() {
        assert!(Request::from_form(&form(&[("url", "  ")])).is_err());
        assert!(
            Request::from_form(&form(&[("url", "https://a.example/"), ("kind", "x")])).is_err()
        );
        let r = Request::from_form(&form(&[
            ("url", " https://a.example/news "),
            ("kind", "page"),
            ("link_selector", "h2 a"),
            ("body_selector", ""),
        ]))
        .expect("valid");
        assert_eq!(r.url, "https://a.example/news");
        assert_eq!(r.kind, Kind::Page);
        assert_eq!(r.link_selector.as_deref(), Some("h2 a"));
        assert_eq!(r.body_selector, None);
    }

    #[test]
    fn candidates_are_validated_like_configured_sources() {
        let req = |url: &str, kind, link: Option<&str>| Request {
            url: url.into(),
            kind,
            link_selector: link.map(str::to_string),
            body_selector: None,
        };
        assert!(candidate(&req("https://a.example/feed.xml", Kind::Feed, None)).is_ok());
        let e = candidate(&req("ftp://a.example/x", Kind::Feed, None)).unwrap_err();
        assert!(e.starts_with("url"), "{e}");
        // A page source needs its link selector.
        assert!(candidate(&req("https://a.example/", Kind::Page, None)).is_err());
    }
}
