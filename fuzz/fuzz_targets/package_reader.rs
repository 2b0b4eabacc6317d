//! Feeds arbitrary bytes to the package reader as an `.apkg`: whatever the input, it
//! must return contents or a `ReadError`, never panic, and never inflate past its
//! limits. Inputs that start as a zip reach the collection and media readers.
#![no_main]

use ankideck::package::{self, Limits, ReadOptions};
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir();
    let mut file = tempfile::Builder::new()
        .prefix("fuzz-package-")
        .suffix(".apkg")
        .tempfile_in(&dir)
        .unwrap();
    file.write_all(data).unwrap();
    file.flush().unwrap();
    let options = ReadOptions {
        scratch_dir: Some(dir),
        limits: Some(Limits { total: 32 << 20, entry: 16 << 20 }),
    };
    let Ok(mut reader) = package::open_with(file.path(), options) else { return };
    let Ok(contents) = reader.contents() else { return };
    for media in &contents.media {
        let mut sink = std::io::sink();
        let _ = reader.copy_media(media, &mut sink);
    }
});
