//! The `newsdesk extract` command: runs [`super::extract_with`] over files and prints the results.
//!
//! Takes paths (`-` is stdin, `*.gz` is gunzipped), an optional page URL, site rules and an
//! output format; writes text, a JSON value or NDJSON to the given writer.

use super::{extract_with, Article, SiteRules};
use std::io::Read;
use std::path::{Path, PathBuf};
use url::Url;

/// Output format of the extract command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractFormat {
    /// Title, blank line, body text; a `==> FILE <==` header per file when there are several.
    Text,
    /// One JSON object, or one array of objects for several files.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Why the extract command failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractCommandError {
    /// A file (or stdin) could not be read or gunzipped.
    #[error("reading {path}: {source}")]
    Read {
        /// The path as given (`-` for stdin).
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The output could not be written.
    #[error("writing output: {0}")]
    Write(#[from] std::io::Error),
    /// JSON serialization failed.
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(serde::Serialize)]
struct Record<'a> {
    file: &'a str,
    title: &'a Option<String>,
    authors: &'a [String],
    published_at: Option<String>,
    updated_at: Option<String>,
    site_name: &'a Option<String>,
    language: &'a Option<String>,
    canonical_url: &'a Option<String>,
    text: &'a str,
    html: &'a str,
}

impl<'a> Record<'a> {
    fn new(file: &'a str, a: &'a Article) -> Self {
        Record {
            file,
            title: &a.title,
            authors: &a.authors,
            published_at: a.published_at.map(|d| d.to_rfc3339()),
            updated_at: a.updated_at.map(|d| d.to_rfc3339()),
            site_name: &a.site_name,
            language: &a.language,
            canonical_url: &a.canonical_url,
            text: &a.text,
            html: &a.html,
        }
    }
}

/// Reads one input: stdin for `-`, gunzipped for `.gz`, decoded as UTF-8 or by detection.
fn read_input(path: &Path) -> Result<String, ExtractCommandError> {
    let name = path.display().to_string();
    let err = |source| ExtractCommandError::Read {
        path: name.clone(),
        source,
    };
    let mut raw = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut raw).map_err(err)?;
    } else {
        raw = std::fs::read(path).map_err(err)?;
    }
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(err)?;
        raw = out;
    }
    Ok(crate::encoding::decode_guess(raw))
}

/// Extracts every file in turn and writes the results to `out` in `format`.
pub fn run_extract_command(
    files: &[PathBuf],
    url: Option<&Url>,
    rules: &SiteRules,
    format: ExtractFormat,
    out: &mut dyn std::io::Write,
) -> Result<(), ExtractCommandError> {
    let many = files.len() > 1;
    if format == ExtractFormat::Json && many {
        out.write_all(b"[")?;
    }
    for (n, path) in files.iter().enumerate() {
        let html = read_input(path)?;
        let article = extract_with(&html, url, rules);
        let name = path.display().to_string();
        match format {
            ExtractFormat::Text => {
                if many {
                    writeln!(out, "{}==> {name} <==", if n > 0 { "\n" } else { "" })?;
                }
                if let Some(title) = &article.title {
                    writeln!(out, "{title}\n")?;
                }
                writeln!(out, "{}", article.text)?;
            }
            ExtractFormat::Json => {
                if many && n > 0 {
                    out.write_all(b",\n")?;
                }
                serde_json::to_writer_pretty(&mut *out, &Record::new(&name, &article))?;
            }
            ExtractFormat::Ndjson => {
                serde_json::to_writer(&mut *out, &Record::new(&name, &article))?;
                out.write_all(b"\n")?;
            }
        }
    }
    match format {
        ExtractFormat::Json if many => out.write_all(b"]\n")?,
        ExtractFormat::Json => out.write_all(b"\n")?,
        _ => {}
    }
    out.flush()?;
    Ok(())
}
