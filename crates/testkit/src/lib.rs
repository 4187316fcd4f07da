//! What newsdesk's tests and benches share, in one place: a loopback server ([`loopback`]), the
//! fixture news site and the seeds ([`site`]), a farm of generated sources ([`newsfarm`]), a
//! throwaway PostgreSQL ([`pg`]), the real binary ([`cli`]), where the benchmark corpora are
//! ([`corpora`]) and their readers and metrics ([`aeb`], [`readability`], [`readability_meta`],
//! [`feed_corpus`]).
//!
//! A dev-dependency of newsdesk only. It does not depend on newsdesk itself (that would build
//! the library a second time for every `cargo test --lib`): what it needs from newsdesk is handed
//! in by the caller ([`feed_corpus::FeedApi`], [`readability_meta::MetaExtractor`]).

use std::path::{Path, PathBuf};

pub mod aeb;
pub mod cli;
pub mod corpora;
pub mod feed_corpus;
pub mod loopback;
pub mod newsfarm;
pub mod pg;
pub mod readability;
pub mod readability_meta;
pub mod site;

/// The newsdesk checkout this crate sits in (`crates/testkit` is two levels down).
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map_or_else(|| here.join("../.."), Path::to_path_buf)
}
