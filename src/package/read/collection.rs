//! The collection database: which schema it has, its note types, decks and options
//! (JSON columns of `col` in schema 11, tables in newer schemas), notes and cards.

use super::{schema18, sqlite_error, Contents, ReadError, ReadWarning};
use crate::package::meta::Version;
use crate::package::schema::{
    ById, CardRow, ColRow, DeckConfig, DeckJson, NoteRow, NotetypeJson, TableRow, FIELD_SEPARATOR,
};
use rusqlite::{Connection, OpenFlags};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where a collection of a schema keeps what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    schema: u8,
}

impl Layout {
    /// Schema 11 (Anki 2.0 to 2.1.27, and every legacy export) and schemas 14–18
    /// (Anki 2.1.28 and newer, in `.colpkg` and latest packages). Versions below 11
    /// (written by some third-party tools) are read as 11 when they have its tables.
    fn of(version: i64) -> Result<Layout, ReadError> {
        let unknown = |made_by| ReadError::UnknownSchema { version, made_by };
        match version {
            i64::MIN..=11 => Ok(Layout { schema: 11 }),
            12 | 13 => Err(unknown(
                "only development versions of Anki 2.1 wrote it; open the collection in a current Anki and export it again",
            )),
            14..=18 => Ok(Layout {
                schema: version as u8,
            }),
            _ => Err(unknown(
                "made by a newer Anki than this reader knows (it reads schema 11 to 18, what Anki 2.0 to 26.x write); export the deck with \"Support older Anki versions\" ticked",
            )),
        }
    }

    /// Note types and decks in tables of their own (else in `col`).
    fn tables(self) -> bool {
        self.schema >= 15
    }

    /// Deck options in the `deck_config` table (else in `col.dconf`).
    fn deck_config_table(self) -> bool {
        self.schema >= 14
    }
}

/// Reads the collection database at `path`.
pub(super) fn read(path: &Path, version: Version, whole: bool) -> Result<Contents, ReadError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    // A hostile database's schema may hold triggers and views: never run its SQL.
    db.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;")
        .map_err(sqlite_error)?;
    let col = db
        .query_row(&ColRow::select_sql(), [], ColRow::from_row)
        .map_err(sqlite_error)?;
    let layout = Layout::of(col.version)?;
    let mut notetypes = if layout.tables() {
        schema18::notetypes(&db)?
    } else {
        json_column::<NotetypeJson>(&col.models, "note types (col.models)")?
    };
    notetypes.sort_by_key(|nt| nt.id);
    let mut decks = if layout.tables() {
        schema18::decks(&db)?
    } else {
        json_column::<DeckJson>(&col.decks, "decks (col.decks)")?
    };
    decks.sort_by_key(|d| d.id);
    let mut deck_configs = match layout.schema {
        15.. => schema18::deck_configs(&db)?,
        14 => schema14_deck_configs(&db)?,
        _ => json_column::<DeckConfig>(&col.dconf, "deck options (col.dconf)")?,
    };
    deck_configs.sort_by_key(|c| c.id);
    let mut warnings = Vec::new();
    // The cards and the reviews are read on a connection of their own while the notes
    // are: nothing else can run before both are in.
    let (notes, cards) = std::thread::scope(|scope| {
        let cards = scope.spawn(|| {
            let db = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
            db.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;")
                .map_err(sqlite_error)?;
            Ok::<_, ReadError>((all_cards(&db)?, reviewed(&db)?))
        });
        let notes = notes(&db, &notetypes, &mut warnings);
        let cards = cards
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        Ok::<_, ReadError>((notes?, cards?))
    })?;
    let ((notes, all), (cards, reviewed)) = (notes, cards);
    let cards = kept_cards(cards, &notes, &all, &mut warnings);
    let cards_with_history = cards.iter().filter(|c| reviewed.contains(&c.id)).count();
    Ok(Contents {
        version,
        schema: layout.schema,
        whole_collection: whole,
        scheduler: scheduler(&db, &col, layout)?,
        notetypes,
        decks,
        deck_configs,
        notes,
        cards,
        cards_with_history,
        media: Vec::new(),
        warnings,
    })
}

/// The values of a JSON object column keyed by id.
fn json_column<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<Vec<T>, ReadError> {
    let map: ById<T> = serde_json::from_str(text).map_err(|e| ReadError::BadJson {
        what: what.into(),
        detail: e.to_string(),
    })?;
    Ok(map.into_values().collect())
}

/// Schema 14 kept each options group as JSON in `deck_config.config`.
fn schema14_deck_configs(db: &Connection) -> Result<Vec<DeckConfig>, ReadError> {
    let mut statement = db
        .prepare("SELECT config FROM deck_config ORDER BY id")
        .map_err(sqlite_error)?;
    let blobs = statement
        .query_map([], |row| row.get::<_, Vec<u8>>(0))
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    blobs
        .iter()
        .map(|blob| {
            serde_json::from_slice(blob).map_err(|e| ReadError::BadJson {
                what: "deck options (deck_config)".into(),
                detail: e.to_string(),
            })
        })
        .collect()
}

