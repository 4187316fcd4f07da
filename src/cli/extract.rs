//! `newsdesk extract`: runs the library's extractor over saved pages and prints the results.
//! Needs no config: it must work on a bare checkout or a laptop.
//!
//! Takes paths (`-` is stdin, `*.gz` is gunzipped), an optional page URL, site rules and an
//! output format; writes text, a JSON value or NDJSON to stdout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use newsdesk::extract::{extract_with, SiteRules};
use newsdesk::model::Article;
use url::Url;

// `newsdesk extract`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    /// Page URL, to resolve relative links.
    #[arg(long)]
    url: Option<url::Url>,
    /// CSS selector of the body element(s), to try a source's `body_selector`.
    #[arg(long)]
    body_selector: Option<String>,
    /// CSS selector of elements to remove (repeatable), to try a source's `drop_selectors`.
    #[arg(long = "drop-selector")]
    drop_selectors: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExtractFormat::Text)]
    format: ExtractFormat,
    /// Files to read.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Output format of the extract command (plain comments on the variants: doc comments would
/// add value descriptions to `--help` and the man pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExtractFormat {
    // Title, blank line, body text; a `==> FILE <==` header per file when there are several.
    Text,
    // One JSON object, or one array of objects for several files.
    Json,
    // One JSON object per line.
    Ndjson,
}

/// Extracts the files and prints the results; exit 2 for bad selectors, 1 when a file cannot be
/// read or the output written.
pub fn run(args: &ExtractArgs) -> ExitCode {
    let rules = match SiteRules::new(args.body_selector.as_deref(), &args.drop_selectors) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match extract_files(
        &args.files,
        args.url.as_ref(),
        &rules,
        args.format,
        &mut out,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why the extract command failed.
#[derive(Debug, thiserror::Error)]
enum ExtractCommandError {
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
    summary: &'a Option<String>,
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
            summary: &a.summary,
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
    Ok(newsdesk::encoding::decode_guess(raw))
}

/// Extracts every file in turn and writes the results to `out` in `format`.
fn extract_files(
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
