//! `reconnect`: N sessions in groups (and, with `--with-direct`, a direct chat each) with one
//! staying member per group. Warm-up messages arrive live; then all N sockets drop at once, the
//! staying members send M messages per chat, and all N reconnect concurrently and `sync` from
//! their last seen seq per chat. Measures the time until every session is synced and checks
//! that each got exactly the missed events (gaps, duplicates, missing, extra are errors).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{join_all, wait_until, Conns, Ctx};
use crate::cli::Args;
use crate::report::{round, Probe, Report};
use crate::rest::{all_ok, par_map, User};
use crate::stats::{self, now_ns, C, H};
use crate::ws::{self, Frame, Ws};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    Wait,
    Warm,
    Drop,
    Send,
    Reconnect,
    Stop,
}

/// Stayers keep under the server's inbound limit (100 burst, 50/s): 60 burst, 40/s.
const BUCKET_CAP: f64 = 60.0;
const BUCKET_RATE: f64 = 40.0;

struct Shared {
    conns: Arc<Conns>,
    /// chat -> the last seq the stayer's acks reported (written when sending is done).
    finals: Mutex<HashMap<Arc<str>, u64>>,
    warm_done: AtomicUsize,
    send_done: AtomicUsize,
    live_events: AtomicU64,
    dropped: AtomicUsize,
    synced: AtomicUsize,
    exact: AtomicUsize,
    sync_failed: AtomicUsize,
    expected_replay: AtomicU64,
    reconnect_start: AtomicU64,
    last_synced: AtomicU64,
    stopping: AtomicBool,
    warm: u32,
    messages: u32,
    sync_limit: u32,
    graceful: bool,
    size: usize,
    tag: String,
}

struct Stayer {
    idx: usize,
    user: Arc<User>,
    chats: Vec<Arc<str>>,
}

struct Dropper {
    idx: usize,
    user: Arc<User>,
    /// (chat, seq known to be the chat's last before the warm-up: 1 for a new group).
    chats: Vec<(Arc<str>, Option<u64>)>,
}

