//! Measurement: a process-local clock, per-thread histograms and counters merged at the end,
//! an error tally, and readers for /proc (CPU time, RSS).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Clock: every timestamp embedded in a message is nanoseconds since this process's epoch, so the
// sender and the receiver (both in this process) compare readings of one monotonic clock.

static EPOCH: OnceLock<Instant> = OnceLock::new();

pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

pub fn instant_at(ns: u64) -> Instant {
    epoch() + Duration::from_nanos(ns)
}

// ---------------------------------------------------------------------------------------------
// Histogram: log-linear buckets, 128 per power of two (relative error < 0.4 % at the bucket
// middle), exact below 256 ns, exact min and max. Values are nanoseconds.

const SUB_BITS: u32 = 7;
const SUB: usize = 1 << SUB_BITS;
const LINEAR: u64 = 1 << (SUB_BITS + 1);
const BUCKETS: usize = LINEAR as usize + (63 - SUB_BITS as usize) * SUB;

#[derive(Clone, Default)]
pub struct Hist {
    counts: Vec<u64>,
    pub count: u64,
    pub min: u64,
    pub max: u64,
    sum: u128,
}

fn bucket(v: u64) -> usize {
    if v < LINEAR {
        v as usize
    } else {
        let e = 63 - v.leading_zeros();
        let shift = e - SUB_BITS;
        let mant = (v >> shift) as usize;
        LINEAR as usize + (shift as usize - 1) * SUB + (mant - SUB)
    }
}

fn bucket_value(i: usize) -> u64 {
    if (i as u64) < LINEAR {
        i as u64
    } else {
        let k = i - LINEAR as usize;
        let shift = (k / SUB + 1) as u32;
        let mant = (k % SUB + SUB) as u64;
        (mant << shift).saturating_add((1u64 << shift) / 2)
    }
}

impl Hist {
    pub fn record(&mut self, v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
            self.min = u64::MAX;
        }
        self.counts[bucket(v)] += 1;
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v as u128;
    }

    pub fn merge(&mut self, o: &Hist) {
        if o.count == 0 {
            return;
        }
        if self.counts.is_empty() {
            *self = o.clone();
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }

    /// The value at quantile `q` (0..=1), in ns; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == self.count {
            return self.max;
        }
        let mut cum = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cum += c;
            if cum >= rank {
                return bucket_value(i).clamp(self.min, self.max);
            }
        }
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-thread stats. Each runtime thread records into its own (uncontended) slot; `merged` adds
// them up. A frame's bookkeeping takes the slot once (`with`).

#[derive(Clone, Copy)]
pub enum H {
    /// Send -> `event` received by another member's device.
    Delivery,
    /// Send -> `sent` ack on the sending socket.
    Ack,
    /// TCP connect start -> `hello` received.
    Connect,
    /// Reconnect phase start -> session fully synced.
    Sync,
    /// How late the client sent compared with its schedule (client saturation shows here).
    SendLag,
    /// Send -> the sender's own device got the event back.
    Echo,
}
pub const NH: usize = 6;
pub const HIST_NAMES: [&str; NH] = [
    "delivery",
    "ack",
    "connect_to_hello",
    "reconnect_to_synced",
    "send_lag",
    "echo",
];

#[derive(Clone, Copy)]
pub enum C {
    Sent,
    SentInWindow,
    Acked,
    AckDuplicate,
    SendErrors,
    Deliveries,
    DeliveriesInWindow,
    Echoes,
    OtherEvents,
    OtherFrames,
    Gaps,
    Duplicates,
    Replayed,
    Missing,
    Extra,
    Timeouts,
    Pings,
}
pub const NC: usize = 17;

pub struct Local {
    pub hist: Vec<Hist>,
    pub count: [u64; NC],
}

impl Local {
    fn new() -> Local {
        Local {
            hist: vec![Hist::default(); NH],
            count: [0; NC],
        }
    }
    #[inline]
    pub fn rec(&mut self, h: H, ns: u64) {
        self.hist[h as usize].record(ns);
    }
    #[inline]
    pub fn add(&mut self, c: C, n: u64) {
        self.count[c as usize] += n;
    }
    pub fn get(&self, c: C) -> u64 {
        self.count[c as usize]
    }
    pub fn h(&self, h: H) -> &Hist {
        &self.hist[h as usize]
    }
}

type Slot = Arc<Mutex<Local>>;
static REGISTRY: Mutex<Vec<Slot>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: Slot = {
        let slot = Arc::new(Mutex::new(Local::new()));
        REGISTRY.lock().unwrap().push(slot.clone());
        slot
    };
}

#[inline]
pub fn with<R>(f: impl FnOnce(&mut Local) -> R) -> R {
    LOCAL.with(|s| f(&mut s.lock().unwrap()))
}

#[inline]
pub fn add(c: C, n: u64) {
    with(|l| l.add(c, n))
}

#[inline]
pub fn rec(h: H, ns: u64) {
    with(|l| l.rec(h, ns))
}

/// Counters of all threads added up (cheap: no histograms are copied).
pub fn counters() -> [u64; NC] {
    let mut out = [0; NC];
    for slot in REGISTRY.lock().unwrap().iter() {
        let l = slot.lock().unwrap();
        for (o, c) in out.iter_mut().zip(l.count.iter()) {
            *o += c;
        }
    }
    out
}

pub fn counter(c: C) -> u64 {
    counters()[c as usize]
}

/// Everything of all threads merged.
pub fn merged() -> Local {
    let mut out = Local::new();
    for slot in REGISTRY.lock().unwrap().iter() {
        let l = slot.lock().unwrap();
        for (o, h) in out.hist.iter_mut().zip(l.hist.iter()) {
            o.merge(h);
        }
        for (o, c) in out.count.iter_mut().zip(l.count.iter()) {
            *o += c;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Errors: a tally by category (rare events, so one lock is fine). Keys must stay categorical.

static ERRORS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

pub fn error(key: impl Into<String>) {
    *ERRORS.lock().unwrap().entry(key.into()).or_insert(0) += 1;
}

pub fn errors() -> BTreeMap<String, u64> {
    ERRORS.lock().unwrap().clone()
}

pub fn error_total() -> u64 {
    ERRORS.lock().unwrap().values().sum()
}

// ---------------------------------------------------------------------------------------------
// /proc readers.

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// User + system CPU seconds of a process (`None` = this process).
pub fn cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let s = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name start at field 3 (state).
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// A `/proc/PID/status` field in kB (e.g. `VmRSS`, `VmHWM`, `Threads` unitless).
pub fn status_field(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS")
}

/// Open-file limit: raise the soft limit to the hard one; returns the limit now in force.
pub fn raise_nofile() -> u64 {
    // SAFETY: plain syscalls on a stack struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
        r.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_precise() {
        let mut last = 0;
        for v in (0..2_000_000u64).step_by(7).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket(v);
            assert!(b < BUCKETS);
            assert!(b >= last);
            last = b;
            let back = bucket_value(b);
            let err = (back as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 1.0 / 128.0, "v={v} back={back}");
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Hist::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        assert!((p50 - 5_000_000.0).abs() / 5_000_000.0 < 0.01, "{p50}");
        assert_eq!(h.quantile(1.0), 10_000_000);
        assert_eq!(h.min, 1000);
        let mut g = Hist::default();
        g.record(20_000_000);
        h.merge(&g);
        assert_eq!(h.count, 10_001);
        assert_eq!(h.max, 20_000_000);
    }
}
