//! Feeds arbitrary bytes to the lock reader as the `ankideck.lock` of a folder with notes
//! of a stock and a cloze type, so that matching lines reach the update rules.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

const CLOZE: &str = "## Rust has {{c1::ownership}} and {{c2::borrowing}}.\n";

fuzz_target!(|data: &[u8]| {
    common::check(&[
        ("ankideck.lock", data),
        ("basic.md", common::BASIC_NOTE.as_bytes()),
        ("cloze.md", CLOZE.as_bytes()),
    ]);
});
