//! The HMAC key for access tokens: configured, or generated once and kept in the data dir.

use std::io::Write;
use std::path::Path;

use base64::Engine;

pub const KEY_FILE: &str = "jwt.key";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} does not hold a valid key; delete it to generate a new one (this logs everyone out)")]
    Invalid { path: String },
    #[error("no random source: {0}")]
    Random(String),
}

/// The configured secret, or the key in `<data_dir>/jwt.key`, created (mode 0600) if absent.
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<Vec<u8>, SecretError> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = data_dir.join(KEY_FILE);
    let shown = path.display().to_string();
    let io = |source| SecretError::Io {
        path: shown.clone(),
        source,
    };
    let engine = base64::engine::general_purpose::STANDARD;
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = engine
                .decode(text.trim())
                .map_err(|_| SecretError::Invalid {
                    path: shown.clone(),
                })?;
            if key.len() < 32 {
                return Err(SecretError::Invalid { path: shown });
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(io)?;
            let mut key = vec![0u8; 64];
            getrandom::fill(&mut key).map_err(|e| SecretError::Random(e.to_string()))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).map_err(io)?;
            file.write_all(engine.encode(&key).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::info!(path = %shown, "no auth.jwt_secret configured: generated a JWT signing key and saved it");
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(None, dir.path()).unwrap();
        let second = load_or_create(None, dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn configured_secret_wins_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let key = load_or_create(Some("x".repeat(40).as_str()), dir.path()).unwrap();
        assert_eq!(key, "x".repeat(40).into_bytes());
        assert!(!dir.path().join(KEY_FILE).exists());
    }
}
