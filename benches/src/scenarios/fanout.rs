//! `fanout`: K groups of G members, every member connected; S senders per group send at R
//! messages/s in total (paced, open-loop: a slow server does not slow the senders down). Every
//! recipient device records send -> event latency; acks record send -> `sent`.
//!
//! `--server centrifugo` runs the same scenario against Centrifugo (crate::centrifugo): the same
//! sockets, groups (one channel `<namespace>:<run tag>-<group>` each), senders, pacing, marker
//! text and bookkeeping; only setup (no REST: JWTs minted here) and the wire format differ.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::pingpong::check_seq;
use super::{join_all, wait_until, Conns, Ctx};
use crate::centrifugo;
use crate::cli::Args;
use crate::report::{round, Probe, Report};
use crate::rest::{all_ok, par_map, User};
use crate::stats::{self, instant_at, now_ns, C, H};
use crate::ws::{self, Frame};

/// The server's sustained inbound limit per socket (PROTOCOL.md, Limits).
const SERVER_RATE_PER_SOCKET: f64 = 50.0;
/// What one sender aims at by default, under that limit.
const DEFAULT_RATE_PER_SENDER: f64 = 40.0;

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Wait,
    /// Times in ns on the process clock: sending starts, measuring starts, sending ends.
    Run {
        start: u64,
        warm_end: u64,
        send_end: u64,
    },
    Stop,
}

struct Shared {
    conns: Arc<Conns>,
    /// Per group: members connected, messages acked.
    connected: Vec<AtomicUsize>,
    acked: Vec<AtomicU64>,
    stopping: AtomicBool,
    size: usize,
    tag: String,
}

/// How a member logs in, which also picks the wire protocol.
enum Login {
    Confab(Arc<User>),
    /// A Centrifugo connection JWT.
    Centrifugo(String),
}

struct Me {
    idx: usize,
    group: usize,
    /// Confab: the chat id; Centrifugo: the channel.
    chat: Arc<str>,
    login: Login,
    /// For senders: (period, offset of the first send from the start).
    send: Option<(Duration, Duration)>,
}

/// Which server `--server` names.
enum Server {
    Confab,
    Centrifugo { secret: String, namespace: String },
}

