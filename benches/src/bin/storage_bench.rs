//! `confab-storage-bench`: the store on its own, through `confab-storage`'s public traits, in
//! this process (no server, no network protocol).
//!
//! Two phases, each for `--secs` seconds, closed loop:
//! 1. **append**: `--writers` tasks, each appending one message per call
//!    (`TimelineStore::append(chat, vec![event])`) to its own chat, or round-robin over
//!    `--chats` shared chats. A call returns once the event is durable, so its latency is the
//!    latency of a durable single-message append.
//! 2. **read**: then `--readers` tasks reading history pages
//!    (`TimelineStore::events_before(chat, random seq, --page)`) from the chats written above.
//!
//! Reports ops/s and latency percentiles (µs) per phase, as a table and optionally as JSON.
//! Setup (users, direct chats) is not timed. See benches/README.md, "Storage benchmark".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use confab_storage::embedded::EmbeddedStore;
use confab_storage::scylla::{ScyllaConfig, ScyllaStore};
use confab_storage::*;
use serde_json::{json, Value};
use uuid::Uuid;

const USAGE: &str = "\
confab-storage-bench: durable single-message appends, then history page reads, against one
store backend through confab-storage's public API (in-process; no server).

USAGE:
  confab-storage-bench --backend embedded [--data-dir DIR] [options]
  confab-storage-bench --backend scylla [--contact-point HOST:PORT] [--keyspace bench_NAME] [options]

BACKEND:
  --backend embedded|scylla   required
  --data-dir DIR              embedded: store directory (default: a fresh directory under the
                              system temp dir, removed at the end; a given DIR is kept)
  --contact-point HOST:PORT   scylla: contact point(s), comma-separated (default 127.0.0.1:9042)
  --keyspace NAME             scylla: must start with `bench_` (default: bench_<random>); the
                              store creates it. Dropped at the end if it held no users before
                              the run, unless --keep-keyspace
  --consistency LEVEL         scylla: one|local_one|quorum|local_quorum|all (default local_quorum)
  --keep-keyspace             scylla: do not drop the keyspace at the end

LOAD:
  --writers N       concurrent appenders (default 32)
  --chats N         chats written; writer i appends to chat i mod N (default: --writers)
  --readers N       concurrent history readers (default: --writers)
  --secs S          length of each phase in seconds (default 10)
  --page N          events per history page (default 50)
  --body-bytes N    size of each message body, JSON text (default 100)
  --threads N       tokio worker threads (default 2)
  --no-wal          embedded: every batch a durable redb commit, no write-ahead log (how the
                    store wrote before issue 15)
  --path P          how appends are written (default owned):
                      owned        each chat claimed first (`claim_chat`), as a chat actor
                                   does: the production path
                      unclaimed    no claim (scylla: a compare-and-set per append)
                      plain-insert scylla only: each append is one plain INSERT of an event
                                   row and nothing else, the node's ceiling for comparison

OUTPUT:
  --server-pid PID  also report the CPU used by this process (e.g. Cassandra) in each phase
  --json FILE       write the results as JSON
  --help            this text

Exit code: 0 when both phases ran without errors or anomalies, 1 when they ran with some,
2 when the benchmark could not run.";

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Debug, Clone, Copy, PartialEq)]
enum AppendPath {
    Owned,
    Unclaimed,
    PlainInsert,
}

