//! Stopping a build cleanly from another thread (the CLI's Ctrl-C handler): the build
//! notices at its next step, returns [`Error::Cancelled`], and its temporary files are
//! removed as it unwinds, so nothing half-written is left behind.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Asks running builds to stop.
pub fn cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// Whether [`cancel`] was called.
pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// `Err(Error::Cancelled)` once [`cancel`] was called.
pub(crate) fn check() -> Result<()> {
    if is_cancelled() {
        return Err(Error::Cancelled);
    }
    Ok(())
}
