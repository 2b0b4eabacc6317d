//! Writing a [`Package`] as an `.apkg`, zipped reproducibly and atomically.
//!
//! Both formats hold the same schema 11 collection, built by [`write_collection`] from
//! the rows and JSON types of [`schema`]. Which entries each format has and how each is
//! compressed is [`meta`]'s to say: in short, [`Format::Legacy1`] deflates, and
//! [`Format::Latest`] compresses with zstd and stores every entry, as Anki writes it.

use super::meta::{self, Compression, Format, MediaEntry, Version};
use super::{schema, Media, MediaSource, Package, Progress, Summary};
use crate::deck;
use crate::error::{Error, Result};
use crate::note_store::{NoteStore, NoteView, Records};
use crate::{ids, text};
use rusqlite::Connection;
use schema::{ById, CardRow, ColRow, DeckConfig, DeckJson, NoteRow, NotetypeJson, TableRow};
use sha1::{Digest, Sha1};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The text of the dummy note old clients see in a [`Format::Latest`] package: Anki's own
/// English message (`exporting-colpkg-too-new`).
pub const UPDATE_ANKI_MESSAGE: &str =
    "Please update to the latest Anki version, then import the .colpkg/.apkg file again.";

pub(super) fn write(
    package: &Package,
    path: &Path,
    format: Format,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary> {
    super::check_output(path)?;
    let failed = Cell::new(None);
    write_through(package, path, format, progress, &failed)
        .map_err(|e| blame_output(e, package, path, failed.take()))
}

/// Writes the package: the collection, then the package, in one scratch folder that a
/// later build removes if this one dies; the package is moved out of it once complete.
/// The first error writing the package is kept in `failed`.
fn write_through(
    package: &Package,
    path: &Path,
    format: Format,
    progress: &mut dyn FnMut(Progress),
    failed: &Cell<Option<std::io::Error>>,
) -> Result<Summary> {
    let scratch = crate::temp::Scratch::beside(super::output_dir(path))?;
    let db_path = scratch.path().join("collection.anki2");
    let summary = write_collection(package, &db_path, None, progress)?;
    crate::temp::pause_at("collection")?;
    progress(Progress::Collection);

    let mut out = tempfile::NamedTempFile::new_in(scratch.path())
        .map_err(|e| Error::io(scratch.path(), e))?;
    {
        let file = BufWriter::with_capacity(1 << 16, out.as_file_mut());
        let mut zip = ZipWriter::new(Output::new(file, failed));
        match format {
            Format::Legacy1 => write_legacy(package, &db_path, &mut zip, path, progress)?,
            Format::Latest => {
                let dummy_path = scratch.path().join("dummy.anki2");
                write_collection(
                    &dummy_package(package.timestamp)?,
                    &dummy_path,
                    Some(512),
                    &mut |_| {},
                )?;
                write_latest(package, &db_path, &dummy_path, &mut zip, path, progress)?
            }
        }
        let mut inner = zip.finish()?;
        inner.flush().map_err(|e| Error::io(path, e))?;
    }
    out.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        // Temporary files are private; a package is an ordinary file.
        use std::os::unix::fs::PermissionsExt;
        let permissions = std::fs::Permissions::from_mode(0o644);
        out.as_file()
            .set_permissions(permissions)
            .map_err(|e| Error::io(path, e))?;
    }
    crate::temp::pause_at("package")?;
    out.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(Summary {
        media: package.media.len(),
        ..summary
    })
}

/// The error of a package that could not be written, as [`Error::Write`] naming `path`
/// unless it was reading a media file that failed.
fn blame_output(
    error: Error,
    package: &Package,
    path: &Path,
    failed: Option<std::io::Error>,
) -> Error {
    let is_media = |p: &Path| {
        let mut files = package.media.iter();
        files.any(|m| matches!(&m.source, MediaSource::File(f) if f == p))
    };
    let write = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    match (error, failed) {
        (Error::Cancelled, _) => Error::Cancelled,
        // Whatever the copy that failed blamed, writing the package failed.
        (_, Some(source)) => write(source),
        (Error::Zip(zip::result::ZipError::Io(source)), None) => write(source),
        // The collection is written in the scratch folder beside `path`.
        (Error::Sqlite(e), None) => {
            let full = e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
            let kind = match full {
                true => std::io::ErrorKind::StorageFull,
                false => std::io::ErrorKind::Other,
            };
            write(std::io::Error::new(kind, e))
        }
        (Error::Io { path: p, source }, None) if !is_media(&p) => write(source),
        (other, None) => other,
    }
}

/// The package file as the zip writer sees it. After the first error, kept in `failed`,
/// it takes everything without writing it (keeping track of positions as if it did), so
/// that dropping the unfinished zip writer does not try and report the same error again.
struct Output<'a, W> {
    file: W,
    failed: &'a Cell<Option<std::io::Error>>,
    /// Whether an error was kept: nothing is written any more.
    broken: bool,
    position: u64,
    end: u64,
}

impl<'a, W> Output<'a, W> {
    fn new(file: W, failed: &'a Cell<Option<std::io::Error>>) -> Self {
        Output {
            file,
            failed,
            broken: false,
            position: 0,
            end: 0,
        }
    }

