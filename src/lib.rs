//! newsdesk: polls feeds and pages, extracts clean article bodies, drops duplicates, keeps the
//! stories on the configured topic and stores them for publishing.
//!
//! Data flows one way: [`schedule`] → [`pipeline`] → ([`fetch`], [`source`], [`extract`],
//! [`dedup`], [`topic`]) → [`store`]. The stages hand each other the types of [`model`], a leaf;
//! each reads only its own section of [`config`]; only the pipeline orders them. The binary's CLI
//! and the [`admin`] endpoint only call into this library. `tests/architecture.rs` checks the
//! import rule (its layer table is the map).

pub mod admin;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod desk;
pub mod extract;
pub mod fetch;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod publish;
pub mod schedule;
pub mod source;
pub mod store;
pub mod topic;
