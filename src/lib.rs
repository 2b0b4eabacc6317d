//! ankideck turns plain-text flashcards into Anki packages.
//!
//! Data flows through the modules in this order: [`source`] reads Markdown card files
//! into [`Note`]s of some [`NoteType`]; [`notetype`] decides their cards; [`package`]
//! writes the `.apkg`. [`build`] runs the whole pipeline for a folder of sources.

pub mod build;
pub mod cancel;
pub mod deck;
pub mod error;
pub mod ids;
pub mod lint;
pub mod lock;
pub mod media;
pub mod note;
pub mod notetype;
pub mod package;
mod pipeline;
pub mod report;
pub mod source;
pub mod temp;
pub mod text;

pub use error::{Diagnostic, Error, Problem, Result, Severity};
pub use note::Note;
pub use notetype::{Kind, NoteType, NoteTypeBuilder, NoteTypeError, Stock};
pub use package::{Format, MediaSource, Package, Progress, Summary};

/// The README's library example is compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
