//! Chat actors: one per active chat, the single writer of its timeline.

mod actor;
mod directory;

pub use actor::{ChatActor, Mark, Post, Sent, Typing};
pub use directory::ChatDirectory;
