//! The webhook provider: POSTs each notification as JSON to a configured URL, signed, with
//! retries. The receiver checks `X-Confab-Signature` (HMAC-SHA256 over `"{timestamp}.{body}"`
//! with the shared secret, hex, prefixed `v1=`) and `X-Confab-Timestamp` (Unix seconds), and
//! de-duplicates retries by `X-Confab-Notification-Id`.

use std::time::Duration;

use async_trait::async_trait;
use confab_storage::Notification;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Provider;

#[derive(Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// Signs each request when set (recommended): from the environment, never committed.
    pub secret: Option<String>,
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts in all, retrying network errors, 429 and 5xx with doubling back-off.
    pub attempts: u32,
    /// Back-off before the second attempt.
    pub backoff: Duration,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish()
    }
}

pub struct WebhookProvider {
    config: WebhookConfig,
    agent: ureq::Agent,
}

impl WebhookProvider {
    pub fn new(config: WebhookConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .build()
            .into();
        WebhookProvider { config, agent }
    }
}

/// `v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

enum Attempt {
    Done,
    Retry(String),
    GiveUp(String),
}

fn post(agent: &ureq::Agent, config: &WebhookConfig, id: &str, body: &[u8], n: u32) -> Attempt {
    let timestamp = crate::clock::now_millis().max(0) as u64 / 1000;
    let mut request = agent
        .post(&config.url)
        .header("Content-Type", "application/json")
        .header("X-Confab-Notification-Id", id)
        .header("X-Confab-Timestamp", &timestamp.to_string())
        .header("X-Confab-Attempt", &n.to_string());
    if let Some(secret) = &config.secret {
        request = request.header("X-Confab-Signature", &signature(secret, timestamp, body));
    }
    match request.send(body) {
        Ok(r) if r.status().is_success() => Attempt::Done,
        Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
            Attempt::Retry(format!("HTTP {}", r.status()))
        }
        Ok(r) => Attempt::GiveUp(format!("HTTP {}", r.status())),
        Err(e) => Attempt::Retry(e.to_string()),
    }
}

#[async_trait]
impl Provider for WebhookProvider {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn deliver(&self, notification: &Notification) -> Result<(), String> {
        let body = serde_json::to_vec(notification).map_err(|e| e.to_string())?;
        let id = notification.id.to_string();
        let mut backoff = self.config.backoff;
        let mut last = String::new();
        for n in 1..=self.config.attempts.max(1) {
            let (agent, config, id, body) = (
                self.agent.clone(),
                self.config.clone(),
                id.clone(),
                body.clone(),
            );
            let attempt = tokio::task::spawn_blocking(move || post(&agent, &config, &id, &body, n))
                .await
                .map_err(|e| e.to_string())?;
            match attempt {
                Attempt::Done => return Ok(()),
                Attempt::GiveUp(e) => return Err(e),
                Attempt::Retry(e) => last = e,
            }
            if n < self.config.attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(format!(
            "gave up after {} attempts: {last}",
            self.config.attempts
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Expected value computed independently: python3 hmac.new(b'key', b'1700000000.{}', sha256).
        let sig = super::signature("key", 1700000000, b"{}");
        assert_eq!(
            sig,
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(sig, super::signature("other", 1700000000, b"{}"));
    }
}
