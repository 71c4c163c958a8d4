//! Rate-limit buckets shared by every node, in Redis.
//!
//! Each bucket is a GCRA cell (the "generic cell rate algorithm", equivalent to a token bucket
//! holding `per_min` attempts and regaining `per_min` a minute): one key holding the bucket's
//! "theoretical arrival time" in milliseconds of Redis' own clock, so the nodes' clocks never
//! matter. A Lua script checks and takes from several buckets at once (per user and per IP):
//! either every bucket has room and each loses one attempt, or none is touched and the wait
//! until all have room is returned. Keys expire when their bucket is full again.

use std::time::Duration;

use super::{Cluster, ClusterError};

/// KEYS: the buckets. ARGV[i]: milliseconds per attempt of bucket i; ARGV[n+i]: its capacity.
/// Returns {0, 0} (taken) or {milliseconds to wait, which bucket (1-based) is the emptiest}.
const TAKE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local next_tat = {}
local wait = 0
local worst = 0
for i = 1, n do
  local interval = tonumber(ARGV[i])
  local capacity = tonumber(ARGV[n + i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local over = tat - now - interval * (capacity - 1)
  if over > wait then wait = over; worst = i end
  next_tat[i] = tat + interval
end
if wait > 0 then return {math.ceil(wait), worst} end
for i = 1, n do
  redis.call('SET', KEYS[i], string.format('%.3f', next_tat[i]), 'PX', math.ceil(next_tat[i] - now))
end
return {0, 0}
"#;

/// One bucket: its name (`rule:key`, e.g. `send_user:<uuid>`) and how many attempts a minute
/// it allows (also its burst).
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub per_min: u32,
}

impl Cluster {
    /// Takes one attempt from every bucket, or from none. `Ok(None)`: taken;
    /// `Ok(Some((wait, i)))`: refused until `wait` has passed, `buckets[i]` being the emptiest. Errors when Redis does not answer: the caller decides
    /// what to do without the shared view (the gateway falls back to its own buckets).
    pub async fn take(
        &self,
        buckets: &[Bucket],
    ) -> Result<Option<(Duration, usize)>, ClusterError> {
        if buckets.is_empty() {
            return Ok(None);
        }
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(TAKE).arg(buckets.len());
        for b in buckets {
            cmd.arg(format!("confab:rl:{}", b.name));
        }
        for b in buckets {
            cmd.arg(60_000.0 / f64::from(b.per_min.max(1)));
        }
        for b in buckets {
            cmd.arg(b.per_min.max(1));
        }
        let mut conn = self.conn.clone();
        let (wait_ms, worst): (u64, usize) = cmd.query_async(&mut conn).await?;
        Ok((wait_ms > 0).then(|| (Duration::from_millis(wait_ms), worst.saturating_sub(1))))
    }
}
