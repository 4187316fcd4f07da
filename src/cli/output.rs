//! Plain-text tables for the terminal.

use std::fmt::Write as _;

/// Renders rows as a left-aligned table with a header; cells longer than `max_width` are cut.
pub fn table(header: &[&str], rows: &[Vec<String>], max_width: usize) -> String {
    let cut = |s: &str| -> String {
        let one_line = escape_controls(&s.replace(['\n', '\r', '\t'], " "));
        if one_line.chars().count() > max_width {
            let mut c: String = one_line.chars().take(max_width.saturating_sub(1)).collect();
            c.push('…');
            c
        } else {
            one_line
        }
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut parts = Vec::new();
        for (i, c) in cells.enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            parts.push(format!("{c:<w$}"));
        }
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &mut header.iter().copied());
    for r in &rows {
        line(&mut out, &mut r.iter().map(String::as_str));
    }
    out
}

/// Shows control and bidirectional formatting characters as `\u{…}` escapes, so nothing
/// stored (older rows predate cleaning at ingestion) can drive or reorder the terminal.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if newsdesk::source::is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `2026-11-23 10:15:00` or `-`.
pub fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The value or `-`.
pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_escape_terminal_controls() {
        let t = table(&["T"], &[vec!["a\u{1b}]0;pwned\u{7}b\u{202e}c".into()]], 60);
        assert!(
            !t.lines()
                .any(|l| l.chars().any(newsdesk::source::is_unsafe_char)),
            "{t:?}"
        );
        assert!(t.contains("a\\u{1b}]0;pwned\\u{7}b\\u{202e}c"), "{t}");
    }
}