pub fn run(ctx: &Ctx, a: &Args, r: &mut Report) -> Result<bool, String> {
    let n: usize = a.req("sessions")?;
    let messages: u32 = a.get("messages", 20)?;
    let g: usize = a.get("group-size", 10)?;
    let warm: u32 = a.get("warmup-messages", 2)?;
    let with_direct = a.flag("with-direct");
    let graceful = a.flag("graceful-drop");
    let sync_limit: u32 = a.get("sync-limit", 200)?;
    let timeout_secs: u64 = a.get("timeout-secs", 90)?;
    a.finish()?;
    if g < 2 || n < 1 || warm < 1 {
        return Err("need --group-size >= 2, --sessions >= 1, --warmup-messages >= 1".into());
    }
    let per_group = g - 1;
    let groups = n.div_ceil(per_group);
    ctx.check_sockets(n + groups)?;
    r.set("parameters", "sessions", n);
    r.set("parameters", "messages_per_chat", messages);
    r.set("parameters", "group_size", g);
    r.set("parameters", "groups", groups);
    r.set("parameters", "with_direct", with_direct);
    r.set("parameters", "graceful_drop", graceful);
    r.set("parameters", "warmup_messages", warm);
    r.set("parameters", "sync_limit", sync_limit);
    let users = ctx.users(n + groups, r)?;

    // Layout: group i = stayer users[pos], then up to G-1 droppers.
    let mut layout: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut pos = 0;
    let mut left = n;
    for _ in 0..groups {
        let take = left.min(per_group);
        layout.push((pos, (pos + 1..pos + 1 + take).collect()));
        pos += 1 + take;
        left -= take;
    }
    eprintln!(
        "reconnect: creating {groups} groups{}",
        if with_direct { " and direct chats" } else { "" }
    );
    let group_chats = all_ok(
        par_map(&layout, ctx.setup_threads.min(4), |gi, (st, ds)| {
            let members: Vec<&str> = ds.iter().map(|&d| users[d].user_id.as_str()).collect();
            ctx.rest.group(
                &users[*st].access_token,
                &format!("reconnect {gi}"),
                &members,
            )
        }),
        "groups",
    )?;
    let pairs: Vec<(usize, usize)> = if with_direct {
        layout
            .iter()
            .flat_map(|(st, ds)| ds.iter().map(move |&d| (*st, d)))
            .collect()
    } else {
        Vec::new()
    };
    let direct_chats = all_ok(
        par_map(&pairs, ctx.setup_threads, |_, &(st, d)| {
            ctx.rest
                .direct_chat(&users[st].access_token, &users[d].user_id)
        }),
        "direct chats",
    )?;
    let direct_of: HashMap<usize, Arc<str>> = pairs
        .iter()
        .zip(&direct_chats)
        .map(|(&(_, d), c)| (d, Arc::from(c.as_str())))
        .collect();

    let tok = |i: usize| users[i].clone();
    let mut stayers = Vec::new();
    let mut droppers = Vec::new();
    for ((st, ds), chat) in layout.iter().zip(&group_chats) {
        let chat: Arc<str> = Arc::from(chat.as_str());
        let mut st_chats = vec![chat.clone()];
        for &d in ds {
            let mut chats = vec![(chat.clone(), Some(1))];
            if let Some(dc) = direct_of.get(&d) {
                st_chats.push(dc.clone());
                chats.push((dc.clone(), None));
            }
            droppers.push(Dropper {
                idx: d,
                user: tok(d),
                chats,
            });
        }
        stayers.push(Stayer {
            idx: *st,
            user: tok(*st),
            chats: st_chats,
        });
    }
    let chats_per_session = if with_direct { 2 } else { 1 };

    let rt = ctx.runtime()?;
    rt.block_on(async {
        let conns = Conns::new(ctx);
        let sh = Arc::new(Shared {
            conns: conns.clone(),
            finals: Mutex::new(HashMap::new()),
            warm_done: AtomicUsize::new(0),
            send_done: AtomicUsize::new(0),
            live_events: AtomicU64::new(0),
            dropped: AtomicUsize::new(0),
            synced: AtomicUsize::new(0),
            exact: AtomicUsize::new(0),
            sync_failed: AtomicUsize::new(0),
            expected_replay: AtomicU64::new(0),
            reconnect_start: AtomicU64::new(0),
            last_synced: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            warm,
            messages,
            sync_limit,
            graceful,
            size: ctx.size,
            tag: ctx.run_tag.clone(),
        });
        let (phase_tx, phase_rx) = watch::channel(Phase::Wait);
        let n_stayers = stayers.len();
        let mut handles = Vec::new();
        for s in stayers {
            handles.push(tokio::spawn(stayer(sh.clone(), s, phase_rx.clone())));
        }
        for d in droppers {
            handles.push(tokio::spawn(dropper(sh.clone(), d, phase_rx.clone())));
        }
        let total = n + n_stayers;
        conns
            .wait(total, Duration::from_secs(300), "connecting")
            .await;
        let connected = conns.ready.load(Ordering::Relaxed);
        let failed_initially = conns.failed.load(Ordering::Relaxed);
        eprintln!(
            "reconnect: {connected}/{total} connected; warm-up: {warm} live messages per chat"
        );

        let _ = phase_tx.send(Phase::Warm);
        let live_expected = (n - failed_initially.min(n)) as u64 * chats_per_session * warm as u64;
        wait_until(Duration::from_secs(60), "warm-up", || {
            let (w, l) = (
                sh.warm_done.load(Ordering::Relaxed),
                sh.live_events.load(Ordering::Relaxed),
            );
            (
                w >= n_stayers && l >= live_expected,
                format!("{w}/{n_stayers} stayers done, {l}/{live_expected} live events"),
            )
        })
        .await;

        let _ = phase_tx.send(Phase::Drop);
        let dropping = n.min(connected);
        wait_until(Duration::from_secs(30), "dropping", || {
            let d = sh.dropped.load(Ordering::Relaxed);
            (d >= dropping, format!("{d}/{dropping} dropped"))
        })
        .await;
        let dropped = sh.dropped.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;

        eprintln!("reconnect: {dropped} sockets dropped; stayers send {messages} per chat");
        let _ = phase_tx.send(Phase::Send);
        let send_secs =
            60 + (messages as u64 * chats_per_session * per_group as u64) / BUCKET_RATE as u64;
        wait_until(Duration::from_secs(send_secs), "sending", || {
            let d = sh.send_done.load(Ordering::Relaxed);
            (
                d >= n_stayers,
                format!(
                    "{d}/{n_stayers} stayers done, {} acked",
                    stats::counter(C::Acked)
                ),
            )
        })
        .await;

        eprintln!("reconnect: reconnecting {dropped} sessions and syncing");
        let p1 = Probe::now(ctx.server_pid);
        let t_r = now_ns();
        sh.reconnect_start.store(t_r, Ordering::Relaxed);
        let _ = phase_tx.send(Phase::Reconnect);
        let all = wait_until(Duration::from_secs(timeout_secs), "syncing", || {
            let s = sh.synced.load(Ordering::Relaxed);
            let f = sh.sync_failed.load(Ordering::Relaxed);
            (
                s + f >= dropped,
                format!("{s} synced, {f} failed of {dropped}"),
            )
        })
        .await;
        let p2 = Probe::now(ctx.server_pid);
        tokio::time::sleep(Duration::from_millis(500)).await; // late duplicates, if any
        sh.stopping.store(true, Ordering::Relaxed);
        let _ = phase_tx.send(Phase::Stop);
        join_all(handles, Duration::from_secs(30)).await;

        let m = stats::merged();
        let synced = sh.synced.load(Ordering::Relaxed);
        let exact = sh.exact.load(Ordering::Relaxed);
        let last = sh.last_synced.load(Ordering::Relaxed);
        let all_secs = if last > t_r {
            (last - t_r) as f64 / 1e9
        } else {
            0.0
        };
        r.set("counts", "sessions_dropped", dropped);
        r.set("counts", "sessions_synced", synced);
        r.set("counts", "sessions_exact", exact);
        r.set(
            "counts",
            "sessions_failed",
            sh.sync_failed.load(Ordering::Relaxed),
        );
        r.set("counts", "initial_connect_failures", failed_initially);
        r.set(
            "counts",
            "live_events_before_drop",
            sh.live_events.load(Ordering::Relaxed),
        );
        r.set("counts", "messages_sent", m.get(C::Sent));
        r.set("counts", "acked", m.get(C::Acked));
        r.set("counts", "send_errors", m.get(C::SendErrors));
        r.set(
            "counts",
            "events_expected",
            sh.expected_replay.load(Ordering::Relaxed),
        );
        for (name, c) in [
            ("events_replayed", C::Replayed),
            ("seq_gaps", C::Gaps),
            ("seq_duplicates", C::Duplicates),
            ("missing", C::Missing),
            ("extra", C::Extra),
        ] {
            r.set("counts", name, m.get(c));
        }
        r.set("throughput", "secs_until_all_synced", round(all_secs, 3));
        if all_secs > 0.0 {
            r.set(
                "throughput",
                "sessions_synced_per_sec",
                round(synced as f64 / all_secs, 1),
            );
            r.set(
                "throughput",
                "events_replayed_per_sec",
                round(m.get(C::Replayed) as f64 / all_secs, 1),
            );
        }
        p1.report(&p2, r, "reconnect");
        if let Some(rss) = ctx.server_rss() {
            r.set("server", "rss_kib_end", rss);
        }
        r.latencies(&m, &[H::Sync, H::Connect, H::Ack]);
        Ok(all && exact == n && stats::error_total() == 0)
    })
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self) {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * BUCKET_RATE).min(BUCKET_CAP);
        self.at = now;
    }
    fn next_ready(&mut self) -> Instant {
        self.refill();
        if self.tokens >= 1.0 {
            self.at
        } else {
            self.at + Duration::from_secs_f64((1.0 - self.tokens) / BUCKET_RATE)
        }
    }
}

