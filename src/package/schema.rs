//! Anki's schema 11 collection, the layout every Anki, AnkiDroid and AnkiMobile reads.
//! The DDL and the JSON columns of `col` are owned here and nowhere else.

use crate::notetype::{Kind, NoteType};
use serde_json::{json, Map, Value};

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

/// Id of the deck options group every deck uses.
pub const DEFAULT_DECK_CONF: i64 = 1;

/// Anki's default LaTeX preamble, kept so LaTeX cards render as in a fresh Anki.
const LATEX_PRE: &str = "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n\\setlength{\\parindent}{0in}\n\\begin{document}\n";
const LATEX_POST: &str = "\\end{document}";

/// `col.conf`: Anki's defaults for a new collection.
pub fn conf() -> Value {
    json!({
        "activeDecks": [1], "curDeck": 1, "newSpread": 0, "collapseTime": 1200, "timeLim": 0,
        "estTimes": true, "dueCounts": true, "curModel": null, "nextPos": 1, "sortType": "noteFld",
        "sortBackwards": false, "addToCur": true, "dayLearnFirst": false, "schedVer": 2, "sched2021": true,
    })
}

/// One entry of `col.models`.
pub fn notetype(nt: &NoteType) -> Value {
    let req: Vec<Value> = nt
        .requirements()
        .unwrap_or_default()
        .into_iter()
        .map(|(ord, kind, fields)| json!([ord, kind, fields]))
        .collect();
    json!({
        "id": nt.id,
        "name": nt.name,
        "type": match nt.kind { Kind::Standard => 0, Kind::Cloze => 1 },
        "mod": nt.modified,
        "usn": 0,
        "sortf": nt.sort_field,
        "did": null,
        "tmpls": nt.templates.iter().enumerate().map(|(ord, t)| json!({
            "name": t.name, "ord": ord, "qfmt": t.front, "afmt": t.back,
            "bqfmt": "", "bafmt": "", "did": null, "bfont": "", "bsize": 0, "id": t.id,
        })).collect::<Vec<_>>(),
        "flds": nt.fields.iter().enumerate().map(|(ord, f)| json!({
            "name": f.name, "ord": ord, "sticky": false, "rtl": false, "font": f.font, "size": f.size,
            "description": "", "plainText": false, "collapsed": false, "excludeFromSearch": false,
            "id": f.id, "tag": f.tag, "preventDeletion": f.prevent_deletion,
        })).collect::<Vec<_>>(),
        "css": nt.css,
        "latexPre": LATEX_PRE,
        "latexPost": LATEX_POST,
        "latexsvg": false,
        "req": req,
        "originalStockKind": nt.original_stock_kind,
    })
}

/// One entry of `col.decks`.
pub fn deck(id: i64, name: &str, modified: i64) -> Value {
    json!({
        "id": id, "name": name, "mod": modified, "usn": 0,
        "lrnToday": [0, 0], "revToday": [0, 0], "newToday": [0, 0], "timeToday": [0, 0],
        "collapsed": false, "browserCollapsed": false, "desc": "", "dyn": 0,
        "conf": DEFAULT_DECK_CONF, "extendNew": 0, "extendRev": 0,
        "reviewLimit": null, "newLimit": null, "reviewLimitToday": null, "newLimitToday": null,
    })
}

/// `col.dconf`: the default options group, as Anki creates it.
pub fn deck_conf(modified: i64) -> Value {
    let mut all = Map::new();
    all.insert(
        DEFAULT_DECK_CONF.to_string(),
        json!({
            "id": DEFAULT_DECK_CONF, "name": "Default", "mod": modified, "usn": 0,
            "maxTaken": 60, "autoplay": true, "timer": 0, "replayq": true, "dyn": false,
            "new": {"bury": false, "delays": [1.0, 10.0], "initialFactor": 2500, "ints": [1, 4, 0],
                    "order": 1, "perDay": 20},
            "rev": {"bury": false, "ease4": 1.3, "ivlFct": 1.0, "maxIvl": 36500, "perDay": 200,
                    "hardFactor": 1.2},
            "lapse": {"delays": [10.0], "leechAction": 1, "leechFails": 8, "minInt": 1, "mult": 0.0},
        }),
    );
    Value::Object(all)
}
