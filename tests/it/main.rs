//! The integration tests, one module per area, in one test binary: one link instead of
//! one per file, and libtest runs the Anki-judged tests of every module side by side
//! instead of one file after another. `cargo test --test it MODULE::` runs one area.
//!
//! Tests share this process, so whatever is process-wide must not leak from one to
//! another: scratch directories are unique per call ([`common::files::temp_dir`]), each
//! sync server gets its own port, and a test that changes process-wide state runs in a
//! process of its own ([`common::run::alone_in_process`]).

mod common;

mod anki_judge;
mod authoring;
mod browser;
mod build;
mod cancel;
mod check;
mod cli;
mod cloze_tags;
mod faults;
mod format_doc;
mod hints;
mod hurried;
mod identity;
mod interrupt;
mod judge_harness;
mod latest_format;
mod library;
mod package_reader;
mod preview;
mod properties;
mod reimport;
mod rich;
mod rich_errors;
mod same_output;
mod text_files;
mod unpack;
mod unpack_hostile;
mod unpack_wild;
mod watch;
