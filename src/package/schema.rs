//! Anki's schema 11 collection, the layout every Anki, AnkiDroid and AnkiMobile reads.
//! The DDL, the rows of its tables and the JSON columns of `col` are owned here and
//! nowhere else, so that writing and reading a collection use the same layout.
//!
//! JSON types declare their fields in the byte order of their keys: the order the
//! columns have always been written in (Anki reads keys in any order). Keys Anki writes
//! that ankideck neither sets nor reads are kept in a `rest` map, which ankideck leaves
//! empty. `revlog` and `graves` are created but never written: a package holds no
//! review history.

pub use super::deck_options::{DeckConfig, DEFAULT_DECK_CONF};
use crate::notetype::{
    BrowserAppearance, CardTemplate, Field, FieldOptions, Kind, Latex, NoteType,
};
use rusqlite::types::ValueRef;
use rusqlite::{params, Row, Statement};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The JSON object of keys a type does not name.
pub type JsonMap = serde_json::Map<String, Value>;

/// Anki's DDL for schema 11, unchanged: the table layout is the interface. Split in
/// two so the indexes are built once after the bulk insert, which is faster than
/// keeping them up to date row by row; the result is the same database.
pub const DDL_TABLES: &str = "
CREATE TABLE col (id integer PRIMARY KEY, crt integer NOT NULL, mod integer NOT NULL, scm integer NOT NULL,
  ver integer NOT NULL, dty integer NOT NULL, usn integer NOT NULL, ls integer NOT NULL, conf text NOT NULL,
  models text NOT NULL, decks text NOT NULL, dconf text NOT NULL, tags text NOT NULL);
CREATE TABLE notes (id integer PRIMARY KEY, guid text NOT NULL, mid integer NOT NULL, mod integer NOT NULL,
  usn integer NOT NULL, tags text NOT NULL, flds text NOT NULL, sfld integer NOT NULL, csum integer NOT NULL,
  flags integer NOT NULL, data text NOT NULL);
CREATE TABLE cards (id integer PRIMARY KEY, nid integer NOT NULL, did integer NOT NULL, ord integer NOT NULL,
  mod integer NOT NULL, usn integer NOT NULL, type integer NOT NULL, queue integer NOT NULL, due integer NOT NULL,
  ivl integer NOT NULL, factor integer NOT NULL, reps integer NOT NULL, lapses integer NOT NULL,
  left integer NOT NULL, odue integer NOT NULL, odid integer NOT NULL, flags integer NOT NULL, data text NOT NULL);
CREATE TABLE revlog (id integer PRIMARY KEY, cid integer NOT NULL, usn integer NOT NULL, ease integer NOT NULL,
  ivl integer NOT NULL, lastIvl integer NOT NULL, factor integer NOT NULL, time integer NOT NULL, type integer NOT NULL);
CREATE TABLE graves (usn integer NOT NULL, oid integer NOT NULL, type integer NOT NULL);
";

/// The indexes of Anki's schema 11 DDL.
pub const DDL_INDEXES: &str = "
CREATE INDEX ix_notes_usn ON notes (usn);
CREATE INDEX ix_cards_usn ON cards (usn);
CREATE INDEX ix_revlog_usn ON revlog (usn);
CREATE INDEX ix_cards_nid ON cards (nid);
CREATE INDEX ix_cards_sched ON cards (did, queue, due);
CREATE INDEX ix_revlog_cid ON revlog (cid);
CREATE INDEX ix_notes_csum ON notes (csum);
";

/// The schema version written to `col.ver`.
pub const SCHEMA_VERSION: i64 = 11;

/// A table's row: its columns in one order, used by INSERT and SELECT alike.
pub trait TableRow: Sized {
    const TABLE: &'static str;
    /// The column names, in the order of the row's fields and of the DDL.
    const COLUMNS: &'static str;

