//! `confab admin ...`: operator commands that work on the store directly.
//!
//! `provision` creates many users with sessions and access tokens without a password hash per
//! user (one hash is computed and shared), so a load test can start with thousands of accounts
//! in seconds. The embedded store is single-process: run it while the server is stopped.

use std::io::Write;
use std::path::PathBuf;

use confab_engine::accounts::Accounts;
use confab_engine::model::{DeviceSession, NewUser, User};
use confab_engine::EngineError;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{password, secret, TokenService};
use crate::clock;
use crate::config::Config;

/// The password of every provisioned user.
pub const PROVISION_PASSWORD: &str = "confab-load-password";
const CONCURRENCY: usize = 256;

pub const USAGE: &str = "\
confab admin provision --users N --out FILE [--prefix P] [--token-ttl-secs S]
    create (or reuse) users P000001..PN, each with a new session, and write their access
    tokens as JSON to FILE. Password of all: confab-load-password. Run with the server stopped.
confab admin grant-admin --username NAME | revoke-admin --username NAME
    make a user a server admin (reviews reports, disables accounts), or stop it.";

/// An admin command.
#[derive(Debug)]
pub enum Command {
    Provision(Provision),
    /// Grant (`true`) or revoke the server admin role.
    ServerAdmin {
        username: String,
        grant: bool,
    },
}

#[derive(Debug)]
pub struct Provision {
    pub users: usize,
    pub prefix: String,
    pub out: PathBuf,
    pub token_ttl_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error("store: {0}")]
    Store(String),
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("JWT key: {0}")]
    Secret(#[from] secret::SecretError),
    #[error("{0}")]
    Other(String),
}

/// Parses the arguments after `admin`.
pub fn parse(args: &[String]) -> Result<Command, AdminError> {
    let usage = |m: &str| AdminError::Usage(m.to_owned());
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("provision") => {}
        Some(cmd @ ("grant-admin" | "revoke-admin")) => {
            let grant = cmd == "grant-admin";
            return match (it.next().map(String::as_str), it.next(), it.next()) {
                (Some("--username"), Some(name), None) => Ok(Command::ServerAdmin {
                    username: name.to_ascii_lowercase(),
                    grant,
                }),
                _ => Err(usage(&format!("{cmd} --username NAME"))),
            };
        }
        Some(other) => return Err(usage(&format!("unknown admin command {other:?}"))),
        None => return Err(usage("which admin command?")),
    }
    let mut p = Provision {
        users: 0,
        prefix: "load".into(),
        out: PathBuf::new(),
        token_ttl_secs: 86_400,
    };
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| usage(&format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--users" => p.users = value.parse().map_err(|_| usage("--users: a number"))?,
            "--prefix" => p.prefix = value.to_ascii_lowercase(),
            "--out" => p.out = value.into(),
            "--token-ttl-secs" => {
                p.token_ttl_secs = value
                    .parse()
                    .map_err(|_| usage("--token-ttl-secs: a number"))?
            }
            other => return Err(usage(&format!("unknown flag {other}"))),
        }
    }
    if p.users == 0 || p.users > 1_000_000 || p.out.as_os_str().is_empty() {
        return Err(usage("--users (1..=1000000) and --out are required"));
    }
    if p.prefix.len() > 24
        || !p
            .prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(usage("--prefix: up to 24 of a-z 0-9"));
    }
    Ok(Command::Provision(p))
}

/// Grants or revokes the server admin role.
pub async fn server_admin(config: &Config, username: &str, grant: bool) -> Result<(), AdminError> {
    match accounts(config)
        .await?
        .set_server_admin(username, grant)
        .await
    {
        Err(EngineError::NotFound(_)) => Err(AdminError::Other(format!("no user {username:?}"))),
        other => Ok(other?),
    }
}

#[derive(Serialize)]
struct Provisioned {
    user_id: Uuid,
    username: String,
    access_token: String,
    session_id: Uuid,
}

/// The account records of the configured store (no engine runs for a tool).
async fn accounts(config: &Config) -> Result<Accounts, AdminError> {
    let store = crate::store::open(config)
        .await
        .map_err(|e| AdminError::Store(e.to_string()))?;
    Ok(Accounts::new(store))
}

pub async fn provision(config: &Config, p: Provision) -> Result<usize, AdminError> {
    let accounts = accounts(config).await?;
    let key = secret::load_or_create(config.auth.jwt_secret.as_deref(), &config.data_dir)?;
    let tokens = std::sync::Arc::new(TokenService::new(
        &key,
        p.token_ttl_secs,
        config.auth.refresh_ttl_secs,
    ));
    let hash = password::hash(PROVISION_PASSWORD.to_owned())
        .await
        .map_err(|e| AdminError::Other(format!("hashing: {e}")))?;
    let mut out = Vec::with_capacity(p.users);
    let names: Vec<String> = (1..=p.users)
        .map(|i| format!("{}{i:06}", p.prefix))
        .collect();
    for chunk in names.chunks(CONCURRENCY) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|name| {
                let (accounts, tokens, hash, name) =
                    (accounts.clone(), tokens.clone(), hash.clone(), name.clone());
                actix_web::rt::spawn(async move { one(&accounts, &tokens, hash, name).await })
            })
            .collect();
        for task in tasks {
            out.push(task.await.map_err(|e| AdminError::Other(e.to_string()))??);
        }
    }
    let json = serde_json::to_vec(&serde_json::json!({ "users": out }))
        .map_err(|e| AdminError::Other(e.to_string()))?;
    let mut file = std::fs::File::create(&p.out)
        .map_err(|e| AdminError::Other(format!("{}: {e}", p.out.display())))?;
    file.write_all(&json)
        .map_err(|e| AdminError::Other(e.to_string()))?;
    Ok(out.len())
}

async fn one(
    accounts: &Accounts,
    tokens: &TokenService,
    password_hash: String,
    username: String,
) -> Result<Provisioned, AdminError> {
    let now = clock::now_millis();
    let user = User {
        id: Uuid::now_v7(),
        username: username.clone(),
        phone: None,
        display_name: username.clone(),
        about: String::new(),
        photo: None,
        created_at: now,
        disabled: false,
        server_admin: false,
    };
    let user = accounts
        .register_or_get(NewUser {
            user,
            password_hash,
        })
        .await?;
    let refresh = tokens
        .issue_refresh()
        .map_err(|e| AdminError::Other(e.to_string()))?;
    let session = DeviceSession {
        id: Uuid::now_v7(),
        user_id: user.id,
        device_name: "confab-load".into(),
        created_at: now,
        last_refreshed_at: now,
        revoked_at: None,
        refresh_expires_at: now + tokens.refresh_ttl_secs as i64 * 1000,
    };
    accounts.open_session(&session, &refresh.hash).await?;
    let access_token = tokens
        .issue_access(user.id, session.id, clock::now_secs())
        .map_err(|e| AdminError::Other(e.to_string()))?;
    Ok(Provisioned {
        user_id: user.id,
        username,
        access_token,
        session_id: session.id,
    })
}
