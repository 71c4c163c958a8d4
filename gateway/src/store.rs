//! Opens the configured store backend.

use std::sync::Arc;

use confab_storage::embedded::EmbeddedStore;
use confab_storage::{Store, StoreError};

use crate::config::Config;

pub async fn open(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    let store = EmbeddedStore::open(&config.data_dir)?;
    tracing::info!(backend = "embedded", data_dir = %config.data_dir.display(), "store open");
    Ok(Arc::new(store))
}
