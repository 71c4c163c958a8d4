//! Rate limits per client IP and per user, for REST and WebSocket commands.
//!
//! Every limit is a bucket holding `n` attempts and regaining `n` a minute (`rate_limit.*`).
//! On a single node the buckets live in process. In a cluster they live in Redis
//! (`Cluster::take`), so a client spreading its attempts over the nodes meets one limit; if
//! Redis does not answer within [`SHARED_TIMEOUT`], the node falls back to its own buckets
//! (still limited, per node) rather than refusing or letting everything through, and keeps
//! to them for [`SHARED_RETRY`] before asking Redis again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use confab_engine::cluster::{Bucket, Cluster};

use crate::config::RateLimitConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Buckets never grow past this many keys: idle full buckets are dropped first.
const MAX_KEYS: usize = 100_000;
/// How long a command waits for the shared buckets before using this node's own.
const SHARED_TIMEOUT: Duration = Duration::from_millis(250);
/// After Redis failed a check, how long this node uses its own buckets before asking again.
const SHARED_RETRY: Duration = Duration::from_secs(1);

/// What a limit counts. Its name is the `limit` label of `confab_rate_limited_total` and part
/// of the Redis key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    RegisterPerIp,
    LoginPerIp,
    LoginPerAccount,
    SendPerUser,
    SendPerIp,
    TypingPerUser,
    TypingPerIp,
}

impl Rule {
    const ALL: [Rule; 7] = [
        Rule::RegisterPerIp,
        Rule::LoginPerIp,
        Rule::LoginPerAccount,
        Rule::SendPerUser,
        Rule::SendPerIp,
        Rule::TypingPerUser,
        Rule::TypingPerIp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::RegisterPerIp => "register_per_ip",
            Rule::LoginPerIp => "login_per_ip",
            Rule::LoginPerAccount => "login_per_account",
            Rule::SendPerUser => "send_per_user",
            Rule::SendPerIp => "send_per_ip",
            Rule::TypingPerUser => "typing_per_user",
            Rule::TypingPerIp => "typing_per_ip",
        }
    }

    fn per_min(self, c: &RateLimitConfig) -> u32 {
        match self {
            Rule::RegisterPerIp => c.register_per_ip_per_min,
            Rule::LoginPerIp => c.login_per_ip_per_min,
            Rule::LoginPerAccount => c.login_per_account_per_min,
            Rule::SendPerUser => c.send_per_user_per_min,
            Rule::SendPerIp => c.send_per_ip_per_min,
            Rule::TypingPerUser => c.typing_per_user_per_min,
            Rule::TypingPerIp => c.typing_per_ip_per_min,
        }
    }
}

/// Every rate limit of the node.
pub struct Limits {
    /// This node's buckets, indexed by `Rule as usize`.
    local: [RateLimiter; Rule::ALL.len()],
    shared: Option<Arc<Cluster>>,
    /// Redis failed a check: until then, this node's own buckets apply without asking it.
    skip_shared_until: Mutex<Instant>,
    trusted_proxies: Vec<IpAddr>,
}

impl Limits {
    pub fn new(
        config: &RateLimitConfig,
        trusted_proxies: &[IpAddr],
        shared: Option<Arc<Cluster>>,
    ) -> Self {
        let local = Rule::ALL.map(|r| RateLimiter::new(r.per_min(config)));
        Self {
            local,
            shared,
            skip_shared_until: Mutex::new(Instant::now()),
            trusted_proxies: trusted_proxies.to_vec(),
        }
    }

