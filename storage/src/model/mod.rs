//! The rows the stores hold. Plain data: no behaviour beyond small helpers.

mod account;
mod call;
mod chat;
mod media;
mod notification;
mod status;

pub use account::*;
pub use call::*;
pub use chat::*;
pub use media::*;
pub use notification::*;
pub use status::*;
