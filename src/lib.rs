//! newsdesk: polls feeds and pages, extracts clean article bodies, drops duplicates, keeps the
//! stories on the configured topic and stores them for publishing.
//!
//! Data flows one way: [`config`] → [`schedule`] → [`pipeline`] → ([`source`], [`fetch`],
//! [`extract`], [`dedup`], [`topic`]) → [`store`]. The binary's CLI and the [`admin`] endpoint only
//! call into this library.

pub mod admin;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod desk;
pub mod encoding;
pub mod extract;
pub mod fetch;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod publish;
pub mod schedule;
pub mod source;
pub mod store;
pub mod topic;
