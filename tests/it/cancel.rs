//! Cancelling stops the threads of a build's pipelines (rendering ahead of the reader,
//! preparing rows ahead of SQLite) instead of leaving one waiting for the other.
//!
//! Cancelling is process-wide and cannot be undone, hence a process of its own
//! ([`common::run::alone_in_process`]).

use crate::common;

use ankideck::{Error, Note, Package, Stock};
use common::files::temp_dir;
use std::fs;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on a thread and waits up to a minute for it: a pipeline that deadlocks fails
/// the test instead of hanging it.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || done.send(f()).unwrap());
    result
        .recv_timeout(Duration::from_secs(60))
        .expect("still running a minute after being cancelled")
}

#[test]
fn cancelled_reading_and_writing_stop_and_say_so() {
    if !common::run::alone_in_process("cancel::cancelled_reading_and_writing_stop_and_say_so") {
        return;
    }
    // Enough files and notes that each producer would fill its channel and wait.
    let dir = temp_dir("cancel-pipelines");
    for file in 0..200 {
        let notes: String = (0..5)
            .map(|n| format!("## Question {file}-{n}\n\nAnswer\n\n"))
            .collect();
        fs::write(dir.join(format!("f{file:03}.md")), notes).unwrap();
    }
    let basic = Stock::Basic.notetype();
    let mut package = Package::new(1_700_000_000);
    for n in 0..5000 {
        let note = Note::new(&basic, [format!("Q{n}"), "A".into()])
            .guid(ankideck::ids::guid_for_id(&n.to_string()))
            .deck("Deck");
        package.add_note(note).unwrap();
    }

    ankideck::cancel::cancel();

    let read = within_a_minute(move || ankideck::source::Sources::read(&dir));
    assert!(matches!(read, Err(Error::Cancelled)), "{read:?}");
    let out = temp_dir("cancel-pipelines-out").join("deck.apkg");
    let written = within_a_minute(move || {
        let result = package.write(&out);
        (result, out.exists())
    });
    assert!(
        matches!(written.0, Err(Error::Cancelled)),
        "{:?}",
        written.0
    );
    assert!(!written.1, "nothing is written");
}
