//! Authentication: password hashing, access and refresh tokens, the JWT key, and the
//! [`Authed`] extractor that every protected handler takes.

mod extractor;
pub mod password;
pub mod secret;
mod tokens;

pub use extractor::{authenticate, bearer, Authed};
pub use tokens::{refresh_hash, Claims, IssuedRefresh, TokenService};
