//! `confab-sfu-bench`: the embedded SFU forwarding video-like RTP between real WebRTC peers
//! on loopback, all in this process.
//!
//! N publishers each send one ~`--kbps` video track (`--packet-bytes` RTP payloads, paced
//! evenly); M subscribers publish nothing. Every participant receives every other
//! participant's track, so the SFU forwards N × (N − 1 + M) streams. Each payload starts with
//! its send time, so receivers measure one-way latency (client write → SFU → client read, both
//! client stacks included: an upper bound of what the SFU adds). Loss compares packets
//! received with packets sent × receivers over the measured window.
//!
//! CPU: the SFU runs on its own runtime whose threads are named `confab-sfu`; the clients on
//! threads named `bench-peers`. `/proc/self/task/*/stat` (utime + stime) is read before and
//! after the window and split by thread name, so the SFU's figure excludes the clients. See
//! docs/PERFORMANCE.md, "Calls / SFU".

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confab_signalling::sfu::{metrics, Room, Sfu, SfuConfig, SfuEvent, THREAD_NAME};
use confab_signalling::testpeer::{PacketHook, TestPeer, TestPeerOptions};
use uuid::Uuid;

const USAGE: &str = "\
confab-sfu-bench: N publishers and M subscribers in one SFU room on loopback (in-process).

USAGE:
  confab-sfu-bench [--publishers N] [--subscribers M] [--seconds S] [--kbps K]
                   [--packet-bytes B] [--client-threads T]

  --publishers N      video publishers (default 4)
  --subscribers M     receive-only participants (default 8)
  --seconds S         measured window (default 10)
  --kbps K            per-publisher video bitrate (default 1000)
  --packet-bytes B    RTP payload size (default 1200)
  --client-threads T  worker threads of the clients' runtime (default 2)
";

struct Args {
    publishers: usize,
    subscribers: usize,
    seconds: u64,
    kbps: u64,
    packet_bytes: usize,
    client_threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        publishers: 4,
        subscribers: 8,
        seconds: 10,
        kbps: 1000,
        packet_bytes: 1200,
        client_threads: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: u64 = value.parse().map_err(|_| format!("{flag}: not a number"))?;
        match flag.as_str() {
            "--publishers" => a.publishers = n as usize,
            "--subscribers" => a.subscribers = n as usize,
            "--seconds" => a.seconds = n,
            "--kbps" => a.kbps = n,
            "--packet-bytes" => a.packet_bytes = n as usize,
            "--client-threads" => a.client_threads = n as usize,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.publishers == 0 || a.packet_bytes < 16 || a.kbps == 0 || a.client_threads == 0 {
        return Err("need publishers >= 1, packet-bytes >= 16, kbps >= 1".into());
    }
    Ok(a)
}

/// What the receivers saw of the packets *sent* inside the window `[start_us, end_us)`
/// (µs since the epoch; `end_us` is `u64::MAX` while the window is open).
struct Observed {
    start_us: AtomicU64,
    end_us: AtomicU64,
    received: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
}

impl Observed {
    fn in_window(&self, us: u64) -> bool {
        us >= self.start_us.load(Ordering::Relaxed) && us < self.end_us.load(Ordering::Relaxed)
    }
}

struct Participant {
    peer: Arc<TestPeer>,
}

async fn join(
    room: &Room,
    publish: bool,
    epoch: Instant,
    observed: &Arc<Observed>,
) -> Result<Participant, String> {
    let seen = Arc::clone(observed);
    let hook: PacketHook = Arc::new(move |_stream, _track, packet| {
        if packet.payload.len() < 8 {
            return;
        }
        let mut sent = [0u8; 8];
        sent.copy_from_slice(&packet.payload[..8]);
        let sent_us = u64::from_be_bytes(sent);
        if !seen.in_window(sent_us) {
            return;
        }
        let now_us = epoch.elapsed().as_micros() as u64;
        seen.received.fetch_add(1, Ordering::Relaxed);
        let mut l = seen.latencies_us.lock().unwrap_or_else(|e| e.into_inner());
        l.push(now_us.saturating_sub(sent_us) as u32);
    });
    let peer = Arc::new(
        TestPeer::new(TestPeerOptions {
            video: publish,
            on_packet: Some(hook),
            ..Default::default()
        })
        .await?,
    );
    let id = Uuid::new_v4();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let answer = room
        .join(id, peer.offer().await?, tx)
        .await
        .map_err(|e| e.to_string())?;
    peer.apply_answer(answer).await?;
    let (p, r) = (Arc::clone(&peer), room.clone());
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let SfuEvent::Offer { sdp, .. } = event {
                match p.answer_offer(sdp).await {
                    Ok(answer) => {
                        if let Err(e) = r.answer(id, answer).await {
                            eprintln!("server rejected an answer: {e}");
                        }
                    }
                    Err(e) => eprintln!("answering a server offer: {e}"),
                }
            }
        }
    });
    if !peer.wait_connected(Duration::from_secs(10)).await {
        return Err("peer did not connect".into());
    }
    Ok(Participant { peer })
}

/// (SFU ticks, other ticks) of this process's threads, from /proc/self/task/*/stat.
fn cpu_ticks() -> (u64, u64) {
    let (mut sfu, mut other) = (0, 0);
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    for task in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        // Fields after the name: state is field 3; utime and stime are fields 14 and 15.
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = rest
            .get(11)
            .and_then(|u| u.parse::<u64>().ok())
            .unwrap_or(0)
            + rest
                .get(12)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
        if name == THREAD_NAME {
            sfu += ticks;
        } else {
            other += ticks;
        }
    }
    (sfu, other)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

