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

/// A reader that fails once [`cancel`] is called, so that long copies stop promptly.
pub(crate) struct Cancellable<R>(pub R);

impl<R: std::io::Read> std::io::Read for Cancellable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if is_cancelled() {
            return Err(std::io::Error::other("interrupted"));
        }
        self.0.read(buf)
    }
}

/// Turns an I/O error that a cancellation caused into [`Error::Cancelled`].
pub(crate) fn or_cancelled(error: Error) -> Error {
    if is_cancelled() {
        Error::Cancelled
    } else {
        error
    }
}