    /// The address per-IP limits count: the TCP peer, or, when the peer is a trusted proxy
    /// (`http.trusted_proxies`), the right-most `X-Forwarded-For` address that is not one.
    pub fn client_ip(&self, req: &HttpRequest) -> String {
        let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
            return "unknown".into();
        };
        if !self.trusted_proxies.contains(&peer) {
            return peer.to_string();
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted_proxies.contains(&ip) => continue,
                Ok(ip) => return ip.to_string(),
                // A hop we cannot read: stop believing the header here.
                Err(_) => break,
            }
        }
        peer.to_string()
    }

    /// Whether the buckets are shared with other nodes (Redis).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Takes one attempt from each `(rule, key)` bucket, or from none of them.
    /// `Err(wait)`: refused; retry after `wait`.
    pub async fn take(&self, checks: &[(Rule, &str)]) -> Result<(), Duration> {
        let Some(cluster) = &self.shared else {
            return self.take_local(checks);
        };
        let buckets: Vec<Bucket> = checks
            .iter()
            .map(|(rule, key)| Bucket {
                name: format!("{}:{key}", rule.name()),
                per_min: self.local[*rule as usize].per_min,
            })
            .collect();
        if Instant::now() < *self.lock_skip() {
            return self.fall_back(checks);
        }
        let failed = match tokio::time::timeout(SHARED_TIMEOUT, cluster.take(&buckets)).await {
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some((wait, worst)))) => {
                return Err(refused(checks[worst.min(checks.len() - 1)].0, wait))
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {SHARED_TIMEOUT:?}"),
        };
        // Do not make every command wait for a Redis that is gone: use this node's buckets
        // for a while, then try again.
        tracing::debug!(error = %failed, "shared rate limits unavailable: this node's own apply");
        *self.lock_skip() = Instant::now() + SHARED_RETRY;
        self.fall_back(checks)
    }

    fn lock_skip(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.skip_shared_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn fall_back(&self, checks: &[(Rule, &str)]) -> Result<(), Duration> {
        Metrics::global().rate_limit_fallbacks.inc();
        self.take_local(checks)
    }

    /// [`Limits::take`] for REST handlers: refusal is `429 rate_limited` with `Retry-After`.
    pub async fn admit(&self, checks: &[(Rule, &str)]) -> Result<(), ApiError> {
        self.take(checks)
            .await
            .map_err(|wait| ApiError::RateLimited {
                retry_after_secs: retry_after_secs(wait),
            })
    }

    /// This node's own buckets. Checked in order: a refusal by a later bucket leaves the
    /// attempt taken from the earlier ones.
    pub fn take_local(&self, checks: &[(Rule, &str)]) -> Result<(), Duration> {
        for (rule, key) in checks {
            self.local[*rule as usize]
                .check(key)
                .map_err(|wait| refused(*rule, wait))?;
        }
        Ok(())
    }
}

fn refused(rule: Rule, wait: Duration) -> Duration {
    Metrics::global()
        .rate_limited
        .with_label_values(&[rule.name()])
        .inc();
    wait
}

/// In-process token buckets: each key's bucket holds `per_min` attempts and regains
/// `per_min` a minute.
pub struct RateLimiter {
    per_min: u32,
    /// Sharded by key hash: every send of every session passes here, so one lock would be
    /// contended by all the HTTP workers.
    shards: [Mutex<HashMap<String, Tokens>>; SHARDS],
}

const SHARDS: usize = 16;

struct Tokens {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(per_min: u32) -> Self {
        Self {
            per_min: per_min.max(1),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    /// Takes one attempt for `key`; `Err(wait)` says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_min);
        let per_sec = capacity / 60.0;
        let shard = {
            use std::hash::{BuildHasher, BuildHasherDefault};
            let h = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
            h.hash_one(key) as usize % SHARDS
        };
        let mut buckets = self.shards[shard].lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(key) {
            if buckets.len() >= MAX_KEYS / SHARDS {
                buckets.retain(|_, b| b.refilled(now, per_sec, capacity) < capacity);
            }
            buckets.insert(
                key.to_owned(),
                Tokens {
                    tokens: capacity,
                    updated: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(key) else {
            return Ok(());
        };
        bucket.tokens = bucket.refilled(now, per_sec, capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

impl Tokens {
    fn refilled(&self, now: Instant, per_sec: f64, capacity: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * per_sec).min(capacity)
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_with_a_wait() {
        let limiter = RateLimiter::new(3);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("ip", t).is_ok());
        }
        assert_eq!(
            limiter.check_at("ip", t).map_err(retry_after_secs),
            Err(20),
            "one token per 20 s at 3/min"
        );
        assert!(limiter.check_at("other", t).is_ok(), "keys are independent");
        assert!(
            limiter.check_at("ip", t + Duration::from_secs(21)).is_ok(),
            "refills over time"
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
