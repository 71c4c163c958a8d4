//! Chat actors: one per active chat, the single writer of its timeline.

mod actor;
mod directory;
pub mod group;
pub mod ops;

pub use actor::{ChatActor, ChatRules, Mark, Post, Sent, Typing};
pub use directory::ChatDirectory;
pub use ops::{GroupOp, Op, Windows};
