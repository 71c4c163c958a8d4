//! Versioned schema: the CQL files in `storage/schema/`, compiled in, applied in order, each once,
//! and recorded in the `schema_version` table of the keyspace.
//!
//! Nodes may start together: every statement is `IF NOT EXISTS` (or a plain
//! `ALTER TABLE t ADD c type`, which the runner skips when `system_schema.columns` has the
//! column already), so applying a file twice is harmless and the record is only a fast path
//! (and a history). The version row is written
//! after all of a file's statements succeeded, so a crash half way re-applies the whole file
//! on the next start. One caveat of Cassandra 5.0 (fixed by its transactional metadata in 5.1,
//! not an issue on ScyllaDB with Raft schema): two coordinators creating the same table at the
//! same instant can briefly disagree on its id; deployments should run `confab migrate` once
//! before rolling out new nodes, which also keeps DDL off the start-up path.

use std::collections::BTreeMap;
use std::time::Duration;

use scylla::client::session::Session;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::statement::Consistency;
use scylla::statement::Statement;
use scylla::value::CqlTimestamp;

use super::statements::qualify;
use super::{exec_error, prepare_error, rows, ScyllaConfig};
use crate::{StoreError, StoreResult};

/// One schema file.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub cql: &'static str,
}

/// Every schema file, in order. Add new files at the end with the next version number; never
/// edit a released one (its checksum is recorded and a change is logged as a warning).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_users_sessions.cql",
        cql: include_str!("../../schema/0001_users_sessions.cql"),
    },
    Migration {
        version: 2,
        name: "0002_privacy_contacts_blocks.cql",
        cql: include_str!("../../schema/0002_privacy_contacts_blocks.cql"),
    },
    Migration {
        version: 3,
        name: "0003_chats_timelines_receipts.cql",
        cql: include_str!("../../schema/0003_chats_timelines_receipts.cql"),
    },
    Migration {
        version: 4,
        name: "0004_groups_invites_prefs_reports.cql",
        cql: include_str!("../../schema/0004_groups_invites_prefs_reports.cql"),
    },
    Migration {
        version: 5,
        name: "0005_broadcast_lists.cql",
        cql: include_str!("../../schema/0005_broadcast_lists.cql"),
    },
    Migration {
        version: 6,
        name: "0006_media.cql",
        cql: include_str!("../../schema/0006_media.cql"),
    },
    Migration {
        version: 7,
        name: "0007_statuses.cql",
        cql: include_str!("../../schema/0007_statuses.cql"),
    },
    Migration {
        version: 8,
        name: "0008_calls.cql",
        cql: include_str!("../../schema/0008_calls.cql"),
    },
    Migration {
        version: 9,
        name: "0009_notifications.cql",
        cql: include_str!("../../schema/0009_notifications.cql"),
    },
    Migration {
        version: 10,
        name: "0010_chat_fencing.cql",
        cql: include_str!("../../schema/0010_chat_fencing.cql"),
    },
    Migration {
        version: 11,
        name: "0011_owner_epochs.cql",
        cql: include_str!("../../schema/0011_owner_epochs.cql"),
    },
];

/// The schema version this build applies.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Partition key of `schema_version`: the whole history is one small partition.
pub(crate) const SCOPE: &str = "confab";

/// DDL waits for schema agreement between nodes: allow it more than a request.
const DDL_TIMEOUT: Duration = Duration::from_secs(60);

const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (\
     scope text, version int, name text, checksum text, applied_at timestamp, \
     PRIMARY KEY ((scope), version))";

