//! argon2id password hashing, always on the blocking pool: a hash costs tens of milliseconds
//! of CPU and must never stall an async worker.

use std::sync::OnceLock;

use actix_web::web;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::error::{ApiError, ApiResult};

/// Hashes with argon2id and the crate's recommended parameters, as a PHC string.
pub async fn hash(password: String) -> ApiResult<String> {
    web::block(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::Internal
    })
}

/// Whether `password` matches `phc`. With `phc = None` (unknown user) it still spends the time
/// of a verification, so response times do not reveal which usernames exist.
pub async fn verify(password: String, phc: Option<String>) -> ApiResult<bool> {
    web::block(move || {
        let known = phc.is_some();
        let Some(phc) = phc.or_else(|| dummy_hash().map(str::to_owned)) else {
            return false;
        };
        let Ok(parsed) = PasswordHash::new(&phc) else {
            tracing::error!("stored password hash does not parse");
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .map_err(|_| ApiError::Internal)
}

/// A hash of a random password with the default parameters, made once; only compared against.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let mut secret = [0u8; 16];
            getrandom::fill(&mut secret).ok()?;
            Argon2::default()
                .hash_password(&secret)
                .ok()
                .map(|h| h.to_string())
        })
        .as_deref()
}
