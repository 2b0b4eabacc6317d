//! Broken and hostile packages, made by hand: each is refused with its own
//! [`ReadError`], or read with a [`ReadWarning`] for what was left out.

use super::*;
use crate::package::meta::{self, MediaEntry};
use crate::{Format, Note, Package, Stock};
use std::io::Read;
use zip::write::SimpleFileOptions;

/// A package of two Basic notes and one media file, written by ankideck.
fn sample(dir: &Path, format: Format) -> PathBuf {
    let basic = Stock::Basic.notetype();
    let mut package = Package::new(1_700_000_000);
    package
        .add_note(Note::new(&basic, ["one", "<img src=\"a.png\">"]).deck("A::B"))
        .unwrap();
    package.add_note(Note::new(&basic, ["two", "2"])).unwrap();
    package
        .add_media("a.png", crate::MediaSource::Bytes(b"png bytes".to_vec()))
        .unwrap();
    let path = dir.join(format!("sample-{format}.apkg"));
    package.write_with(&path, format).unwrap();
    path
}

/// The entries of a zip, in order, with their bytes as stored (not decompressed
/// beyond zip's own deflate).
fn entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_string(), bytes)
        })
        .collect()
}

/// Writes a zip of `entries` (deflated) to `path`.
fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn entry(name: &str, bytes: impl Into<Vec<u8>>) -> (String, Vec<u8>) {
    (name.to_string(), bytes.into())
}

/// `sample`'s legacy package with its collection changed by `sql`.
fn with_sql(dir: &Path, sql: &str) -> PathBuf {
    let mut all = entries(&sample(dir, Format::Legacy1));
    let db_path = dir.join("edit.anki2");
    let collection = all.iter_mut().find(|(n, _)| n == meta::COLLECTION_LEGACY1);
    let collection = collection.unwrap();
    std::fs::write(&db_path, &collection.1).unwrap();
    rusqlite::Connection::open(&db_path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    collection.1 = std::fs::read(&db_path).unwrap();
    let path = dir.join("edited.apkg");
    write_zip(&path, &all);
    path
}

fn read(path: &Path) -> Result<Contents, ReadError> {
    open(path)?.contents()
}

#[test]
fn reads_both_formats_with_media() {
    let dir = tempfile::tempdir().unwrap();
    for format in Format::ALL {
        let path = sample(dir.path(), format);
        let mut reader = open(&path).unwrap();
        let contents = reader.contents().unwrap();
        assert_eq!(contents.version, format.version());
        assert_eq!((contents.notes.len(), contents.cards.len()), (2, 2));
        assert_eq!(contents.warnings, []);
        let [file] = contents.media.as_slice() else {
            panic!("{:?}", contents.media)
        };
        assert_eq!(file.name.as_str(), "a.png");
        let mut bytes = Vec::new();
        assert_eq!(reader.copy_media(file, &mut bytes).unwrap(), 9);
        assert_eq!(bytes, b"png bytes");
        let mut names: Vec<&str> = contents.decks.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["A", "A::B", "Default"]);
    }
}

#[test]
fn not_a_zip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("text.apkg");
    for bytes in [&b"just some text, no zip at all"[..], b""] {
        std::fs::write(&path, bytes).unwrap();
        let error = read(&path).unwrap_err();
        assert!(matches!(error, ReadError::NotZip { .. }), "{error:?}");
        assert!(error.to_string().contains("export the deck from Anki"));
    }
    let missing = read(&dir.path().join("missing.apkg")).unwrap_err();
    assert!(matches!(missing, ReadError::Io { .. }), "{missing:?}");
}

#[test]
fn truncated_zip() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(sample(dir.path(), Format::Legacy1)).unwrap();
    let path = dir.path().join("cut.apkg");
    for keep in [bytes.len() / 2, bytes.len() - 10, 30] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let error = read(&path).unwrap_err();
        assert!(
            matches!(error, ReadError::Truncated { .. }),
            "{keep}: {error:?}"
        );
        assert!(error.to_string().contains("download or copy it again"));
    }
}

#[test]
fn zip_without_collection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos.zip");
    write_zip(&path, &[entry("photo.jpg", "jpg")]);
    assert!(matches!(read(&path), Err(ReadError::NoCollection { .. })));
    // A `meta` that says latest, without the latest collection.
    write_zip(
        &path,
        &[
            entry("meta", Version::Latest.meta_bytes()),
            entry("collection.anki2", "x"),
        ],
    );
    let error = read(&path).unwrap_err();
    assert!(
        matches!(&error, ReadError::MissingEntry(e) if e == "collection.anki21b"),
        "{error:?}"
    );
}

