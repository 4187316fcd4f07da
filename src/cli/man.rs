//! `newsdesk man`: the man pages, rendered from the clap definitions by clap_mangen, so they
//! cannot drift from `--help`. The pages are committed under `man/man1/` (a test checks they
//! match this output), which lets the Debian package and the manual install ship them without
//! running the binary at build time.

use std::path::Path;

use anyhow::Context as _;

/// Writes `newsdesk.1` and one `newsdesk-COMMAND[-SUBCOMMAND].1` per visible command into
/// `dir` (created if missing); gives how many pages were written.
pub fn write_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cmd = cmd.disable_help_subcommand(true);
    // Building fills in the display names (`newsdesk-fetch`) the page names come from.
    cmd.build();
    write_tree(&cmd, dir)
}

fn write_tree(cmd: &clap::Command, dir: &Path) -> anyhow::Result<usize> {
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_tree(sub, dir)?;
    }
    let page = clap_mangen::Man::new(cmd.clone()).manual("newsdesk manual");
    let path = page
        .generate_to(dir)
        .with_context(|| format!("writing {}", dir.join(page.get_filename()).display()))?;
    tracing::debug!(page = %path.display(), "man page written");
    Ok(written + 1)
}