    /// `INSERT INTO table (columns) VALUES (?1, …)`, for [`TableRow::insert`].
    fn insert_sql() -> String {
        let count = Self::COLUMNS.split(',').count();
        let params: Vec<String> = (1..=count).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            Self::TABLE,
            Self::COLUMNS,
            params.join(", ")
        )
    }

    /// `SELECT columns FROM table`, whose rows [`TableRow::from_row`] reads.
    fn select_sql() -> String {
        format!("SELECT {} FROM {}", Self::COLUMNS, Self::TABLE)
    }

    /// Inserts the row with a statement prepared from [`TableRow::insert_sql`].
    fn insert(&self, statement: &mut Statement) -> rusqlite::Result<usize>;

    /// Reads a row selected with [`TableRow::select_sql`].
    fn from_row(row: &Row) -> rusqlite::Result<Self>;
}

/// The one row of `col`: the collection's times and its JSON columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColRow {
    pub id: i64,
    /// Creation: the start of its day, in seconds.
    pub crt: i64,
    /// Last change, in milliseconds.
    pub modified: i64,
    /// Last schema change, in milliseconds.
    pub schema_modified: i64,
    pub version: i64,
    pub dirty: i64,
    pub usn: i64,
    pub last_sync: i64,
    /// [`ColConfig`] as JSON.
    pub conf: String,
    /// [`NotetypeJson`]s by id, as JSON.
    pub models: String,
    /// [`DeckJson`]s by id, as JSON.
    pub decks: String,
    /// [`DeckConfig`]s by id, as JSON.
    pub dconf: String,
    /// Tags, each mapped to 0, as JSON.
    pub tags: String,
}

impl ColRow {
    /// A new collection made at `timestamp` (seconds), with its JSON columns.
    pub fn new(
        timestamp: i64,
        models: String,
        decks: String,
        dconf: String,
        tags: String,
    ) -> ColRow {
        ColRow {
            id: 1,
            crt: timestamp - timestamp.rem_euclid(86_400),
            modified: timestamp * 1000,
            schema_modified: timestamp * 1000,
            version: SCHEMA_VERSION,
            dirty: 0,
            usn: 0,
            last_sync: 0,
            conf: to_json(&ColConfig::anki_default()),
            models,
            decks,
            dconf,
            tags,
        }
    }
}

impl TableRow for ColRow {
    const TABLE: &'static str = "col";
    const COLUMNS: &'static str =
        "id, crt, mod, scm, ver, dty, usn, ls, conf, models, decks, dconf, tags";

    fn insert(&self, statement: &mut Statement) -> rusqlite::Result<usize> {
        statement.execute(params![
            self.id,
            self.crt,
            self.modified,
            self.schema_modified,
            self.version,
            self.dirty,
            self.usn,
            self.last_sync,
            self.conf,
            self.models,
            self.decks,
            self.dconf,
            self.tags,
        ])
    }

    fn from_row(row: &Row) -> rusqlite::Result<ColRow> {
        Ok(ColRow {
            id: row.get(0)?,
            crt: row.get(1)?,
            modified: row.get(2)?,
            schema_modified: row.get(3)?,
            version: row.get(4)?,
            dirty: row.get(5)?,
            usn: row.get(6)?,
            last_sync: row.get(7)?,
            conf: row.get(8)?,
            models: row.get(9)?,
            decks: row.get(10)?,
            dconf: row.get(11)?,
            tags: row.get(12)?,
        })
    }
}

/// A row of `notes`. Text borrows when writing and owns when read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are Anki's columns or keys
pub struct NoteRow<'a> {
    pub id: i64,
    pub guid: Cow<'a, str>,
    /// The note type's id.
    pub mid: i64,
    /// Last change, in seconds.
    pub modified: i64,
    pub usn: i64,
    /// Space-separated, with a space before and after: ` a b `; empty without tags.
    pub tags: Cow<'a, str>,
    /// Field values joined by `\x1f`.
    pub fields: Cow<'a, str>,
    /// The sort field without HTML (SQLite stores a number as an integer).
    pub sort_field: Cow<'a, str>,
    /// [`crate::text::field_checksum`] of the first field.
    pub checksum: i64,
    pub flags: i64,
    pub data: Cow<'a, str>,
}