#[test]
fn unknown_package_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.apkg");
    write_zip(
        &path,
        &[
            entry("meta", [0x08, 0x04]),
            entry("collection.anki21b", "x"),
        ],
    );
    let error = read(&path).unwrap_err();
    assert!(matches!(error, ReadError::UnknownVersion(4)), "{error:?}");
}

/// A collection that inflates past the limit is refused while inflating, whatever
/// its zip header claims: here one deflated, one zstd-compressed (as in latest
/// packages), and one whose header is patched to claim a single byte.
#[test]
fn zip_bomb() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 3 << 20];
    let limits = Limits {
        total: 2 << 20,
        entry: 2 << 20,
    };
    let options = || ReadOptions {
        limits: Some(limits),
        scratch_dir: Some(dir.path().to_path_buf()),
    };
    let deflated = dir.path().join("deflated.apkg");
    write_zip(&deflated, &[entry("collection.anki2", zeros.clone())]);
    let zstd_bomb = dir.path().join("zstd.apkg");
    write_zip(
        &zstd_bomb,
        &[
            entry("meta", Version::Latest.meta_bytes()),
            entry(
                "collection.anki21b",
                zstd::encode_all(&zeros[..], 3).unwrap(),
            ),
        ],
    );
    let lying = dir.path().join("lying.apkg");
    let mut bytes = std::fs::read(&deflated).unwrap();
    patch_uncompressed_sizes(&mut bytes, zeros.len() as u32, 1);
    std::fs::write(&lying, bytes).unwrap();
    for path in [deflated, zstd_bomb, lying] {
        let error = open_with(&path, options()).unwrap().contents().unwrap_err();
        match &error {
            // Less what the `meta` entry took.
            ReadError::TooLarge { limit, .. } => assert!((2 << 20) - *limit < 16),
            // The lying header: zip's reader stops at the claimed size, and the
            // checksum of that byte fails.
            ReadError::CorruptEntry { .. } => assert!(path.ends_with("lying.apkg")),
            _ => panic!("{}: {error:?}", path.display()),
        }
    }
    // Nothing was left in the scratch folder.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".ankideck"))
        .collect();
    assert_eq!(left, Vec::<std::ffi::OsString>::new());
}

/// Replaces every zip header's uncompressed size `from` with `to`.
fn patch_uncompressed_sizes(bytes: &mut [u8], from: u32, to: u32) {
    let mut patched = 0;
    for (signature, offset) in [(*b"PK\x03\x04", 22), (*b"PK\x01\x02", 24)] {
        let mut i = 0;
        while i + offset + 4 <= bytes.len() {
            if bytes[i..i + 4] == signature
                && bytes[i + offset..i + offset + 4] == from.to_le_bytes()
            {
                bytes[i + offset..i + offset + 4].copy_from_slice(&to.to_le_bytes());
                patched += 1;
            }
            i += 1;
        }
    }
    assert_eq!(patched, 2, "one local header and one central one");
}

#[test]
fn default_limits_scale_with_the_package() {
    let small = Limits::for_package(10_000);
    assert_eq!(small.total, 256 << 20);
    let big = Limits::for_package(1 << 30);
    assert_eq!(big.total, 100 << 30);
    assert_eq!(big.entry, 16 << 30);
}

#[test]
fn media_copies_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample(dir.path(), Format::Latest);
    let options = ReadOptions {
        limits: Some(Limits {
            total: 1 << 30,
            entry: 4,
        }),
        scratch_dir: None,
    };
    let mut reader = open_with(&path, options).unwrap();
    // The collection is larger than 4 bytes too.
    assert!(matches!(reader.contents(), Err(ReadError::TooLarge { .. })));
    let mut reader = open(&path).unwrap();
    let file = reader.contents().unwrap().media.remove(0);
    let mut out = Vec::new();
    reader.copy_media(&file, &mut out).unwrap();
    let mut small = open_with(
        &path,
        ReadOptions {
            limits: Some(Limits {
                total: 1 << 30,
                entry: 4,
            }),
            scratch_dir: None,
        },
    )
    .unwrap();
    let error = small.copy_media(&file, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(error, ReadError::TooLarge { limit: 4, .. }),
        "{error:?}"
    );
}

