//! Access tokens (HS256 JWTs naming the user and the device session) and refresh tokens
//! (random, single-use, stored only as their SHA-256).

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The device session id: revoking it kills the token at once.
    pub sid: Uuid,
    pub iat: u64,
    pub exp: u64,
}

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
}

/// A fresh refresh token: give `token` to the client, store `hash`.
pub struct IssuedRefresh {
    pub token: String,
    pub hash: Vec<u8>,
}

impl TokenService {
    pub fn new(secret: &[u8], access_ttl_secs: u64, refresh_ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is exact: a revoked-by-time token must not live on for a minute of leeway.
        validation.leeway = 0;
        validation.validate_exp = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl_secs,
            refresh_ttl_secs,
        }
    }

    pub fn issue_access(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        now_secs: u64,
    ) -> ApiResult<String> {
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            iat: now_secs,
            exp: now_secs + self.access_ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            ApiError::Internal
        })
    }

    pub fn verify_access(&self, token: &str) -> ApiResult<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::TokenExpired,
                _ => ApiError::Unauthorized("invalid access token"),
            })
    }

    pub fn issue_refresh(&self) -> ApiResult<IssuedRefresh> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| {
            tracing::error!(error = %e, "no random source");
            ApiError::Internal
        })?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let hash = refresh_hash(&token);
        Ok(IssuedRefresh { token, hash })
    }
}

pub fn refresh_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn roundtrip_and_rejections() {
        let svc = TokenService::new(&[7u8; 32], 60, 3600);
        let (u, s) = (Uuid::now_v7(), Uuid::now_v7());
        let token = svc.issue_access(u, s, now()).unwrap();
        let claims = svc.verify_access(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (u, s));

        let other = TokenService::new(&[8u8; 32], 60, 3600);
        assert!(matches!(
            other.verify_access(&token),
            Err(ApiError::Unauthorized(_))
        ));
        let expired = svc.issue_access(u, s, now() - 120).unwrap();
        assert!(matches!(
            svc.verify_access(&expired),
            Err(ApiError::TokenExpired)
        ));
        assert!(matches!(
            svc.verify_access("garbage"),
            Err(ApiError::Unauthorized(_))
        ));
    }

    #[test]
    fn refresh_tokens_are_unique_and_hashed() {
        let svc = TokenService::new(&[7u8; 32], 60, 3600);
        let (a, b) = (svc.issue_refresh().unwrap(), svc.issue_refresh().unwrap());
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, refresh_hash(&a.token));
        assert_ne!(a.hash, a.token.as_bytes());
    }
}