async fn run(args: Args) -> Result<(), String> {
    let sfu = Sfu::start(SfuConfig::default()).map_err(|e| e.to_string())?;
    let room = sfu.room(Uuid::new_v4());
    let epoch = Instant::now();
    let observed = Arc::new(Observed {
        start_us: AtomicU64::new(u64::MAX),
        end_us: AtomicU64::new(u64::MAX),
        received: AtomicU64::new(0),
        latencies_us: Mutex::new(Vec::new()),
    });

    let setup = Instant::now();
    let mut publishers = Vec::new();
    for _ in 0..args.publishers {
        publishers.push(join(&room, true, epoch, &observed).await?);
    }
    let mut subscribers = Vec::new();
    for _ in 0..args.subscribers {
        subscribers.push(join(&room, false, epoch, &observed).await?);
    }
    let setup_secs = setup.elapsed().as_secs_f64();

    // Pacing: one packet every `interval`, publishers staggered across it.
    let pps = (args.kbps * 1000 / 8) as f64 / args.packet_bytes as f64;
    let interval = Duration::from_secs_f64(1.0 / pps);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    for (i, p) in publishers.iter().enumerate() {
        let (peer, stop, sent, observed) = (
            Arc::clone(&p.peer),
            Arc::clone(&stop),
            Arc::clone(&sent),
            Arc::clone(&observed),
        );
        let size = args.packet_bytes;
        let offset = interval.mul_f64(i as f64 / args.publishers as f64);
        tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut payload = vec![0x5au8; size];
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let now_us = epoch.elapsed().as_micros() as u64;
                payload[..8].copy_from_slice(&now_us.to_be_bytes());
                let measuring = observed.in_window(now_us);
                if peer.send_video(&payload, n % 8 == 7).await.is_ok() && measuring {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        });
    }

    // Warm-up: every participant receives every other publisher's track.
    let everyone: Vec<&Participant> = publishers.iter().chain(subscribers.iter()).collect();
    let ready = Instant::now();
    for (i, p) in everyone.iter().enumerate() {
        let expected = if i < args.publishers {
            args.publishers - 1
        } else {
            args.publishers
        };
        let ok = p
            .peer
            .wait_for(Duration::from_secs(60), |peer| {
                peer.tracks().iter().filter(|t| t.packets > 0).count() >= expected
            })
            .await;
        if !ok {
            return Err(format!("participant {i} did not receive every track"));
        }
    }
    let warmup_secs = ready.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let forwarded_before = metrics::get().rtp_packets_forwarded.get();
    let (sfu0, other0) = cpu_ticks();
    let t0 = Instant::now();
    observed
        .start_us
        .store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    observed
        .end_us
        .store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let (sfu1, other1) = cpu_ticks();
    let forwarded = metrics::get().rtp_packets_forwarded.get() - forwarded_before;
    // Packets sent at the end of the window are still in flight: let them land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);

    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let sfu_cpu = (sfu1 - sfu0) as f64 / hz / elapsed * 100.0;
    let other_cpu = (other1 - other0) as f64 / hz / elapsed * 100.0;
    let streams = args.publishers * (args.publishers - 1 + args.subscribers);
    let sent = sent.load(Ordering::Relaxed);
    let expected = sent * (args.publishers - 1 + args.subscribers) as u64;
    let received = observed.received.load(Ordering::Relaxed);
    let late = {
        let l = observed
            .latencies_us
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        l.iter().filter(|&&us| us > 1_000_000).count()
    };
    let loss = if expected == 0 {
        0.0
    } else {
        (1.0 - received as f64 / expected as f64).max(0.0) * 100.0
    };
    let mut lat = std::mem::take(
        &mut *observed
            .latencies_us
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
    );
    lat.sort_unstable();

    println!("confab-sfu-bench: {} publishers x {} subscribers, {} kbps, {} B payloads, {:.0} pps per publisher",
        args.publishers, args.subscribers, args.kbps, args.packet_bytes, pps);
    println!("setup (sequential joins)     {setup_secs:.2} s; all tracks flowing after {warmup_secs:.2} s");
    println!("forwarded streams            {streams}");
    println!("window                       {elapsed:.1} s");
    println!(
        "packets forwarded/s (SFU)    {:.0}",
        forwarded as f64 / elapsed
    );
    println!(
        "packets received/s (clients) {:.0}",
        received as f64 / elapsed
    );
    println!(
        "forwarded Mbit/s (payload)   {:.1}",
        received as f64 * args.packet_bytes as f64 * 8.0 / elapsed / 1e6
    );
    println!("SFU CPU (% of one core)      {sfu_cpu:.1}");
    println!(
        "SFU CPU per stream (%)       {:.2}",
        sfu_cpu / streams as f64
    );
    println!(
        "SFU CPU per 1k pps (%)       {:.2}",
        sfu_cpu / (forwarded as f64 / elapsed / 1000.0)
    );
    println!("clients CPU (% of one core)  {other_cpu:.1}");
    println!(
        "latency p50 / p99 / max (ms) {:.2} / {:.2} / {:.2}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!("loss                         {loss:.2} % ({received} of {expected}; {late} later than 1 s)");

    for p in everyone {
        p.peer.close().await;
    }
    sfu.close_room(room.id());
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .thread_name("bench-peers")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("confab-sfu-bench: {e}");
        std::process::exit(1);
    }
}
