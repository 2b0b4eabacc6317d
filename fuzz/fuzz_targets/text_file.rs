//! Feeds arbitrary bytes to the CSV/TSV reader as a text file of a source folder. The
//! first byte picks the extension, so all three ways of guessing the separator run.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else { return };
    let name = ["words.csv", "words.tsv", "words.txt"][usize::from(pick % 3)];
    common::check(&[(name, text), ("basic.md", common::BASIC_NOTE.as_bytes())]);
});
