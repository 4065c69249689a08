//! An Enlace node: its identity (keys and TLS certificate), its configuration, the roster of
//! peers it trusts, the people who may sign in to it, and the HTTPS server that peers and people
//! reach over (pinned) mutual TLS.
#![forbid(unsafe_code)]
// Outside data never meets a panic: product code (tests aside) may not unwrap or expect.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod client;
pub mod config;
pub mod exchange;
mod fsutil;
pub mod identity;
pub mod node_dir;
pub mod person;
pub mod policy;
pub mod project;
pub mod roster;
pub mod server;
pub mod tls;
pub mod users;
