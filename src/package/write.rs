//! Writing a [`Package`] as a Legacy 1 `.apkg`: a schema 11 `collection.anki2`, media
//! files stored as `0`, `1`, … and a JSON `media` map, zipped reproducibly.

use super::{schema, MediaSource, Package, Summary};
use crate::error::{Error, Result};
use crate::note::deck_and_parents;
use crate::{ids, text};
use rusqlite::{params, Connection};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Media types that are compressed already; deflating them again only costs time.
const COMPRESSED_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "mp3", "m4a", "aac", "ogg", "oga", "opus",
    "flac", "mp4", "m4v", "webm", "mkv", "mov", "zip", "gz", "woff", "woff2",
];

pub(super) fn write(package: &Package, path: &Path) -> Result<Summary> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let scratch = tempfile::tempdir_in(dir).map_err(|e| Error::io(dir, e))?;
    let db_path = scratch.path().join("collection.anki2");
    let summary = write_collection(package, &db_path)?;

    let mut out = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    {
        let mut zip = ZipWriter::new(BufWriter::new(out.as_file_mut()));
        add_file(
            &mut zip,
            "collection.anki2",
            &db_path,
            CompressionMethod::Deflated,
        )?;
        let mut map = Map::new();
        for (index, media) in package.media.iter().enumerate() {
            crate::cancel::check()?;
            let entry = index.to_string();
            let method = compression_for(&media.name);
            match &media.source {
                MediaSource::File(file) => add_file(&mut zip, &entry, file, method)?,
                MediaSource::Bytes(bytes) => {
                    zip.start_file(entry.as_str(), options(method))?;
                    zip.write_all(bytes).map_err(|e| Error::io(path, e))?;
                }
            }
            map.insert(entry, Value::String(media.name.clone()));
        }
        zip.start_file("media", options(CompressionMethod::Deflated))?;
        zip.write_all(Value::Object(map).to_string().as_bytes())
            .map_err(|e| Error::io(path, e))?;
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
    out.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(Summary {
        media: package.media.len(),
        ..summary
    })
}

fn options(method: CompressionMethod) -> SimpleFileOptions {
    // A fixed timestamp keeps the zip byte-identical across builds.
    SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
}

fn compression_for(name: &str) -> CompressionMethod {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if COMPRESSED_EXTENSIONS.contains(&ext.as_str()) {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    }
}

fn add_file<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    entry: &str,
    file: &Path,
    method: CompressionMethod,
) -> Result<()> {
    let mut reader = crate::cancel::Cancellable(File::open(file).map_err(|e| Error::io(file, e))?);
    zip.start_file(entry, options(method))?;
    std::io::copy(&mut reader, zip).map_err(|e| crate::cancel::or_cancelled(Error::io(file, e)))?;
    Ok(())
}

fn write_collection(package: &Package, db_path: &Path) -> Result<Summary> {
    let mut db = Connection::open(db_path)?;
    db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let ts = package.timestamp;
    let tx = db.transaction()?;
    tx.execute_batch(schema::DDL)?;

    // Decks: every note's deck and its parents, plus Default. Anki matches deck names
    // ignoring case, and so do deck ids: the first spelling met names the deck.
    let mut decks: BTreeMap<i64, &str> = BTreeMap::new();
    decks.insert(1, "Default");
    for (note, _) in &package.notes {
        for name in deck_and_parents(&note.deck) {
            decks.entry(ids::deck_id(name)).or_insert(name);
        }
    }
    for name in package.deck_settings.keys() {
        for name in deck_and_parents(name) {
            decks.entry(ids::deck_id(name)).or_insert(name);
        }
    }
    let settings_by_id: BTreeMap<i64, _> = package
        .deck_settings
        .iter()
        .map(|(name, settings)| (ids::deck_id(name), settings))
        .collect();
    let mut dconf = schema::deck_conf(ts);
    let decks_json: Map<String, Value> = decks
        .iter()
        .map(|(&id, name)| {
            let mut deck = schema::deck(id, name, ts);
            if let Some(settings) = settings_by_id.get(&id) {
                deck["desc"] = settings.description.clone().into();
                if let Some(options) = &settings.options {
                    let base = &dconf[schema::DEFAULT_DECK_CONF.to_string()];
                    let conf = options.to_json(base, ts);
                    deck["conf"] = options.id().into();
                    dconf[options.id().to_string()] = conf;
                }
            }
            (id.to_string(), deck)
        })
        .collect();
    let models_json: Map<String, Value> = package
        .notetypes
        .values()
        .map(|nt| (nt.id.to_string(), schema::notetype(nt)))
        .collect();
    let mut tags = std::collections::BTreeSet::new();
    for (note, _) in &package.notes {
        tags.extend(note.tags.iter().cloned());
    }
    let tags_json: Map<String, Value> = tags.into_iter().map(|t| (t, Value::from(0))).collect();

    tx.execute(
        "INSERT INTO col VALUES (1, ?1, ?2, ?2, ?3, 0, 0, 0, ?4, ?5, ?6, ?7, ?8)",
        params![
            ts - ts.rem_euclid(86_400),
            ts * 1000,
            schema::SCHEMA_VERSION,
            schema::conf().to_string(),
            Value::Object(models_json).to_string(),
            Value::Object(decks_json).to_string(),
            dconf.to_string(),
            Value::Object(tags_json).to_string(),
        ],
    )?;

    let ids = super::assign_ids(&package.notes);
    let mut cards = 0;
    {
        let mut insert_note =
            tx.prepare("INSERT INTO notes VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, 0, '')")?;
        let mut insert_card =
            tx.prepare("INSERT INTO cards VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 0, ?6, 0, 0, 0, 0, 0, 0, 0, 0, '')")?;
        for (position, ((note, ords), (nid, cids))) in package.notes.iter().zip(&ids).enumerate() {
            if position % 1024 == 0 {
                crate::cancel::check()?;
            }
            let notetype = &package.notetypes[&note.notetype_id];
            let tags = if note.tags.is_empty() {
                String::new()
            } else {
                format!(" {} ", note.tags.join(" "))
            };
            let sort_field = note
                .fields
                .get(notetype.sort_field)
                .map_or("", String::as_str);
            insert_note.execute(params![
                nid,
                note.guid,
                note.notetype_id,
                note.modified,
                tags,
                note.fields.join("\x1f"),
                text::strip_html_preserving_media_filenames(sort_field),
                text::field_checksum(&note.fields[0]),
            ])?;
            let did = ids::deck_id(&note.deck);
            for (&ord, &cid) in ords.iter().zip(cids) {
                insert_card.execute(params![
                    cid,
                    nid,
                    did,
                    ord,
                    note.modified,
                    position as i64 + 1
                ])?;
                cards += 1;
            }
        }
    }
    tx.commit()?;
    db.execute_batch("PRAGMA journal_mode = DELETE;")?;
    db.close().map_err(|(_, e)| e)?;
    Ok(Summary {
        notes: package.notes.len(),
        cards,
        decks: decks.len(),
        media: 0,
    })
}