    fn keep<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.failed
                .set(Some(std::io::Error::new(e.kind(), e.to_string())));
            self.broken = true;
        }
        result
    }

    fn moved_to(&mut self, position: u64) -> u64 {
        self.position = position;
        self.end = self.end.max(position);
        position
    }
}

impl<W: Write> Write for Output<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.broken {
            self.moved_to(self.position + buf.len() as u64);
            return Ok(buf.len());
        }
        let result = self.file.write(buf);
        let n = self.keep(result)?;
        self.moved_to(self.position + n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.broken {
            return Ok(());
        }
        let result = self.file.flush();
        self.keep(result)
    }
}

impl<W: Seek> Seek for Output<'_, W> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        if self.broken {
            let moved = |from: u64, by: i64| from.checked_add_signed(by);
            let to = match pos {
                std::io::SeekFrom::Start(to) => Some(to),
                std::io::SeekFrom::Current(by) => moved(self.position, by),
                std::io::SeekFrom::End(by) => moved(self.end, by),
            };
            let to = to.ok_or_else(|| std::io::Error::other("seek out of range"))?;
            return Ok(self.moved_to(to));
        }
        let result = self.file.seek(pos);
        let to = self.keep(result)?;
        Ok(self.moved_to(to))
    }
}

fn write_legacy<W: Write + Seek>(
    package: &Package,
    db_path: &Path,
    zip: &mut ZipWriter<W>,
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let format = Format::Legacy1;
    let collection = format.collection_compression(collection_size(db_path)?);
    add_file(zip, meta::COLLECTION_LEGACY1, db_path, collection)?;
    let mut media_progress = MediaProgress::new(package);
    for (index, media) in package.media.iter().enumerate() {
        let compression = format.media_compression(&media.name);
        zip.start_file(meta::media_entry(index), options(compression))?;
        let size = match &media.source {
            MediaSource::File(file) => {
                let mut reader =
                    crate::cancel::Cancellable(File::open(file).map_err(|e| Error::io(file, e))?);
                std::io::copy(&mut reader, zip)
                    .map_err(|e| crate::cancel::or_cancelled(Error::io(file, e)))?
            }
            MediaSource::Bytes(bytes) => {
                zip.write_all(bytes).map_err(|e| Error::io(path, e))?;
                bytes.len() as u64
            }
        };
        media_progress.file_done(size, progress);
    }
    zip.start_file(meta::MEDIA, options(format.media_list_compression()))?;
    let list = meta::legacy_media_json(package.media.iter().map(|m| m.name.as_str()));
    zip.write_all(list.as_bytes())
        .map_err(|e| Error::io(path, e))?;
    Ok(())
}

fn write_latest<W: Write + Seek>(
    package: &Package,
    db_path: &Path,
    dummy_path: &Path,
    zip: &mut ZipWriter<W>,
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let format = Format::Latest;
    zip.start_file(meta::META, options(meta::META_COMPRESSION))?;
    zip.write_all(&Version::Latest.meta_bytes())
        .map_err(|e| Error::io(path, e))?;

    let collection = format.collection_compression(collection_size(db_path)?);
    zip.start_file(meta::COLLECTION_LATEST, options(collection))?;
    let db = File::open(db_path).map_err(|e| Error::io(db_path, e))?;
    compress_collection(db, &mut *zip, zstd_level(collection), zstd_workers())
        .map_err(|e| Error::io(db_path, e))?;

    let dummy = meta::DUMMY_COLLECTION_COMPRESSION;
    add_file(zip, meta::COLLECTION_LEGACY1, dummy_path, dummy)?;

    let mut compressor = MediaCompressor::default();
    let mut list = Vec::new();
    let mut media_progress = MediaProgress::new(package);
    for (index, media) in package.media.iter().enumerate() {
        let compression = format.media_compression(&media.name);
        zip.start_file(meta::media_entry(index), options(compression))?;
        let entry = compressor.write(zip, media, zstd_level(compression), path)?;
        entry.encode(&mut list);
        media_progress.file_done(u64::from(entry.size), progress);
    }

    let compression = format.media_list_compression();
    zip.start_file(meta::MEDIA, options(compression))?;
    let list = zstd::encode_all(list.as_slice(), zstd_level(compression))
        .map_err(|e| Error::io(path, e))?;
    zip.write_all(&list).map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// The size of the collection file at `db_path`.
fn collection_size(db_path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(db_path)
        .map_err(|e| Error::io(db_path, e))?
        .len())
}

/// The bytes of the collection each zstd job compresses.
const COLLECTION_JOB: u32 = 1 << 20;

/// Compresses `db` into `out` with zstd at `level`, on `workers` threads.
fn compress_collection(
    mut db: impl Read,
    out: impl Write,
    level: i32,
    workers: u32,
) -> std::io::Result<()> {
    let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
    encoder.multithread(workers)?;
    // Each worker holds about three jobs; zstd's default, 8 MiB at level 3, cost 40 MB
    // at 2 workers. 1 MiB jobs took no more time, and the package came out smaller.
    encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(COLLECTION_JOB))?;
    std::io::copy(&mut db, &mut encoder)?;
    encoder.finish()?;
    Ok(())
}