impl AppendPath {
    fn name(self) -> &'static str {
        match self {
            AppendPath::Owned => "owned",
            AppendPath::Unclaimed => "unclaimed",
            AppendPath::PlainInsert => "plain-insert",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Backend {
    Embedded,
    Scylla,
}

#[derive(Debug, Clone)]
struct Opts {
    backend: Backend,
    data_dir: Option<PathBuf>,
    contact_points: Vec<String>,
    keyspace: Option<String>,
    consistency: Option<String>,
    keep_keyspace: bool,
    writers: usize,
    chats: usize,
    readers: usize,
    secs: f64,
    page: usize,
    body_bytes: usize,
    threads: usize,
    path: AppendPath,
    no_wal: bool,
    server_pid: Option<u32>,
    json: Option<PathBuf>,
}

fn parse_opts(argv: Vec<String>) -> Result<Option<Opts>, String> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut keep_keyspace = false;
    let mut no_wal = false;
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let Some(rest) = a.strip_prefix("--") else {
            if a == "-h" {
                return Ok(None);
            }
            return Err(format!("unexpected argument {a:?}"));
        };
        let (name, inline) = match rest.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (rest.to_owned(), None),
        };
        match name.as_str() {
            "help" => return Ok(None),
            "no-wal" => {
                if inline.is_some() {
                    return Err("--no-wal takes no value".into());
                }
                no_wal = true;
                continue;
            }
            "keep-keyspace" => {
                if inline.is_some() {
                    return Err("--keep-keyspace takes no value".into());
                }
                keep_keyspace = true;
                continue;
            }
            _ => {}
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().ok_or_else(|| format!("--{name} needs a value"))?,
        };
        if values.insert(name.clone(), value).is_some() {
            return Err(format!("--{name} given twice"));
        }
    }
    let mut take = |name: &str| values.remove(name);
    fn num<T: std::str::FromStr>(name: &str, v: Option<String>, default: T) -> Result<T, String> {
        match v {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| format!("--{name}: cannot parse {s:?}")),
        }
    }
    let path = match take("path").as_deref() {
        None | Some("owned") => AppendPath::Owned,
        Some("unclaimed") => AppendPath::Unclaimed,
        Some("plain-insert") => AppendPath::PlainInsert,
        Some(other) => {
            return Err(format!(
                "--path {other:?}: use owned, unclaimed or plain-insert"
            ))
        }
    };
    let backend = match take("backend").as_deref() {
        Some("embedded") => Backend::Embedded,
        Some("scylla") => Backend::Scylla,
        Some(other) => return Err(format!("--backend {other:?}: use embedded or scylla")),
        None => return Err("--backend embedded|scylla is required".into()),
    };
    let writers: usize = num("writers", take("writers"), 32)?;
    let chats: usize = num("chats", take("chats"), writers)?;
    let readers: usize = num("readers", take("readers"), writers)?;
    let secs: f64 = num("secs", take("secs"), 10.0)?;
    let page: usize = num("page", take("page"), 50)?;
    let body_bytes: usize = num("body-bytes", take("body-bytes"), 100)?;
    let threads: usize = num("threads", take("threads"), 2)?;
    let server_pid = match take("server-pid") {
        None => None,
        Some(s) => Some(num("server-pid", Some(s), 0u32)?),
    };
    let opts = Opts {
        data_dir: take("data-dir").map(PathBuf::from),
        contact_points: take("contact-point")
            .unwrap_or_else(|| "127.0.0.1:9042".into())
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        keyspace: take("keyspace"),
        consistency: take("consistency"),
        json: take("json").map(PathBuf::from),
        backend,
        keep_keyspace,
        writers,
        chats,
        readers,
        secs,
        page,
        body_bytes,
        threads,
        path,
        no_wal,
        server_pid,
    };
    if let Some(unknown) = values.keys().next() {
        return Err(format!("unknown option --{unknown} (see --help)"));
    }
    if opts.writers == 0 || opts.chats == 0 || opts.readers == 0 || opts.page == 0 {
        return Err("--writers, --chats, --readers and --page must be at least 1".into());
    }
    if opts.chats > opts.writers {
        return Err(
            "--chats cannot exceed --writers (a chat without a writer has no history)".into(),
        );
    }
    if !(opts.secs > 0.0 && opts.secs.is_finite()) {
        return Err("--secs must be a positive number".into());
    }
    if opts.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    if opts.backend == Backend::Embedded
        && (opts.keyspace.is_some() || opts.consistency.is_some() || opts.keep_keyspace)
    {
        return Err(
            "--keyspace, --consistency and --keep-keyspace are for --backend scylla".into(),
        );
    }
    if opts.path == AppendPath::PlainInsert && opts.backend != Backend::Scylla {
        return Err("--path plain-insert is for --backend scylla".into());
    }
    if opts.backend == Backend::Scylla && opts.data_dir.is_some() {
        return Err("--data-dir is for --backend embedded".into());
    }
    if let Some(ks) = &opts.keyspace {
        if !ks.starts_with("bench_") {
            return Err(format!(
                "--keyspace {ks:?}: must start with `bench_` (the benchmark may drop it)"
            ));
        }
    }
    Ok(Some(opts))
}

