//! The rows the stores hold. Plain data: no behaviour beyond small helpers.

mod account;
mod chat;
mod status;

pub use account::*;
pub use chat::*;
pub use status::*;
