//! newsdesk: polls feeds and pages, extracts clean article bodies, drops duplicates, keeps the
//! stories on the configured topic and stores them for publishing.
//!
//! Data flows one way: [`config`] → [`schedule`] → [`pipeline`] → ([`source`], [`fetch`],
//! [`extract`], [`dedup`], [`topic`]) → [`store`]. The stages hand each other the types of
//! [`model`], a leaf; each reads only its own section of [`config`]; only the pipeline orders
//! them. The [`daemon`] (the only entry point of a long-running process, with the admin
//! endpoint, metrics, systemd and the desk it serves) and the binary's CLI only call into the
//! rest of this library. `tests/architecture.rs` checks the import rule (its layer table is the
//! map; docs/ARCHITECTURE.md explains it).

pub mod config;
pub mod daemon;
pub mod dedup;
pub mod desk;
pub mod encoding;
pub mod export;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod pipeline;
pub mod schedule;
pub mod source;
pub mod store;
pub mod topic;