// ---------------------------------------------------------------------------------------------
// Small helpers: percentiles, a PRNG, /proc readers.

/// Nearest-rank percentile of an ascending slice (`p` in 0..=100); 0 for an empty one.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// xorshift64*: enough to pick chats and seqs uniformly.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let s = Uuid::new_v4().as_u128();
        Rng((s as u64) ^ ((s >> 64) as u64) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi` (slight modulo bias, irrelevant here).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// User + system CPU seconds of a process, from /proc/PID/stat.
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // After the comm: state is field 3 of the line, utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
    Some((utime + stime) / ticks)
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg shows them.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// A store error in a few words, for the error tally.
fn short_error(e: &StoreError) -> String {
    let s = e.to_string();
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The store under test

struct Target {
    store: Arc<dyn Store>,
    /// scylla: the store and its keyspace, for raw CQL (`--path plain-insert`).
    raw: Option<(ScyllaStore, String)>,
    /// Where the data is, for the report: the data directory or the keyspace.
    location: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// Remove this temporary data directory at the end.
    RemoveDir(PathBuf),
    /// Keep the data directory the user gave.
    KeepDir(PathBuf),
    /// Drop this keyspace at the end.
    DropKeyspace(ScyllaStore, String),
    /// Keep the keyspace, for this reason.
    KeepKeyspace(String),
}

async fn open_target(opts: &Opts, tag: &str) -> Result<Target, String> {
    match opts.backend {
        Backend::Embedded => {
            let (dir, cleanup) = match &opts.data_dir {
                Some(d) => (d.clone(), Cleanup::KeepDir(d.clone())),
                None => {
                    let d = std::env::temp_dir().join(format!("confab-storage-bench-{tag}"));
                    (d.clone(), Cleanup::RemoveDir(d))
                }
            };
            let store = EmbeddedStore::open_with(&dir, !opts.no_wal)
                .map_err(|e| format!("cannot open the embedded store in {}: {e}", dir.display()))?;
            Ok(Target {
                store: Arc::new(store),
                raw: None,
                location: dir.display().to_string(),
                cleanup,
            })
        }
        Backend::Scylla => {
            let (keyspace, generated) = match &opts.keyspace {
                Some(k) => (k.clone(), false),
                None => (format!("bench_{tag}"), true),
            };
            let mut config = ScyllaConfig {
                contact_points: opts.contact_points.clone(),
                keyspace: keyspace.clone(),
                ..ScyllaConfig::default()
            };
            if let Some(c) = &opts.consistency {
                config.consistency = c.clone();
            }
            config
                .check()
                .map_err(|m| format!("invalid scylla settings: {m}"))?;
            let store = ScyllaStore::connect(&config)
                .await
                .map_err(|e| format!("cannot connect: {e}"))?;
            // A name the user chose may be an existing keyspace (e.g. kept from an earlier
            // run): only a keyspace that holds no users before the run counts as ours.
            let was_empty = generated || keyspace_has_no_users(&store, &keyspace).await?;
            let cleanup = if opts.keep_keyspace {
                Cleanup::KeepKeyspace("--keep-keyspace".into())
            } else if !was_empty {
                Cleanup::KeepKeyspace("it held users before this run".into())
            } else {
                Cleanup::DropKeyspace(store.clone(), keyspace.clone())
            };
            Ok(Target {
                raw: Some((store.clone(), keyspace.clone())),
                store: Arc::new(store),
                location: format!("keyspace {keyspace} at {}", opts.contact_points.join(",")),
                cleanup,
            })
        }
    }
}

async fn keyspace_has_no_users(store: &ScyllaStore, keyspace: &str) -> Result<bool, String> {
    let result = store
        .session()
        .query_unpaged(format!("SELECT id FROM {keyspace}.users LIMIT 1"), ())
        .await
        .map_err(|e| format!("cannot check keyspace {keyspace}: {e}"))?;
    let rows = result
        .into_rows_result()
        .map_err(|e| format!("cannot check keyspace {keyspace}: {e}"))?;
    Ok(rows.rows_num() == 0)
}

/// Cleans up; returns what happened, for the report.
async fn cleanup(c: Cleanup) -> String {
    match c {
        Cleanup::RemoveDir(d) => match std::fs::remove_dir_all(&d) {
            Ok(()) => format!("removed {}", d.display()),
            Err(e) => format!("could not remove {}: {e}", d.display()),
        },
        Cleanup::KeepDir(d) => format!("kept {}", d.display()),
        Cleanup::KeepKeyspace(why) => format!("kept the keyspace ({why})"),
        Cleanup::DropKeyspace(store, ks) => {
            let cql = format!("DROP KEYSPACE IF EXISTS {ks}");
            match store.session().query_unpaged(cql, ()).await {
                Ok(_) => format!("dropped keyspace {ks}"),
                Err(e) => format!("could not drop keyspace {ks}: {e}"),
            }
        }
    }
}

/// Size of the embedded store file, if there is one.
fn store_file_bytes(opts: &Opts, location: &str) -> Option<u64> {
    if opts.backend != Backend::Embedded {
        return None;
    }
    let path = Path::new(location).join(confab_storage::embedded::FILE_NAME);
    std::fs::metadata(path).ok().map(|m| m.len())
}

// ---------------------------------------------------------------------------------------------
// Setup: one direct chat per writer slot, between two fresh users.

struct BenchChat {
    id: Uuid,
    sender: Uuid,
}

async fn create_chats(store: &dyn Store, n: usize, tag: &str) -> StoreResult<Vec<BenchChat>> {
    let now = now_millis();
    let new_user = |name: String| NewUser {
        user: User {
            id: Uuid::now_v7(),
            username: name.clone(),
            phone: None,
            display_name: name,
            about: String::new(),
            photo: None,
            created_at: now,
            disabled: false,
            server_admin: false,
        },
        password_hash: "$argon2id$storage-bench$not-a-real-hash".into(),
    };
    let mut chats = Vec::with_capacity(n);
    for i in 0..n {
        let a = store
            .create_user(new_user(format!("sb_{tag}_{i}_a")))
            .await?;
        let b = store
            .create_user(new_user(format!("sb_{tag}_{i}_b")))
            .await?;
        let chat = Chat {
            id: Uuid::now_v7(),
            kind: ChatKind::Direct,
            title: None,
            created_by: a.id,
            created_at: now,
            info: GroupInfo::default(),
        };
        let (chat, _) = store.get_or_create_direct(chat, a.id, b.id).await?;
        chats.push(BenchChat {
            id: chat.id,
            sender: a.id,
        });
    }
    Ok(chats)
}

// ---------------------------------------------------------------------------------------------
// Phases

/// What one task measured.
#[derive(Default)]
struct Tally {
    /// Latency of each successful operation, µs.
    lat_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
    /// Appends: stored events. Reads: events returned.
    items: u64,
    /// Results that were not what the store's contract promises.
    anomalies: BTreeMap<String, u64>,
}

impl Tally {
    fn error(&mut self, what: String) {
        *self.errors.entry(what).or_default() += 1;
    }
    fn anomaly(&mut self, what: &str) {
        *self.anomalies.entry(what.to_owned()).or_default() += 1;
    }
    fn merge(&mut self, other: Tally) {
        self.lat_us.extend(other.lat_us);
        self.items += other.items;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.anomalies {
            *self.anomalies.entry(k).or_default() += v;
        }
    }
}

struct PhaseResult {
    name: &'static str,
    tasks: usize,
    tally: Tally,
    /// From the start until the last task's last operation finished.
    elapsed: Duration,
    cpu_self: Option<f64>,
    cpu_server: Option<f64>,
    load_before: String,
    load_after: String,
}

impl PhaseResult {
    fn ops(&self) -> u64 {
        self.tally.lat_us.len() as u64
    }
    fn ops_per_sec(&self) -> f64 {
        self.ops() as f64 / self.elapsed.as_secs_f64()
    }
    fn errors(&self) -> u64 {
        self.tally.errors.values().sum()
    }
    fn anomalies(&self) -> u64 {
        self.tally.anomalies.values().sum()
    }
    fn p(&self, p: f64) -> u64 {
        percentile(&self.tally.lat_us, p)
    }
    fn mean(&self) -> f64 {
        if self.tally.lat_us.is_empty() {
            0.0
        } else {
            self.tally.lat_us.iter().sum::<u64>() as f64 / self.tally.lat_us.len() as f64
        }
    }
    fn cores(cpu: Option<f64>, elapsed: Duration) -> Option<f64> {
        cpu.map(|c| c / elapsed.as_secs_f64())
    }
    fn json(&self) -> Value {
        let secs = self.elapsed.as_secs_f64();
        json!({
            "tasks": self.tasks,
            "ops": self.ops(),
            "ops_per_sec": round1(self.ops_per_sec()),
            "items": self.tally.items,
            "elapsed_secs": round3(secs),
            "latency_us": {
                "count": self.ops(),
                "p50": self.p(50.0),
                "p90": self.p(90.0),
                "p99": self.p(99.0),
                "p99_9": self.p(99.9),
                "max": self.tally.lat_us.last().copied().unwrap_or(0),
                "mean": round1(self.mean()),
            },
            "errors": { "total": self.errors(), "by_cause": self.tally.errors },
            "anomalies": { "total": self.anomalies(), "by_kind": self.tally.anomalies },
            "cpu": {
                "bench_secs": self.cpu_self.map(round3),
                "bench_cores_busy": Self::cores(self.cpu_self, self.elapsed).map(round3),
                "server_secs": self.cpu_server.map(round3),
                "server_cores_busy": Self::cores(self.cpu_server, self.elapsed).map(round3),
            },
            "loadavg_before": self.load_before,
            "loadavg_after": self.load_after,
        })
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Runs `tasks` copies of `work` (given its index) until they return, measuring CPU and load.
async fn run_phase<F, Fut>(
    name: &'static str,
    tasks: usize,
    server_pid: Option<u32>,
    work: F,
) -> PhaseResult
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Tally> + Send + 'static,
{
    let server = server_pid.map(|p| p.to_string());
    let load_before = loadavg();
    let cpu0 = cpu_secs("self");
    let srv0 = server.as_deref().and_then(cpu_secs);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..tasks {
        set.spawn(work(i));
    }
    let mut tally = Tally::default();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(t) => tally.merge(t),
            Err(e) => tally.error(format!("task failed: {e}")),
        }
    }
    let elapsed = start.elapsed();
    let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
    let cpu_self = diff(cpu0, cpu_secs("self"));
    let cpu_server = diff(srv0, server.as_deref().and_then(cpu_secs));
    tally.lat_us.sort_unstable();
    PhaseResult {
        name,
        tasks,
        tally,
        elapsed,
        cpu_self,
        cpu_server,
        load_before,
        load_after: loadavg(),
    }
}

async fn append_loop(
    store: Arc<dyn Store>,
    chat: Uuid,
    sender: Uuid,
    client_prefix: String,
    body: Arc<str>,
    deadline: Instant,
) -> Tally {
    let mut t = Tally::default();
    let mut n: u64 = 0;
    while Instant::now() < deadline {
        n += 1;
        let event = NewEvent {
            sender,
            at: now_millis(),
            client_id: Some(format!("{client_prefix}{n}")),
            kind: MESSAGE_KIND.into(),
            body: body.to_string(),
            rewrites: Vec::new(),
        };
        let t0 = Instant::now();
        let result = store.append(chat, vec![event]).await;
        let us = t0.elapsed().as_micros() as u64;
        match result {
            Ok(out) => match out.as_slice() {
                [AppendOutcome::Stored(_)] => {
                    t.lat_us.push(us);
                    t.items += 1;
                }
                [AppendOutcome::Duplicate(_)] => t.anomaly("append answered duplicate"),
                _ => t.anomaly("append did not answer one outcome"),
            },
            Err(e) => t.error(short_error(&e)),
        }
    }
    t
}

/// `--path plain-insert`: the node's ceiling. Each "append" is one plain INSERT of an event row
/// (seq from a counter per chat, no state row, no client id, no fence); each read one plain
/// SELECT of a page from one partition.
struct PlainCql {
    store: ScyllaStore,
    insert: ::scylla::statement::prepared::PreparedStatement,
    page: ::scylla::statement::prepared::PreparedStatement,
    chats: Vec<(Uuid, std::sync::atomic::AtomicU64)>,
}

impl PlainCql {
    async fn prepare(
        store: &ScyllaStore,
        keyspace: &str,
        chats: &[BenchChat],
    ) -> Result<Self, String> {
        let session = store.session();
        let insert = session
            .prepare(format!(
                "INSERT INTO {keyspace}.events (bucket, chat_id, seq, sender, at, client_id, kind, \
                 body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .await
            .map_err(|e| format!("prepare insert: {e}"))?;
        let page = session
            .prepare(format!(
                "SELECT chat_id, seq, sender, at, client_id, kind, body FROM {keyspace}.events \
                 WHERE chat_id = ? AND bucket = ? AND seq < ? LIMIT ?"
            ))
            .await
            .map_err(|e| format!("prepare select: {e}"))?;
        Ok(Self {
            store: store.clone(),
            insert,
            page,
            chats: chats.iter().map(|c| (c.id, Default::default())).collect(),
        })
    }

    fn written(&self, chat: usize) -> u64 {
        self.chats[chat]
            .1
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn insert_loop(
        &self,
        chat: usize,
        sender: Uuid,
        body: Arc<str>,
        deadline: Instant,
    ) -> Tally {
        let mut t = Tally::default();
        let (chat_id, counter) = &self.chats[chat];
        while Instant::now() < deadline {
            let seq = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let row = (
                (seq / 1000) as i64,
                *chat_id,
                seq as i64,
                sender,
                now_millis(),
                None::<String>,
                MESSAGE_KIND,
                &*body,
            );
            let t0 = Instant::now();
            match self
                .store
                .session()
                .execute_unpaged(&self.insert, row)
                .await
            {
                Ok(_) => {
                    t.lat_us.push(t0.elapsed().as_micros() as u64);
                    t.items += 1;
                }
                Err(e) => t.error(e.to_string()),
            }
        }
        t
    }

    async fn read_loop(
        &self,
        chats: Arc<Vec<(Uuid, u64)>>,
        page: usize,
        deadline: Instant,
    ) -> Tally {
        let mut t = Tally::default();
        let mut rng = Rng::seeded();
        while Instant::now() < deadline {
            let (chat, last) = chats[rng.next() as usize % chats.len()];
            let lo = (page as u64 + 1).min(last + 1);
            let below = rng.range(lo, last + 1);
            let bucket = ((below - 1) / 1000) as i64;
            let t0 = Instant::now();
            let result = self
                .store
                .session()
                .execute_unpaged(&self.page, (chat, bucket, below as i64, page as i32))
                .await;
            let rows = result
                .map_err(|e| e.to_string())
                .and_then(|r| r.into_rows_result().map_err(|e| e.to_string()));
            match rows {
                Ok(rows) => {
                    t.lat_us.push(t0.elapsed().as_micros() as u64);
                    t.items += rows.rows_num() as u64;
                }
                Err(e) => t.error(e),
            }
        }
        t
    }
}

/// Reads pages of `page` events below a random seq of a random chat. `chats` holds each chat's
/// id and last seq (all at least 1).
async fn read_loop(
    store: Arc<dyn Store>,
    chats: Arc<Vec<(Uuid, u64)>>,
    page: usize,
    deadline: Instant,
) -> Tally {
    let mut t = Tally::default();
    let mut rng = Rng::seeded();
    while Instant::now() < deadline {
        let (chat, last) = chats[rng.next() as usize % chats.len()];
        // `before` in [page + 1, last + 1] gives full pages; shorter histories give what they have.
        let lo = (page as u64 + 1).min(last + 1);
        let before = rng.range(lo, last + 1);
        let t0 = Instant::now();
        let result = store.events_before(chat, before, page).await;
        let us = t0.elapsed().as_micros() as u64;
        match result {
            Ok(events) => {
                t.lat_us.push(us);
                t.items += events.len() as u64;
                let expected = (page as u64).min(before - 1);
                let first = before - expected;
                let exact = events.len() as u64 == expected
                    && events
                        .iter()
                        .enumerate()
                        .all(|(i, e)| e.seq == first + i as u64 && e.chat_id == chat);
                if !exact {
                    t.anomaly("page not the `page` events just below the seq, ascending");
                }
            }
            Err(e) => t.error(short_error(&e)),
        }
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Main

fn main() {
    let opts = match parse_opts(std::env::args().skip(1).collect()) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("confab-storage-bench: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("confab-storage-bench: cannot start tokio: {e}");
            std::process::exit(2);
        }
    };
    let code = runtime.block_on(run(opts));
    std::process::exit(code);
}

async fn run(opts: Opts) -> i32 {
    // One short random tag per run: keyspace or data directory name, usernames, client ids.
    let tag = Uuid::new_v4().simple().to_string()[..12].to_owned();
    let target = match open_target(&opts, &tag).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("confab-storage-bench: {e}");
            return 2;
        }
    };
    let outcome = bench(&opts, &target, &tag).await;
    let file_bytes = store_file_bytes(&opts, &target.location);
    let Target {
        store,
        raw,
        location,
        cleanup: how,
    } = target;
    drop((store, raw));
    let cleaned = cleanup(how).await;
    eprintln!("cleanup: {cleaned}");
    let (append, read) = match outcome {
        Ok(r) => r,
        Err(e) => {
            eprintln!("confab-storage-bench: {e}");
            return 2;
        }
    };
    print_table(&opts, &location, &append, &read, file_bytes);
    if let Some(path) = &opts.json {
        let doc = json!({
            "benchmark": "confab-storage-bench",
            "backend": match opts.backend { Backend::Embedded => "embedded", Backend::Scylla => "scylla" },
            "location": location,
            "parameters": {
                "writers": opts.writers,
                "chats": opts.chats,
                "readers": opts.readers,
                "secs": opts.secs,
                "page": opts.page,
                "body_bytes": opts.body_bytes,
                "threads": opts.threads,
                "path": opts.path.name(),
                "wal": opts.backend == Backend::Embedded && !opts.no_wal,
                "consistency": opts.consistency.clone().unwrap_or_else(|| ScyllaConfig::default().consistency),
            },
            "append": append.json(),
            "read": read.json(),
            "store_file_bytes": file_bytes,
            "cleanup": cleaned,
            "result": { "ok": append.errors() + append.anomalies() + read.errors() + read.anomalies() == 0 },
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("confab-storage-bench: cannot write {}: {e}", path.display());
            return 2;
        }
    }
    let clean = append.errors() + append.anomalies() + read.errors() + read.anomalies() == 0
        && append.ops() > 0
        && read.ops() > 0;
    if clean {
        0
    } else {
        1
    }
}

async fn bench(
    opts: &Opts,
    target: &Target,
    tag: &str,
) -> Result<(PhaseResult, PhaseResult), String> {
    let store = target.store.clone();
    eprintln!(
        "setup: {} chats ({} users) in {} ...",
        opts.chats,
        2 * opts.chats,
        target.location
    );
    let t0 = Instant::now();
    let chats = create_chats(store.as_ref(), opts.chats, tag)
        .await
        .map_err(|e| format!("setup failed: {e}"))?;
    if opts.path == AppendPath::Owned {
        // As each chat's actor does when it starts.
        for c in &chats {
            store
                .claim_chat(c.id)
                .await
                .map_err(|e| format!("setup: claim_chat failed: {e}"))?;
        }
    }
    let plain = match (&opts.path, &target.raw) {
        (AppendPath::PlainInsert, Some((raw, keyspace))) => {
            Some(Arc::new(PlainCql::prepare(raw, keyspace, &chats).await?))
        }
        _ => None,
    };
    eprintln!("setup: done in {:.1} s", t0.elapsed().as_secs_f64());

    // Phase 1: appends. A JSON text body of about `body_bytes` bytes.
    let filler = "x".repeat(opts.body_bytes.saturating_sub(12));
    let body: Arc<str> = format!("{{\"text\":\"{filler}\"}}").into();
    let secs = Duration::from_secs_f64(opts.secs);
    eprintln!(
        "append: {} writers on {} chats for {:.0} s ...",
        opts.writers, opts.chats, opts.secs
    );
    let deadline = Instant::now() + secs;
    let append = run_phase("append", opts.writers, opts.server_pid, |i| {
        let (id, sender) = (chats[i % chats.len()].id, chats[i % chats.len()].sender);
        let client_prefix = format!("sb{tag}-{i}-");
        let (store, body, plain) = (store.clone(), body.clone(), plain.clone());
        async move {
            match plain {
                Some(p) => {
                    p.insert_loop(i % p.chats.len(), sender, body, deadline)
                        .await
                }
                None => append_loop(store, id, sender, client_prefix, body, deadline).await,
            }
        }
    })
    .await;

    // Each chat's history as the store now sees it.
    let mut histories = Vec::with_capacity(chats.len());
    let mut stored_total = 0;
    for (i, c) in chats.iter().enumerate() {
        let last_seq = match &plain {
            Some(p) => p.written(i),
            None => {
                store
                    .chat_state(c.id)
                    .await
                    .map_err(|e| format!("chat_state after the appends: {e}"))?
                    .last_seq
            }
        };
        stored_total += last_seq;
        if last_seq > 0 {
            histories.push((c.id, last_seq));
        }
    }
    if stored_total != append.tally.items {
        eprintln!(
            "warning: chats hold {stored_total} events but {} appends were acknowledged \
             (appends that failed may still have been stored)",
            append.tally.items
        );
    }
    if histories.is_empty() {
        return Err("no chat has any event after the append phase: nothing to read".into());
    }

    // Phase 2: history pages.
    eprintln!(
        "read: {} readers, pages of {} over {} chats for {:.0} s ...",
        opts.readers,
        opts.page,
        histories.len(),
        opts.secs
    );
    let histories = Arc::new(histories);
    let deadline = Instant::now() + secs;
    let page = opts.page;
    let read = run_phase("read", opts.readers, opts.server_pid, |_| {
        let (store, histories, plain) = (store.clone(), histories.clone(), plain.clone());
        async move {
            match plain {
                Some(p) => p.read_loop(histories, page, deadline).await,
                None => read_loop(store, histories, page, deadline).await,
            }
        }
    })
    .await;
    Ok((append, read))
}

fn print_table(
    opts: &Opts,
    location: &str,
    append: &PhaseResult,
    read: &PhaseResult,
    file_bytes: Option<u64>,
) {
    let backend = match opts.backend {
        Backend::Embedded => "embedded (redb)",
        Backend::Scylla => "scylla (CQL)",
    };
    println!();
    println!("confab-storage-bench  backend: {backend}  at {location}");
    println!(
        "  {} writers on {} chats ({}), {} readers, {} s per phase, body {} B, page {}, {} tokio threads{}",
        opts.writers,
        opts.chats,
        opts.path.name(),
        opts.readers,
        opts.secs,
        opts.body_bytes,
        opts.page,
        opts.threads,
        match (&opts.backend, &opts.consistency) {
            (Backend::Scylla, c) => format!(
                ", consistency {}",
                c.clone().unwrap_or_else(|| ScyllaConfig::default().consistency)
            ),
            _ => String::new(),
        }
    );
    println!();
    println!(
        "{:<7} {:>5} {:>8} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7} {:>6} {:>6}  {:<16} {:<16}",
        "phase",
        "tasks",
        "ops",
        "ops/s",
        "p50 µs",
        "p90 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "errors",
        "bench",
        "server",
        "load before",
        "load after"
    );
    for r in [append, read] {
        let cores = |c: Option<f64>| {
            PhaseResult::cores(c, r.elapsed)
                .map(|c| format!("{c:.2}"))
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "{:<7} {:>5} {:>8} {:>9.0} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7} {:>6} {:>6}  {:<16} {:<16}",
            r.name,
            r.tasks,
            r.ops(),
            r.ops_per_sec(),
            r.p(50.0),
            r.p(90.0),
            r.p(99.0),
            r.p(99.9),
            r.tally.lat_us.last().copied().unwrap_or(0),
            r.errors() + r.anomalies(),
            cores(r.cpu_self),
            cores(r.cpu_server),
            r.load_before,
            r.load_after,
        );
    }
    println!("(bench/server: average cores busy during the phase; server only with --server-pid)");
    if read.ops() > 0 {
        println!(
            "read: {:.1} events per page on average",
            read.tally.items as f64 / read.ops() as f64
        );
    }
    if let Some(b) = file_bytes {
        println!(
            "store file: {:.1} MiB after {} appended events",
            b as f64 / (1024.0 * 1024.0),
            append.tally.items
        );
    }
    for r in [append, read] {
        for (cause, n) in &r.tally.errors {
            println!("{} error x{n}: {cause}", r.name);
        }
        for (kind, n) in &r.tally.anomalies {
            println!("{} anomaly x{n}: {kind}", r.name);
        }
    }
}
