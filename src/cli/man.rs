//! `newsdesk man`: the man pages, rendered from the clap definitions by clap_mangen, so they
//! cannot drift from `--help`. The pages are committed under `man/man1/` (a test checks they
//! match this output), which lets the Debian package and the manual install ship them without
//! running the binary at build time.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use roff::{bold, roman, Roff};

/// Environment variables the binary reads: name, meaning.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("NEWSDESK_CONFIG", "config file, when --config is not given"),
    (
        "NEWSDESK_ADMIN_TOKEN",
        "bearer token for the admin endpoint; overrides admin.token and admin.token_file",
    ),
    (
        "RUST_LOG",
        "log filter (default: info for `run`, warn otherwise)",
    ),
    (
        "PGPASSWORD, PGPASSFILE",
        "the PostgreSQL password, as with libpq",
    ),
    (
        "CREDENTIALS_DIRECTORY",
        "set by systemd for LoadCredential=; usable in admin.token_file and \
         storage.password_file as ${CREDENTIALS_DIRECTORY}",
    ),
];

/// Files of an installed service: path, meaning.
const FILES: &[(&str, &str)] = &[
    (
        "/etc/newsdesk/newsdesk.toml",
        "the service's config; the CLI reads it when neither --config nor NEWSDESK_CONFIG is \
         given and it exists (else config/newsdesk.toml)",
    ),
    (
        "/etc/default/newsdesk",
        "environment of the systemd unit (RUST_LOG, NEWSDESK_ADMIN_TOKEN, PGPASSWORD)",
    ),
    (
        "/var/lib/newsdesk/newsdesk.db",
        "the service's SQLite database",
    ),
    (
        "/run/newsdesk/admin.sock",
        "the daemon's admin endpoint, usable by the newsdesk group",
    ),
];

/// What the main page and `--help` say about access beside the tables.
const ACCESS: &str = "Read-only commands (stories, logs, sources, export, status) open the \
database without migrating or locking it, so members of the newsdesk group can run them; \
writes (fetch, stories publish|reject, export --mark-published) go through the daemon's \
socket when it runs. Every configuration key is described in \
/usr/share/doc/newsdesk/README.md.";

/// The environment and files as plain text, for `newsdesk --help`.
pub fn environment_and_files_text() -> String {
    let mut out = String::from("Environment:\n");
    for (k, v) in ENVIRONMENT {
        out.push_str(&format!("  {k}\n      {v}\n"));
    }
    out.push_str("\nFiles:\n");
    for (k, v) in FILES {
        out.push_str(&format!("  {k}\n      {v}\n"));
    }
    out.push('\n');
    out.push_str(ACCESS);
    out
}

/// Writes `newsdesk.1` and one `newsdesk-COMMAND[-SUBCOMMAND].1` per visible command into
/// `dir` (created if missing); gives how many pages were written.
pub fn write_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // The main page gets ENVIRONMENT/FILES sections instead of `--help`'s text (the caller
    // passes the command without it).
    let mut cmd = cmd.disable_help_subcommand(true);
    // Building fills in the display names (`newsdesk-fetch`) the page names come from.
    cmd.build();
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_tree(sub, dir)?;
    }
    let page = man(&cmd);
    let path = dir.join(page.get_filename());
    let mut buf = Vec::new();
    page.render(&mut buf)?;
    extra_sections().to_writer(&mut buf)?;
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    file.write_all(&buf)?;
    Ok(written + 1)
}

fn man(cmd: &clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd.clone()).manual("newsdesk manual")
}

fn write_tree(cmd: &clap::Command, dir: &Path) -> anyhow::Result<usize> {
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_tree(sub, dir)?;
    }
    let page = man(cmd);
    page.generate_to(dir)
        .with_context(|| format!("writing {}", dir.join(page.get_filename()).display()))?;
    Ok(written + 1)
}

fn extra_sections() -> Roff {
    let mut roff = Roff::default();
    for (title, items) in [("ENVIRONMENT", ENVIRONMENT), ("FILES", FILES)] {
        roff.control("SH", [title]);
        for (k, v) in items {
            roff.control("TP", []);
            roff.text([bold(*k)]);
            roff.text([roman(*v)]);
        }
    }
    roff.control("SH", ["ACCESS"]);
    roff.text([roman(ACCESS)]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "systemctl(1), journalctl(1), systemd.exec(5) (LoadCredential=), \
         /usr/share/doc/newsdesk/README.md",
    )]);
    roff
}
