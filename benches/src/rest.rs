//! Setup over REST (blocking, before the measured phase): users, direct chats, groups.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The password `confab admin provision` gives every user (and the one `--register` uses).
pub const LOAD_PASSWORD: &str = "confab-load-password";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    pub username: String,
    pub access_token: String,
    pub session_id: String,
}

#[derive(Serialize, Deserialize)]
struct UsersFile {
    users: Vec<User>,
}

pub struct Rest {
    agent: ureq::Agent,
    base: String,
}

impl Rest {
    pub fn new(base: &str) -> Rest {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Rest {
            agent: ureq::Agent::new_with_config(config),
            base: base.trim_end_matches('/').into(),
        }
    }

    /// One call; `429` is retried after `Retry-After` (up to 20 times). Returns status and body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let url = format!("{}{}", self.base, path);
        for _ in 0..20 {
            let auth = token.map(|t| format!("Bearer {t}"));
            let resp = match method {
                "GET" => {
                    let mut r = self.agent.get(&url);
                    if let Some(a) = &auth {
                        r = r.header("authorization", a);
                    }
                    r.call()
                }
                _ => {
                    let mut r = self.agent.post(&url);
                    if let Some(a) = &auth {
                        r = r.header("authorization", a);
                    }
                    match body {
                        Some(b) => r.send_json(b),
                        None => r.send_empty(),
                    }
                }
            };
            let mut resp = resp.map_err(|e| format!("{method} {path}: {e}"))?;
            let status = resp.status().as_u16();
            if status == 429 {
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 60);
                eprintln!("  {method} {path}: 429 rate_limited, waiting {wait}s (Retry-After)");
                std::thread::sleep(Duration::from_secs(wait));
                continue;
            }
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            let v = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            };
            return Ok((status, v));
        }
        Err(format!(
            "{method} {path}: still rate limited after 20 tries"
        ))
    }

    pub fn healthz(&self) -> Result<(), String> {
        match self.call("GET", "/healthz", None, None) {
            Ok((200, _)) => Ok(()),
            Ok((s, v)) => Err(format!("GET /healthz answered {s} {v}")),
            Err(e) => Err(format!("server not reachable: {e}")),
        }
    }

    pub fn register(&self, username: &str) -> Result<User, String> {
        let body = json!({
            "username": username, "password": LOAD_PASSWORD,
            "display_name": username, "device_name": "confab-load",
        });
        match self.call("POST", "/api/auth/register", None, Some(&body))? {
            (201, v) => Ok(User {
                user_id: str_of(&v["user"]["id"])?,
                username: username.into(),
                access_token: str_of(&v["tokens"]["access_token"])?,
                session_id: str_of(&v["tokens"]["session_id"])?,
            }),
            (s, v) => Err(format!("register {username}: HTTP {s} {}", err_code(&v))),
        }
    }

    /// The pair's direct chat (created, or the existing one).
    pub fn direct_chat(&self, token: &str, other: &str) -> Result<String, String> {
        let body = json!({ "user_id": other });
        match self.call("POST", "/api/chats/direct", Some(token), Some(&body))? {
            (200 | 201, v) => str_of(&v["chat_id"]),
            (s, v) => Err(format!("POST /api/chats/direct: HTTP {s} {}", err_code(&v))),
        }
    }

    pub fn group(&self, token: &str, title: &str, members: &[&str]) -> Result<String, String> {
        let body = json!({ "title": title, "member_ids": members });
        match self.call("POST", "/api/chats/groups", Some(token), Some(&body))? {
            (201, v) => str_of(&v["chat_id"]),
            (s, v) => Err(format!("POST /api/chats/groups: HTTP {s} {}", err_code(&v))),
        }
    }
}

fn str_of(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(String::from)
        .ok_or_else(|| format!("unexpected answer shape: {v}"))
}

fn err_code(v: &Value) -> String {
    match v["error"]["code"].as_str() {
        Some(c) => format!("{c}: {}", v["error"]["message"].as_str().unwrap_or("")),
        None => v.to_string(),
    }
}

/// `f` over `items` on `threads` OS threads, results in order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                let r = f(i, &items[i]);
                out.lock().unwrap()[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// Collect a list of results, failing with the first error (and how many failed).
pub fn all_ok<R>(v: Vec<Result<R, String>>, what: &str) -> Result<Vec<R>, String> {
    let failed = v.iter().filter(|r| r.is_err()).count();
    let mut out = Vec::with_capacity(v.len());
    for r in v {
        match r {
            Ok(x) => out.push(x),
            Err(e) => return Err(format!("{what}: {failed} failed; first: {e}")),
        }
    }
    Ok(out)
}

/// The `exp` claim of a JWT (unverified: only to warn about stale users files).
fn jwt_exp(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?["exp"].as_u64()
}

pub struct UserSource<'a> {
    pub rest: &'a Rest,
    pub users_file: Option<&'a str>,
    pub offset: usize,
    pub register_prefix: Option<&'a str>,
    pub save_users: Option<&'a str>,
}

/// `needed` users: from the provisioned file (after `offset`), or registered over REST.
pub fn get_users(src: &UserSource, needed: usize) -> Result<Vec<User>, String> {
    let users = match src.users_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let file: UsersFile = serde_json::from_str(&text)
                .map_err(|e| format!("{path}: not a users file ({e})"))?;
            let have = file.users.len().saturating_sub(src.offset);
            if have < needed {
                return Err(format!(
                    "{path} has {} users ({have} after --user-offset {}); this run needs {needed}. \
                     Provision more: confab admin provision --users N --prefix P --out FILE",
                    file.users.len(),
                    src.offset
                ));
            }
            file.users
                .into_iter()
                .skip(src.offset)
                .take(needed)
                .collect::<Vec<_>>()
        }
        None => {
            let prefix = src
                .register_prefix
                .map(String::from)
                .unwrap_or_else(|| format!("ld{}", run_tag()));
            eprintln!(
                "no --users-file: registering {needed} users over REST as {prefix}NNNNNN \
                 (slow: one password hash each; raise CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN)"
            );
            let idx: Vec<usize> = (1..=needed).collect();
            let done = AtomicUsize::new(0);
            let r = par_map(&idx, 4, |_, i| {
                let u = src.rest.register(&format!("{prefix}{i:06}"));
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if d.is_multiple_of(100) {
                    eprintln!("  registered {d}/{needed}");
                }
                u
            });
            let users = all_ok(r, "registration")?;
            if let Some(out) = src.save_users {
                let text = serde_json::to_string_pretty(&UsersFile {
                    users: users.clone(),
                })
                .map_err(|e| e.to_string())?;
                std::fs::write(out, text).map_err(|e| format!("{out}: {e}"))?;
                eprintln!("  saved to {out} (reuse with --users-file {out})");
            }
            users
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    if let Some(exp) = users.iter().filter_map(|u| jwt_exp(&u.access_token)).min() {
        if exp <= now {
            return Err(format!(
                "access tokens in the users file expired {}s ago: re-provision (while the \
                 server is stopped) with a longer --token-ttl-secs",
                now - exp
            ));
        }
        if exp < now + 300 {
            eprintln!("warning: some access tokens expire in {}s", exp - now);
        }
    }
    Ok(users)
}

/// A short tag unique to this run (for client ids and usernames).
pub fn run_tag() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    format!(
        "{:x}",
        ((ms << 8) ^ std::process::id() as u64) & 0xff_ffff_ffff
    )
}