/// How many threads compress the collection. Any number from 1 up gives the same bytes
/// (zstd cuts the input into jobs the same way), so a package is the same on any
/// machine; 1 already moves the compression off the thread that reads the file.
fn zstd_workers() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8) as u32)
}

/// The level of a zstd-compressed entry.
fn zstd_level(compression: Compression) -> i32 {
    match compression {
        Compression::Zstd(level) => level,
        other => unreachable!("a latest package's entry compressed as {other:?}"),
    }
}

/// Compresses media files with zstd, with one compression context per level reused for
/// every file.
#[derive(Default)]
struct MediaCompressor {
    encoders: Vec<(i32, Option<zstd::stream::raw::Encoder<'static>>)>,
    buffer: Vec<u8>,
}

impl MediaCompressor {
    /// Writes `media` compressed at `level` into the current entry of `zip` and
    /// returns its media list entry.
    fn write<W: Write + Seek>(
        &mut self,
        zip: &mut ZipWriter<W>,
        media: &Media,
        level: i32,
        path: &Path,
    ) -> Result<MediaEntry> {
        self.buffer.resize(1 << 16, 0);
        let slot = match self.encoders.iter().position(|(l, _)| *l == level) {
            Some(slot) => slot,
            None => {
                let encoder = zstd::stream::raw::Encoder::new(level);
                let encoder = encoder.map_err(|e| Error::io(path, e))?;
                self.encoders.push((level, Some(encoder)));
                self.encoders.len() - 1
            }
        };
        let encoder = self.encoders[slot].1.take();
        let encoder = encoder.expect("encoder put back after each file");
        let mut writer = zstd::stream::zio::Writer::new(zip, encoder);
        let buffer = &mut self.buffer;
        let (size, sha1) = match &media.source {
            MediaSource::File(file) => {
                let mut reader =
                    crate::cancel::Cancellable(File::open(file).map_err(|e| Error::io(file, e))?);
                copy_hashing(&mut reader, &mut writer, buffer)
                    .map_err(|e| crate::cancel::or_cancelled(Error::io(file, e)))?
            }
            MediaSource::Bytes(bytes) => copy_hashing(&mut bytes.as_slice(), &mut writer, buffer)
                .map_err(|e| Error::io(path, e))?,
        };
        writer.finish().map_err(|e| Error::io(path, e))?;
        self.encoders[slot].1 = Some(writer.into_inner().1);
        let size = u32::try_from(size).map_err(|_| {
            let message = format!("media file {} is 4 GiB or larger", media.name);
            let error = std::io::Error::new(std::io::ErrorKind::InvalidData, message);
            Error::io(path, error)
        })?;
        Ok(MediaEntry {
            name: media.name.clone(),
            size,
            sha1,
            legacy_zip_filename: None,
        })
    }
}

/// Copies everything from `reader` to `writer`; returns the byte count and SHA-1.
fn copy_hashing(
    reader: &mut impl Read,
    writer: &mut impl Write,
    buffer: &mut [u8],
) -> std::io::Result<(u64, [u8; 20])> {
    let mut hasher = Sha1::new();
    let mut size = 0u64;
    loop {
        let n = match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        writer.write_all(&buffer[..n])?;
        size += n as u64;
    }
    Ok((size, hasher.finalize().into()))
}

/// The one-note collection old clients find in a [`Format::Latest`] package.
fn dummy_package(timestamp: i64) -> Result<Package> {
    let basic = crate::Stock::Basic.notetype();
    let mut package = Package::new(timestamp);
    package.add_checked_notetype(&basic);
    package.add_note(crate::Note {
        guid: ids::guid_for_id("ankideck: please update Anki"),
        notetype_id: basic.id,
        fields: vec![UPDATE_ANKI_MESSAGE.to_string(), String::new()],
        tags: Vec::new(),
        deck: "Default".into(),
        card_decks: Vec::new(),
        empty_cards: Vec::new(),
        skipped_cards: Vec::new(),
        modified: timestamp,
    })?;
    Ok(package)
}

/// Counts media files and bytes for [`Progress::Media`].
struct MediaProgress {
    done: usize,
    total: usize,
    bytes: u64,
    total_bytes: u64,
}

impl MediaProgress {
    fn new(package: &Package) -> MediaProgress {
        let total_bytes = package
            .media
            .iter()
            .map(|m| match &m.source {
                MediaSource::File(f) => std::fs::metadata(f).map_or(0, |m| m.len()),
                MediaSource::Bytes(b) => b.len() as u64,
            })
            .sum();
        MediaProgress {
            done: 0,
            total: package.media.len(),
            bytes: 0,
            total_bytes,
        }
    }

    fn file_done(&mut self, size: u64, progress: &mut dyn FnMut(Progress)) {
        self.done += 1;
        self.bytes += size;
        progress(Progress::Media {
            done: self.done,
            total: self.total,
            bytes: self.bytes,
            total_bytes: self.total_bytes.max(self.bytes),
        });
    }
}

/// The zip options of an entry compressed as `compression`.
fn options(compression: Compression) -> SimpleFileOptions {
    let (method, level) = match compression {
        // zstd output is stored: zip cannot shrink it further.
        Compression::Stored | Compression::Zstd(_) => (CompressionMethod::Stored, None),
        Compression::Deflate(level) => (CompressionMethod::Deflated, Some(level)),
    };
    // A fixed timestamp keeps the zip byte-identical across builds.
    SimpleFileOptions::default()
        .compression_method(method)
        .compression_level(level)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
}

fn add_file<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    entry: &str,
    file: &Path,
    compression: Compression,
) -> Result<()> {
    let mut reader = crate::cancel::Cancellable(File::open(file).map_err(|e| Error::io(file, e))?);
    zip.start_file(entry, options(compression))?;
    std::io::copy(&mut reader, zip).map_err(|e| crate::cancel::or_cancelled(Error::io(file, e)))?;
    Ok(())
}

