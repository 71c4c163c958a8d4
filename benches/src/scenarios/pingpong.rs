//! `pingpong`: P pairs, one direct chat each. A sends, B's socket receives the event and
//! replies, A receives; sequential within a pair, pairs concurrent. One-way latency both ways.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
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

const WAIT: u8 = 0;
const RUN: u8 = 1;
const STOP: u8 = 2;

struct Shared {
    conns: Arc<Conns>,
    up: Vec<AtomicBool>,
    pairs_done: AtomicUsize,
    stopping: AtomicBool,
    warmup: u32,
    total: u32,
    interval: Duration,
    reply_timeout: Duration,
    size: usize,
    tag: String,
}

struct Me {
    idx: usize,
    peer: usize,
    chat: Arc<str>,
    user: Arc<User>,
    initiator: bool,
}

pub fn run(ctx: &Ctx, a: &Args, r: &mut Report) -> Result<bool, String> {
    let pairs: usize = a.req("pairs")?;
    let messages: u32 = a.get("messages", 200)?;
    let warmup: u32 = a.get("warmup", 5)?;
    let interval_ms: u64 = a.get("interval-ms", 25)?;
    let reply_timeout_ms: u64 = a.get("reply-timeout-ms", 10_000)?;
    let default_timeout = 60 + (messages + warmup) as u64 * (interval_ms + 5) * 2 / 1000;
    let timeout_secs: u64 = a.get("timeout-secs", default_timeout)?;
    a.finish()?;
    if interval_ms < 20 && messages + warmup > 90 {
        eprintln!(
            "warning: --interval-ms {interval_ms} sends more than 50 frames/s per socket: the \
             server's inbound limit (100 burst, 50/s) will answer rate_limited"
        );
    }
    ctx.check_sockets(2 * pairs)?;
    for (k, v) in [
        ("pairs", pairs as u64),
        ("messages", messages as u64),
        ("warmup", warmup as u64),
    ] {
        r.set("parameters", k, v);
    }
    r.set("parameters", "interval_ms", interval_ms);
    let users = ctx.users(2 * pairs, r)?;

    eprintln!("pingpong: creating {pairs} direct chats");
    let idx: Vec<usize> = (0..pairs).collect();
    let chats = all_ok(
        par_map(&idx, ctx.setup_threads, |_, &p| {
            ctx.rest
                .direct_chat(&users[2 * p].access_token, &users[2 * p + 1].user_id)
        }),
        "direct chats",
    )?;

    let rt = ctx.runtime()?;
    rt.block_on(async {
        let conns = Conns::new(ctx);
        let sh = Arc::new(Shared {
            conns: conns.clone(),
            up: (0..2 * pairs).map(|_| AtomicBool::new(false)).collect(),
            pairs_done: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            warmup,
            total: warmup + messages,
            interval: Duration::from_millis(interval_ms),
            reply_timeout: Duration::from_millis(reply_timeout_ms),
            size: ctx.size,
            tag: ctx.run_tag.clone(),
        });
        let (phase_tx, phase_rx) = watch::channel(WAIT);
        let mut handles = Vec::new();
        for (p, chat) in chats.iter().enumerate() {
            let chat: Arc<str> = Arc::from(chat.as_str());
            for side in 0..2 {
                let idx = 2 * p + side;
                let me = Me {
                    idx,
                    peer: 2 * p + 1 - side,
                    chat: chat.clone(),
                    user: users[idx].clone(),
                    initiator: side == 0,
                };
                handles.push(tokio::spawn(conn(sh.clone(), me, phase_rx.clone())));
            }
        }
        conns
            .wait(2 * pairs, Duration::from_secs(300), "connecting")
            .await;
        let p1 = Probe::now(ctx.server_pid);
        let start = Instant::now();
        eprintln!(
            "pingpong: {} sockets up; running {} rounds per pair",
            conns.ready.load(Ordering::Relaxed),
            warmup + messages
        );
        let _ = phase_tx.send(RUN);
        let finished = wait_until(Duration::from_secs(timeout_secs), "running", || {
            let d = sh.pairs_done.load(Ordering::Relaxed);
            (
                d >= pairs,
                format!(
                    "{d}/{pairs} pairs done, {} messages delivered",
                    stats::counter(C::Deliveries)
                ),
            )
        })
        .await;
        let elapsed = start.elapsed();
        let p2 = Probe::now(ctx.server_pid);
        tokio::time::sleep(Duration::from_millis(300)).await; // trailing acks and echoes
        sh.stopping.store(true, Ordering::Relaxed);
        let _ = phase_tx.send(STOP);
        join_all(handles, Duration::from_secs(30)).await;

        let m = stats::merged();
        let expected = 2 * pairs as u64 * (warmup + messages) as u64;
        r.set(
            "counts",
            "sockets_connected",
            conns.ready.load(Ordering::Relaxed),
        );
        r.set(
            "counts",
            "connect_failures",
            conns.failed.load(Ordering::Relaxed),
        );
        r.set(
            "counts",
            "pairs_done",
            sh.pairs_done.load(Ordering::Relaxed),
        );
        r.set("counts", "messages_expected", expected);
        for (name, c) in [
            ("messages_sent", C::Sent),
            ("messages_delivered", C::Deliveries),
            ("acked", C::Acked),
            ("ack_duplicate", C::AckDuplicate),
            ("send_errors", C::SendErrors),
            ("echoes_to_sender", C::Echoes),
            ("reply_timeouts", C::Timeouts),
            ("seq_gaps", C::Gaps),
            ("seq_duplicates", C::Duplicates),
        ] {
            r.set("counts", name, m.get(c));
        }
        let unanswered = m
            .get(C::Sent)
            .saturating_sub(m.get(C::Acked) + m.get(C::SendErrors));
        r.set("counts", "sends_unanswered", unanswered);
        let secs = elapsed.as_secs_f64().max(1e-9);
        r.set("throughput", "run_secs", round(secs, 3));
        r.set(
            "throughput",
            "messages_per_sec",
            round(m.get(C::Deliveries) as f64 / secs, 1),
        );
        p1.report(&p2, r, "run");
        if let Some(rss) = ctx.server_rss() {
            r.set("server", "rss_kib", rss);
        }
        r.latencies(&m, &[H::Delivery, H::Ack, H::Echo, H::Connect]);
        Ok(finished
            && m.get(C::Deliveries) == expected
            && m.get(C::Timeouts) == 0
            && unanswered == 0
            && m.get(C::Gaps) + m.get(C::Duplicates) == 0
            && stats::error_total() == 0)
    })
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

struct Sender {
    n: u64,
    measure_from: u64,
}

impl Sender {
    async fn send(&mut self, ws: &mut Ws, sh: &Shared, me: &Me, round: u32) -> Result<(), String> {
        self.n += 1;
        let t = now_ns();
        if round >= sh.warmup && self.measure_from == u64::MAX {
            self.measure_from = t;
        }
        let client_id = format!("{}-{}-{}", sh.tag, me.idx, self.n);
        let frame = ws::send_frame(&me.chat, &client_id, t, me.idx, round, sh.size);
        stats::add(C::Sent, 1);
        ws::send_text(ws, frame).await
    }
}

async fn conn(sh: Arc<Shared>, me: Me, mut phase: watch::Receiver<u8>) {
    let Some((mut ws, _)) = sh.conns.open(me.idx, &me.user, "connect").await else {
        return;
    };
    sh.up[me.idx].store(true, Ordering::Relaxed);
    let mut tx = Sender {
        n: 0,
        measure_from: u64::MAX,
    };
    let mut round: u32 = 0; // initiator: the round whose reply is awaited
    let mut finished = !me.initiator;
    let mut last_send = Instant::now();
    let mut next_send: Option<Instant> = None;
    let mut deadline: Option<Instant> = None;
    let mut last_seq: Option<u64> = None;
    let done = |finished: &mut bool| {
        if !*finished {
            *finished = true;
            sh.pairs_done.fetch_add(1, Ordering::Relaxed);
        }
    };
    loop {
        tokio::select! {
            m = ws.next() => {
                let txt = match m {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => {
                        if !sh.stopping.load(Ordering::Relaxed) {
                            stats::error(format!("socket lost: {}", ws::end_reason(other)));
                        }
                        done(&mut finished);
                        return;
                    }
                };
                let now = now_ns();
                let mut reply_round = None;
                match ws::classify(txt.as_str()) {
                    Frame::Event { seq, marker, .. } => {
                        let fresh = stats::with(|l| check_seq(l, &mut last_seq, seq));
                        match marker {
                            _ if !fresh => {}
                            Some(mk) if mk.sender == me.idx => stats::with(|l| {
                                l.add(C::Echoes, 1);
                                if mk.round >= sh.warmup {
                                    l.rec(H::Echo, now.saturating_sub(mk.t));
                                }
                            }),
                            Some(mk) => {
                                stats::with(|l| {
                                    l.add(C::Deliveries, 1);
                                    if mk.round >= sh.warmup {
                                        l.rec(H::Delivery, now.saturating_sub(mk.t));
                                    }
                                });
                                if !me.initiator {
                                    reply_round = Some(mk.round);
                                } else if mk.round == round && !finished {
                                    round += 1;
                                    deadline = None;
                                    if round >= sh.total {
                                        done(&mut finished);
                                    } else {
                                        next_send = Some(last_send + sh.interval);
                                    }
                                }
                            }
                            None => stats::add(C::OtherEvents, 1),
                        }
                    }
                    Frame::Sent { id_t, duplicate, .. } => stats::with(|l| {
                        l.add(C::Acked, 1);
                        if duplicate {
                            l.add(C::AckDuplicate, 1);
                        }
                        if let Some(t) = id_t.filter(|&t| t >= tx.measure_from) {
                            l.rec(H::Ack, now.saturating_sub(t));
                        }
                    }),
                    Frame::Error { id, code } => {
                        stats::error(format!("error frame: {code}"));
                        if id.is_some_and(|i| i.starts_with('s')) {
                            stats::add(C::SendErrors, 1);
                        }
                    }
                    _ => stats::add(C::OtherFrames, 1),
                }
                if let Some(rr) = reply_round {
                    if let Err(e) = tx.send(&mut ws, &sh, &me, rr).await {
                        stats::error(e);
                        return;
                    }
                }
            }
            _ = sleep_opt(next_send) => {
                next_send = None;
                last_send = Instant::now();
                if let Err(e) = tx.send(&mut ws, &sh, &me, round).await {
                    stats::error(e);
                    done(&mut finished);
                    return;
                }
                deadline = Some(Instant::now() + sh.reply_timeout);
            }
            _ = sleep_opt(deadline) => {
                deadline = None;
                stats::add(C::Timeouts, 1);
                round += 1;
                if round >= sh.total {
                    done(&mut finished);
                } else {
                    next_send = Some(Instant::now());
                }
            }
            c = phase.changed() => {
                if c.is_err() {
                    return;
                }
                let p = *phase.borrow_and_update();
                if p == RUN && me.initiator {
                    if sh.up[me.peer].load(Ordering::Relaxed) {
                        next_send = Some(Instant::now());
                    } else {
                        stats::error("pair skipped: peer not connected");
                        done(&mut finished);
                    }
                } else if p == STOP {
                    ws::close(&mut ws).await;
                    return;
                }
            }
        }
    }
}

/// Apply an event's `seq` to the highest seen (the first one seen is the baseline). Returns
/// whether it is new; counts gaps and duplicates.
pub fn check_seq(l: &mut stats::Local, last: &mut Option<u64>, seq: u64) -> bool {
    match *last {
        None => {
            *last = Some(seq);
            true
        }
        Some(prev) if seq == prev + 1 => {
            *last = Some(seq);
            true
        }
        Some(prev) if seq <= prev => {
            l.add(C::Duplicates, 1);
            false
        }
        Some(prev) => {
            l.add(C::Gaps, seq - prev - 1);
            *last = Some(seq);
            true
        }
    }
}