/// Creates the keyspace if needed, makes it the session's keyspace, applies what is missing,
/// and returns the version now in force.
pub(crate) async fn apply(
    session: &Session,
    config: &ScyllaConfig,
    nodes: &str,
) -> StoreResult<u32> {
    let ks = &config.keyspace;
    ddl(
        session,
        nodes,
        &format!(
            "CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {} AND durable_writes = true",
            config.replication.trim()
        ),
    )
    .await?;
    session
        .use_keyspace(ks.as_str(), false)
        .await
        .map_err(|e| {
            StoreError::Unavailable(format!("Cassandra/ScyllaDB at {nodes}: USE {ks}: {e}"))
        })?;
    ddl(session, nodes, CREATE_VERSION_TABLE).await?;

    let select_cql = "SELECT version, checksum FROM schema_version WHERE scope = ?";
    let select_cql = &qualify(select_cql, ks);
    let select = session
        .prepare(select_cql.as_str())
        .await
        .map_err(|e| prepare_error(nodes, select_cql, e))?;
    let insert_cql = "INSERT INTO schema_version (scope, version, name, checksum, applied_at) \
                      VALUES (?, ?, ?, ?, ?)";
    let insert_cql = &qualify(insert_cql, ks);
    let insert = session
        .prepare(insert_cql.as_str())
        .await
        .map_err(|e| prepare_error(nodes, insert_cql, e))?;

    let applied: BTreeMap<i32, Option<String>> = session
        .execute_unpaged(&select, (SCOPE,))
        .await
        .map_err(|e| exec_error(nodes, e))?
        .into_rows_result()
        .map_err(rows::corrupt)?
        .rows::<(i32, Option<String>)>()
        .map_err(rows::corrupt)?
        .collect::<Result<_, _>>()
        .map_err(rows::corrupt)?;

    for m in MIGRATIONS {
        let version = m.version as i32;
        let sum = checksum(m.cql);
        if let Some(recorded) = applied.get(&version) {
            if recorded.as_deref() != Some(sum.as_str()) {
                tracing::warn!(
                    version,
                    file = m.name,
                    "schema file changed after it was applied"
                );
            }
            continue;
        }
        for statement in statements(m.cql) {
            match added_column(&statement) {
                Some((table, column)) => {
                    add_column(session, nodes, ks, &statement, &table, &column).await?
                }
                None => ddl(session, nodes, &statement).await?,
            }
        }
        let now = CqlTimestamp(now_millis());
        session
            .execute_unpaged(&insert, (SCOPE, version, m.name, sum.as_str(), now))
            .await
            .map_err(|e| exec_error(nodes, e))?;
        tracing::info!(version, file = m.name, keyspace = %ks, "schema migration applied");
    }
    // Token-aware routing needs the keyspace's replication, which did not exist (or was not
    // fetched) when the session connected.
    if let Err(e) = session.refresh_metadata().await {
        tracing::warn!(error = %e, "could not refresh cluster metadata after the schema check");
    }
    if let Some((&newest, _)) = applied.last_key_value() {
        if newest > SCHEMA_VERSION as i32 {
            tracing::warn!(
                database = newest,
                build = SCHEMA_VERSION,
                "the database schema is newer than this build knows"
            );
        }
    }
    Ok(SCHEMA_VERSION.max(applied.keys().next_back().map_or(0, |&v| v.max(0) as u32)))
}

/// Runs one schema statement (no bind values, so unprepared is one round trip) and lets the
/// driver wait for schema agreement. "Already exists" counts as success: idempotence is the
/// point, and it is what `IF NOT EXISTS` cannot cover (e.g. `ALTER TABLE ... ADD`).
async fn ddl(session: &Session, nodes: &str, cql: &str) -> StoreResult<()> {
    let mut statement = Statement::new(cql);
    statement.set_request_timeout(Some(DDL_TIMEOUT));
    match session.query_unpaged(statement, ()).await {
        Ok(_) => Ok(()),
        Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(
            DbError::AlreadyExists { .. },
            _,
        ))) => Ok(()),
        Err(e) => Err(StoreError::Unavailable(format!(
            "Cassandra/ScyllaDB at {nodes}: schema statement failed: {e}: {cql}"
        ))),
    }
}

/// `ALTER TABLE <table> ADD <column> <type>`: the (table, column) it adds, lower-case. CQL has
/// no portable `ADD IF NOT EXISTS` (Cassandra 4.1+ has, ScyllaDB has not), so the runner makes
/// exactly this form idempotent itself (see [`add_column`]). Quoted names are not supported.
pub(crate) fn added_column(statement: &str) -> Option<(String, String)> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let is = |i: usize, w: &str| words.get(i).is_some_and(|x| x.eq_ignore_ascii_case(w));
    let plain = |w: &str| {
        w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if words.len() < 6 || !is(0, "ALTER") || !is(1, "TABLE") || !is(3, "ADD") {
        return None;
    }
    let (table, column) = (words[2], words[4]);
    if !plain(table) || !plain(column) || is(4, "IF") || words[5].starts_with('(') {
        return None;
    }
    Some((table.to_ascii_lowercase(), column.to_ascii_lowercase()))
}