/// The collection's page size. Anki's own is SQLite's default of 4096; every SQLite reads
/// any size, and with 16 KiB pages SQLite writes a quarter as many pages and splits fewer:
/// 100k notes build in about 8% less time, for a package 1% smaller; a deck of a few
/// notes gets a package about 1.5 KB larger.
const PAGE_SIZE: u32 = 16384;
/// The page size of a small collection ([`meta::is_small_collection`]): SQLite's default,
/// which leaves less of each page empty than 16 KiB pages.
const SMALL_PAGE_SIZE: u32 = 4096;

/// Writes the schema 11 collection of `package` to `db_path`. `page_size` shrinks the
/// file when it holds almost nothing (the dummy collection); else [`PAGE_SIZE`].
fn write_collection(
    package: &Package,
    db_path: &Path,
    page_size: Option<u32>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary> {
    // The notes are read back from a store: a build's, else one made of the package's.
    let scratch = db_path.parent().unwrap_or(Path::new("."));
    let made;
    let notes = match &package.stored {
        Some(stored) => &**stored,
        None => {
            made = store_of(package, scratch)?;
            &made
        }
    };
    let mut db = Connection::open(db_path)?;
    let page_size = page_size.unwrap_or(PAGE_SIZE);
    db.execute_batch(&format!("PRAGMA page_size = {page_size};"))?;
    db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let tx = db.transaction()?;
    tx.execute_batch(schema::DDL_TABLES)?;
    let (decks, mut deck_ids) = all_decks(package, notes);
    col_row(package, notes, &decks, &mut deck_ids)?
        .insert(&mut tx.prepare(&ColRow::insert_sql())?)?;
    // By the store's number for each deck.
    let dids: Vec<i64> = (notes.deck_names())
        .map(|name| deck_ids.get(name))
        .collect();
    let cards = insert_notes(&tx, notes, &dids, scratch, progress)?;
    insert_cards(&tx, notes, cards)?;
    tx.execute_batch(schema::DDL_INDEXES)?;
    tx.commit()?;
    let total = notes.len();
    progress(Progress::Notes { done: total, total });
    db.execute_batch("PRAGMA journal_mode = DELETE;")?;
    if page_size == PAGE_SIZE && meta::is_small_collection(collection_size(db_path)?) {
        // Rewritten compactly, in SQLite's default pages: milliseconds for a small
        // collection, and most of a small package's size.
        db.execute_batch(&format!("PRAGMA page_size = {SMALL_PAGE_SIZE}; VACUUM;"))?;
    }
    db.close().map_err(|(_, e)| e)?;
    Ok(Summary {
        notes: total,
        cards: notes.card_count(),
        decks: decks.len(),
        media: 0,
    })
}

/// The notes of a package made in code, in a store in `scratch`, to be written as a
/// build's are.
fn store_of(package: &Package, scratch: &Path) -> Result<NoteStore> {
    let mut store = NoteStore::new_in(scratch)?;
    let notetypes: HashMap<i64, Arc<crate::NoteType>> = (package.notetypes.iter())
        .map(|(&id, nt)| (id, Arc::new(nt.clone())))
        .collect();
    let file: Arc<Path> = Arc::from(Path::new(""));
    for (note, ords) in &package.notes {
        let notetype = &notetypes[&note.notetype_id];
        store.push_parts(note, notetype, ords, &file, 0, None)?;
    }
    store.flush()?;
    store.seal()?;
    Ok(store)
}

/// Every deck, by id: the decks given settings and their parents, each note's deck and
/// its parents, and Default. Anki matches deck names as [`deck::key`] does: the
/// spelling of a deck's settings names it, else the first spelling met (see
/// [`ids::DeckIds`]). Also the ids of the notes' decks.
fn all_decks<'a>(
    package: &'a Package,
    notes: &'a NoteStore,
) -> (BTreeMap<i64, String>, ids::DeckIds<'a>) {
    let mut decks = BTreeMap::new();
    decks.insert(1, "Default".to_string());
    let mut deck_ids = ids::DeckIds::default();
    let settings = package.deck_settings.keys().map(String::as_str);
    for name in settings.chain(notes.deck_names()) {
        if deck_ids.knows(name) {
            continue;
        }
        for name in deck::with_parents(name) {
            let id = deck_ids.get(name);
            decks
                .entry(id)
                .or_insert_with(|| deck_ids.name(name).unwrap_or(name).to_string());
        }
    }
    (decks, deck_ids)
}