/// The separator of field values in `notes.flds`.
pub const FIELD_SEPARATOR: char = '\x1f';

impl TableRow for NoteRow<'_> {
    const TABLE: &'static str = "notes";
    const COLUMNS: &'static str = "id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data";

    fn insert(&self, statement: &mut Statement) -> rusqlite::Result<usize> {
        statement.execute(params![
            self.id,
            self.guid,
            self.mid,
            self.modified,
            self.usn,
            self.tags,
            self.fields,
            self.sort_field,
            self.checksum,
            self.flags,
            self.data,
        ])
    }

    fn from_row(row: &Row) -> rusqlite::Result<Self> {
        Ok(NoteRow {
            id: row.get(0)?,
            guid: Cow::Owned(text(row, 1)?),
            mid: row.get(2)?,
            modified: row.get(3)?,
            usn: row.get(4)?,
            tags: Cow::Owned(text(row, 5)?),
            fields: Cow::Owned(text(row, 6)?),
            sort_field: Cow::Owned(text_or_number(row, 7)?),
            checksum: row.get(8)?,
            flags: row.get(9)?,
            data: Cow::Owned(text(row, 10)?),
        })
    }
}

/// A column of integer affinity that holds text: numbers come back as integers.
fn text_or_number(row: &Row, index: usize) -> rusqlite::Result<String> {
    Ok(match row.get_ref(index)? {
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => x.to_string(),
        _ => text(row, index)?,
    })
}

/// A text column, as `row.get` gives it, its UTF-8 checked at SIMD speed (a
/// package's fields are most of what unpack reads, often not ASCII).
fn text(row: &Row, index: usize) -> rusqlite::Result<String> {
    match row.get_ref(index)? {
        ValueRef::Text(bytes) => match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => row.get(index), // the error as rusqlite words it
        },
        _ => row.get(index),
    }
}

/// A row of `cards`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are Anki's columns or keys
pub struct CardRow {
    pub id: i64,
    /// The note's id.
    pub nid: i64,
    /// The deck's id.
    pub did: i64,
    /// The template's index, or the cloze number minus one.
    pub ord: i64,
    /// Last change, in seconds.
    pub modified: i64,
    pub usn: i64,
    pub card_type: i64,
    pub queue: i64,
    /// For a new card, its position among new cards.
    pub due: i64,
    pub interval: i64,
    pub factor: i64,
    pub reps: i64,
    pub lapses: i64,
    pub left: i64,
    pub original_due: i64,
    pub original_did: i64,
    pub flags: i64,
    pub data: String,
}

impl CardRow {
    /// A new card, never studied: type and queue 0 (new), due at `position`.
    pub fn new_card(
        id: i64,
        nid: i64,
        did: i64,
        ord: i64,
        modified: i64,
        position: i64,
    ) -> CardRow {
        CardRow {
            id,
            nid,
            did,
            ord,
            modified,
            usn: 0,
            card_type: 0,
            queue: 0,
            due: position,
            interval: 0,
            factor: 0,
            reps: 0,
            lapses: 0,
            left: 0,
            original_due: 0,
            original_did: 0,
            flags: 0,
            data: String::new(),
        }
    }
}

impl TableRow for CardRow {
    const TABLE: &'static str = "cards";
    const COLUMNS: &'static str = "id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, \
        reps, lapses, left, odue, odid, flags, data";

    fn insert(&self, statement: &mut Statement) -> rusqlite::Result<usize> {
        statement.execute(params![
            self.id,
            self.nid,
            self.did,
            self.ord,
            self.modified,
            self.usn,
            self.card_type,
            self.queue,
            self.due,
            self.interval,
            self.factor,
            self.reps,
            self.lapses,
            self.left,
            self.original_due,
            self.original_did,
            self.flags,
            self.data,
        ])
    }