async fn stayer(sh: Arc<Shared>, me: Stayer, mut phase: watch::Receiver<Phase>) {
    let Some((mut ws, _)) = sh.conns.open(me.idx, &me.user, "connect (stayer)").await else {
        return;
    };
    let mut bucket = Bucket {
        tokens: BUCKET_CAP,
        at: Instant::now(),
    };
    let mut remaining = vec![0u32; me.chats.len()];
    let mut max_seq = vec![0u64; me.chats.len()];
    let mut outstanding: u64 = 0;
    let mut rr = 0usize;
    let mut n = 0u64;
    let mut next: Option<Instant> = None;
    let mut current = Phase::Wait;
    let mut reported = true;
    loop {
        tokio::select! {
            m = ws.next() => {
                let txt = match m {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => {
                        if !sh.stopping.load(Ordering::Relaxed) {
                            stats::error(format!("stayer socket lost: {}", ws::end_reason(other)));
                        }
                        return;
                    }
                };
                match ws::classify(txt.as_str()) {
                    Frame::Sent { chat_id, seq, duplicate, .. } => {
                        outstanding = outstanding.saturating_sub(1);
                        stats::with(|l| {
                            l.add(C::Acked, 1);
                            if duplicate {
                                l.add(C::AckDuplicate, 1);
                            }
                        });
                        if let Some(ci) = me.chats.iter().position(|c| &**c == chat_id) {
                            max_seq[ci] = max_seq[ci].max(seq);
                        }
                    }
                    Frame::Error { id, code } => {
                        stats::error(format!("stayer error frame: {code}"));
                        if id.is_some_and(|i| i.starts_with('s')) {
                            outstanding = outstanding.saturating_sub(1);
                            stats::add(C::SendErrors, 1);
                        }
                    }
                    _ => {}
                }
            }
            _ = sleep_opt(next) => {
                next = None;
                let Some(ci) = (0..me.chats.len()).map(|k| (rr + k) % me.chats.len()).find(|&c| remaining[c] > 0) else { continue };
                rr = ci + 1;
                remaining[ci] -= 1;
                bucket.refill();
                bucket.tokens -= 1.0;
                n += 1;
                outstanding += 1;
                let t = now_ns();
                let client_id = format!("{}-{}-{}", sh.tag, me.idx, n);
                stats::add(C::Sent, 1);
                if let Err(e) = ws::send_text(&mut ws, ws::send_frame(&me.chats[ci], &client_id, t, me.idx, 0, sh.size)).await {
                    stats::error(format!("stayer {e}"));
                    return;
                }
                if remaining.iter().any(|&r| r > 0) {
                    next = Some(bucket.next_ready());
                }
            }
            c = phase.changed() => {
                if c.is_err() {
                    return;
                }
                current = *phase.borrow_and_update();
                let per_chat = match current {
                    Phase::Warm => sh.warm,
                    Phase::Send => sh.messages,
                    Phase::Stop => {
                        ws::close(&mut ws).await;
                        return;
                    }
                    _ => continue,
                };
                remaining.iter_mut().for_each(|r| *r = per_chat);
                reported = false;
                next = Some(bucket.next_ready());
            }
        }
        // A phase's sending is complete when nothing is left to send and every send answered.
        if !reported && outstanding == 0 && remaining.iter().all(|&r| r == 0) {
            reported = true;
            match current {
                Phase::Warm => {
                    sh.warm_done.fetch_add(1, Ordering::Relaxed);
                }
                Phase::Send => {
                    let mut f = sh.finals.lock().unwrap();
                    for (c, s) in me.chats.iter().zip(&max_seq) {
                        f.insert(c.clone(), *s);
                    }
                    drop(f);
                    sh.send_done.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    }
}

struct Track {
    chat: Arc<str>,
    applied: Option<u64>,
    final_seq: u64,
}

async fn dropper(sh: Arc<Shared>, me: Dropper, mut phase: watch::Receiver<Phase>) {
    let Some((mut ws, _)) = sh.conns.open(me.idx, &me.user, "connect").await else {
        return;
    };
    let mut tracks: Vec<Track> = me
        .chats
        .iter()
        .map(|(c, b)| Track {
            chat: c.clone(),
            applied: *b,
            final_seq: 0,
        })
        .collect();

    // Live until the drop.
    loop {
        tokio::select! {
            m = ws.next() => {
                let txt = match m {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => {
                        stats::error(format!("socket lost before the drop: {}", ws::end_reason(other)));
                        return;
                    }
                };
                if let Frame::Event { chat_id, seq, .. } = ws::classify(txt.as_str()) {
                    let Some(t) = tracks.iter_mut().find(|t| &*t.chat == chat_id) else {
                        stats::error("live event for an unknown chat");
                        continue;
                    };
                    stats::with(|l| {
                        if super::pingpong::check_seq(l, &mut t.applied, seq) {
                            sh.live_events.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
            }
            c = phase.changed() => {
                if c.is_err() {
                    return;
                }
                match *phase.borrow_and_update() {
                    Phase::Drop => break,
                    Phase::Stop => return,
                    _ => {}
                }
            }
        }
    }
    if sh.graceful {
        ws::close(&mut ws).await;
    }
    drop(ws);
    sh.dropped.fetch_add(1, Ordering::Relaxed);

    loop {
        if phase.changed().await.is_err() {
            return;
        }
        match *phase.borrow_and_update() {
            Phase::Reconnect => break,
            Phase::Stop => return,
            _ => {}
        }
    }
    {
        let f = sh.finals.lock().unwrap();
        for t in &mut tracks {
            t.final_seq = f.get(&t.chat).copied().unwrap_or(0);
            let from = t.applied.unwrap_or(0);
            sh.expected_replay
                .fetch_add(t.final_seq.saturating_sub(from), Ordering::Relaxed);
        }
    }
    let fail = |why: String| {
        stats::error(why);
        sh.sync_failed.fetch_add(1, Ordering::Relaxed);
    };
    let Some((mut ws, _)) = sh.conns.open(me.idx, &me.user, "reconnect").await else {
        sh.sync_failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut syncs = 0u32;
    let all: Vec<usize> = (0..tracks.len()).collect();
    if let Err(e) = send_sync(&mut ws, &tracks, &all, sh.sync_limit, &mut syncs).await {
        return fail(e);
    }
    let mut pending = 1u32;
    let mut more: Vec<usize> = Vec::new();
    let mut done = false;
    let (mut gaps, mut dups, mut extra) = (0u64, 0u64, 0u64);
    loop {
        tokio::select! {
            m = ws.next() => {
                let txt = match m {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => {
                        let why = format!("socket lost while syncing: {}", ws::end_reason(other));
                        if !done {
                            return fail(why);
                        }
                        if !sh.stopping.load(Ordering::Relaxed) {
                            stats::error(why);
                        }
                        return;
                    }
                };
                match ws::classify(txt.as_str()) {
                    Frame::Event { chat_id, seq, .. } => {
                        let Some(t) = tracks.iter_mut().find(|t| &*t.chat == chat_id) else {
                            stats::error("replayed event for an unknown chat");
                            continue;
                        };
                        let applied = t.applied.unwrap_or(0);
                        stats::with(|l| {
                            if seq <= applied {
                                l.add(C::Duplicates, 1);
                                dups += 1;
                                return;
                            }
                            if seq > applied + 1 {
                                l.add(C::Gaps, seq - applied - 1);
                                gaps += seq - applied - 1;
                            }
                            if seq > t.final_seq {
                                l.add(C::Extra, 1);
                                extra += 1;
                            }
                            l.add(C::Replayed, 1);
                            t.applied = Some(seq);
                        });
                    }
                    Frame::Synced => {
                        let v: serde_json::Value = serde_json::from_str(txt.as_str()).unwrap_or_default();
                        for c in v["chats"].as_array().into_iter().flatten() {
                            let id = c["chat_id"].as_str().unwrap_or("");
                            if let Some(e) = c["error"].as_str() {
                                stats::error(format!("synced: chat error {e}"));
                                continue;
                            }
                            let Some(ti) = tracks.iter().position(|t| &*t.chat == id) else {
                                stats::error("synced: unknown chat");
                                continue;
                            };
                            if c["has_more"] == true {
                                more.push(ti);
                            } else if c["last_seq"].as_u64() != Some(tracks[ti].final_seq) {
                                stats::error("synced: last_seq differs from the last acked seq");
                            }
                        }
                        pending = pending.saturating_sub(1);
                        if pending > 0 {
                            continue;
                        }
                        if !more.is_empty() {
                            let again = std::mem::take(&mut more);
                            if let Err(e) = send_sync(&mut ws, &tracks, &again, sh.sync_limit, &mut syncs).await {
                                return fail(e);
                            }
                            pending = 1;
                            continue;
                        }
                        if !done {
                            done = true;
                            let now = now_ns();
                            let missing: u64 = tracks.iter().map(|t| t.final_seq.saturating_sub(t.applied.unwrap_or(0))).sum();
                            stats::with(|l| {
                                l.add(C::Missing, missing);
                                l.rec(H::Sync, now.saturating_sub(sh.reconnect_start.load(Ordering::Relaxed)));
                            });
                            if missing + gaps + dups + extra == 0 {
                                sh.exact.fetch_add(1, Ordering::Relaxed);
                            }
                            sh.last_synced.fetch_max(now, Ordering::Relaxed);
                            sh.synced.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Frame::Error { id, code } => {
                        if id.is_some_and(|i| i.starts_with('y')) && !done {
                            return fail(format!("sync answered error: {code}"));
                        }
                        stats::error(format!("error frame: {code}"));
                    }
                    _ => {}
                }
            }
            c = phase.changed() => {
                if c.is_err() || *phase.borrow_and_update() == Phase::Stop {
                    if !done {
                        fail("not synced before the end".into());
                    }
                    ws::close(&mut ws).await;
                    return;
                }
            }
        }
    }
}

async fn send_sync(
    ws: &mut Ws,
    tracks: &[Track],
    which: &[usize],
    limit: u32,
    syncs: &mut u32,
) -> Result<(), String> {
    *syncs += 1;
    let chats: Vec<serde_json::Value> = which
        .iter()
        .map(|&i| serde_json::json!({"chat_id": &*tracks[i].chat, "last_seq": tracks[i].applied.unwrap_or(0)}))
        .collect();
    let frame = serde_json::json!({"v": 1, "id": format!("y{syncs}"), "type": "sync", "chats": chats, "limit": limit});
    ws::send_text(ws, frame.to_string()).await
}
