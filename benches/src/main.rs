//! `confab-load`: the Confab load generator. Drives a running server over the wire (REST for
//! setup, WebSocket protocol v1 for everything measured). See benches/README.md.

mod centrifugo;
mod cli;
mod report;
mod rest;
mod scenarios;
mod stats;
mod ws;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::cli::Args;
use crate::report::Report;
use crate::scenarios::Ctx;

const USAGE: &str = "\
confab-load <scenario> [options]     (details and recipes: benches/README.md)

scenarios:
  idle       --sessions N [--hold-secs 10] [--sessions-per-user 1] [--settle-secs 2]
             open N sessions, wait for every hello, hold; server RSS per session
  pingpong   --pairs P [--messages 200] [--warmup 5] [--interval-ms 25] [--reply-timeout-ms 10000]
             one direct chat per pair; A->B, B->A, sequential per pair; one-way latency
  fanout     --group-size G [--groups 1] --rate R [--duration-secs 10] [--warmup-secs 2]
             [--senders-per-group S] [--drain-secs 10]
             [--server confab|centrifugo --centrifugo-secret S [--centrifugo-namespace chat]]
             paced open-loop sends at R msgs/s in total; deliveries/s, latency, losses;
             --server centrifugo: the same against Centrifugo v6 (--url its HTTP address;
             HS256 tokens minted with S, one channel <namespace>:<run tag>-<group> per group)
  reconnect  --sessions N [--messages 20] [--group-size 10] [--warmup-messages 2]
             [--with-direct] [--graceful-drop] [--sync-limit 200] [--timeout-secs 90]
             drop N sessions, send M per chat meanwhile, reconnect + sync; verify exactness

common options:
  --url URL[,URL...]         server base URL(s) [http://127.0.0.1:8080]; several nodes:
                             session i connects to node i mod n, REST setup to the first
  --users-file FILE          users from `confab admin provision` (else: register over REST)
  --user-offset K            skip the first K users of the file (disjoint client processes) [0]
  --register-prefix P        username prefix when registering [ld<run tag>]
  --save-users FILE          write registered users as a users file
  --threads T                tokio worker threads (the client shares the cores!) [1]
  --source-ips K             bind client sockets round-robin to 127.0.0.1..127.0.0.K [4]
  --connect-concurrency C    connections in flight while connecting [200]
  --connect-timeout-secs S   per connection, TCP connect to hello [30]
  --read-buffer BYTES        tungstenite read buffer per socket [8192]
  --size BYTES               message text length [64]
  --setup-threads T          parallel REST calls during setup [8]
  --server-pid PID           sample the server's RSS and CPU from /proc
  --json FILE                also write the figures as JSON
";

/// One server node from `--url`: its address and `host:port`.
fn parse_node(url: &str) -> Result<Node, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or_else(|| {
            format!("--url {url}: only http:// (or ws://) URLs: no TLS in confab-load")
        })?;
    let authority = rest.split('/').next().unwrap_or(rest).to_string();
    let with_port = if authority.contains(':') {
        authority.clone()
    } else {
        format!("{authority}:80")
    };
    let addrs: Vec<SocketAddr> = with_port
        .to_socket_addrs()
        .map_err(|e| format!("--url {url}: cannot resolve {with_port}: {e}"))?
        .collect();
    let addr = *addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .ok_or_else(|| format!("--url {url}: no address"))?;
    Ok(Node { addr, authority })
}

/// `--url` is one node or several, comma-separated: sessions are spread over them round-robin
/// (session `i` on node `i mod n`); REST setup goes to the first.
fn parse_target(urls: &[&str], source_ips: usize, a: &Args) -> Result<Target, String> {
    let nodes = urls
        .iter()
        .map(|u| parse_node(u))
        .collect::<Result<Vec<_>, _>>()?;
    let addr = nodes[0].addr;
    if source_ips > 254 {
        return Err("--source-ips: at most 254".into());
    }
    let sources: Vec<IpAddr> = match addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() && source_ips > 0 => (1..=source_ips as u8)
            .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
            .collect(),
        _ => Vec::new(),
    };
    let read_buffer: usize = a.get("read-buffer", 8192)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(read_buffer.max(1024))
        .write_buffer_size(0)
        .max_message_size(Some(4 << 20))
        .max_frame_size(Some(4 << 20));
    Ok(Target {
        nodes,
        sources,
        config,
        connect_timeout: Duration::from_secs(a.get("connect-timeout-secs", 30)?),
    })
}

use crate::ws::{Node, Target};

fn run() -> Result<bool, String> {
    let a = Args::parse(std::env::args().skip(1))?;
    let scenario = match (&a.scenario, a.flag("help")) {
        (Some(s), false) => s.clone(),
        _ => {
            print!("{USAGE}");
            return Ok(true);
        }
    };
    stats::epoch();
    let nofile = stats::raise_nofile();

    let url: String = a.get("url", "http://127.0.0.1:8080".to_string())?;
    let source_ips: usize = a.get("source-ips", 4)?;
    let threads: usize = a.get("threads", 1)?;
    let urls: Vec<&str> = url.split(',').map(str::trim).collect();
    let target = parse_target(&urls, source_ips, &a)?;
    let rest = rest::Rest::new(urls[0]);
    let ctx = Ctx {
        target: Arc::new(target),
        threads: threads.max(1),
        connect_concurrency: a.get("connect-concurrency", 200)?,
        size: a.get("size", 64)?,
        setup_threads: a.get("setup-threads", 8)?,
        server_pid: a.opt("server-pid")?,
        users_file: a.opt("users-file")?,
        user_offset: a.get("user-offset", 0)?,
        register_prefix: a.opt("register-prefix")?,
        save_users: a.opt("save-users")?,
        run_tag: rest::run_tag(),
        nofile,
        rest,
    };
    let json: Option<String> = a.opt("json")?;
    if let Some(pid) = ctx.server_pid {
        if stats::rss_kib(pid).is_none() {
            return Err(format!(
                "--server-pid {pid}: no such process (/proc/{pid}/status)"
            ));
        }
    }

    let mut r = Report::new(match scenario.as_str() {
        "idle" => "idle",
        "pingpong" => "pingpong",
        "fanout" => "fanout",
        "reconnect" => "reconnect",
        other => {
            return Err(format!(
                "unknown scenario {other:?} (idle, pingpong, fanout, reconnect)"
            ))
        }
    });
    r.set("parameters", "url", url.as_str());
    r.set("parameters", "nodes", ctx.target.nodes.len());
    r.set("parameters", "threads", ctx.threads);
    r.set("parameters", "source_ips", ctx.target.sources.len());
    r.set("parameters", "message_bytes", ctx.size);
    if let Some(f) = &ctx.users_file {
        r.set("parameters", "users_file", f.as_str());
    }
    let ok = match scenario.as_str() {
        "idle" => scenarios::idle::run(&ctx, &a, &mut r)?,
        "pingpong" => scenarios::pingpong::run(&ctx, &a, &mut r)?,
        "fanout" => scenarios::fanout::run(&ctx, &a, &mut r)?,
        _ => scenarios::reconnect::run(&ctx, &a, &mut r)?,
    };
    if let Some(cpu) = stats::cpu_secs(None) {
        r.set("client", "cpu_secs_total", report::round(cpu, 2));
    }
    r.errors();
    r.set("result", "ok", ok);
    r.emit(json.as_deref())?;
    Ok(ok)
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("confab-load: {e}");
            std::process::exit(2);
        }
    }
}
