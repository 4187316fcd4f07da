//! Edits of the config file that keep the operator's text: the file is appended to, never
//! re-serialized, so comments and layout survive (`newsdesk sources import`).

use std::fmt::Write as _;

use chrono::Utc;

use super::SourceConfig;

/// The config text with `[[sources]]` entries for `added` appended; the rest of the file,
/// comments included, is kept as it was.
pub fn append_sources(config_text: &str, added: &[SourceConfig], from: &std::path::Path) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SourceKind};

    #[test]
    fn appended_sources_keep_the_text_and_parse() {
        let text = "# mine\n[[sources]]\nname = \"the-verge\"\nkind = \"feed\"\nurl = \"https://v.example/rss\"";
        let added = SourceConfig {
            name: "page \"x\"".into(),
            kind: SourceKind::Page,
            url: "https://v.example/ai".into(),
            link_selector: Some("a.post".into()),
            body_selector: None,
            drop_selectors: Vec::new(),
            max_body_bytes: None,
            interval: None,
            max_items_per_run: None,
            enabled: true,
        };
        let out = append_sources(text, &[added], std::path::Path::new("f.opml"));
        assert!(out.starts_with("# mine\n"), "{out}");
        assert!(out.contains("# Imported from f.opml on "), "{out}");
        let c = Config::parse(&out, std::path::Path::new("t.toml")).expect("valid");
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[1].name, "page \"x\"");
        assert_eq!(c.sources[1].kind, SourceKind::Page);
        assert_eq!(c.sources[1].link_selector.as_deref(), Some("a.post"));
    }
}
