//! `confab`: the server binary. `confab [--config FILE]` serves; `--help` lists the rest.

use std::path::PathBuf;
use std::process::ExitCode;

use confab_gateway::admin;
use confab_gateway::config::Config;

const USAGE: &str = "\
confab: realtime messaging server

USAGE:
    confab [--config FILE]     start the server (defaults: 127.0.0.1:8080, ./data, embedded store)
    confab [--config FILE] admin provision --users N --out FILE [--prefix P] [--token-ttl-secs S]
                               create load-test users with tokens (server stopped)
    confab [--config FILE] migrate
                               apply the store's schema (CQL files for scylla) and exit
    confab [--config FILE] admin grant-admin|revoke-admin --username NAME
                               make a user a server admin, or stop it (server stopped)
    confab --help | --version

Every setting can be overridden by a CONFAB_* environment variable; see README.md.";

fn main() -> ExitCode {
    let mut config_file: Option<PathBuf> = None;
    let mut admin: Option<Vec<String>> = None;
    let mut migrate = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "migrate" => migrate = true,
            "admin" => {
                admin = Some(args.by_ref().collect());
                break;
            }
            "--config" | "-c" => match args.next() {
                Some(path) => config_file = Some(path.into()),
                None => return usage_error("--config needs a file path"),
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--version" | "-V" => {
                println!("confab {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let config = match Config::load(config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("confab: {e}");
            return ExitCode::from(2);
        }
    };
    confab_gateway::http::init_logging(&config.log);
    if migrate {
        return run_migrate(&config);
    }
    if let Some(admin_args) = admin {
        return run_admin(&config, &admin_args);
    }
    let result = actix_web::rt::System::new().block_on(confab_gateway::server::run(config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "confab stopped");
            eprintln!("confab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Applies the store's schema without starting the server.
fn run_migrate(config: &Config) -> ExitCode {
    let result = actix_web::rt::System::new().block_on(async {
        match config.storage.backend.as_str() {
            "scylla" => confab_storage::scylla::migrate(&config.storage.scylla)
                .await
                .map(|v| format!("scylla schema at version {v}")),
            _ => confab_gateway::store::open(config)
                .await
                .map(|_| "embedded store ready".to_owned()),
        }
    });
    match result {
        Ok(done) => {
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("confab migrate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_admin(config: &Config, args: &[String]) -> ExitCode {
    let command = match admin::parse(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("confab admin: {e}");
            return ExitCode::from(2);
        }
    };
    let system = actix_web::rt::System::new();
    let result = match command {
        admin::Command::Provision(p) => {
            let out = p.out.clone();
            system
                .block_on(admin::provision(config, p))
                .map(|n| println!("provisioned {n} users into {}", out.display()))
        }
        admin::Command::ServerAdmin { username, grant } => system
            .block_on(admin::server_admin(config, &username, grant))
            .map(|()| {
                println!(
                    "{username}: server admin {}",
                    if grant { "granted" } else { "revoked" }
                )
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab admin: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("confab: {message}\n\n{USAGE}");
    ExitCode::from(2)
}