pub fn run(ctx: &Ctx, a: &Args, r: &mut Report) -> Result<bool, String> {
    let g: usize = a.req("group-size")?;
    let k: usize = a.get("groups", 1)?;
    let rate: f64 = a.req("rate")?;
    let duration: f64 = a.get("duration-secs", 10.0)?;
    let warmup: f64 = a.get("warmup-secs", 2.0)?;
    let drain: f64 = a.get("drain-secs", 10.0)?;
    let default_s = ((rate / (k as f64 * DEFAULT_RATE_PER_SENDER)).ceil() as usize).clamp(1, g);
    let s: usize = a.get("senders-per-group", default_s)?;
    let server = match a.get("server", "confab".to_string())?.as_str() {
        "confab" => Server::Confab,
        "centrifugo" => Server::Centrifugo {
            secret: a.req("centrifugo-secret")?,
            namespace: a.get("centrifugo-namespace", "chat".to_string())?,
        },
        other => return Err(format!("--server {other:?}: confab or centrifugo")),
    };
    a.finish()?;
    if g < 2 || k < 1 || s < 1 || s > g || rate <= 0.0 || duration <= 0.0 {
        return Err(
            "need --group-size >= 2, --groups >= 1, 1 <= --senders-per-group <= G, --rate > 0"
                .into(),
        );
    }
    let per_sender = rate / (k * s) as f64;
    if per_sender > SERVER_RATE_PER_SOCKET {
        eprintln!(
            "warning: {per_sender:.1} msgs/s per sender exceeds Confab's 50/s per-socket limit: \
             expect rate_limited errors from Confab; raise --senders-per-group"
        );
    }
    ctx.check_sockets(g * k)?;
    r.set(
        "parameters",
        "server",
        match server {
            Server::Confab => "confab",
            Server::Centrifugo { .. } => "centrifugo",
        },
    );
    r.set("parameters", "group_size", g);
    r.set("parameters", "groups", k);
    r.set("parameters", "senders_per_group", s);
    r.set("parameters", "rate_msgs_per_sec", rate);
    r.set("parameters", "rate_per_sender", round(per_sender, 2));
    r.set("parameters", "duration_secs", duration);
    r.set("parameters", "warmup_secs", warmup);

    // Per group its chat (channel), per member its login.
    let (chats, logins): (Vec<String>, Vec<Login>) = match &server {
        Server::Confab => {
            let users = ctx.users(g * k, r)?;
            eprintln!("fanout: creating {k} groups of {g}");
            let groups: Vec<usize> = (0..k).collect();
            let chats = all_ok(
                par_map(&groups, ctx.setup_threads.min(4), |_, &gi| {
                    let members: Vec<&str> = users[gi * g + 1..(gi + 1) * g]
                        .iter()
                        .map(|u| u.user_id.as_str())
                        .collect();
                    ctx.rest
                        .group(&users[gi * g].access_token, &format!("load {gi}"), &members)
                }),
                "groups",
            )?;
            (chats, users.into_iter().map(Login::Confab).collect())
        }
        Server::Centrifugo { secret, namespace } => {
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs()
                + 86_400;
            let chats = (0..k)
                .map(|gi| format!("{namespace}:{}-{gi}", ctx.run_tag))
                .collect();
            let logins = (0..g * k)
                .map(|i| {
                    let sub = format!("ld{}-{}", ctx.run_tag, i + ctx.user_offset);
                    Login::Centrifugo(centrifugo::jwt_hs256(secret.as_bytes(), &sub, exp))
                })
                .collect();
            r.set("parameters", "users", g * k);
            (chats, logins)
        }
    };

    let rt = ctx.runtime()?;
    rt.block_on(async {
        let conns = Conns::new(ctx);
        let sh = Arc::new(Shared {
            conns: conns.clone(),
            connected: (0..k).map(|_| AtomicUsize::new(0)).collect(),
            acked: (0..k).map(|_| AtomicU64::new(0)).collect(),
            stopping: AtomicBool::new(false),
            size: ctx.size,
            tag: ctx.run_tag.clone(),
        });
        let (phase_tx, phase_rx) = watch::channel(Phase::Wait);
        let period = Duration::from_secs_f64(1.0 / per_sender);
        let total_senders = k * s;
        let mut handles = Vec::with_capacity(g * k);
        let mut logins = logins.into_iter();
        for (gi, chat) in chats.iter().enumerate() {
            let chat: Arc<str> = Arc::from(chat.as_str());
            for m in 0..g {
                let idx = gi * g + m;
                // Spread the senders' first sends evenly over one period.
                let send = (m < s).then(|| {
                    let j = gi * s + m;
                    (period, period.mul_f64(j as f64 / total_senders as f64))
                });
                let me = Me {
                    idx,
                    group: gi,
                    chat: chat.clone(),
                    login: logins.next().expect("one login per member"),
                    send,
                };
                handles.push(tokio::spawn(conn(sh.clone(), me, phase_rx.clone())));
            }
        }
        conns.wait(g * k, Duration::from_secs(300), "connecting").await;
        let rss_connected = ctx.server_rss();

        let start = now_ns() + 300_000_000;
        let warm_end = start + (warmup * 1e9) as u64;
        let send_end = warm_end + (duration * 1e9) as u64;
        eprintln!(
            "fanout: {} sockets up; sending {rate} msgs/s ({s} senders per group, {per_sender:.1}/s each) for {warmup}s warm-up + {duration}s",
            conns.ready.load(Ordering::Relaxed)
        );
        let _ = phase_tx.send(Phase::Run { start, warm_end, send_end });
        tokio::time::sleep_until(instant_at(warm_end).into()).await;
        let p1 = Probe::now(ctx.server_pid);
        let mut last = Instant::now();
        while now_ns() < send_end {
            tokio::time::sleep(Duration::from_millis(100).min(Duration::from_nanos(send_end.saturating_sub(now_ns())))).await;
            if last.elapsed() >= Duration::from_secs(2) {
                let c = stats::counters();
                eprintln!("  sent {} acked {} deliveries {}", c[C::Sent as usize], c[C::Acked as usize], c[C::Deliveries as usize]);
                last = Instant::now();
            }
        }
        let p2 = Probe::now(ctx.server_pid);
        let rss_end = ctx.server_rss();
        let expected = |sh: &Shared| -> u64 {
            (0..k)
                .map(|gi| {
                    let members = sh.connected[gi].load(Ordering::Relaxed) as u64;
                    sh.acked[gi].load(Ordering::Relaxed) * members.saturating_sub(1)
                })
                .sum()
        };
        let drained = wait_until(Duration::from_secs_f64(drain), "draining", || {
            let c = stats::counters();
            let answered = c[C::Acked as usize] + c[C::SendErrors as usize];
            let got = c[C::Deliveries as usize];
            let want = expected(&sh);
            (answered >= c[C::Sent as usize] && got >= want, format!("answered {answered}/{} sends, deliveries {got}/{want}", c[C::Sent as usize]))
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await; // late duplicates, if any
        sh.stopping.store(true, Ordering::Relaxed);
        let _ = phase_tx.send(Phase::Stop);
        join_all(handles, Duration::from_secs(30)).await;

        let m = stats::merged();
        let want = expected(&sh);
        let got = m.get(C::Deliveries);
        let lost = want.saturating_sub(got);
        r.set("counts", "sockets_connected", conns.ready.load(Ordering::Relaxed));
        r.set("counts", "connect_failures", conns.failed.load(Ordering::Relaxed));
        for (name, c) in [
            ("messages_sent", C::Sent),
            ("messages_sent_in_window", C::SentInWindow),
            ("acked", C::Acked),
            ("ack_duplicate", C::AckDuplicate),
            ("send_errors", C::SendErrors),
            ("echoes_to_sender", C::Echoes),
            ("other_events", C::OtherEvents),
            ("seq_gaps", C::Gaps),
            ("seq_duplicates", C::Duplicates),
        ] {
            r.set("counts", name, m.get(c));
        }
        let unanswered = m.get(C::Sent).saturating_sub(m.get(C::Acked) + m.get(C::SendErrors));
        r.set("counts", "sends_unanswered", unanswered);
        r.set("counts", "deliveries_expected", want);
        r.set("counts", "deliveries_received", got);
        r.set("counts", "deliveries_lost", lost);
        r.set("counts", "drained_in_time", drained);
        r.set("throughput", "window_secs", duration);
        r.set("throughput", "messages_per_sec", round(m.get(C::SentInWindow) as f64 / duration, 1));
        r.set("throughput", "deliveries_per_sec", round(m.get(C::DeliveriesInWindow) as f64 / duration, 1));
        r.set("throughput", "target_deliveries_per_sec", round(rate * (g - 1) as f64, 1));
        p1.report(&p2, r, "window");
        if let (Some(a), Some(b)) = (rss_connected, rss_end) {
            r.set("server", "rss_kib_connected", a);
            r.set("server", "rss_kib_end", b);
        }
        r.latencies(&m, &[H::Delivery, H::Ack, H::SendLag, H::Connect]);
        Ok(lost == 0
            && drained
            && m.get(C::Gaps) + m.get(C::Duplicates) == 0
            && stats::error_total() == 0)
    })
}

async fn tick(t: &mut Option<Interval>) -> tokio::time::Instant {
    match t {
        Some(t) => t.tick().await,
        None => std::future::pending().await,
    }
}

/// The receive-side bookkeeping of one member, shared by both wire protocols.
struct Rx<'a> {
    sh: &'a Shared,
    me: &'a Me,
    /// Last seq (Confab) or publication offset (Centrifugo) seen in the chat.
    last_seq: Option<u64>,
    warm_end: u64,
    send_end: u64,
}

impl Rx<'_> {
    fn delivery(&mut self, seq: u64, marker: Option<ws::Marker>, now: u64) {
        let (me, warm_end, send_end) = (self.me, self.warm_end, self.send_end);
        let last_seq = &mut self.last_seq;
        stats::with(|l| {
            if !check_seq(l, last_seq, seq) {
                return;
            }
            match marker {
                Some(mk) if mk.sender == me.idx => l.add(C::Echoes, 1),
                Some(mk) => {
                    l.add(C::Deliveries, 1);
                    if now >= warm_end && now < send_end {
                        l.add(C::DeliveriesInWindow, 1);
                    }
                    if mk.t >= warm_end && mk.t < send_end {
                        l.rec(H::Delivery, now.saturating_sub(mk.t));
                    }
                }
                None => l.add(C::OtherEvents, 1),
            }
        })
    }

    /// A send was acknowledged; `sent_at`: its send time, when known.
    fn ack(&self, sent_at: Option<u64>, duplicate: bool, now: u64) {
        self.sh.acked[self.me.group].fetch_add(1, Ordering::Relaxed);
        stats::with(|l| {
            l.add(C::Acked, 1);
            if duplicate {
                l.add(C::AckDuplicate, 1);
            }
            if let Some(t) = sent_at.filter(|&t| t >= self.warm_end && t < self.send_end) {
                l.rec(H::Ack, now.saturating_sub(t));
            }
        });
    }

    fn error(&self, what: String, of_a_send: bool) {
        stats::error(what);
        if of_a_send {
            stats::add(C::SendErrors, 1);
        }
    }
}

