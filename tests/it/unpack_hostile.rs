//! `ankideck unpack` on broken and hostile packages, through the command line: each one
//! refused with a message that names the package and says what to do (exit status 2),
//! or unpacked with a warning for what was left out; never a file outside DIR, never
//! scratch files left beside it, and a folder that holds files kept as it was.

use crate::common;

use common::files::temp_dir;
use common::run::assert_success;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

type Entries = Vec<(String, Vec<u8>)>;

/// A legacy package (`collection.anki2`, JSON media list) of two Basic notes and one
/// image, written by ankideck, as its zip entries.
fn sample_entries(dir: &Path) -> Entries {
    use ankideck::{Format, MediaSource, Note, Package, Stock};
    let basic = Stock::Basic.notetype();
    let mut package = Package::new(1_700_000_000);
    let image = Note::new(&basic, ["one", "<img src=\"a.png\">"]);
    package.add_note(image).unwrap();
    package.add_note(Note::new(&basic, ["two", "2"])).unwrap();
    let png = MediaSource::Bytes(b"png bytes".to_vec());
    package.add_media("a.png", png).unwrap();
    let path = dir.join("sample.apkg");
    package.write_with(&path, Format::Legacy1).unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let entries = (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (entry.name().to_string(), bytes)
        })
        .collect();
    std::fs::remove_file(path).unwrap();
    entries
}

fn write_zip(path: &Path, entries: &Entries) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn replace(entries: &mut Entries, name: &str, bytes: Vec<u8>) {
    let entry = entries.iter_mut().find(|(n, _)| n == name).unwrap();
    entry.1 = bytes;
}

/// The sample with its collection changed by `sql`.
fn with_sql(dir: &Path, sql: &str) -> Entries {
    let mut entries = sample_entries(dir);
    let db = dir.join("edit.anki2");
    let collection = entries.iter().find(|(n, _)| n == "collection.anki2");
    std::fs::write(&db, &collection.unwrap().1).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    replace(
        &mut entries,
        "collection.anki2",
        std::fs::read(&db).unwrap(),
    );
    std::fs::remove_file(db).unwrap();
    entries
}

/// A folder to unpack in, holding only the package `name`, made by `make`.
fn package_in(name: &str, make: impl FnOnce(&Path, &Path)) -> (PathBuf, PathBuf) {
    let dir = temp_dir("unpack-hostile");
    let package = dir.join(name);
    make(&dir, &package);
    (dir, package)
}

fn unpack(dir: &Path, args: &[&str]) -> Output {
    // The system's temporary folder is the test's own, to see that nothing is left in it.
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ankideck"));
    let args = [&["unpack"][..], args].concat();
    command.args(args).current_dir(dir).env("TMPDIR", &tmp);
    command.output().unwrap()
}

/// What `dir` holds (names, sorted), the test's `tmp` folder apart, which must be empty.
fn listing(dir: &Path) -> Vec<String> {
    if let Ok(tmp) = std::fs::read_dir(dir.join("tmp")) {
        assert_eq!(tmp.count(), 0, "files left in the temporary folder");
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "tmp")
        .collect();
    names.sort();
    names
}