/// Names that could escape the media folder, or that no system can create, are
/// left out with a warning; an NFD name is kept as it is.
#[test]
fn hostile_media_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = entries(&sample(dir.path(), Format::Legacy1));
    all.retain(|(name, _)| name != "media" && name != "0");
    let names = [
        "../escape.png",
        "/etc/passwd",
        "..\\win.png",
        "C:\\evil.png",
        "..",
        "con.mp3",
        "bell\u{7}.png",
        "cafe\u{301}.png",
        "fine.png",
    ];
    for (i, _) in names.iter().enumerate() {
        all.push(entry(&i.to_string(), format!("file {i}")));
    }
    let map = meta::legacy_media_json(names);
    all.push(entry("media", map));
    let path = dir.path().join("hostile.apkg");
    write_zip(&path, &all);
    let contents = read(&path).unwrap();
    let kept: Vec<&str> = contents.media.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(kept, ["cafe\u{301}.png", "fine.png"]);
    let refused: Vec<(String, UnsafeName)> = contents
        .warnings
        .iter()
        .map(|w| match w {
            ReadWarning::UnsafeMediaName { name, reason } => (name.clone(), *reason),
            other => panic!("{other:?}"),
        })
        .collect();
    let reasons: Vec<UnsafeName> = refused.iter().map(|(_, r)| *r).collect();
    use UnsafeName::*;
    assert_eq!(
        reasons,
        [Separator, Separator, Separator, Separator, Dots, Device, Control]
    );
    assert!(contents.warnings[6].to_string().contains("bell\\u{7}.png"));
}

/// A media list that names entries the zip lacks, or the same name twice.
#[test]
fn media_list_problems() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = entries(&sample(dir.path(), Format::Legacy1));
    all.retain(|(name, _)| name != "media");
    all.push(entry(
        "media",
        r#"{"0": "a.png", "1": "gone.mp3", "2": "a.png"}"#,
    ));
    all.push(entry("2", "again"));
    let path = dir.path().join("missing.apkg");
    write_zip(&path, &all);
    let contents = read(&path).unwrap();
    assert_eq!(contents.media.len(), 1);
    assert_eq!(
        contents.warnings,
        [
            ReadWarning::MediaEntryMissing {
                name: "gone.mp3".into(),
                entry: "1".into()
            },
            ReadWarning::DuplicateMediaName {
                name: "a.png".into(),
                first: "0".into(),
                entry: "2".into()
            },
        ]
    );
    // A media list that is no list at all is an error.
    all.retain(|(name, _)| name != "media");
    all.push(entry("media", "[not json"));
    write_zip(&path, &all);
    assert!(matches!(read(&path), Err(ReadError::MediaList(_))));
    // Nor is a latest list that is not protobuf.
    let mut latest = entries(&sample(dir.path(), Format::Latest));
    for (name, bytes) in &mut latest {
        if name == "media" {
            *bytes = zstd::encode_all(&[0x0a, 0x50, 0x01][..], 3).unwrap();
        }
    }
    write_zip(&path, &latest);
    assert!(matches!(read(&path), Err(ReadError::MediaList(_))));
}

#[test]
fn latest_media_list_keeps_sizes_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = entries(&sample(dir.path(), Format::Latest));
    let list = all.iter().find(|(n, _)| n == "media").unwrap();
    let decoded = zstd::decode_all(&list.1[..]).unwrap();
    let listed = MediaEntry::decode_list(&decoded).unwrap();
    let contents = read(&sample(dir.path(), Format::Latest)).unwrap();
    assert_eq!(contents.media[0].size, 9);
    assert_eq!(contents.media[0].sha1, Some(listed[0].sha1));
    // An entry whose bytes are not zstd is damaged.
    for (name, bytes) in &mut all {
        if name == "0" {
            *bytes = b"not zstd".to_vec();
        }
    }
    let path = dir.path().join("damaged.apkg");
    write_zip(&path, &all);
    let mut reader = open(&path).unwrap();
    let file = reader.contents().unwrap().media.remove(0);
    let error = reader.copy_media(&file, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(&error, ReadError::CorruptEntry { entry, .. } if entry == "0"),
        "{error:?}"
    );
}

