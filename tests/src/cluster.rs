//! Several `confab` nodes sharing one Redis and one CQL keyspace, for the scale-out tests.
//! Each test starts its own `redis-server` (installed by `ops/redis.sh`) on a free port, so it
//! can stop and restart it.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, unique, Server};

pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (ops/redis.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (all its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops it and starts a fresh, empty one on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The CQL node for the tests, or `None` to skip (unless `CONFAB_REQUIRE_CQL=1`).
pub fn cql_contact() -> Option<String> {
    match std::env::var("CONFAB_TEST_CQL") {
        Ok(c) => Some(c),
        Err(_) => {
            assert!(
                std::env::var("CONFAB_REQUIRE_CQL").as_deref() != Ok("1"),
                "CONFAB_REQUIRE_CQL=1 but CONFAB_TEST_CQL is not set"
            );
            eprintln!("SKIPPED: set CONFAB_TEST_CQL=127.0.0.1:9042 to run the multi-node tests");
            None
        }
    }
}

/// Settings every node of a test cluster shares: quick heartbeats so failover takes seconds.
pub struct ClusterSpec {
    pub contact: String,
    pub keyspace: String,
    pub redis_url: String,
    pub extra: Vec<(String, String)>,
}

impl ClusterSpec {
    pub fn new(contact: String, redis: &Redis) -> ClusterSpec {
        ClusterSpec {
            contact,
            keyspace: format!("cl_{}_{}", std::process::id(), unique()),
            redis_url: redis.url(),
            extra: Vec::new(),
        }
    }

    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("CONFAB_STORAGE_BACKEND", "scylla"),
            (
                "CONFAB_STORAGE_SCYLLA_CONTACT_POINTS",
                self.contact.as_str(),
            ),
            ("CONFAB_STORAGE_SCYLLA_KEYSPACE", self.keyspace.as_str()),
            ("CONFAB_STORAGE_SCYLLA_CONSISTENCY", "one"),
            ("CONFAB_CLUSTER_REDIS_URL", self.redis_url.as_str()),
            ("CONFAB_CLUSTER_HEARTBEAT_MS", "250"),
            ("CONFAB_CLUSTER_NODE_TTL_MS", "1500"),
            ("CONFAB_CLUSTER_FORWARD_TIMEOUT_MS", "2000"),
            // Every node must accept every node's tokens.
            (
                "CONFAB_AUTH_JWT_SECRET",
                "cluster-test-secret-0123456789abcdef",
            ),
            ("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN", "10000"),
            ("CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN", "10000"),
            ("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN", "10000"),
            ("CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN", "1000000"),
            ("CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN", "1000000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(self.extra.iter().cloned());
        env
    }

    /// Starts one node and waits until its store answers.
    pub fn node(&self) -> Server {
        let env = self.env();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let server = Server::start_with(&pairs);
        wait_ready(&server);
        server
    }

    /// Starts `n` nodes and waits until each sees all of them.
    pub fn nodes(&self, n: usize) -> Vec<Server> {
        let nodes: Vec<Server> = (0..n).map(|_| self.node()).collect();
        wait_for_nodes(&nodes, n);
        nodes
    }
}

pub fn wait_ready(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.get("/readyz", None).status != 200 {
        assert!(
            Instant::now() < deadline,
            "node never ready: {}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The live nodes `server` sees (from `/readyz`).
pub fn live_nodes(server: &Server) -> Vec<String> {
    let r = server.get("/readyz", None);
    r.json["cluster"]["nodes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn node_id(server: &Server) -> String {
    server.get("/readyz", None).str("/cluster/node_id")
}

/// Waits until every one of `servers` sees exactly `n` live nodes.
pub fn wait_for_nodes(servers: &[Server], n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if servers.iter().all(|s| live_nodes(s).len() == n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "nodes never saw each other: {:?}",
            servers.iter().map(live_nodes).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
