//! A hot-store connection for async code: each call runs on tokio's blocking pool, so the
//! agent's runtime thread never waits on SQLite (a lock held by a rollup or a reader, a
//! checkpoint, a slow disk: up to the busy timeout each).

use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;

use super::{Store, StoreError};

/// One connection, shared by the tasks that clone it; calls are serialised by its mutex.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<Store>>);

impl Shared {
    /// Shares `store`.
    pub fn new(store: Store) -> Shared {
        Shared(Arc::new(Mutex::new(store)))
    }

    /// Runs `f` with the store on a blocking thread; the handle yields its result. The call
    /// runs to its end even if nobody waits, so a write is never cut in half.
    pub fn spawn<R, F>(&self, f: F) -> JoinHandle<Result<R, StoreError>>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        let db = self.0.clone();
        tokio::task::spawn_blocking(move || f(&mut db.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Runs `f` with the store on a blocking thread and waits for its result.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        match self.spawn(f).await {
            Ok(result) => result,
            // Only a panic in `f` gets here: a started blocking task is never cancelled.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}
