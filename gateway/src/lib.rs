//! Confab's gateway: the HTTP REST API, (from the realtime core on) the WebSocket session
//! actors, authentication, configuration, OpenAPI docs and `/metrics`; and the `confab` binary.
//!
//! It is the only crate that knows HTTP. It depends on `confab-engine` for domain rules and on
//! `confab-storage` for the store; nothing depends on it.

pub mod admin;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod health;
pub mod http;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod server;
pub mod state;
pub mod store;
pub mod wire;
pub mod ws;
