//! Sources as OPML 2.0: export of the configured sources, and the reading and planning side of
//! an import (which outlines are new, under which names). Writing the new sources into the
//! config file is the config's business ([`crate::config::edit`]).

use std::fmt::Write as _;

use chrono::Utc;

use super::xml_text;
use crate::config::{SourceConfig, SourceKind};

/// OPML 2.0 of the configured sources. Feeds are `type="rss"` outlines with `xmlUrl`; listing
/// pages are `type="link"` outlines with `url` and newsdesk's `linkSelector` attribute.
pub fn opml_export(sources: &[SourceConfig]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="utf-8"?>"#);
    let _ = writeln!(out, r#"<opml version="2.0">"#);
    let _ = writeln!(out, "  <head>");
    let _ = writeln!(out, "    <title>newsdesk sources</title>");
    let _ = writeln!(
        out,
        "    <dateCreated>{}</dateCreated>",
        Utc::now().to_rfc2822()
    );
    let _ = writeln!(out, "  </head>");
    let _ = writeln!(out, "  <body>");
    for s in sources {
        let name = xml_text(&s.name);
        let url = xml_text(&s.url);
        match s.kind {
            SourceKind::Feed => {
                let _ = writeln!(
                    out,
                    r#"    <outline type="rss" text="{name}" title="{name}" xmlUrl="{url}"/>"#
                );
            }
            SourceKind::Page => {
                let sel = xml_text(s.link_selector.as_deref().unwrap_or(""));
                let _ = writeln!(
                    out,
                    r#"    <outline type="link" text="{name}" title="{name}" url="{url}" linkSelector="{sel}"/>"#
                );
            }
        }
    }
    let _ = writeln!(out, "  </body>");
    let _ = writeln!(out, "</opml>");
    out
}

/// A source found in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlSource {
    /// `title`, else `text`, of the outline (may be empty).
    pub title: String,
    /// `feed` or `page`.
    pub kind: SourceKind,
    /// Feed or page URL.
    pub url: String,
    /// For pages: the CSS selector of the article links.
    pub link_selector: Option<String>,
}

/// Why an OPML file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("OPML: {0}")]
pub struct OpmlError(String);

