//! The `scylla` backend: ScyllaDB (or Apache Cassandra 5) over CQL, through the `scylla` driver.
//!
//! Layout (the CQL files in `storage/schema/` are the reference):
//! - Every table is keyed so that each request reads or writes partitions it can name: a user
//!   by id, a username or phone claim by its value, a user's sessions, an owner's contacts or
//!   blocks, a chat's members, a (chat, bucket) slice of a timeline. No request path uses
//!   `ALLOW FILTERING`, a secondary index or a scan.
//! - Uniqueness (usernames, phones, one 1:1 chat per pair) and "exactly once" transitions
//!   (spending a refresh token, adding a contact, blocking, assigning a chat's next sequence
//!   numbers) use lightweight transactions (`IF NOT EXISTS`, `IF spent = false`,
//!   `IF last_seq = N`, `IF EXISTS`): they are CQL's only compare-and-set. Everything else is a
//!   plain idempotent write. Rows that take LWTs are only ever written with LWTs, so Paxos
//!   timestamps never race client timestamps on the same cells.
//! - A chat's appends (and the group changes and body rewrites they carry) write every row
//!   `USING TIMESTAMP` a per-chat write timestamp that grows with each append's
//!   compare-and-set, so writing an append out twice, or late, never undoes a later one (see
//!   `timeline`).
//! - An operation that spans partitions (e.g. registration: user row, username claim, phone
//!   claim) is ordered so that every intermediate state is invisible or harmless, has a single
//!   write that makes it visible (its "commit point"), and undoes its earlier writes when a
//!   later step is refused. No logged batch crosses partitions; appends keep a one-row
//!   write-ahead record so a writer that dies half way is completed by the next one (see
//!   `timeline`).
//! - Lists page by their clustering key: the cursor is the last key returned, base64, and the
//!   next page is `WHERE key > ? LIMIT ?` inside the owner's partition. Whole-partition reads
//!   (a user's sessions, a chat's members) go page by page.
//!
//! Statements are prepared once at connect, with the keyspace in their text; the driver
//! re-prepares them if the server forgot them (e.g. after a restart) and reconnects on its
//! own, so the store recovers when the database returns. While it is away every operation
//! fails with [`StoreError::Unavailable`] naming the contact points.

mod broadcasts;
mod calls;
mod chats;
mod config;
mod groups;
mod lazy;
mod media;
mod notifications;
mod owner;
mod prefs;
mod receipts;
mod rows;
mod schema;
mod social;
mod statements;
mod statuses;
mod timeline;
mod users;

use std::sync::Arc;
use std::time::Duration;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{ExecutionError, NewSessionError, PrepareError};
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::response::query_result::QueryResult;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;

pub use config::ScyllaConfig;
pub use lazy::LazyScyllaStore;
pub use schema::{MIGRATIONS, SCHEMA_VERSION};

use crate::{Store, StoreError, StoreResult};
use statements::Statements;

/// Most writes one operation keeps in flight at once.
const PARALLEL_WRITES: usize = 32;

/// A connected store. Cheap to clone: clones share the driver session and its connections.
#[derive(Clone)]
pub struct ScyllaStore {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    st: Statements,
    /// The configured contact points, for error messages.
    nodes: String,
    /// Chats this instance claimed (`claim_chat`), with the epoch it holds.
    claims: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, Arc<owner::Claim>>>,
    /// Statements of the owned write path (`owner`).
    owner_st: owner::Statements,
}

impl ScyllaStore {
    /// Connects to the cluster, creates the keyspace if needed, applies the schema migrations
    /// that are not applied yet and prepares every statement.
    ///
    /// Fails with [`StoreError::Unavailable`] naming the contact points when no node answers
    /// within `connect_timeout_secs`.
    pub async fn connect(config: &ScyllaConfig) -> StoreResult<ScyllaStore> {
        let (session, nodes) = open_session(config).await?;
        schema::apply(&session, config, &nodes).await?;
        let st = Statements::prepare(&session, &config.keyspace, &nodes).await?;
        let owner_st = owner::Statements::prepare(&session, &config.keyspace, &nodes).await?;
        tracing::info!(nodes = %nodes, keyspace = %config.keyspace, "scylla store connected");
        Ok(ScyllaStore {
            inner: Arc::new(Inner {
                session,
                st,
                nodes,
                claims: Default::default(),
                owner_st,
            }),
        })
    }

    /// The driver session, for tests and tools that need raw CQL (e.g. dropping a test
    /// keyspace). Request code goes through the store traits.
    pub fn session(&self) -> &Session {
        &self.inner.session
    }
}

/// Applies the schema migrations that are not applied yet (creating the keyspace if needed) and
/// returns the schema version now in force. For `confab migrate`; [`ScyllaStore::connect`]
/// does the same on its own.
pub async fn migrate(config: &ScyllaConfig) -> StoreResult<u32> {
    let (session, nodes) = open_session(config).await?;
    schema::apply(&session, config, &nodes).await
}

