//! The rows the stores hold. Plain data: no behaviour beyond small helpers.

mod account;
mod chat;
mod notification;
mod status;

pub use account::*;
pub use chat::*;
pub use notification::*;
pub use status::*;