/// The `col` row: note types, decks with their options groups, and tags.
fn col_row<'a>(
    package: &'a Package,
    notes: &NoteStore,
    decks: &BTreeMap<i64, String>,
    deck_ids: &mut ids::DeckIds<'a>,
) -> Result<ColRow> {
    let ts = package.timestamp;
    let settings_by_id: BTreeMap<i64, _> = package
        .deck_settings
        .iter()
        .map(|(name, settings)| (deck_ids.get(name), settings))
        .collect();
    let default_conf = DeckConfig::anki_default(ts);
    let mut dconf = ById::new();
    dconf.insert(schema::DEFAULT_DECK_CONF.to_string(), default_conf.clone());
    let mut decks_json: ById<DeckJson> = ById::new();
    for (&id, name) in decks {
        let mut deck = DeckJson::new(id, name, ts);
        if let Some(settings) = settings_by_id.get(&id) {
            deck.desc = settings.description.clone();
            if settings.anki_markdown {
                deck.rest.insert("md".into(), true.into());
            }
            if let Some(options) = &settings.options {
                let conf =
                    DeckConfig::with_options(&default_conf, options, ts).map_err(|problem| {
                        crate::Error::DeckOptions {
                            deck: name.clone(),
                            group: options.name.clone(),
                            problem,
                        }
                    })?;
                deck.conf = conf.id;
                dconf.insert(conf.id.to_string(), conf);
            }
        }
        decks_json.insert(id.to_string(), deck);
    }
    let models: ById<NotetypeJson> = package
        .notetypes
        .values()
        .map(|nt| (nt.id.to_string(), NotetypeJson::from(nt)))
        .collect();
    let tags: BTreeMap<&str, i64> = notes.tags().map(|t| (t, 0)).collect();
    use schema::to_json;
    let (models, decks, dconf) = (to_json(&models), to_json(&decks_json), to_json(&dconf));
    Ok(ColRow::new(ts, models, decks, dconf, to_json(&tags)))
}

/// A note's id with its number.
#[derive(Clone, Copy)]
struct Id(i64, u32);

const ID_RECORD: usize = 12;

impl Id {
    fn encode(&self) -> [u8; ID_RECORD] {
        let mut out = [0; ID_RECORD];
        out[..8].copy_from_slice(&self.0.to_le_bytes());
        out[8..].copy_from_slice(&self.1.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; ID_RECORD]) -> Id {
        let id = i64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        Id(
            id,
            u32::from_le_bytes(bytes[8..].try_into().expect("4 bytes")),
        )
    }
}

/// Cards waiting to be inserted.
type Cards = IdRanges<CARD_RECORD>;

/// Inserts the notes in id order, SQLite then appends to full pages instead of
/// splitting half-empty ones, which is faster and makes a smaller file. Returns the
/// cards, which wait on disk to be inserted in id order too.
fn insert_notes(
    tx: &rusqlite::Transaction,
    notes: &NoteStore,
    dids: &[i64],
    scratch: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Cards> {
    let nids = note_ids(notes, scratch)?;
    let total = notes.len();
    let cards = Mutex::new(Cards::new(notes.card_count(), scratch)?);
    let mut insert_note = tx.prepare(&NoteRow::insert_sql())?;
    // Another thread reads the notes back and works out their rows' text and their
    // cards while this one inserts the rows.
    let rows = |batch: Result<Vec<Id>>| -> Result<Vec<NoteRow<'static>>> {
        let batch = batch?;
        let indexes: Vec<usize> = batch.iter().map(|id| id.1 as usize).collect();
        let made = notes.map_views(&indexes, |k, note| {
            let Id(nid, index) = batch[k];
            let notetype = &notes.notetypes[usize::from(note.notetype)];
            let row = note_row(note, notetype, notes.modified(index as usize), nid);
            let cards: Vec<Card> = (note.ords.iter().enumerate())
                .map(|(turn, &ord)| Card {
                    id: ids::card_id(note.guid, ord),
                    nid,
                    did: dids[note.card_deck(ord) as usize],
                    note: index,
                    ord,
                    turn: turn as u16,
                })
                .collect();
            (row, cards)
        })?;
        let mut waiting = cards.lock().expect("not poisoned");
        let mut rows = Vec::with_capacity(made.len());
        for (row, cards) in made {
            (cards.iter()).try_for_each(|card| waiting.push(card.id, &card.encode()))?;
            rows.push(row);
        }
        Ok(rows)
    };
    let key = |id: &Id| (id.0, u64::from(id.1));
    // A range's rows are made and inserted a few thousand at a time.
    let batches = (nids.settled(Id::decode, key, |id, v| id.0 = v)).flat_map(|range| match range {
        Ok(range) => range.chunks(4096).map(|c| Ok(c.to_vec())).collect(),
        Err(e) => vec![Err(e)],
    });
    crate::pipeline::ahead(batches, 2, rows, |batches| {
        let mut done = 0;
        for batch in batches {
            crate::cancel::check()?;
            for row in batch? {
                row.insert(&mut insert_note)?;
                done += 1;
                if done % 1000 == 0 {
                    progress(Progress::Notes { done, total });
                }
            }
        }
        Ok::<_, Error>(())
    })?;
    Ok(cards.into_inner().expect("not poisoned"))
}

