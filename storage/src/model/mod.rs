//! The rows the stores hold. Plain data: no behaviour beyond small helpers.

mod account;
mod chat;
mod media;

pub use account::*;
pub use chat::*;
pub use media::*;
