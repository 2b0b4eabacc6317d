//! Feeds arbitrary bytes to the note type reader: the input, cut at NUL bytes, is a
//! `notetype.toml`, a front and a back template, a `style.css` and a card file whose notes
//! use the type.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::pieces(data, 5);
    let card = [b"---\ntype: T\n---\n".as_slice(), p[4]].concat();
    common::check(&[
        ("_notetypes/T/notetype.toml", p[0]),
        ("_notetypes/T/Card 1.front.html", p[1]),
        ("_notetypes/T/Card 1.back.html", p[2]),
        ("_notetypes/T/style.css", p[3]),
        ("t.md", &card),
        ("basic.md", common::BASIC_NOTE.as_bytes()),
    ]);
});