/// Runs an `ALTER TABLE ... ADD` unless the column exists already. Two nodes migrating at once
/// may both find it missing: the loser's error is forgiven once schema agreement shows the
/// column there.
async fn add_column(
    session: &Session,
    nodes: &str,
    keyspace: &str,
    cql: &str,
    table: &str,
    column: &str,
) -> StoreResult<()> {
    if column_exists(session, nodes, keyspace, table, column).await? {
        return Ok(());
    }
    let Err(e) = ddl(session, nodes, cql).await else {
        return Ok(());
    };
    if let Err(agreement) = session.await_schema_agreement().await {
        tracing::warn!(error = %agreement, "no schema agreement after a failed ALTER TABLE");
    }
    if column_exists(session, nodes, keyspace, table, column).await? {
        return Ok(());
    }
    Err(e)
}

async fn column_exists(
    session: &Session,
    nodes: &str,
    keyspace: &str,
    table: &str,
    column: &str,
) -> StoreResult<bool> {
    let mut statement = Statement::new(
        "SELECT column_name FROM system_schema.columns \
         WHERE keyspace_name = ? AND table_name = ? AND column_name = ?",
    );
    statement.set_request_timeout(Some(DDL_TIMEOUT));
    // Schema tables are local to each node (and agreement was awaited): any one answers.
    statement.set_consistency(Consistency::One);
    let result = session
        .query_unpaged(statement, (keyspace.to_ascii_lowercase(), table, column))
        .await
        .map_err(|e| exec_error(nodes, e))?;
    Ok(rows::first::<(String,)>(result)?.is_some())
}

/// The statements of a CQL file: `--` comments dropped, split at `;` (both outside quotes).
pub(crate) fn statements(cql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = cql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            '-' if !quoted && chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        current.push('\n');
                        break;
                    }
                }
            }
            ';' if !quoted => {
                push_statement(&mut out, &current);
                current.clear();
            }
            _ => current.push(c),
        }
    }
    push_statement(&mut out, &current);
    out
}

fn push_statement(out: &mut Vec<String>, text: &str) {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !joined.is_empty() {
        out.push(joined);
    }
}

/// FNV-1a of the file: enough to notice an edited file; not a security measure.
fn checksum(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "{}", m.name);
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }

    /// Concurrent starts rely on it: every statement must be safe to run twice.
    #[test]
    fn every_statement_is_idempotent_and_portable() {
        for m in MIGRATIONS {
            let stmts = statements(m.cql);
            assert!(!stmts.is_empty(), "{} has no statement", m.name);
            for s in stmts {
                let upper = s.to_ascii_uppercase();
                assert!(
                    upper.contains("IF NOT EXISTS")
                        || upper.contains("IF EXISTS")
                        || added_column(&s).is_some(),
                    "{}: not idempotent: {s}",
                    m.name
                );
                for banned in [
                    "ALLOW FILTERING",
                    "MATERIALIZED VIEW",
                    "USING TIMEOUT",
                    "STORAGEATTACHEDINDEX",
                    " SAI",
                    "CDC",
                    "TABLETS",
                ] {
                    assert!(!upper.contains(banned), "{}: {banned} in {s}", m.name);
                }
            }
        }
    }

    #[test]
    fn only_plain_column_additions_are_guarded() {
        assert_eq!(
            added_column("ALTER TABLE users ADD server_admin boolean"),
            Some(("users".into(), "server_admin".into()))
        );
        assert_eq!(
            added_column("alter table Chats add Info text"),
            Some(("chats".into(), "info".into()))
        );
        for other in [
            "ALTER TABLE users DROP disabled",
            "ALTER TABLE users ADD (a int, b int)",
            "ALTER TABLE users ADD IF NOT EXISTS a int",
            "ALTER TABLE users WITH comment = 'x'",
            "ALTER TABLE ks.users ADD a int",
            "CREATE TABLE IF NOT EXISTS t (a int PRIMARY KEY)",
        ] {
            assert_eq!(added_column(other), None, "{other}");
        }
    }

    #[test]
    fn splitting_ignores_comments_and_quoted_semicolons() {
        let got = statements(
            "-- a comment; with a semicolon\nCREATE TABLE IF NOT EXISTS t (a int PRIMARY KEY)\n  WITH comment = 'x;y' ;\n\n-- trailing\n",
        );
        assert_eq!(
            got,
            vec!["CREATE TABLE IF NOT EXISTS t (a int PRIMARY KEY) WITH comment = 'x;y'"]
        );
    }
}