/// Exit status 2, a message that names the package and says `says`, and nothing
/// written: the folder holds what it held before.
#[track_caller]
fn assert_refused(dir: &Path, package: &str, says: &str) {
    let out = unpack(dir, &[package, "-o", "out"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(package), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(listing(dir), [package], "{stderr}");
    // A folder that holds files is refused first, and stays as it was even with
    // --force, since the package cannot be read.
    std::fs::create_dir(dir.join("full")).unwrap();
    std::fs::write(dir.join("full/keep.md"), "mine").unwrap();
    let out = unpack(dir, &[package, "-o", "full"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));
    let out = unpack(dir, &[package, "-o", "full", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(listing(&dir.join("full")), ["keep.md"]);
    let mut expected = vec!["full", package];
    expected.sort();
    assert_eq!(listing(dir), expected);
}

#[test]
fn packages_that_are_none_are_refused() {
    let (dir, _) = package_in("text.apkg", |_, p| std::fs::write(p, "not a zip").unwrap());
    assert_refused(&dir, "text.apkg", "not a zip archive");
    let (dir, _) = package_in("cut.apkg", |d, p| {
        write_zip(p, &sample_entries(d));
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() * 2 / 3]).unwrap();
    });
    assert_refused(&dir, "cut.apkg", "download or copy it again");
    let (dir, _) = package_in("corrupt.apkg", |d, p| {
        let mut entries = sample_entries(d);
        let garbage = b"SQLite format 3\0".repeat(300);
        replace(&mut entries, "collection.anki2", garbage);
        write_zip(p, &entries);
    });
    assert_refused(&dir, "corrupt.apkg", "Check Database");
    let (dir, _) = package_in("other.zip", |_, p| {
        write_zip(p, &vec![("notes.txt".into(), b"hi".to_vec())]);
    });
    assert_refused(&dir, "other.zip", "not an Anki package");
}

/// Collections of a schema no Anki release wrote, or a newer one: the message says
/// which Anki made it.
#[test]
fn unknown_schema_versions_name_the_anki_that_made_them() {
    for (version, says) in [(12, "development versions of Anki 2.1"), (19, "newer Anki")] {
        let (dir, _) = package_in("future.apkg", |d, p| {
            write_zip(p, &with_sql(d, &format!("UPDATE col SET ver = {version}")));
        });
        assert_refused(&dir, "future.apkg", says);
        let stderr = String::from_utf8_lossy(&unpack(&dir, &["future.apkg"]).stderr).into_owned();
        assert!(stderr.contains(&format!("schema {version}")), "{stderr}");
    }
}

/// A collection that inflates far past the package's size is refused while inflating,
/// at 256 MiB here (a package of a few KB); the part inflated is removed.
#[test]
fn zip_bombs_are_refused() {
    let (dir, _) = package_in("bomb.apkg", |_, p| {
        let mut encoder = zstd::Encoder::new(Vec::new(), 1).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            encoder.write_all(&zeros).unwrap();
        }
        let collection = encoder.finish().unwrap();
        let meta = b"\x08\x03".to_vec(); // the `meta` entry of a latest package
        let entries = vec![
            ("meta".into(), meta),
            ("collection.anki21b".into(), collection),
        ];
        write_zip(p, &entries);
    });
    assert!(std::fs::metadata(dir.join("bomb.apkg")).unwrap().len() < 1 << 20);
    assert_refused(&dir, "bomb.apkg", "zip bomb");
}

/// Media names that are paths or hold control characters are left out with a warning
/// each, and nothing is written outside DIR; so is a listed file whose entry is
/// missing. The rest unpacks and builds.
#[test]
fn media_names_never_write_outside_the_folder() {
    let names = [
        ("0", "a.png"),
        ("1", "../evil.txt"),
        ("2", "/abs-evil.txt"),
        ("3", "sub/evil.txt"),
        ("4", ".."),
        ("5", "bell\u{7}.txt"),
        ("6", "C:evil.txt"),
        ("9", "gone.png"),
    ];
    let (dir, _) = package_in("slip.apkg", |d, p| {
        let mut entries = sample_entries(d);
        let list: serde_json::Map<String, serde_json::Value> = (names.iter())
            .map(|(entry, name)| (entry.to_string(), (*name).into()))
            .collect();
        replace(&mut entries, "media", serde_json::to_vec(&list).unwrap());
        for (entry, _) in &names[1..7] {
            entries.push((entry.to_string(), b"evil".to_vec()));
        }
        write_zip(p, &entries);
    });
    let out = unpack(&dir, &["slip.apkg", "-o", "out"]);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (_, name) in &names[1..7] {
        let shown = name.escape_debug().to_string();
        let warned = stderr.lines().any(|l| l.contains(&format!("`{shown}`")));
        assert!(warned, "{name:?}: {stderr}");
    }
    assert!(
        stderr.contains("`gone.png` is listed, but its entry `9` is not in the package"),
        "{stderr}"
    );
    assert_eq!(listing(&dir), ["out", "slip.apkg"]);
    assert_eq!(listing(&dir.join("out/_media")), ["a.png"]);
    assert!(!Path::new("/abs-evil.txt").exists());
    assert_success(&common::run::ankideck_in(&dir, &["build", "out"]));
}

/// Notes whose note type the package does not have: a warning for each, naming it;
/// the other notes unpack.
#[test]
fn notes_without_their_note_type_are_left_out_with_a_warning() {
    let (dir, _) = package_in("orphans.apkg", |d, p| {
        write_zip(
            p,
            &with_sql(d, "UPDATE notes SET mid = 42 WHERE sfld = 'two'"),
        );
    });
    let out = unpack(&dir, &["orphans.apkg", "-o", "out"]);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("uses note type 42, which the package does not have"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": 1 note, 1 card"), "{stdout}");
    assert_eq!(listing(&dir), ["orphans.apkg", "out"]);
}