    fn from_row(row: &Row) -> rusqlite::Result<CardRow> {
        let int = |i| row.get::<_, i64>(i);
        Ok(CardRow {
            id: int(0)?,
            nid: int(1)?,
            did: int(2)?,
            ord: int(3)?,
            modified: int(4)?,
            usn: int(5)?,
            card_type: int(6)?,
            queue: int(7)?,
            due: int(8)?,
            interval: int(9)?,
            factor: int(10)?,
            reps: int(11)?,
            lapses: int(12)?,
            left: int(13)?,
            original_due: int(14)?,
            original_did: int(15)?,
            flags: int(16)?,
            data: row.get(17)?,
        })
    }
}

/// A JSON column's text. These types have string keys and plain values: they always
/// serialize.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON column types serialize")
}

/// Objects of `col.models`, `col.decks` and `col.dconf`, keyed by id as a string.
pub type ById<T> = BTreeMap<String, T>;

/// `col.conf`: the collection's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ColConfig {
    pub active_decks: Vec<i64>,
    pub add_to_cur: bool,
    pub collapse_time: i64,
    pub cur_deck: i64,
    /// An id, or null.
    pub cur_model: Value,
    pub day_learn_first: bool,
    pub due_counts: bool,
    pub est_times: bool,
    pub new_spread: i64,
    pub next_pos: i64,
    pub sched2021: bool,
    pub sched_ver: i64,
    pub sort_backwards: bool,
    pub sort_type: String,
    pub time_lim: i64,
    #[serde(flatten)]
    pub rest: JsonMap,
}

impl ColConfig {
    /// Anki's defaults for a new collection.
    pub fn anki_default() -> ColConfig {
        ColConfig {
            active_decks: vec![1],
            add_to_cur: true,
            collapse_time: 1200,
            cur_deck: 1,
            cur_model: Value::Null,
            day_learn_first: false,
            due_counts: true,
            est_times: true,
            new_spread: 0,
            next_pos: 1,
            sched2021: true,
            sched_ver: 2,
            sort_backwards: false,
            sort_type: "noteFld".into(),
            time_lim: 0,
            rest: JsonMap::new(),
        }
    }
}

/// Anki's `req` entry: a template's index, `"any"`, `"all"` or `"none"`, and the fields.
pub type RequirementJson = (u16, String, Vec<usize>);

/// One entry of `col.models`: a note type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[allow(missing_docs)] // the fields are Anki's columns or keys
pub struct NotetypeJson {
    pub css: String,
    /// The deck new cards go to; ankideck leaves it unset.
    #[serde(deserialize_with = "lenient::or_default")]
    pub did: Option<i64>,
    pub flds: Vec<FieldJson>,
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    pub latex_post: String,
    pub latex_pre: String,
    #[serde(deserialize_with = "lenient::flag")]
    pub latexsvg: bool,
    #[serde(rename = "mod")]
    #[serde(deserialize_with = "lenient::number")]
    pub modified: i64,
    pub name: String,
    #[serde(deserialize_with = "lenient::or_default")]
    pub original_stock_kind: u8,
    #[serde(deserialize_with = "lenient::or_default")]
    pub req: Vec<RequirementJson>,
    #[serde(deserialize_with = "lenient::or_default")]
    pub sortf: usize,
    pub tmpls: Vec<TemplateJson>,
    /// 0 standard, 1 cloze.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "lenient::number")]
    pub kind: i64,
    #[serde(deserialize_with = "lenient::number")]
    pub usn: i64,
    #[serde(flatten)]
    pub rest: JsonMap,
}

/// One field of a [`NotetypeJson`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[allow(missing_docs)] // the fields are Anki's columns or keys
pub struct FieldJson {
    #[serde(deserialize_with = "lenient::flag")]
    pub collapsed: bool,
    pub description: String,
    #[serde(deserialize_with = "lenient::flag")]
    pub exclude_from_search: bool,
    pub font: String,
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "lenient::or_default")]
    pub ord: usize,
    #[serde(deserialize_with = "lenient::flag")]
    pub plain_text: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub prevent_deletion: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub rtl: bool,
    #[serde(deserialize_with = "lenient::or_default")]
    pub size: u32,
    #[serde(deserialize_with = "lenient::flag")]
    pub sticky: bool,
    #[serde(deserialize_with = "lenient::or_default")]
    pub tag: Option<u32>,
    #[serde(flatten)]
    pub rest: JsonMap,
}