/// The id of each note, by ranges of ids, to be made unique as [`ids::unique`] does,
/// taking the notes in order ([`IdRanges::settled`]). The guids are read back a block at
/// a time and hashed in parallel.
fn note_ids(notes: &NoteStore, scratch: &Path) -> Result<IdRanges<ID_RECORD>> {
    use rayon::prelude::*;
    let mut nids = IdRanges::new(notes.len(), scratch)?;
    for start in (0..notes.len()).step_by(1 << 14) {
        crate::cancel::check()?;
        let range = start..(start + (1 << 14)).min(notes.len());
        let guids = notes.guids(range.clone())?;
        let hashed: Vec<i64> = guids.par_iter().map(|g| ids::note_id(g)).collect();
        for (i, nid) in range.zip(hashed) {
            nids.push(nid, &Id(nid, i as u32).encode())?;
        }
    }
    Ok(nids)
}

/// Makes the ids of `items`, sorted by (id, turn), unique as [`ids::unique`] would,
/// giving them out by `turn`: each item takes the first id from its own up that no item
/// with an earlier turn took. Items that could take an id from `bound` up are left out
/// and returned (with their ids as they were), for the next ids to settle with; the
/// rest stay sorted by their new ids.
///
/// Stepping forward fills each run of taken ids whatever the turns, so items interact
/// only within a cluster: items whose ids, in order, are each below the end of the run
/// the items before them fill. Clusters are rare (hash collisions), each settled on its
/// own.
fn settle<T: Copy>(
    items: &mut Vec<T>,
    id: impl Fn(&T) -> i64,
    turn: impl Fn(&T) -> u64,
    set: impl Fn(&mut T, i64),
    bound: i64,
) -> Vec<T> {
    let mut start = 0;
    while start < items.len() {
        let mut end_id = id(&items[start]) + 1;
        let mut end = start + 1;
        while end < items.len() && id(&items[end]) < end_id {
            end_id += 1;
            end += 1;
        }
        if end_id > bound {
            return items.split_off(start);
        }
        if end - start > 1 {
            let cluster = &mut items[start..end];
            cluster.sort_by_key(&turn);
            let mut taken = std::collections::HashSet::new();
            for item in cluster.iter_mut() {
                let new = ids::unique(id(item), &mut taken);
                set(item, new);
            }
            cluster.sort_by_key(&id);
        }
        start = end;
    }
    Vec::new()
}

/// What a card's row needs besides what every new card has.
#[derive(Clone, Copy)]
struct Card {
    id: i64,
    nid: i64,
    did: i64,
    /// Its note's number: the card is due in that order.
    note: u32,
    ord: u16,
    /// Which of its note's cards it is.
    turn: u16,
}

const CARD_RECORD: usize = 32;

impl Card {
    fn encode(&self) -> [u8; CARD_RECORD] {
        let mut out = [0; CARD_RECORD];
        out[0..8].copy_from_slice(&self.id.to_le_bytes());
        out[8..16].copy_from_slice(&self.nid.to_le_bytes());
        out[16..24].copy_from_slice(&self.did.to_le_bytes());
        out[24..28].copy_from_slice(&self.note.to_le_bytes());
        out[28..30].copy_from_slice(&self.ord.to_le_bytes());
        out[30..32].copy_from_slice(&self.turn.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8; CARD_RECORD]) -> Card {
        let i64_at = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().expect("8"));
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        Card {
            id: i64_at(0),
            nid: i64_at(8),
            did: i64_at(16),
            note: u32::from_le_bytes(bytes[24..28].try_into().expect("4")),
            ord: u16_at(28),
            turn: u16_at(30),
        }
    }

    /// The order cards get their ids in: their notes', then their own in the note.
    fn turn(&self) -> u64 {
        u64::from(self.note) << 16 | u64::from(self.turn)
    }
}

/// Records waiting on disk by ranges of their ids (before they are made unique), of some
/// 64k records each, to be taken in id order a range at a time: notes and cards, whose
/// ids are hashes spread evenly over [`ids::ID_WINDOW_START`]'s window.
struct IdRanges<const N: usize> {
    buckets: Vec<Records<N>>,
    dir: std::path::PathBuf,
}

/// Records a range holds, about.
const A_RANGE: usize = 1 << 16;

impl<const N: usize> IdRanges<N> {
    fn new(records: usize, dir: &Path) -> Result<IdRanges<N>> {
        let count = records.div_ceil(A_RANGE).max(1);
        let buckets = (0..count)
            .map(|_| Records::with_pending(Some(dir), 1 << 16))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(dir, e))?;
        Ok(IdRanges {
            buckets,
            dir: dir.to_path_buf(),
        })
    }

    /// The range of ids of bucket `k` starts at this id.
    fn start(&self, k: usize) -> i64 {
        let len = ids::ID_WINDOW_LEN as u128;
        ids::ID_WINDOW_START + (len * k as u128).div_ceil(self.buckets.len() as u128) as i64
    }

    fn push(&mut self, id: i64, record: &[u8; N]) -> Result<()> {
        let offset = (id - ids::ID_WINDOW_START) as u128;
        let k = (offset * self.buckets.len() as u128 / ids::ID_WINDOW_LEN as u128) as usize;
        (self.buckets[k].push(record)).map_err(|e| Error::io(&self.dir, e))
    }

    /// The items, a range at a time, in the order of their ids made unique by [`settle`]:
    /// `key` gives an item's id and turn, `set` sets its id.
    fn settled<'a, T: Copy + 'a>(
        &'a self,
        decode: impl Fn(&[u8; N]) -> T + 'a,
        key: impl Fn(&T) -> (i64, u64) + Copy + 'a,
        set: impl Fn(&mut T, i64) + Copy + 'a,
    ) -> impl Iterator<Item = Result<Vec<T>>> + 'a {
        let mut carried = Vec::new();
        (0..self.buckets.len()).map(move |k| {
            let mut range = std::mem::take(&mut carried);
            (self.buckets[k].for_each(|record| range.push(decode(record))))
                .map_err(|e| Error::io(&self.dir, e))?;
            range.sort_unstable_by_key(key);
            let bound = match k + 1 < self.buckets.len() {
                true => self.start(k + 1),
                false => i64::MAX,
            };
            carried = settle(&mut range, |t| key(t).0, |t| key(t).1, set, bound);
            Ok(range)
        })
    }
}

