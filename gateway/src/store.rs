//! Opens the configured store backend.

use std::sync::Arc;

use confab_storage::embedded::EmbeddedStore;
use confab_storage::scylla::LazyScyllaStore;
use confab_storage::{Store, StoreError};

use crate::config::Config;

/// The embedded store fails the start if it cannot open its file. The scylla store does not
/// fail the start when the cluster is unreachable: it logs an error naming the contact points,
/// serves with `/readyz` answering 503 (every store call fails with `Unavailable`), and
/// connects as soon as a node answers. A bad `[storage.scylla]` section still fails the start.
pub async fn open(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    match config.storage.backend.as_str() {
        "scylla" => {
            let sc = &config.storage.scylla;
            let nodes = sc.contact_points.join(",");
            let (store, error) = LazyScyllaStore::connect(sc.clone()).await?;
            match error {
                None => tracing::info!(
                    backend = "scylla",
                    contact_points = %nodes,
                    keyspace = %sc.keyspace,
                    consistency = %sc.consistency,
                    "store open"
                ),
                Some(e) => tracing::error!(
                    backend = "scylla",
                    contact_points = %nodes,
                    keyspace = %sc.keyspace,
                    error = %e,
                    "cannot reach Cassandra/ScyllaDB at {nodes}; serving as not ready \
                     (/readyz 503) and retrying"
                ),
            }
            Ok(Arc::new(store))
        }
        _ => {
            let store = EmbeddedStore::open(&config.data_dir)?;
            tracing::info!(backend = "embedded", data_dir = %config.data_dir.display(), "store open");
            Ok(Arc::new(store))
        }
    }
}