/// One card template of a [`NotetypeJson`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // the fields are Anki's columns or keys
pub struct TemplateJson {
    /// The back (answer) template.
    pub afmt: String,
    pub bafmt: String,
    pub bfont: String,
    pub bqfmt: String,
    #[serde(deserialize_with = "lenient::or_default")]
    pub bsize: u32,
    #[serde(deserialize_with = "lenient::or_default")]
    pub did: Option<i64>,
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    pub name: String,
    #[serde(deserialize_with = "lenient::or_default")]
    pub ord: usize,
    /// The front (question) template.
    pub qfmt: String,
    #[serde(flatten)]
    pub rest: JsonMap,
}

impl From<&NoteType> for NotetypeJson {
    fn from(nt: &NoteType) -> NotetypeJson {
        let req = nt.requirements().unwrap_or_default().into_iter();
        NotetypeJson {
            css: nt.css.clone(),
            did: None,
            flds: nt.fields.iter().enumerate().map(FieldJson::new).collect(),
            id: nt.id,
            latex_post: nt.latex.post.clone(),
            latex_pre: nt.latex.pre.clone(),
            latexsvg: nt.latex.svg,
            modified: nt.modified,
            name: nt.name.clone(),
            original_stock_kind: nt.original_stock_kind,
            req: req
                .map(|(ord, kind, fields)| (ord, kind.into(), fields))
                .collect(),
            sortf: nt.sort_field,
            tmpls: nt
                .templates
                .iter()
                .enumerate()
                .map(TemplateJson::new)
                .collect(),
            kind: match nt.kind {
                Kind::Standard => 0,
                Kind::Cloze => 1,
            },
            usn: 0,
            rest: JsonMap::new(),
        }
    }
}

impl NotetypeJson {
    /// The note type this entry describes.
    pub fn to_notetype(&self) -> NoteType {
        NoteType {
            id: self.id,
            name: self.name.clone(),
            kind: if self.kind == 1 {
                Kind::Cloze
            } else {
                Kind::Standard
            },
            fields: self.flds.iter().map(FieldJson::to_field).collect(),
            templates: self.tmpls.iter().map(TemplateJson::to_template).collect(),
            css: self.css.clone(),
            sort_field: self.sortf,
            original_stock_kind: self.original_stock_kind,
            latex: Latex {
                pre: self.latex_pre.clone(),
                post: self.latex_post.clone(),
                svg: self.latexsvg,
            },
            modified: self.modified,
        }
    }
}

impl FieldJson {
    fn new((ord, f): (usize, &Field)) -> FieldJson {
        let o = &f.options;
        FieldJson {
            collapsed: o.collapsed,
            description: o.description.clone(),
            exclude_from_search: o.exclude_from_search,
            font: f.font.clone(),
            id: f.id,
            name: f.name.clone(),
            ord,
            plain_text: o.plain_text,
            prevent_deletion: f.prevent_deletion,
            rtl: o.rtl,
            size: f.size,
            sticky: o.sticky,
            tag: f.tag,
            rest: JsonMap::new(),
        }
    }

    fn to_field(&self) -> Field {
        Field {
            font: self.font.clone(),
            size: self.size,
            tag: self.tag,
            prevent_deletion: self.prevent_deletion,
            options: FieldOptions {
                description: self.description.clone(),
                rtl: self.rtl,
                sticky: self.sticky,
                plain_text: self.plain_text,
                collapsed: self.collapsed,
                exclude_from_search: self.exclude_from_search,
            },
            ..Field::new(self.name.clone(), self.id)
        }
    }
}

