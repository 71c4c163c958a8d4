//! In-process token buckets for login and registration (per client IP and per account).
//! Redis-backed counters replace this when several nodes share the limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets never grow past this many keys: idle full buckets are dropped first.
const MAX_KEYS: usize = 100_000;

pub struct RateLimiter {
    /// Attempts a bucket holds, and how many it regains per minute.
    per_min: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(per_min: u32) -> Self {
        Self {
            per_min: per_min.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one attempt for `key`; `Err(seconds)` says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let capacity = f64::from(self.per_min);
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| b.refilled(now, per_sec, capacity) < capacity);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        bucket.tokens = bucket.refilled(now, per_sec, capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

impl Bucket {
    fn refilled(&self, now: Instant, per_sec: f64, capacity: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * per_sec).min(capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_the_burst_then_refuses_with_a_wait() {
        let limiter = RateLimiter::new(3);
        let t = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("ip", t).is_ok());
        }
        assert_eq!(
            limiter.check_at("ip", t),
            Err(20),
            "one token per 20 s at 3/min"
        );
        assert!(limiter.check_at("other", t).is_ok(), "keys are independent");
        assert!(
            limiter.check_at("ip", t + Duration::from_secs(21)).is_ok(),
            "refills over time"
        );
    }
}