/// 1, 2 or 3: `schedVer` (1 when unset, as in Anki 2.0), 3 when `sched2021` is on.
fn scheduler(db: &Connection, col: &ColRow, layout: Layout) -> Result<u8, ReadError> {
    let (version, v3) = if layout.deck_config_table() {
        let get = |key: &str| -> Result<Option<serde_json::Value>, ReadError> {
            let mut statement = db
                .prepare_cached("SELECT val FROM config WHERE KEY = ?")
                .map_err(sqlite_error)?;
            let mut rows = statement.query([key]).map_err(sqlite_error)?;
            Ok(match rows.next().map_err(sqlite_error)? {
                Some(row) => {
                    let blob: Vec<u8> = row.get(0).map_err(sqlite_error)?;
                    serde_json::from_slice(&blob).ok()
                }
                None => None,
            })
        };
        (get("schedVer")?, get("sched2021")?)
    } else {
        let conf: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&col.conf)
            .map_err(|e| ReadError::BadJson {
                what: "settings (col.conf)".into(),
                detail: e.to_string(),
            })?;
        (
            conf.get("schedVer").cloned(),
            conf.get("sched2021").cloned(),
        )
    };
    let version = version.and_then(|v| v.as_i64()).unwrap_or(1);
    let v3 = v3.and_then(|v| v.as_bool()).unwrap_or(false);
    Ok(match (version, v3) {
        (2.., true) => 3,
        (2.., false) => 2,
        _ => 1,
    })
}

/// The notes whose note type is known and whose field count matches it, and the ids
/// of all notes.
fn notes(
    db: &Connection,
    notetypes: &[NotetypeJson],
    warnings: &mut Vec<ReadWarning>,
) -> Result<(Vec<NoteRow<'static>>, HashSet<i64>), ReadError> {
    let by_id: HashMap<i64, &NotetypeJson> = notetypes.iter().map(|nt| (nt.id, nt)).collect();
    let mut statement = db
        .prepare(&format!("{} ORDER BY id", NoteRow::select_sql()))
        .map_err(sqlite_error)?;
    let mut rows = statement.query([]).map_err(sqlite_error)?;
    let mut notes = Vec::new();
    let mut all = HashSet::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        let note: NoteRow<'static> = NoteRow::from_row(row).map_err(sqlite_error)?;
        all.insert(note.id);
        let Some(nt) = by_id.get(&note.mid) else {
            warnings.push(ReadWarning::NoteTypeMissing {
                note_id: note.id,
                guid: note.guid.into_owned(),
                notetype_id: note.mid,
            });
            continue;
        };
        let found = note.fields.split(FIELD_SEPARATOR).count();
        if found != nt.flds.len() {
            warnings.push(ReadWarning::FieldCount {
                note_id: note.id,
                guid: note.guid.into_owned(),
                notetype: nt.name.clone(),
                found,
                expected: nt.flds.len(),
            });
            continue;
        }
        notes.push(note);
    }
    Ok((notes, all))
}

/// Every card, by id.
fn all_cards(db: &Connection) -> Result<Vec<CardRow>, ReadError> {
    let mut statement = db
        .prepare(&format!("{} ORDER BY id", CardRow::select_sql()))
        .map_err(sqlite_error)?;
    let mut rows = statement.query([]).map_err(sqlite_error)?;
    let mut cards = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        cards.push(CardRow::from_row(row).map_err(sqlite_error)?);
    }
    Ok(cards)
}

/// The cards whose note was kept (of `notes`; `all`: the ids of every note).
fn kept_cards(
    cards: Vec<CardRow>,
    notes: &[NoteRow],
    all: &HashSet<i64>,
    warnings: &mut Vec<ReadWarning>,
) -> Vec<CardRow> {
    let kept: HashSet<i64> = notes.iter().map(|n| n.id).collect();
    let mut out = Vec::with_capacity(cards.len());
    for card in cards {
        if kept.contains(&card.nid) {
            out.push(card);
        } else if !all.contains(&card.nid) {
            // A card of a note left out was reported with its note.
            warnings.push(ReadWarning::NoteMissing {
                card_id: card.id,
                note_id: card.nid,
            });
        }
    }
    out
}

/// The ids of the cards with at least one review in `revlog`.
fn reviewed(db: &Connection) -> Result<HashSet<i64>, ReadError> {
    let mut statement = db
        .prepare("SELECT DISTINCT cid FROM revlog")
        .map_err(sqlite_error)?;
    let reviewed: HashSet<i64> = statement
        .query_map([], |row| row.get::<_, i64>(0))
        .map_err(sqlite_error)?
        .collect::<Result<_, _>>()
        .map_err(sqlite_error)?;
    Ok(reviewed)
}