impl TemplateJson {
    fn new((ord, t): (usize, &CardTemplate)) -> TemplateJson {
        TemplateJson {
            afmt: t.back.clone(),
            bafmt: t.browser.back.clone(),
            bfont: t.browser.font.clone(),
            bqfmt: t.browser.front.clone(),
            bsize: t.browser.size,
            did: None,
            id: t.id,
            name: t.name.clone(),
            ord,
            qfmt: t.front.clone(),
            rest: JsonMap::new(),
        }
    }

    fn to_template(&self) -> CardTemplate {
        let browser = BrowserAppearance {
            front: self.bqfmt.clone(),
            back: self.bafmt.clone(),
            font: self.bfont.clone(),
            size: self.bsize,
        };
        CardTemplate {
            browser,
            ..CardTemplate::new(
                self.name.clone(),
                self.id,
                self.qfmt.clone(),
                self.afmt.clone(),
            )
        }
    }
}

/// One entry of `col.decks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[allow(missing_docs)] // the fields are Anki's columns or keys
pub struct DeckJson {
    #[serde(deserialize_with = "lenient::flag")]
    pub browser_collapsed: bool,
    #[serde(deserialize_with = "lenient::flag")]
    pub collapsed: bool,
    /// The id of the deck's options group (a [`DeckConfig`]).
    #[serde(deserialize_with = "lenient::id")]
    pub conf: i64,
    /// The description shown on the deck's overview screen.
    pub desc: String,
    /// 1 for a filtered deck.
    #[serde(rename = "dyn")]
    #[serde(deserialize_with = "lenient::number")]
    pub dynamic: i64,
    pub extend_new: i64,
    pub extend_rev: i64,
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    pub lrn_today: [i64; 2],
    #[serde(rename = "mod")]
    #[serde(deserialize_with = "lenient::number")]
    pub modified: i64,
    pub name: String,
    pub new_limit: Option<u32>,
    pub new_limit_today: Option<Value>,
    pub new_today: [i64; 2],
    pub rev_today: [i64; 2],
    pub review_limit: Option<u32>,
    pub review_limit_today: Option<Value>,
    pub time_today: [i64; 2],
    #[serde(deserialize_with = "lenient::number")]
    pub usn: i64,
    #[serde(flatten)]
    pub rest: JsonMap,
}

impl DeckJson {
    /// A deck without description using the default options group.
    pub fn new(id: i64, name: &str, modified: i64) -> DeckJson {
        DeckJson {
            conf: DEFAULT_DECK_CONF,
            id,
            modified,
            name: name.into(),
            ..DeckJson::default()
        }
    }
}