/// A driver session with the configured consistency and timeouts, using `config.keyspace`
/// (created here if missing).
async fn open_session(config: &ScyllaConfig) -> StoreResult<(Session, String)> {
    config.validate()?;
    let nodes = config.contact_points.join(",");
    let consistency = config.consistency_level()?;
    let mut policy = DefaultPolicy::builder();
    if let Some(dc) = &config.local_datacenter {
        policy = policy
            .prefer_datacenter(dc.clone())
            .permit_dc_failover(false);
    }
    let profile = ExecutionProfile::builder()
        .consistency(consistency)
        .serial_consistency(Some(config.serial_consistency_level()?))
        .request_timeout(Some(Duration::from_secs(config.request_timeout_secs)))
        .load_balancing_policy(policy.build())
        .build();
    let connect_timeout = Duration::from_secs(config.connect_timeout_secs);
    let builder = SessionBuilder::new()
        .known_nodes(&config.contact_points)
        .connection_timeout(connect_timeout)
        .default_execution_profile_handle(profile.into_handle())
        // Only our keyspace's metadata (token-aware routing needs its replication); every
        // other keyspace's schema would be fetched and refreshed for nothing.
        .keyspaces_to_fetch([config.keyspace.clone()])
        // Schema statements only run at start-up, in a row: refresh the metadata once after
        // them (see `schema::apply`) rather than after each one.
        .refresh_metadata_on_auto_schema_agreement(false);
    // The driver may try each contact point in turn: bound the whole attempt too.
    let session = match tokio::time::timeout(connect_timeout * 2, builder.build()).await {
        Ok(Ok(session)) => session,
        Ok(Err(e)) => return Err(unreachable_error(&nodes, &e)),
        Err(_) => {
            return Err(StoreError::Unavailable(format!(
                "cannot reach Cassandra/ScyllaDB at {nodes}: no answer within {} s",
                connect_timeout.as_secs() * 2
            )))
        }
    };
    Ok((session, nodes))
}

fn unreachable_error(nodes: &str, e: &NewSessionError) -> StoreError {
    StoreError::Unavailable(format!("cannot reach Cassandra/ScyllaDB at {nodes}: {e}"))
}

/// Driver failures of a request: the node is down, timed out, overloaded or refused. None of
/// them says anything about stored data, so they are all `Unavailable`.
fn exec_error(nodes: &str, e: ExecutionError) -> StoreError {
    StoreError::Unavailable(format!("Cassandra/ScyllaDB at {nodes}: {e}"))
}

fn prepare_error(nodes: &str, cql: &str, e: PrepareError) -> StoreError {
    StoreError::Unavailable(format!(
        "Cassandra/ScyllaDB at {nodes}: cannot prepare {cql:?}: {e}"
    ))
}

impl ScyllaStore {
    fn nodes(&self) -> &str {
        &self.inner.nodes
    }

    fn st(&self) -> &Statements {
        &self.inner.st
    }

    /// Runs a prepared statement that returns at most one page (a partition-key lookup or a
    /// write); every statement is prepared with a bounded page size.
    async fn run(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<QueryResult> {
        self.inner
            .session
            .execute_unpaged(statement, values)
            .await
            .map_err(|e| exec_error(self.nodes(), e))
    }

    /// Runs one statement for each of `rows`, up to [`PARALLEL_WRITES`] at a time (a batched
    /// append writes one row per event: in parallel, not one round trip after another).
    /// Waits for all of them; the first error wins.
    async fn run_all<V>(
        &self,
        statement: fn(&Statements) -> &PreparedStatement,
        rows: Vec<V>,
    ) -> StoreResult<()>
    where
        V: SerializeRow + Send + 'static,
    {
        let mut tasks = tokio::task::JoinSet::new();
        let mut result = Ok(());
        let mut record = |joined: Result<StoreResult<()>, tokio::task::JoinError>| {
            let outcome =
                joined.unwrap_or_else(|e| Err(StoreError::Unavailable(format!("store task: {e}"))));
            if let (Err(e), Ok(())) = (outcome, &result) {
                result = Err(e);
            }
        };
        for values in rows {
            if tasks.len() >= PARALLEL_WRITES {
                if let Some(joined) = tasks.join_next().await {
                    record(joined);
                }
            }
            let store = self.clone();
            tasks.spawn(async move { store.run(statement(store.st()), values).await.map(|_| ()) });
        }
        while let Some(joined) = tasks.join_next().await {
            record(joined);
        }
        result
    }

    /// Every row of a statement that may return many (a whole partition), page by page, so
    /// neither the server nor the driver ever holds more than one page.
    async fn all_pages<R, V>(&self, statement: &PreparedStatement, values: V) -> StoreResult<Vec<R>>
    where
        R: for<'f> scylla::deserialize::row::DeserializeRow<'f, 'f>,
        V: SerializeRow,
    {
        let mut out = Vec::new();
        let mut paging = scylla::response::PagingState::start();
        loop {
            let (result, next) = self
                .inner
                .session
                .execute_single_page(statement, &values, paging)
                .await
                .map_err(|e| exec_error(self.nodes(), e))?;
            out.extend(rows::all::<R>(result)?);
            match next.into_paging_control_flow() {
                std::ops::ControlFlow::Continue(state) => paging = state,
                std::ops::ControlFlow::Break(()) => return Ok(out),
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for ScyllaStore {
    fn backend(&self) -> &'static str {
        "scylla"
    }

    /// Reads one row of the schema-version table at the configured consistency: succeeds only
    /// when enough replicas answer to serve requests.
    async fn ping(&self) -> StoreResult<()> {
        let result = self.run(&self.st().ping, (schema::SCOPE,)).await?;
        result.into_rows_result().map_err(rows::corrupt)?;
        Ok(())
    }
}
