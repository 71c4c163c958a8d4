//! The scenarios and what they share: the run context, bounded-concurrency connecting, waiting.

pub mod fanout;
pub mod idle;
pub mod pingpong;
pub mod reconnect;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::report::Report;
use crate::rest::{self, Rest, User, UserSource};
use crate::stats;
use crate::ws::{self, Hello, Target, Ws};

pub struct Ctx {
    pub target: Arc<Target>,
    pub rest: Rest,
    pub threads: usize,
    pub connect_concurrency: usize,
    pub size: usize,
    pub setup_threads: usize,
    pub server_pid: Option<u32>,
    pub users_file: Option<String>,
    pub user_offset: usize,
    pub register_prefix: Option<String>,
    pub save_users: Option<String>,
    pub run_tag: String,
    pub nofile: u64,
}

impl Ctx {
    pub fn runtime(&self) -> Result<tokio::runtime::Runtime, String> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.threads)
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))
    }

    /// Fail early when this process cannot hold `sockets` sockets.
    pub fn check_sockets(&self, sockets: usize) -> Result<(), String> {
        if sockets as u64 + 64 > self.nofile {
            return Err(format!(
                "{sockets} sockets need more open files than this process may have ({}); \
                 split the load over several confab-load processes (--user-offset)",
                self.nofile
            ));
        }
        if self.target.sources.len() * 28_000 < sockets {
            eprintln!(
                "warning: {sockets} sockets from {} source address(es): ephemeral ports may run \
                 out past ~28k per address; raise --source-ips",
                self.target.sources.len().max(1)
            );
        }
        Ok(())
    }

    /// The server must be up, then `needed` users.
    pub fn users(&self, needed: usize, r: &mut Report) -> Result<Vec<Arc<User>>, String> {
        self.rest.healthz()?;
        let users = rest::get_users(
            &UserSource {
                rest: &self.rest,
                users_file: self.users_file.as_deref(),
                offset: self.user_offset,
                register_prefix: self.register_prefix.as_deref(),
                save_users: self.save_users.as_deref(),
            },
            needed,
        )?;
        r.set("parameters", "users", users.len());
        r.set("parameters", "user_offset", self.user_offset);
        Ok(users.into_iter().map(Arc::new).collect())
    }

    /// RSS of the server now, in KiB.
    pub fn server_rss(&self) -> Option<u64> {
        self.server_pid.and_then(stats::rss_kib)
    }
}

/// Connecting with a bound number in flight, counting outcomes.
pub struct Conns {
    pub target: Arc<Target>,
    sem: Semaphore,
    pub ready: AtomicUsize,
    pub failed: AtomicUsize,
}

impl Conns {
    pub fn new(ctx: &Ctx) -> Arc<Conns> {
        Arc::new(Conns {
            target: ctx.target.clone(),
            sem: Semaphore::new(ctx.connect_concurrency.max(1)),
            ready: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        })
    }

    /// Connect (waiting for a slot); on failure the error is tallied and `None` returned.
    pub async fn open(&self, idx: usize, user: &User, what: &str) -> Option<(Ws, Hello)> {
        self.open_with(what, async {
            let (ws, hello) = ws::connect(&self.target, idx, &user.access_token).await?;
            if hello.user_id == user.user_id {
                Ok((ws, hello))
            } else {
                Err(format!(
                    "hello names user {} (token of {})",
                    hello.user_id, user.user_id
                ))
            }
        })
        .await
    }

    /// Run a connect future in a slot, tallying its outcome (the error under `what: ...`).
    pub async fn open_with<T>(
        &self,
        what: &str,
        connect: impl std::future::Future<Output = Result<T, String>>,
    ) -> Option<T> {
        let permit = self.sem.acquire().await.ok()?;
        let r = connect.await;
        drop(permit);
        match r {
            Ok(x) => {
                self.ready.fetch_add(1, Ordering::Relaxed);
                Some(x)
            }
            Err(e) => {
                stats::error(format!("{what}: {e}"));
                self.failed.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    pub fn settled(&self) -> usize {
        self.ready.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    /// Wait until `n` connections succeeded or failed (or `limit` passes), with progress.
    pub async fn wait(&self, n: usize, limit: Duration, label: &str) -> Duration {
        let start = Instant::now();
        wait_until(limit, label, || {
            let s = self.settled();
            (
                s >= n,
                format!(
                    "{} connected, {} failed of {n}",
                    self.ready.load(Ordering::Relaxed),
                    self.failed.load(Ordering::Relaxed)
                ),
            )
        })
        .await;
        start.elapsed()
    }
}

/// Poll `cond` every 20 ms until it holds or `limit` passes; print its status every 2 s.
/// Returns whether it held.
pub async fn wait_until(
    limit: Duration,
    label: &str,
    mut cond: impl FnMut() -> (bool, String),
) -> bool {
    let start = Instant::now();
    let mut last_print = Instant::now();
    loop {
        let (done, status) = cond();
        if done {
            return true;
        }
        if start.elapsed() >= limit {
            eprintln!(
                "  {label}: gave up after {:.0}s: {status}",
                limit.as_secs_f64()
            );
            return false;
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            eprintln!("  {label}: {status}");
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait for spawned tasks, but not forever.
pub async fn join_all(handles: Vec<tokio::task::JoinHandle<()>>, limit: Duration) {
    let all = async {
        for h in handles {
            let _ = h.await;
        }
    };
    if tokio::time::timeout(limit, all).await.is_err() {
        eprintln!("  some connection tasks did not finish within {limit:?}; leaving them");
    }
}
