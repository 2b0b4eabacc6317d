//! The collection database: which schema it has, its note types, decks and options
//! (JSON columns of `col` in schema 11, tables in newer schemas), notes and cards.

use super::{schema18, sqlite_error, Contents, ReadError, ReadWarning};
use crate::package::meta::Version;
use crate::package::schema::{
    ById, CardRow, ColRow, DeckConfig, DeckJson, NoteRow, NotetypeJson, TableRow, FIELD_SEPARATOR,
};
use rayon::prelude::*;
use rusqlite::{Connection, OpenFlags};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

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

/// Reads the collection database at `path`. `prepare`, given the note types, returns
/// what makes each kept note row into a `T`: the rows go to it on all cores as they are
/// read (none is held longer), and the `T`s come back in the rows' order (by id), the
/// contents' `notes` left empty.
pub(super) fn read<T: Send, F: Fn(NoteRow<'static>) -> T + Sync>(
    path: &Path,
    version: Version,
    whole: bool,
    prepare: impl FnOnce(&[NotetypeJson]) -> F,
) -> Result<(Contents, Vec<T>), ReadError> {
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
    let make = prepare(&notetypes);
    // The cards and the reviews are read on a connection of their own while the notes
    // are: nothing else can run before both are in.
    let (notes, cards) = std::thread::scope(|scope| {
        let cards = scope.spawn(|| {
            let db = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
            db.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;")
                .map_err(sqlite_error)?;
            Ok::<_, ReadError>((all_cards(&db)?, reviewed(&db)?))
        });
        let notes = notes(&db, &notetypes, &make);
        let cards = cards
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        Ok::<_, ReadError>((notes?, cards?))
    })?;
    let (mut notes, (cards, reviewed)) = (notes, cards);
    let cards = kept_cards(cards, &notes.kept, &notes.all, &mut notes.warnings);
    let cards_with_history = cards.iter().filter(|c| reviewed.contains(&c.id)).count();
    let contents = Contents {
        version,
        schema: layout.schema,
        whole_collection: whole,
        scheduler: scheduler(&db, &col, layout)?,
        notetypes,
        decks,
        deck_configs,
        notes: Vec::new(),
        cards,
        cards_with_history,
        media: Vec::new(),
        warnings: notes.warnings,
    };
    Ok((contents, notes.made))
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

/// The notes read, as [`notes`] gives them.
struct Notes<T> {
    /// What each kept note was made into, by id.
    made: Vec<T>,
    /// The ids of the kept notes (those whose note type is known and whose field count
    /// matches it), ascending.
    kept: Vec<i64>,
    /// The ids of all notes, ascending.
    all: Vec<i64>,
    /// Why the others were left out, by id.
    warnings: Vec<ReadWarning>,
}

/// One batch of [`notes`]: the rows read one after another, checked and made on a core
/// of the pool.
struct Batch<T> {
    made: Vec<T>,
    kept: Vec<i64>,
    warnings: Vec<ReadWarning>,
}

/// Rows a task of the pool takes: enough that handing them over costs nothing, few
/// enough that the pool starts while the rows are still being read.
const BATCH_ROWS: usize = 512;

/// Reads the notes by id on this thread and hands them in batches to the pool, which
/// checks each (note type known, field count matching) and makes the kept ones with
/// `make` while the next rows are read.
fn notes<T: Send>(
    db: &Connection,
    notetypes: &[NotetypeJson],
    make: &(impl Fn(NoteRow<'static>) -> T + Sync),
) -> Result<Notes<T>, ReadError> {
    let by_id: HashMap<i64, &NotetypeJson> = notetypes.iter().map(|nt| (nt.id, nt)).collect();
    let by_id = &by_id;
    let mut statement = db
        .prepare(&format!("{} ORDER BY id", NoteRow::select_sql()))
        .map_err(sqlite_error)?;
    let mut rows = statement.query([]).map_err(sqlite_error)?;
    // How many notes there are, to hold them without growing (only a hint: a table too
    // damaged to count is still read as far as it reads).
    let count = db.query_row("SELECT count(*) FROM notes", [], |row| row.get(0));
    let count = count.map_or(0, |n: i64| usize::try_from(n).unwrap_or(0));
    let joined = Mutex::new(Joined {
        next: 0,
        waiting: BTreeMap::new(),
        notes: Notes {
            made: Vec::with_capacity(count),
            kept: Vec::with_capacity(count),
            all: Vec::new(),
            warnings: Vec::new(),
        },
    });
    let mut all = Vec::with_capacity(count);
    rayon::in_place_scope(|scope| {
        let joined = &joined;
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let mut index = 0;
        loop {
            let row = rows.next().map_err(sqlite_error)?;
            let end = row.is_none();
            if let Some(row) = row {
                let note: NoteRow<'static> = NoteRow::from_row(row).map_err(sqlite_error)?;
                all.push(note.id);
                batch.push(note);
            }
            if batch.len() == BATCH_ROWS || end && !batch.is_empty() {
                let rows = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                scope.spawn(move |_| {
                    let made = checked(rows, by_id, make);
                    let mut joined = joined.lock().unwrap_or_else(|e| e.into_inner());
                    joined.add(index, made);
                });
                index += 1;
            }
            if end {
                return Ok::<_, ReadError>(());
            }
        }
    })?;
    let mut notes = joined.into_inner().unwrap_or_else(|e| e.into_inner()).notes;
    notes.all = all;
    Ok(notes)
}

/// The batches of [`notes`] made so far, joined in order by the pool as each next one
/// comes in (while the rows are still being read, not after).
struct Joined<T> {
    /// The index of the batch to join next.
    next: usize,
    /// The batches made before the ones before them.
    waiting: BTreeMap<usize, Batch<T>>,
    notes: Notes<T>,
}

impl<T> Joined<T> {
    fn add(&mut self, index: usize, batch: Batch<T>) {
        self.waiting.insert(index, batch);
        while let Some(batch) = self.waiting.remove(&self.next) {
            self.notes.made.extend(batch.made);
            self.notes.kept.extend(batch.kept);
            self.notes.warnings.extend(batch.warnings);
            self.next += 1;
        }
    }
}

/// Makes the `rows` whose note type is known and whose field count matches it with
/// `make`; a warning each for the others.
fn checked<T>(
    rows: Vec<NoteRow<'static>>,
    by_id: &HashMap<i64, &NotetypeJson>,
    make: &impl Fn(NoteRow<'static>) -> T,
) -> Batch<T> {
    let mut batch = Batch {
        made: Vec::with_capacity(rows.len()),
        kept: Vec::with_capacity(rows.len()),
        warnings: Vec::new(),
    };
    for note in rows {
        let Some(nt) = by_id.get(&note.mid) else {
            batch.warnings.push(ReadWarning::NoteTypeMissing {
                note_id: note.id,
                guid: note.guid.into_owned(),
                notetype_id: note.mid,
            });
            continue;
        };
        let found = note.fields.split(FIELD_SEPARATOR).count();
        if found != nt.flds.len() {
            batch.warnings.push(ReadWarning::FieldCount {
                note_id: note.id,
                guid: note.guid.into_owned(),
                notetype: nt.name.clone(),
                found,
                expected: nt.flds.len(),
            });
            continue;
        }
        batch.kept.push(note.id);
        batch.made.push(make(note));
    }
    batch
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

/// The cards whose note was kept (of `kept`; `all`: the ids of every note; both
/// ascending), looked up on all cores: nearly always every card.
fn kept_cards(
    cards: Vec<CardRow>,
    kept: &[i64],
    all: &[i64],
    warnings: &mut Vec<ReadWarning>,
) -> Vec<CardRow> {
    let is_kept: Vec<bool> = (cards.par_iter())
        .map(|card| kept.binary_search(&card.nid).is_ok())
        .collect();
    if is_kept.iter().all(|&k| k) {
        return cards;
    }
    let mut out = Vec::with_capacity(cards.len());
    for (card, kept) in cards.into_iter().zip(is_kept) {
        if kept {
            out.push(card);
        } else if all.binary_search(&card.nid).is_err() {
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
