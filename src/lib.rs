//! newsdesk: polls feeds and pages, extracts clean article bodies, drops duplicates, keeps the
//! stories on the configured topic and stores them for publishing.
//!
//! Data flows one way: [`config`] → [`schedule`] → [`pipeline`] → ([`source`], [`fetch`],
//! [`extract`], [`dedup`], [`topic`]) → [`store`]. The [`daemon`] (its only entry point, with the
//! admin endpoint) and the binary's CLI only call into the rest of this library.

pub mod config;
pub mod daemon;
pub mod dedup;
pub mod desk;
pub mod export;
pub mod extract;
pub mod fetch;
pub mod pipeline;
pub mod schedule;
pub mod source;
pub mod store;
pub mod topic;
