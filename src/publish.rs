//! Handoff to publishing: stories as JSON Feed 1.1, Atom 1.0 or NDJSON, and sources as OPML 2.0
//! (export and import).
//!
//! Takes stored [`Story`]s or configured sources; gives documents as strings. A story's id in
//! every format is the store's id (`"42"` in JSON Feed, `urn:newsdesk:story:42` in Atom), the
//! one `newsdesk stories publish` and `POST /stories/publish` take.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::escape::escape;
use serde::Serialize;
use serde_json::json;

use crate::config::{SourceConfig, SourceKind};
use crate::model::Story;

/// Export format of stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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
            item
        })
        .collect();
    json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": items,
    })
}

/// Drops characters XML 1.0 does not allow, then escapes.
fn xml_text(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
        .collect();
    escape(clean.as_str()).into_owned()
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

/// The config text with `[[sources]]` entries for `added` appended; the rest of the file,
/// comments included, is kept as it was.
pub fn append_sources_toml(
    config_text: &str,
    added: &[SourceConfig],
    from: &std::path::Path,
) -> String {
    let mut out = config_text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\n# Imported from {} on {}.",
        from.display(),
        Utc::now().format("%Y-%m-%d")
    );
    for s in added {
        let mut t = toml::Table::new();
        t.insert("name".into(), s.name.clone().into());
        t.insert("kind".into(), s.kind.as_str().into());
        t.insert("url".into(), s.url.clone().into());
        if let Some(sel) = &s.link_selector {
            t.insert("link_selector".into(), sel.clone().into());
        }
        let mut doc = toml::Table::new();
        doc.insert("sources".into(), toml::Value::Array(vec![t.into()]));
        let _ = write!(out, "\n{}", doc);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Related sources: the other reports of a story's event, and the copies dropped for it
// ---------------------------------------------------------------------------------------------

/// Another stored story of the same event cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SameEvent {
    /// Its story id.
    pub id: i64,
    /// Its source.
    pub source: String,
    /// Its URL.
    pub url: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// An item dropped as a duplicate of a story: which source carried the same story, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroppedCopy {
    /// Its source.
    pub source: String,
    /// Its URL.
    pub url: Option<String>,
    /// When it was dropped.
    pub at: DateTime<Utc>,
}

/// What an editor wants beside a story: the other reports of its event and the copies dropped
/// for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoryRelations {
    /// The other stories of its cluster, oldest first.
    pub same_event: Vec<SameEvent>,
    /// The duplicates dropped for it, oldest first.
    pub duplicates: Vec<DroppedCopy>,
}

impl StoryRelations {
    /// The other sources that carried the event (its cluster's stories and the copies dropped
    /// for it), each once, without the story's own source.
    pub fn also_reported_by(&self, own_source: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let sources = self
            .same_event
            .iter()
            .map(|s| &s.source)
            .chain(self.duplicates.iter().map(|d| &d.source));
        for src in sources {
            if src != own_source && !out.contains(src) {
                out.push(src.clone());
            }
        }
        out
    }
}

/// Relations by story id.
pub type Relations = std::collections::HashMap<i64, StoryRelations>;

/// Most stories of one cluster read for its relations.
const CLUSTER_READ: i64 = 200;
/// Most duplicate events read for one listing.
const DUPLICATES_READ: i64 = 20_000;

/// The relations of `stories`: each cluster's other stories and the duplicate events that
/// name a story (since the oldest story was fetched).
pub async fn relations(
    store: &dyn crate::store::Store,
    stories: &[Story],
) -> Result<Relations, crate::store::StoreError> {
    use crate::model::Outcome;
    use crate::store::{EventFilter, StoryFilter};
    let mut by_cluster: std::collections::BTreeMap<i64, Vec<Story>> = Default::default();
    for c in stories.iter().filter_map(|s| s.cluster_id) {
        if by_cluster.contains_key(&c) {
            continue;
        }
        let filter = StoryFilter {
            cluster_id: Some(c),
            limit: CLUSTER_READ,
            ..StoryFilter::default()
        };
        let mut mates = store.stories(&filter).await?;
        mates.sort_by_key(|m| m.id);
        by_cluster.insert(c, mates);
    }
    let mut out = Relations::new();
    for s in stories {
        let same_event = s
            .cluster_id
            .and_then(|c| by_cluster.get(&c))
            .map(|mates| {
                mates
                    .iter()
                    .filter(|m| m.id != s.id)
                    .map(|m| SameEvent {
                        id: m.id,
                        source: m.source.clone(),
                        url: m.url.clone(),
                        fetched_at: m.fetched_at,
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            s.id,
            StoryRelations {
                same_event,
                duplicates: Vec::new(),
            },
        );
    }
    if let Some(since) = stories.iter().map(|s| s.fetched_at).min() {
        let filter = EventFilter {
            outcome: Some(Outcome::Duplicate),
            since: Some(since),
            limit: DUPLICATES_READ,
            ..EventFilter::default()
        };
        let mut events = store.events(&filter).await?;
        events.sort_by_key(|e| (e.at, e.id));
        for e in events {
            if let Some(r) = e.duplicate_of.and_then(|of| out.get_mut(&of)) {
                r.duplicates.push(DroppedCopy {
                    source: e.source,
                    url: e.url,
                    at: e.at,
                });
            }
        }
    }
    Ok(out)
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
        let text = "# mine\n[[sources]]\nname = \"the-verge\"\nkind = \"feed\"\nurl = \"https://v.example/rss\"\n";
        let out = append_sources_toml(text, &plan.added, std::path::Path::new("f.opml"));
        assert!(out.starts_with("# mine\n"));
        let c = crate::config::Config::parse(&out, std::path::Path::new("t.toml")).expect("valid");
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[1].url, "https://v.example/ai.rss");
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
