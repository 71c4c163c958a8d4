//! The wire types: every body the server reads or writes, defined once, with serde for the
//! encoding and utoipa for the OpenAPI schema. Field rules live in [`validate`].

pub mod call;
pub mod chat;
pub mod media;
pub mod rest;
pub mod schema;
pub mod status;
pub mod validate;
pub mod ws;
