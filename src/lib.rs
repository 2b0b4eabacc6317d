//! ankideck turns plain-text flashcards into Anki packages (`.apkg`).
//!
//! Data flows through the stages in this order, each a module:
//! - [`source`] reads a folder of card files, Anki text files and custom note types into
//!   [`Note`]s of some [`NoteType`] ([`source::Sources`]), with [`Diagnostic`]s;
//! - the lint checks the notes' fields (warnings only), run by [`build::check`];
//! - [`lock`] compares the notes with `ankideck.lock`, giving changed notes a new time;
//! - [`package`] writes the `.apkg` ([`Package`]);
//! - [`build`] runs them all for a folder; [`report`] renders what they found;
//! - [`preview`] writes a static site showing every card as Anki renders it.
//!
//! Below them the model: [`note`], [`notetype`] (with the stock types, [`Stock`]),
//! [`render`] (a card's question and answer, as Anki renders them), [`deck`], [`ids`]
//! (every id and guid rule) and [`error`]. Reading packages back (`unpack`) will be a
//! stage beside [`package`].
//!
//! Notes made in code go straight into a [`Package`], as with genanki; see the README's
//! library section and `examples/`.

#![warn(missing_docs)]

pub mod build;
pub mod cancel;
pub mod deck;
pub mod error;
pub mod ids;
pub mod init;
mod lint;
pub mod lock;
mod media;
pub mod note;
mod note_store;
pub mod notetype;
pub mod package;
mod pipeline;
pub mod preview;
pub mod render;
pub mod report;
pub mod source;
mod suggest;
mod temp;
mod text;
pub mod unpack;
pub mod watch;

pub use error::{Diagnostic, Error, Problem, Result, Severity, Spot};
pub use note::Note;
pub use notetype::{Kind, NoteType, NoteTypeBuilder, NoteTypeError, Stock};
pub use package::{Format, MediaSource, Package, Progress, Summary};

/// The README's library example is compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
