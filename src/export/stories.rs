//! Stories for a publishing system: JSON Feed 1.1, Atom 1.0 or NDJSON, each story with its
//! event cluster and related sources.
//!
//! A story's id in every format is the store's id (`"42"` in JSON Feed, `urn:newsdesk:story:42`
//! in Atom), the one `newsdesk stories publish` and `POST /stories/publish` take.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::relations::Relations;
use super::xml_text;
use crate::model::Story;

/// Export format of stories (the CLI maps its own `--format` values onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoryFormat {
    /// JSON Feed 1.1.
    Jsonfeed,
    /// Atom 1.0.
    Atom,
    /// One JSON object per line.
    Ndjson,
}

/// Renders stories in `format`.
pub fn render(stories: &[Story], format: StoryFormat, title: &str) -> String {
    render_related(stories, &Relations::default(), format, title)
}

/// Renders stories in `format` with their cluster and related sources ([`relations`]).
pub fn render_related(
    stories: &[Story],
    related: &Relations,
    format: StoryFormat,
    title: &str,
) -> String {
    match format {
        StoryFormat::Jsonfeed => {
            let mut feed = json_feed(stories, title);
            add_relations_to_json_feed(&mut feed, stories, related);
            let mut s = serde_json::to_string_pretty(&feed).unwrap_or_else(|_| "{}".into());
            s.push('\n');
            s
        }
        StoryFormat::Atom => atom_related(stories, related, title),
        StoryFormat::Ndjson => ndjson_related(stories, related),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The Atom id of a story.
pub fn atom_id(id: i64) -> String {
    format!("urn:newsdesk:story:{id}")
}

/// The fetched address worth naming beside the published one: the page was read at another
/// address than the one publishing links to (an AMP or mobile copy, a redirect, the feed's
/// link). Tracking parameters are removed here too.
fn via_url(s: &Story) -> Option<String> {
    let fetched = url::Url::parse(&s.fetched_url)
        .map(|u| crate::dedup::strip_tracking(&u))
        .ok()?;
    (fetched != s.url).then_some(fetched)
}

/// JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>). `url` is the article's own address
/// (never the dedup key); `external_url` is not used, as JSON Feed means it for a page the item
/// talks about (link blogs). `date_published`, `date_modified`, `authors` and `language` appear
/// only when the page stated them. newsdesk's own fields sit under the `_newsdesk` extension
/// key of each item.
pub fn json_feed(stories: &[Story], title: &str) -> serde_json::Value {
    let items: Vec<serde_json::Value> = stories
        .iter()
        .map(|s| {
            let mut item = json!({
                "id": s.id.to_string(),
                "url": s.url,
                "title": s.title.clone().unwrap_or_default(),
                "content_html": s.html,
                "content_text": s.text,
                "_newsdesk": {
                    "id": s.id,
                    "source": s.source,
                    "status": s.status.as_str(),
                    "guid": s.guid,
                    "fetched_at": rfc3339(s.fetched_at),
                    "fetched_url": via_url(s),
                    "site_name": s.site_name,
                    "topic_score": s.topic_score,
                    "cluster_id": s.cluster_id,
                },
            });
            if let Some(p) = s.published_at {
                item["date_published"] = json!(rfc3339(p));
            }
            if let Some(u) = s.updated_at {
                item["date_modified"] = json!(rfc3339(u));
            }
            if !s.authors.is_empty() {
                let authors: Vec<_> = s.authors.iter().map(|a| json!({ "name": a })).collect();
                item["authors"] = json!(authors);
            }
            if let Some(lang) = &s.language {
                item["language"] = json!(lang);
            }
            if let Some(summary) = &s.summary {
                item["summary"] = json!(summary);
            }
            item
        })
        .collect();
    json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": items,
    })
}

/// Atom 1.0 (RFC 4287).
pub fn atom(stories: &[Story], title: &str) -> String {
    atom_related(stories, &Relations::default(), title)
}