#[test]
fn corrupt_collection() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = entries(&sample(dir.path(), Format::Legacy1));
    let path = dir.path().join("corrupt.apkg");
    let original = all.iter().find(|(n, _)| n == meta::COLLECTION_LEGACY1);
    let original = original.unwrap().1.clone();
    let damaged = [
        b"SQLite format 3\0 but then nothing".to_vec(),
        original[..original.len() / 3].to_vec(),
        vec![0x55; 8192],
    ];
    for bytes in damaged {
        for (name, entry) in &mut all {
            if name == meta::COLLECTION_LEGACY1 {
                *entry = bytes.clone();
            }
        }
        write_zip(&path, &all);
        let error = read(&path).unwrap_err();
        assert!(
            matches!(error, ReadError::CorruptCollection { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("Check Database"));
    }
}

#[test]
fn unknown_schema() {
    let dir = tempfile::tempdir().unwrap();
    let newer = with_sql(dir.path(), "UPDATE col SET ver = 19");
    let error = read(&newer).unwrap_err();
    assert!(
        matches!(error, ReadError::UnknownSchema { version: 19, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("newer Anki"), "{error}");
    let dev = with_sql(dir.path(), "UPDATE col SET ver = 12");
    let error = read(&dev).unwrap_err().to_string();
    assert!(error.contains("development versions"), "{error}");
    // Schema 0, as some tools write, is read as 11.
    let zero = with_sql(dir.path(), "UPDATE col SET ver = 0");
    assert_eq!(read(&zero).unwrap().schema, 11);
}

#[test]
fn bad_json_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = with_sql(dir.path(), "UPDATE col SET models = '{\"1\": 5}'");
    let error = read(&path).unwrap_err();
    assert!(matches!(error, ReadError::BadJson { .. }), "{error:?}");
    assert!(error.to_string().contains("note types"));
}

/// A note whose note type is missing is left out with its cards; a card whose note
/// is missing is left out; a note with the wrong number of fields is left out.
#[test]
fn orphans_are_left_out_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "
        UPDATE notes SET mid = 42 WHERE id = (SELECT min(id) FROM notes);
        INSERT INTO cards SELECT id + 1000, 777, did, ord, mod, usn, type, queue, due, ivl,
            factor, reps, lapses, left, odue, odid, flags, data FROM cards LIMIT 1;
    ";
    let contents = read(&with_sql(dir.path(), sql)).unwrap();
    assert_eq!((contents.notes.len(), contents.cards.len()), (1, 1));
    let [ReadWarning::NoteTypeMissing {
        notetype_id: 42, ..
    }, ReadWarning::NoteMissing { note_id: 777, .. }] = contents.warnings.as_slice()
    else {
        panic!("{:?}", contents.warnings)
    };
    let fields = "UPDATE notes SET flds = 'only one' WHERE id = (SELECT min(id) FROM notes)";
    let contents = read(&with_sql(dir.path(), fields)).unwrap();
    assert!(matches!(
        contents.warnings.as_slice(),
        [ReadWarning::FieldCount {
            found: 1,
            expected: 2,
            ..
        }]
    ));
}

#[test]
fn scheduler_versions() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (r#"{"schedVer": 2, "sched2021": true}"#, 3),
        (r#"{"schedVer": 2}"#, 2),
        (r#"{"schedVer": 1}"#, 1),
        ("{}", 1),
    ];
    for (conf, scheduler) in cases {
        let path = with_sql(dir.path(), &format!("UPDATE col SET conf = '{conf}'"));
        assert_eq!(read(&path).unwrap().scheduler, scheduler, "{conf}");
    }
}

#[test]
fn colpkg_is_a_whole_collection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("whole.colpkg");
    std::fs::copy(sample(dir.path(), Format::Latest), &path).unwrap();
    assert!(read(&path).unwrap().whole_collection);
}

#[test]
fn notes_read_in_batches_come_back_by_id() {
    let dir = tempfile::tempdir().unwrap();
    // 1500 more notes (more than a batch), every 400th of a note type not there.
    let sql = "
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
        INSERT INTO notes SELECT 1 + i, 'g' || i, CASE WHEN i % 400 = 0 THEN 42 ELSE t.mid END,
            t.mod, t.usn, t.tags, t.flds, t.sfld, t.csum, t.flags, t.data
        FROM n, (SELECT * FROM notes LIMIT 1) AS t;
    ";
    let contents = read(&with_sql(dir.path(), sql)).unwrap();
    let ids: Vec<i64> = contents.notes.iter().map(|n| n.id).collect();
    assert_eq!(ids.len(), 1502 - 3);
    assert!(ids.is_sorted(), "{ids:?}");
    let missing: Vec<i64> = (contents.warnings.iter())
        .map(|w| match w {
            ReadWarning::NoteTypeMissing { note_id, .. } => *note_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(missing, [401, 801, 1201]);
    let (mut reader, mut prepared) = (open(&with_sql(dir.path(), sql)).unwrap(), 0);
    let (contents, made) = reader
        .contents_making(|notetypes| {
            prepared = notetypes.len();
            |row: NoteRow<'static>| row.id
        })
        .unwrap();
    assert_eq!(
        (prepared, contents.notes.len()),
        (1, 0),
        "Basic's rows, made"
    );
    assert!(made == ids, "the same notes, by id");
}