/// Reads the outlines of an OPML file (any nesting): every outline with an `xmlUrl` is a feed;
/// a `type="link"` outline with `url` and `linkSelector` is a page. Others (folders, plain
/// links) are skipped.
pub fn opml_import(text: &str) -> Result<Vec<OpmlSource>, OpmlError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut found = Vec::new();
    let mut saw_opml = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| OpmlError(format!("at byte {}: {e}", reader.buffer_position())))?;
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                if name.as_ref() == "opml" {
                    saw_opml = true;
                }
                if name.as_ref() != "outline" {
                    continue;
                }
                let mut attrs = std::collections::HashMap::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| OpmlError(format!("bad attribute: {e}")))?;
                    let key = a.key.local_name().as_ref().to_string();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| OpmlError(format!("bad attribute value: {e}")))?;
                    attrs.insert(key, value.trim().to_string());
                }
                let get = |k: &str| attrs.get(k).filter(|v| !v.is_empty()).cloned();
                let title = get("title").or_else(|| get("text")).unwrap_or_default();
                if let Some(url) = get("xmlUrl") {
                    found.push(OpmlSource {
                        title,
                        kind: SourceKind::Feed,
                        url,
                        link_selector: None,
                    });
                } else if let (Some(url), Some(sel)) = (get("url"), get("linkSelector")) {
                    found.push(OpmlSource {
                        title,
                        kind: SourceKind::Page,
                        url,
                        link_selector: Some(sel),
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml {
        return Err(OpmlError("no <opml> element".into()));
    }
    Ok(found)
}

/// A source name from an outline title: lowercase ASCII letters, digits and dashes; the URL's
/// host when the title gives nothing.
pub fn source_name(title: &str, url: &str) -> String {
    let from = |s: &str| -> String {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        out.trim_end_matches('-').chars().take(48).collect()
    };
    let name = from(title);
    if !name.is_empty() {
        return name;
    }
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let name = from(host.trim_start_matches("www."));
    if name.is_empty() {
        "source".into()
    } else {
        name
    }
}

/// What `sources import` will do.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    /// New sources, with unique names.
    pub added: Vec<SourceConfig>,
    /// Outlines left out, and why.
    pub skipped: Vec<(OpmlSource, String)>,
}

/// Decides which OPML sources are new: a URL already configured (or seen earlier in the file)
/// is skipped; names are made unique with a `-2`, `-3`… suffix.
pub fn plan_import(existing: &[SourceConfig], found: &[OpmlSource]) -> ImportPlan {
    let norm = |u: &str| {
        url::Url::parse(u)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| u.to_string())
    };
    let mut urls: std::collections::HashSet<String> =
        existing.iter().map(|s| norm(&s.url)).collect();
    let mut names: std::collections::HashSet<String> =
        existing.iter().map(|s| s.name.clone()).collect();
    let mut plan = ImportPlan::default();
    for f in found {
        match url::Url::parse(&f.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                plan.skipped.push((f.clone(), "not an http(s) URL".into()));
                continue;
            }
        }
        if !urls.insert(norm(&f.url)) {
            plan.skipped.push((f.clone(), "already configured".into()));
            continue;
        }
        let base = source_name(&f.title, &f.url);
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        names.insert(name.clone());
        plan.added.push(SourceConfig {
            name,
            kind: f.kind,
            url: f.url.clone(),
            link_selector: f.link_selector.clone(),
            body_selector: None,
            drop_selectors: Vec::new(),
            max_body_bytes: None,
            interval: None,
            max_items_per_run: None,
            enabled: true,
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opml_round_trip_keeps_feeds_and_pages() {
        let sources = vec![
            SourceConfig {
                name: "a & b".into(),
                kind: SourceKind::Feed,
                url: "https://example.com/feed?x=1&y=2".into(),
                link_selector: None,
                body_selector: None,
                drop_selectors: Vec::new(),
                max_body_bytes: None,
                interval: None,
                max_items_per_run: None,
                enabled: true,
            },
            SourceConfig {
                name: "pages".into(),
                kind: SourceKind::Page,
                url: "https://example.com/archive".into(),
                link_selector: Some("a.post-title".into()),
                body_selector: None,
                drop_selectors: Vec::new(),
                max_body_bytes: None,
                interval: None,
                max_items_per_run: None,
                enabled: true,
            },
        ];
        let text = opml_export(&sources);
        let back = opml_import(&text).expect("parse our own OPML");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].title, "a & b");
        assert_eq!(back[0].url, "https://example.com/feed?x=1&y=2");
        assert_eq!(back[1].kind, SourceKind::Page);
        assert_eq!(back[1].link_selector.as_deref(), Some("a.post-title"));
    }

    #[test]
    fn nested_outlines_and_folders() {
        let text = r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
            <outline text="Tech"><outline text="The Verge" type="rss" xmlUrl="https://www.theverge.com/rss/index.xml"/></outline>
            <outline text="just a link" type="link" url="https://example.com"/>
            </body></opml>"#;
        let found = opml_import(text).expect("parse");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].title, "The Verge");
        assert!(opml_import("<html/>").is_err());
    }

    #[test]
    fn import_skips_known_urls_and_keeps_names_unique() {
        let existing = crate::config::Config::parse(
            "[[sources]]\nname = \"the-verge\"\nkind = \"feed\"\nurl = \"https://v.example/rss\"\n",
            std::path::Path::new("t.toml"),
        )
        .expect("config");
        let found = vec![
            OpmlSource {
                title: "The Verge".into(),
                kind: SourceKind::Feed,
                url: "https://v.example/rss".into(),
                link_selector: None,
            },
            OpmlSource {
                title: "The Verge".into(),
                kind: SourceKind::Feed,
                url: "https://v.example/ai.rss".into(),
                link_selector: None,
            },
            OpmlSource {
                title: "x".into(),
                kind: SourceKind::Feed,
                url: "ftp://x".into(),
                link_selector: None,
            },
        ];
        let plan = plan_import(&existing.sources, &found);
        assert_eq!(plan.added.len(), 1);
        assert_eq!(plan.added[0].name, "the-verge-2");
        assert_eq!(plan.skipped.len(), 2);
        assert_eq!(plan.added[0].url, "https://v.example/ai.rss");
    }

    #[test]
    fn names_are_slugs() {
        assert_eq!(source_name("The Verge — AI", "x"), "the-verge-ai");
        assert_eq!(
            source_name("", "https://www.example.com/feed"),
            "example-com"
        );
    }
}