/// The wire protocol of one connection, with its per-connection state.
enum Wire {
    Confab,
    Centrifugo(centrifugo::Session),
}

async fn conn(sh: Arc<Shared>, me: Me, mut phase: watch::Receiver<Phase>) {
    let opened = match &me.login {
        Login::Confab(user) => sh
            .conns
            .open(me.idx, user, "connect")
            .await
            .map(|(ws, _)| (ws, Wire::Confab)),
        Login::Centrifugo(token) => {
            let target = &sh.conns.target;
            sh.conns
                .open_with(
                    "connect",
                    centrifugo::connect(target, me.idx, token, &me.chat),
                )
                .await
                .map(|ws| {
                    (
                        ws,
                        Wire::Centrifugo(centrifugo::Session::new(me.chat.clone())),
                    )
                })
        }
    };
    let Some((mut ws, mut wire)) = opened else {
        return;
    };
    sh.connected[me.group].fetch_add(1, Ordering::Relaxed);
    let mut rx = Rx {
        sh: &sh,
        me: &me,
        // Confab: groups are created before anyone connects, seq 1 (group_created) is history.
        // Centrifugo: a fresh channel's first publication has offset 1.
        last_seq: Some(match wire {
            Wire::Confab => 1,
            Wire::Centrifugo(_) => 0,
        }),
        warm_end: u64::MAX,
        send_end: u64::MAX,
    };
    let mut ticker: Option<Interval> = None;
    let mut n: u64 = 0;
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
                        return;
                    }
                };
                let now = now_ns();
                let mut pong = false;
                match &mut wire {
                    Wire::Confab => match ws::classify(txt.as_str()) {
                        Frame::Event { seq, marker, .. } => rx.delivery(seq, marker, now),
                        Frame::Sent { id_t, duplicate, .. } => rx.ack(id_t, duplicate, now),
                        Frame::Error { id, code } => rx.error(
                            format!("error frame: {code}"),
                            id.is_some_and(|i| i.starts_with('s')),
                        ),
                        _ => stats::add(C::OtherFrames, 1),
                    },
                    Wire::Centrifugo(session) => centrifugo::parse(txt.as_str(), |msg| match msg {
                        centrifugo::Msg::Pub { offset, marker, .. } => rx.delivery(offset, marker, now),
                        centrifugo::Msg::Reply { id, error: None } => match session.answered(id) {
                            Some(t) => rx.ack(Some(t), false, now),
                            None => stats::add(C::OtherFrames, 1),
                        },
                        centrifugo::Msg::Reply { id, error: Some(code) } => rx.error(
                            format!("error reply: {code}"),
                            session.answered(id).is_some(),
                        ),
                        centrifugo::Msg::Ping => pong = true,
                        centrifugo::Msg::Other => stats::add(C::OtherFrames, 1),
                    }),
                }
                if pong {
                    if let Err(e) = ws::send_text(&mut ws, "{}".to_string()).await {
                        stats::error(e);
                        return;
                    }
                }
            }
            due = tick(&mut ticker) => {
                let t = now_ns();
                if t >= rx.send_end {
                    ticker = None;
                    continue;
                }
                n += 1;
                let frame = match &mut wire {
                    Wire::Confab => {
                        let client_id = format!("{}-{}-{}", sh.tag, me.idx, n);
                        ws::send_frame(&me.chat, &client_id, t, me.idx, 0, sh.size)
                    }
                    Wire::Centrifugo(session) => session.publish(t, me.idx, sh.size),
                };
                stats::with(|l| {
                    l.add(C::Sent, 1);
                    if t >= rx.warm_end {
                        l.add(C::SentInWindow, 1);
                    }
                    l.rec(H::SendLag, tokio::time::Instant::now().saturating_duration_since(due).as_nanos() as u64);
                });
                if let Err(e) = ws::send_text(&mut ws, frame).await {
                    stats::error(e);
                    return;
                }
            }
            c = phase.changed() => {
                if c.is_err() {
                    return;
                }
                let p = *phase.borrow_and_update();
                match p {
                    Phase::Run { start, warm_end: w, send_end: e } => {
                        (rx.warm_end, rx.send_end) = (w, e);
                        if let Some((period, offset)) = me.send {
                            let first = instant_at(start) + offset;
                            let mut iv = tokio::time::interval_at(first.into(), period);
                            iv.set_missed_tick_behavior(MissedTickBehavior::Burst);
                            ticker = Some(iv);
                        }
                    }
                    Phase::Stop => {
                        ws::close(&mut ws).await;
                        return;
                    }
                    Phase::Wait => {}
                }
            }
        }
    }
}
