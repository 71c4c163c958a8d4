//! `idle`: open N sessions, wait for every `hello`, hold them; the server's RSS per session.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{join_all, Conns, Ctx};
use crate::cli::Args;
use crate::report::{round, Probe, Report};
use crate::stats::{self, H};
use crate::ws;

pub fn run(ctx: &Ctx, a: &Args, r: &mut Report) -> Result<bool, String> {
    let sessions: usize = a.req("sessions")?;
    let hold_secs: u64 = a.get("hold-secs", 10)?;
    let per_user: usize = a.get("sessions-per-user", 1)?;
    let settle_secs: u64 = a.get("settle-secs", 2)?;
    a.finish()?;
    let per_user = per_user.max(1);
    ctx.check_sockets(sessions)?;
    r.set("parameters", "sessions", sessions);
    r.set("parameters", "hold_secs", hold_secs);
    r.set("parameters", "sessions_per_user", per_user);
    let users = ctx.users(sessions.div_ceil(per_user), r)?;

    let rt = ctx.runtime()?;
    rt.block_on(async {
        let conns = Conns::new(ctx);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (stop_tx, stop_rx) = watch::channel(false);
        let rss_before = ctx.server_rss();
        let p0 = Probe::now(ctx.server_pid);
        eprintln!("idle: opening {sessions} sessions");
        let mut handles = Vec::with_capacity(sessions);
        for i in 0..sessions {
            let user = users[i / per_user].clone();
            let (conns, dropped, mut stop) = (conns.clone(), dropped.clone(), stop_rx.clone());
            handles.push(tokio::spawn(async move {
                let Some((mut ws, _)) = conns.open(i, &user, "connect").await else { return };
                loop {
                    tokio::select! {
                        m = ws.next() => match m {
                            Some(Ok(Message::Text(_))) => stats::add(stats::C::OtherFrames, 1),
                            Some(Ok(Message::Ping(_))) => stats::add(stats::C::Pings, 1),
                            Some(Ok(Message::Pong(_))) => {}
                            other => {
                                stats::error(format!("session lost while idle: {}", ws::end_reason(other)));
                                dropped.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                        },
                        _ = stop.changed() => {
                            ws::close(&mut ws).await;
                            return;
                        }
                    }
                }
            }));
        }
        let connect_time = conns.wait(sessions, Duration::from_secs(600), "connecting").await;
        let p1 = Probe::now(ctx.server_pid);
        let connected = conns.ready.load(Ordering::Relaxed);
        let failed = conns.failed.load(Ordering::Relaxed);
        eprintln!(
            "idle: {connected} connected, {failed} failed in {:.1}s; settling {settle_secs}s, holding {hold_secs}s",
            connect_time.as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(settle_secs)).await;
        let rss_connected = ctx.server_rss();
        let hold_start = Instant::now();
        let mut rss_max = rss_connected;
        while hold_start.elapsed() < Duration::from_secs(hold_secs) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            rss_max = rss_max.max(ctx.server_rss());
        }
        let p2 = Probe::now(ctx.server_pid);
        let rss_end = ctx.server_rss();
        let lost = dropped.load(Ordering::Relaxed);
        let _ = stop_tx.send(true);
        join_all(handles, Duration::from_secs(30)).await;

        r.set("counts", "sessions_connected", connected);
        r.set("counts", "connect_failures", failed);
        r.set("counts", "sessions_lost_while_holding", lost);
        r.set("counts", "server_frames_after_hello", stats::counter(stats::C::OtherFrames));
        r.set("counts", "server_pings", stats::counter(stats::C::Pings));
        r.set("throughput", "connect_secs", round(connect_time.as_secs_f64(), 2));
        r.set(
            "throughput",
            "connects_per_sec",
            round(connected as f64 / connect_time.as_secs_f64().max(1e-9), 1),
        );
        p0.report(&p1, r, "connecting");
        p1.report(&p2, r, "holding");
        if let Some(pid) = ctx.server_pid {
            r.set("server", "pid", pid);
            if let (Some(b), Some(c)) = (rss_before, rss_connected) {
                r.set("server", "rss_kib_before", b);
                r.set("server", "rss_kib_all_connected", c);
                if let Some(e) = rss_end {
                    r.set("server", "rss_kib_end_of_hold", e);
                }
                if let Some(m) = rss_max {
                    r.set("server", "rss_kib_max_during_hold", m);
                }
                if connected > 0 {
                    let per = (c as f64 - b as f64) / connected as f64;
                    r.set("server", "rss_kib_per_session", round(per, 2));
                    if let Some(e) = rss_end {
                        let per_end = (e as f64 - b as f64) / connected as f64;
                        r.set("server", "rss_kib_per_session_end_of_hold", round(per_end, 2));
                    }
                }
            }
            if let Some(t) = stats::status_field(pid, "Threads") {
                r.set("server", "threads", t);
            }
        }
        r.latencies(&stats::merged(), &[H::Connect]);
        Ok(failed == 0 && lost == 0 && connected == sessions)
    })
}