/// Inserts the cards in id order, a range of ids at a time.
fn insert_cards(tx: &rusqlite::Transaction, notes: &NoteStore, cards: Cards) -> Result<()> {
    let mut insert_card = tx.prepare(&CardRow::insert_sql())?;
    let key = |card: &Card| (card.id, card.turn());
    for range in cards.settled(Card::decode, key, |c, id| c.id = id) {
        crate::cancel::check()?;
        for card in range? {
            let index = card.note as usize;
            let (ord, modified) = (i64::from(card.ord), notes.modified(index));
            // `due` is the note's position in the sources: new cards come in that order.
            let due = index as i64 + 1;
            CardRow::new_card(card.id, card.nid, card.did, ord, modified, due)
                .insert(&mut insert_card)?;
        }
    }
    Ok(())
}

/// The `notes` row of `note`, whose id is `id`.
fn note_row(
    note: &NoteView<'_>,
    notetype: &crate::NoteType,
    modified: i64,
    id: i64,
) -> NoteRow<'static> {
    let tags = if note.tags.is_empty() {
        String::new()
    } else {
        format!(" {} ", note.tags.join(" "))
    };
    let sort_field = note.fields.get(notetype.sort_field).copied().unwrap_or("");
    let separator = schema::FIELD_SEPARATOR.to_string();
    NoteRow {
        id,
        guid: Cow::Owned(note.guid.to_string()),
        mid: notetype.id,
        modified,
        usn: 0,
        tags: Cow::Owned(tags),
        fields: Cow::Owned(note.fields.join(&separator)),
        sort_field: Cow::Owned(text::strip_html_preserving_media_filenames(sort_field)),
        checksum: text::field_checksum(note.fields[0]),
        flags: 0,
        data: Cow::Borrowed(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collection_compresses_the_same_on_any_number_of_threads() {
        // Text that compresses like a collection's, long enough for several jobs.
        let mut state = 42u64;
        let mut data = Vec::new();
        while data.len() < 5 * COLLECTION_JOB as usize {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let word =
                ["note ", "card ", "字段", "deck ", "<b>", "1234 "][(state >> 60) as usize % 6];
            data.extend_from_slice(word.as_bytes());
            data.push(b'a' + (state >> 40) as u8 % 26);
        }
        let level = zstd_level(Format::Latest.collection_compression(data.len() as u64));
        let compressed = |workers| {
            let mut out = Vec::new();
            compress_collection(data.as_slice(), &mut out, level, workers).unwrap();
            out
        };
        let one = compressed(1);
        assert_eq!(one, compressed(3));
        assert_eq!(zstd::decode_all(one.as_slice()).unwrap(), data);
    }

    /// A file on a disk that fills up after `room` bytes.
    struct SmallDisk {
        data: std::io::Cursor<Vec<u8>>,
        room: usize,
    }

    impl Write for SmallDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.data.get_ref().len() + buf.len() > self.room {
                return Err(std::io::ErrorKind::StorageFull.into());
            }
            self.data.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for SmallDisk {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.data.seek(pos)
        }
    }

    /// Ids settled a range at a time are those [`ids::unique`] gives taking the items
    /// in turn, even when many collide and clusters cross the ranges' bounds.
    #[test]
    fn settled_ids_are_unique_ids_in_turn_order() {
        let mut seed = 7u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for (count, spread) in [(50, 40), (400, 100), (1000, 5000), (300, 1)] {
            // (id, turn): turns shuffled against ids.
            let items: Vec<(i64, u64)> = (0..count)
                .map(|turn| (1000 + (next() % spread) as i64, turn))
                .collect();
            let mut taken = std::collections::HashSet::new();
            let mut expected: Vec<(i64, u64)> = (items.iter())
                .map(|&(id, turn)| (ids::unique(id, &mut taken), turn))
                .collect();
            expected.sort_unstable();
            for bounds in [vec![], vec![1010, 1011, 1030, 1100, 3000]] {
                let mut sorted = items.clone();
                sorted.sort_unstable();
                let mut got = Vec::new();
                let mut carried = Vec::new();
                let mut rest = sorted.as_slice();
                for bound in bounds.iter().copied().chain([i64::MAX]) {
                    let split = rest.partition_point(|item| item.0 < bound);
                    let mut range = std::mem::take(&mut carried);
                    range.extend_from_slice(&rest[..split]);
                    rest = &rest[split..];
                    range.sort_unstable();
                    let settled = settle(&mut range, |i| i.0, |i| i.1, |i, id| i.0 = id, bound);
                    carried = settled;
                    got.extend(range);
                }
                assert!(carried.is_empty());
                assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "in id order");
                assert_eq!(
                    got, expected,
                    "{count} ids over {spread}, bounds {bounds:?}"
                );
            }
        }
    }

    /// Each card goes to the range of ids that holds its id, and the ranges come in id
    /// order: cards inserted range by range are in id order.
    #[test]
    fn ranges_give_ids_made_unique_in_turn_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut ranges = IdRanges::<ID_RECORD>::new(3 * A_RANGE + 1, dir.path()).unwrap();
        // Clusters of one id at the end of a range spill into the next; pushed in an
        // order other than their turns.
        let mut ids_of: Vec<i64> = Vec::new();
        for k in 1..4 {
            ids_of.extend([ranges.start(k) - 2; 5]);
            ids_of.extend([ranges.start(k), ranges.start(k) - 1]);
        }
        ids_of.extend((0..500).map(|n| ids::note_id(&format!("g{n}"))));
        ids_of.extend([ids::ID_WINDOW_START; 3]);
        let mut taken = std::collections::HashSet::new();
        let mut expected: Vec<(i64, u32)> = (ids_of.iter().enumerate())
            .map(|(turn, &id)| (ids::unique(id, &mut taken), turn as u32))
            .collect();
        expected.sort_unstable();
        for (turn, &id) in ids_of.iter().enumerate().rev() {
            ranges.push(id, &Id(id, turn as u32).encode()).unwrap();
        }
        let key = |id: &Id| (id.0, u64::from(id.1));
        let got: Vec<(i64, u32)> = (ranges.settled(Id::decode, key, |id, v| id.0 = v))
            .flat_map(|range| range.unwrap())
            .map(|id| (id.0, id.1))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn cards_wait_in_the_range_of_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut buckets = Cards::new(3 * A_RANGE + 1, dir.path()).unwrap();
        assert_eq!(buckets.buckets.len(), 4);
        assert_eq!(buckets.start(0), ids::ID_WINDOW_START);
        let last = ids::ID_WINDOW_START + ids::ID_WINDOW_LEN as i64 - 1;
        let mut cards = vec![ids::ID_WINDOW_START, last];
        cards.extend((0..4).map(|k| buckets.start(k)));
        cards.extend((1..4).map(|k| buckets.start(k) - 1));
        cards.extend((0..200u16).map(|n| ids::card_id("g", n)));
        for (n, &id) in cards.iter().enumerate() {
            let card = Card {
                id,
                nid: 1,
                did: 2,
                note: n as u32,
                ord: 3,
                turn: 4,
            };
            buckets.push(card.id, &card.encode()).unwrap();
        }
        for k in 0..4 {
            let end = if k == 3 {
                i64::MAX
            } else {
                buckets.start(k + 1)
            };
            let mut count = 0;
            buckets.buckets[k]
                .for_each(|record| {
                    let card = Card::decode(record);
                    assert!(
                        (buckets.start(k)..end).contains(&card.id),
                        "{k}: {}",
                        card.id
                    );
                    assert_eq!(card.id, cards[card.note as usize]);
                    assert_eq!((card.nid, card.did, card.ord, card.turn), (1, 2, 3, 4));
                    count += 1;
                })
                .unwrap();
            assert!(count >= 2, "the bounds of range {k}");
        }
    }

    #[test]
    fn a_failed_write_is_kept_and_not_tried_again() {
        let failed = Cell::new(None);
        let disk = SmallDisk {
            data: Default::default(),
            room: 100,
        };
        let mut zip = ZipWriter::new(Output::new(disk, &failed));
        zip.start_file("a", options(Compression::Stored)).unwrap();
        let error = zip.write_all(&[7; 1000]).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::StorageFull);
        // Dropped unfinished, the writer finishes into nothing, without an error.
        drop(zip);
        let kept = failed.take().expect("the error is kept");
        assert_eq!(kept.kind(), std::io::ErrorKind::StorageFull);
    }

    #[test]
    fn a_write_error_names_the_output_and_a_read_error_the_media_file() {
        let mut package = Package::new(0);
        let media = std::path::PathBuf::from("media/a.png");
        package
            .add_media("a.png", MediaSource::File(media.clone()))
            .unwrap();
        let out = Path::new("out/deck.apkg");
        let full = || std::io::Error::from(std::io::ErrorKind::StorageFull);
        let read = Error::io(&media, full());
        let blamed = blame_output(read, &package, out, Some(full()));
        assert!(matches!(blamed, Error::Write { path, .. } if path == out));
        let read = Error::io(&media, std::io::ErrorKind::NotFound.into());
        let blamed = blame_output(read, &package, out, None);
        assert!(matches!(blamed, Error::Io { path, .. } if path == media));
        assert_eq!(
            blame_output(Error::io(out, full()), &package, out, None).to_string(),
            "cannot write out/deck.apkg: no storage space; nothing was written: \
             free some space on its disk, or write it elsewhere"
        );
    }
}
