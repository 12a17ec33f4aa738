//! What every request handler shares.

use std::sync::Arc;
use std::time::Instant;

use actix_web::web;

use crate::ingest_queue::IngestQueue;
use crate::store::{SharedStore, Store, StoreError};
use crate::system::SystemInfo;

/// The collector's shared state; cheap to clone (one per worker).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database, for reads (writes go through [`AppState::queue`]).
    pub store: SharedStore,
    /// The ingest queue to the one writer.
    pub queue: IngestQueue,
    /// The host's facts, gathered at start-up.
    pub system: Arc<SystemInfo>,
    /// When the collector started, for its uptime.
    pub started_at: Instant,
}

impl AppState {
    /// State over `store` and its writer's `queue`, starting the uptime clock now.
    pub fn new(store: SharedStore, queue: IngestQueue, system: SystemInfo) -> Self {
        Self {
            store,
            queue,
            system: Arc::new(system),
            started_at: Instant::now(),
        }
    }

    /// Runs `work` against the store on actix's blocking pool, so that database I/O and lock
    /// waits never stall an async worker.
    pub async fn with_store<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        web::block(move || work(store.as_ref()))
            .await
            .map_err(|_| StoreError::Blocking)?
    }
}