/// Lenient reading of the JSON columns, as Anki reads them: ids written as strings
/// (Anki 2.0 did), `null` where a value is expected, `0`/`1` for booleans. Only
/// reading is lenient; what is written is unchanged.
mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// An id: a number, a string of digits, or (for `null`) 0.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|x| x as i64))
                .unwrap_or(0),
            Value::String(s) => s.trim().parse().map_err(serde::de::Error::custom)?,
            _ => 0,
        })
    }

    /// A number, maybe written as a float or a string; 0 if neither.
    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|x| x as i64))
                .unwrap_or(0),
            Value::String(s) => s.trim().parse().unwrap_or(0),
            Value::Bool(b) => i64::from(b),
            _ => 0,
        })
    }

    /// A boolean, maybe written as a number or a string.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
            Value::String(s) => matches!(s.trim(), "true" | "1"),
            _ => false,
        })
    }

    /// The value, or its default if it is `null` or of another type.
    pub fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: serde::de::DeserializeOwned + Default,
    {
        Ok(T::deserialize(Value::deserialize(d)?).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deck::{DeckOptions, DeckSettings};
    use crate::{Note, Package, Stock};
    use rusqlite::Connection;

    /// A package with every stock note type, nested decks (one spelt in two cases),
    /// decks with descriptions and options groups, and tags.
    fn sample_package() -> Package {
        let mut package = Package::new(1_700_000_123);
        for (i, stock) in Stock::ALL.into_iter().enumerate() {
            let nt = stock.notetype();
            let fields = match stock {
                Stock::Cloze => vec!["{{c1::Paris}} is the capital".to_string(), "x".into()],
                Stock::OptionalReversed => vec!["front".into(), "back".into(), "y".into()],
                _ => vec!["front".into(), "back".into()],
            };
            let deck = ["Default", "Geo::Europe", "geo::Asia", "Tiny \"q\" ü"][i % 4];
            let note = Note {
                guid: crate::ids::guid_for_id(&format!("n{i}")),
                notetype_id: nt.id,
                fields,
                tags: vec![format!("t{i}"), "common".into()],
                deck: deck.into(),
                card_decks: Vec::new(),
                empty_cards: Vec::new(),
                skipped_cards: Vec::new(),
                modified: 1_700_000_000 + i as i64,
            };
            package.add_note(note).unwrap();
        }
        let options = |name: &str| DeckOptions {
            name: name.into(),
            ..DeckOptions::default()
        };
        let fast = DeckOptions {
            new_per_day: Some(50),
            reviews_per_day: Some(500),
            learning_steps: Some(vec![1.0, 10.0, 0.5, 1440.0]),
            maximum_interval: Some(365),
            ..options("Fast")
        };
        let partial = DeckOptions {
            learning_steps: Some(vec![3.0]),
            ..options("Partial")
        };
        let settings = |description: &str, options| DeckSettings {
            description: description.into(),
            options,
            ..DeckSettings::default()
        };
        package.set_deck_settings("Geo::Europe", settings("<b>Europe</b>", Some(fast)));
        package.set_deck_settings("Other::Sub", settings("", Some(partial)));
        package.set_deck_settings("Geo", settings("only a description", None));
        package
    }

    /// The collection of `package` written as a legacy package, opened.
    fn written_collection(package: &Package, dir: &std::path::Path) -> Connection {
        let path = dir.join("sample.apkg");
        package.write(&path).unwrap();
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut entry = zip.by_name(super::super::meta::COLLECTION_LEGACY1).unwrap();
        let db_path = dir.join("collection.anki2");
        std::io::copy(&mut entry, &mut std::fs::File::create(&db_path).unwrap()).unwrap();
        Connection::open(&db_path).unwrap()
    }

    /// The JSON columns as ankideck has always written them for the sample package.
    const GOLDEN: [(&str, &str); 5] = [
        ("conf", include_str!("golden/col-conf.json")),
        ("models", include_str!("golden/col-models.json")),
        ("decks", include_str!("golden/col-decks.json")),
        ("dconf", include_str!("golden/col-dconf.json")),
        ("tags", include_str!("golden/col-tags.json")),
    ];

    fn golden(column: &str) -> &'static str {
        GOLDEN.iter().find(|(c, _)| *c == column).unwrap().1
    }

    #[test]
    fn col_json_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let db = written_collection(&sample_package(), dir.path());
        let col = db
            .query_row(&ColRow::select_sql(), [], ColRow::from_row)
            .unwrap();
        assert_eq!(col.conf, golden("conf"));
        assert_eq!(col.models, golden("models"));
        assert_eq!(col.decks, golden("decks"));
        assert_eq!(col.dconf, golden("dconf"));
        assert_eq!(col.tags, golden("tags"));
        assert_eq!((col.version, col.crt), (11, 1_699_920_000));
    }

    /// Deserializes `text` as `T`, serializes it back, and checks both directions.
    fn round_trip<T>(text: &str) -> T
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let value: T = serde_json::from_str(text).unwrap();
        assert_eq!(to_json(&value), text);
        assert_eq!(serde_json::from_str::<T>(&to_json(&value)).unwrap(), value);
        value
    }

    #[test]
    fn col_json_round_trips() {
        let conf: ColConfig = round_trip(golden("conf"));
        assert_eq!(conf, ColConfig::anki_default());
        let models: ById<NotetypeJson> = round_trip(golden("models"));
        let decks: ById<DeckJson> = round_trip(golden("decks"));
        let dconf: ById<DeckConfig> = round_trip(golden("dconf"));
        round_trip::<BTreeMap<String, i64>>(golden("tags"));
        assert_eq!(models.len(), Stock::ALL.len());
        assert!(decks.values().any(|d| d.desc == "<b>Europe</b>"));
        let fast = dconf.values().find(|c| c.name == "Fast").unwrap();
        assert_eq!(fast.new.delays, [1.0, 10.0, 0.5, 1440.0]);
        assert!(models.values().all(|m| m.rest.is_empty()));
    }

    #[test]
    fn notetypes_round_trip() {
        let mut custom = Stock::Cloze.notetype();
        custom.latex = Latex {
            pre: "pre".into(),
            post: "post".into(),
            svg: true,
        };
        custom.fields[1].options = FieldOptions {
            description: "hint".into(),
            rtl: true,
            sticky: true,
            plain_text: true,
            collapsed: true,
            exclude_from_search: true,
        };
        custom.templates[0].browser = BrowserAppearance {
            front: "bq".into(),
            back: "ba".into(),
            font: "Noto".into(),
            size: 9,
        };
        let json = NotetypeJson::from(&custom);
        let text = to_json(&json);
        for key in [
            r#""latexPre":"pre""#,
            r#""latexsvg":true"#,
            r#""description":"hint""#,
            r#""excludeFromSearch":true"#,
            r#""plainText":true"#,
            r#""bqfmt":"bq""#,
            r#""bsize":9"#,
        ] {
            assert!(text.contains(key), "{key} in {text}");
        }
        for nt in Stock::ALL.map(Stock::notetype).into_iter().chain([custom]) {
            let json = NotetypeJson::from(&nt);
            assert_eq!(json.to_notetype(), nt);
            let text = to_json(&json);
            assert_eq!(serde_json::from_str::<NotetypeJson>(&text).unwrap(), json);
        }
    }

    #[test]
    fn rows_round_trip() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(DDL_TABLES).unwrap();
        let note = NoteRow {
            id: 5,
            guid: "g".into(),
            mid: 6,
            modified: 7,
            usn: -1,
            tags: " a b ".into(),
            fields: "x\x1fy".into(),
            sort_field: "x".into(),
            checksum: 8,
            flags: 0,
            data: "".into(),
        };
        let numeric = NoteRow {
            id: 6,
            sort_field: "42".into(),
            ..note.clone()
        };
        let card = CardRow::new_card(1, 5, 2, 3, 7, 9);
        let col = ColRow::new(
            1_700_000_123,
            "{}".into(),
            "{}".into(),
            "{}".into(),
            "{}".into(),
        );
        for row in [&note, &numeric] {
            row.insert(&mut db.prepare(&NoteRow::insert_sql()).unwrap())
                .unwrap();
        }
        card.insert(&mut db.prepare(&CardRow::insert_sql()).unwrap())
            .unwrap();
        col.insert(&mut db.prepare(&ColRow::insert_sql()).unwrap())
            .unwrap();
        let mut select = db.prepare(&NoteRow::select_sql()).unwrap();
        let notes: Vec<NoteRow> = select
            .query_map([], NoteRow::from_row)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(notes, [note, numeric]);
        let read = |sql: &str| db.query_row(sql, [], CardRow::from_row).unwrap();
        assert_eq!(read(&CardRow::select_sql()), card);
        let read = |sql: &str| db.query_row(sql, [], ColRow::from_row).unwrap();
        assert_eq!(read(&ColRow::select_sql()), col);
    }

    #[test]
    fn decks_keep_what_they_do_not_name() {
        // A filtered deck, as Anki writes it: no options group, keys of its own.
        let text = r#"{"id":9,"name":"F","dyn":1,"terms":[["deck:x",100,0]],"resched":true}"#;
        let deck: DeckJson = serde_json::from_str(text).unwrap();
        assert_eq!((deck.dynamic, deck.conf), (1, 0));
        assert_eq!(deck.rest["resched"], true);
        let again: DeckJson = serde_json::from_str(&to_json(&deck)).unwrap();
        assert_eq!(again, deck);
    }
}
