//! The whole pipeline: a source folder in, a package file out.

use crate::error::Result;
use crate::package::{Format, Progress, Summary};
use crate::source::Sources;
use std::path::Path;

/// The time written into packages when `SOURCE_DATE_EPOCH` is not set: fixed, so that
/// a build is reproducible (2023-11-14).
pub const DEFAULT_TIMESTAMP: i64 = 1_700_000_000;

/// `SOURCE_DATE_EPOCH` if set (the reproducible-builds convention), else [`DEFAULT_TIMESTAMP`].
pub fn timestamp_from_env() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_TIMESTAMP)
}

/// Reads the cards below `source` and writes them to `output`. On any problem in the
/// sources nothing is written and `output` stays as it was.
pub fn build(source: &Path, output: &Path, timestamp: i64) -> Result<Summary> {
    build_with(source, output, timestamp, Format::default(), &mut |_| {})
}

/// [`build`] in the given package format, telling `progress` how far it has got.
pub fn build_with(
    source: &Path,
    output: &Path,
    timestamp: i64,
    format: Format,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary> {
    progress(Progress::Reading);
    let sources = Sources::read(source, timestamp)?;
    let package = sources.into_package(timestamp)?;
    package.write_reporting(output, format, progress)
}