/// Atom 1.0 with each entry's cluster and related sources.
fn atom_related(stories: &[Story], related: &Relations, title: &str) -> String {
    let updated = stories
        .iter()
        .map(|s| s.fetched_at)
        .max()
        .unwrap_or_else(Utc::now);
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="utf-8"?>"#);
    let _ = writeln!(out, r#"<feed xmlns="http://www.w3.org/2005/Atom">"#);
    let _ = writeln!(out, "  <id>urn:newsdesk:stories</id>");
    let _ = writeln!(out, "  <title>{}</title>", xml_text(title));
    let _ = writeln!(out, "  <updated>{}</updated>", rfc3339(updated));
    let _ = writeln!(out, "  <generator>newsdesk</generator>");
    for s in stories {
        match &s.language {
            Some(lang) => {
                let _ = writeln!(out, r#"  <entry xml:lang="{}">"#, xml_text(lang));
            }
            None => {
                let _ = writeln!(out, "  <entry>");
            }
        }
        let _ = writeln!(out, "    <id>{}</id>", atom_id(s.id));
        let _ = writeln!(
            out,
            "    <title>{}</title>",
            xml_text(s.title.as_deref().unwrap_or(""))
        );
        let _ = writeln!(
            out,
            r#"    <link rel="alternate" href="{}"/>"#,
            xml_text(&s.url)
        );
        if let Some(via) = via_url(s) {
            let _ = writeln!(out, r#"    <link rel="via" href="{}"/>"#, xml_text(&via));
        }
        // atom:updated is required: the stated modification, else publication, else fetch time.
        let updated = s.updated_at.or(s.published_at).unwrap_or(s.fetched_at);
        let _ = writeln!(out, "    <updated>{}</updated>", rfc3339(updated));
        if let Some(p) = s.published_at {
            let _ = writeln!(out, "    <published>{}</published>", rfc3339(p));
        }
        // An entry needs an author when the feed has none: the source stands in.
        let fallback = [s.source.clone()];
        let authors = if s.authors.is_empty() {
            &fallback[..]
        } else {
            &s.authors[..]
        };
        for a in authors {
            let _ = writeln!(out, "    <author><name>{}</name></author>", xml_text(a));
        }
        if let Some(site) = &s.site_name {
            let _ = writeln!(
                out,
                "    <source><title>{}</title></source>",
                xml_text(site)
            );
        }
        let _ = writeln!(
            out,
            r#"    <category term="{}" label="source"/>"#,
            xml_text(&s.source)
        );
        if let Some(summary) = &s.summary {
            let _ = writeln!(out, "    <summary>{}</summary>", xml_text(summary));
        }
        let _ = writeln!(
            out,
            r#"    <content type="html">{}</content>"#,
            xml_text(&s.html)
        );
        atom_relations(&mut out, s, related);
        let _ = writeln!(out, "  </entry>");
    }
    let _ = writeln!(out, "</feed>");
    out
}

/// One story object per line, the same fields as `newsdesk stories --format json`.
pub fn ndjson(stories: &[Story]) -> String {
    let mut out = String::new();
    for s in stories {
        if let Ok(line) = serde_json::to_string(s) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// The `_newsdesk` fields of a story's relations.
fn relations_json(s: &Story, related: &Relations) -> serde_json::Value {
    let r = related.get(&s.id).cloned().unwrap_or_default();
    json!({
        "also_reported_by": r.also_reported_by(&s.source),
        "same_event": r.same_event,
        "duplicates": r.duplicates,
    })
}

/// Adds each item's relations under `_newsdesk` (items are in the order of `stories`).
fn add_relations_to_json_feed(
    feed: &mut serde_json::Value,
    stories: &[Story],
    related: &Relations,
) {
    let Some(items) = feed.get_mut("items").and_then(|i| i.as_array_mut()) else {
        return;
    };
    for (item, s) in items.iter_mut().zip(stories) {
        if let Some(ext) = item.get_mut("_newsdesk").and_then(|e| e.as_object_mut()) {
            if let serde_json::Value::Object(fields) = relations_json(s, related) {
                ext.extend(fields);
            }
        }
    }
}

/// NDJSON with each story's relations (`also_reported_by`, `same_event`, `duplicates`).
fn ndjson_related(stories: &[Story], related: &Relations) -> String {
    let mut out = String::new();
    for s in stories {
        let Ok(mut v) = serde_json::to_value(s) else {
            continue;
        };
        if let (Some(obj), serde_json::Value::Object(fields)) =
            (v.as_object_mut(), relations_json(s, related))
        {
            obj.extend(fields);
        }
        if let Ok(line) = serde_json::to_string(&v) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// An Atom entry's cluster (a category) and related reports (`related` links, one per other
/// story of the event and per dropped copy, titled with its source).
fn atom_relations(out: &mut String, s: &Story, related: &Relations) {
    if let Some(c) = s.cluster_id {
        let _ = writeln!(
            out,
            r#"    <category term="cluster:{c}" label="event cluster"/>"#
        );
    }
    let Some(r) = related.get(&s.id) else {
        return;
    };
    let links = r
        .same_event
        .iter()
        .map(|m| (m.url.as_str(), &m.source))
        .chain(
            r.duplicates
                .iter()
                .filter_map(|d| Some((d.url.as_deref()?, &d.source))),
        );
    for (url, source) in links {
        let _ = writeln!(
            out,
            r#"    <link rel="related" href="{}" title="{}"/>"#,
            xml_text(url),
            xml_text(source)
        );
    }
}
