//! Collections of schema 15–18 keep note types, fields, templates, decks and deck
//! options in tables of their own, with protobuf blobs. These are turned into the
//! schema 11 JSON types, as Anki does when it downgrades a collection, so that nothing
//! above the reader sees two shapes.
//!
//! The messages are declared by hand with only the fields read; the field numbers are
//! those of Anki's `notetypes.proto`, `decks.proto` and `deck_config.proto`. Unknown
//! fields are skipped. Each message's `other` (field 255) holds the JSON keys of the
//! schema 11 object that the message has no field for; they are put back.

use super::ReadError;
use crate::package::schema::{DeckConfig, DeckJson, JsonMap, NotetypeJson};
use rusqlite::Connection;
use serde_json::{json, Value};

#[derive(Clone, PartialEq, prost::Message)]
struct NotetypeConfig {
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(uint32, tag = "2")]
    sort_field_idx: u32,
    #[prost(string, tag = "3")]
    css: String,
    #[prost(int64, tag = "4")]
    target_deck_id_unused: i64,
    #[prost(string, tag = "5")]
    latex_pre: String,
    #[prost(string, tag = "6")]
    latex_post: String,
    #[prost(bool, tag = "7")]
    latex_svg: bool,
    #[prost(message, repeated, tag = "8")]
    reqs: Vec<CardRequirement>,
    #[prost(int32, tag = "9")]
    original_stock_kind: i32,
    #[prost(int64, optional, tag = "10")]
    original_id: Option<i64>,
    #[prost(bytes = "vec", tag = "255")]
    other: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CardRequirement {
    #[prost(uint32, tag = "1")]
    card_ord: u32,
    #[prost(int32, tag = "2")]
    kind: i32,
    #[prost(uint32, repeated, tag = "3")]
    field_ords: Vec<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FieldConfig {
    #[prost(bool, tag = "1")]
    sticky: bool,
    #[prost(bool, tag = "2")]
    rtl: bool,
    #[prost(string, tag = "3")]
    font_name: String,
    #[prost(uint32, tag = "4")]
    font_size: u32,
    #[prost(string, tag = "5")]
    description: String,
    #[prost(bool, tag = "6")]
    plain_text: bool,
    #[prost(bool, tag = "7")]
    collapsed: bool,
    #[prost(bool, tag = "8")]
    exclude_from_search: bool,
    #[prost(int64, optional, tag = "9")]
    id: Option<i64>,
    #[prost(uint32, optional, tag = "10")]
    tag: Option<u32>,
    #[prost(bool, tag = "11")]
    prevent_deletion: bool,
    #[prost(bytes = "vec", tag = "255")]
    other: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TemplateConfig {
    #[prost(string, tag = "1")]
    q_format: String,
    #[prost(string, tag = "2")]
    a_format: String,
    #[prost(string, tag = "3")]
    q_format_browser: String,
    #[prost(string, tag = "4")]
    a_format_browser: String,
    #[prost(int64, tag = "5")]
    target_deck_id: i64,
    #[prost(string, tag = "6")]
    browser_font_name: String,
    #[prost(uint32, tag = "7")]
    browser_font_size: u32,
    #[prost(int64, optional, tag = "8")]
    id: Option<i64>,
    #[prost(bytes = "vec", tag = "255")]
    other: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct DeckCommon {
    #[prost(bool, tag = "1")]
    study_collapsed: bool,
    #[prost(bool, tag = "2")]
    browser_collapsed: bool,
    #[prost(uint32, tag = "3")]
    last_day_studied: u32,
    #[prost(int32, tag = "4")]
    new_studied: i32,
    #[prost(int32, tag = "5")]
    review_studied: i32,
    #[prost(int32, tag = "7")]
    milliseconds_studied: i32,
    #[prost(int32, tag = "6")]
    learning_studied: i32,
    #[prost(bytes = "vec", tag = "255")]
    other: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct DeckKind {
    #[prost(message, optional, tag = "1")]
    normal: Option<NormalDeck>,
    #[prost(message, optional, tag = "2")]
    filtered: Option<FilteredDeck>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NormalDeck {
    #[prost(int64, tag = "1")]
    config_id: i64,
    #[prost(uint32, tag = "2")]
    extend_new: u32,
    #[prost(uint32, tag = "3")]
    extend_review: u32,
    #[prost(string, tag = "4")]
    description: String,
    #[prost(bool, tag = "5")]
    markdown_description: bool,
    #[prost(uint32, optional, tag = "6")]
    review_limit: Option<u32>,
    #[prost(uint32, optional, tag = "7")]
    new_limit: Option<u32>,
    #[prost(message, optional, tag = "8")]
    review_limit_today: Option<DayLimit>,
    #[prost(message, optional, tag = "9")]
    new_limit_today: Option<DayLimit>,
    #[prost(float, optional, tag = "10")]
    desired_retention: Option<f32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct DayLimit {
    #[prost(uint32, tag = "1")]
    limit: u32,
    #[prost(uint32, tag = "2")]
    today: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FilteredDeck {
    #[prost(bool, tag = "1")]
    reschedule: bool,
    #[prost(message, repeated, tag = "2")]
    search_terms: Vec<SearchTerm>,
    #[prost(float, repeated, tag = "3")]
    delays: Vec<f32>,
    #[prost(uint32, tag = "4")]
    preview_delay: u32,
    #[prost(uint32, tag = "7")]
    preview_again_secs: u32,
    #[prost(uint32, tag = "5")]
    preview_hard_secs: u32,
    #[prost(uint32, tag = "6")]
    preview_good_secs: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SearchTerm {
    #[prost(string, tag = "1")]
    search: String,
    #[prost(uint32, tag = "2")]
    limit: u32,
    #[prost(int32, tag = "3")]
    order: i32,
}

/// `DeckConfig.Config`: the options the schema 11 JSON names, and those the v3
/// scheduler and FSRS added that Anki writes beside them.
#[derive(Clone, PartialEq, prost::Message)]
struct DeckConfigInner {
    #[prost(float, repeated, tag = "1")]
    learn_steps: Vec<f32>,
    #[prost(float, repeated, tag = "2")]
    relearn_steps: Vec<f32>,
    #[prost(uint32, tag = "9")]
    new_per_day: u32,
    #[prost(uint32, tag = "10")]
    reviews_per_day: u32,
    #[prost(uint32, tag = "35")]
    new_per_day_minimum: u32,
    #[prost(float, tag = "11")]
    initial_ease: f32,
    #[prost(float, tag = "12")]
    easy_multiplier: f32,
    #[prost(float, tag = "13")]
    hard_multiplier: f32,
    #[prost(float, tag = "14")]
    lapse_multiplier: f32,
    #[prost(float, tag = "15")]
    interval_multiplier: f32,
    #[prost(uint32, tag = "16")]
    maximum_review_interval: u32,
    #[prost(uint32, tag = "17")]
    minimum_lapse_interval: u32,
    #[prost(uint32, tag = "18")]
    graduating_interval_good: u32,
    #[prost(uint32, tag = "19")]
    graduating_interval_easy: u32,
    #[prost(int32, tag = "20")]
    new_card_insert_order: i32,
    #[prost(int32, tag = "34")]
    new_card_gather_priority: i32,
    #[prost(int32, tag = "32")]
    new_card_sort_order: i32,
    #[prost(int32, tag = "30")]
    new_mix: i32,
    #[prost(int32, tag = "33")]
    review_order: i32,
    #[prost(int32, tag = "31")]
    interday_learning_mix: i32,
    #[prost(int32, tag = "21")]
    leech_action: i32,
    #[prost(uint32, tag = "22")]
    leech_threshold: u32,
    #[prost(bool, tag = "23")]
    disable_autoplay: bool,
    #[prost(uint32, tag = "24")]
    cap_answer_time_to_secs: u32,
    #[prost(bool, tag = "25")]
    show_timer: bool,
    #[prost(bool, tag = "26")]
    skip_question_when_replaying_answer: bool,
    #[prost(bool, tag = "27")]
    bury_new: bool,
    #[prost(bool, tag = "28")]
    bury_reviews: bool,
    #[prost(bool, tag = "29")]
    bury_interday_learning: bool,
    #[prost(float, tag = "37")]
    desired_retention: f32,
    #[prost(float, repeated, tag = "3")]
    fsrs_params_4: Vec<f32>,
    #[prost(float, repeated, tag = "5")]
    fsrs_params_5: Vec<f32>,
    #[prost(float, repeated, tag = "6")]
    fsrs_params_6: Vec<f32>,
    #[prost(float, repeated, tag = "4")]
    easy_days_percentages: Vec<f32>,
    #[prost(float, tag = "40")]
    historical_retention: f32,
    #[prost(string, tag = "45")]
    param_search: String,
    #[prost(string, tag = "46")]
    ignore_revlogs_before_date: String,
    #[prost(bool, tag = "38")]
    stop_timer_on_answer: bool,
    #[prost(float, tag = "41")]
    seconds_to_show_question: f32,
    #[prost(float, tag = "42")]
    seconds_to_show_answer: f32,
    #[prost(int32, tag = "36")]
    question_action: i32,
    #[prost(int32, tag = "43")]
    answer_action: i32,
    #[prost(bool, tag = "44")]
    wait_for_audio: bool,
    #[prost(bytes = "vec", tag = "255")]
    other: Vec<u8>,
}

/// An `f32` as the decimal it was written as (1.3, not 1.2999999523).
fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

fn decimals(xs: &[f32]) -> Vec<f64> {
    xs.iter().copied().map(decimal).collect()
}

fn decode<M: prost::Message + Default>(bytes: &[u8], what: &str) -> Result<M, ReadError> {
    M::decode(bytes).map_err(|e| ReadError::BadProtobuf {
        what: what.into(),
        detail: e.to_string(),
    })
}

/// The JSON object in an `other` blob; empty if there is none or it is not an object
/// (Anki ignores a bad one too).
fn other_keys(bytes: &[u8]) -> JsonMap {
    if bytes.is_empty() {
        return JsonMap::new();
    }
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// `known` over the `other` keys: known keys win, as in Anki's downgrade.
fn merged(other: &[u8], known: Value) -> Value {
    let mut object = other_keys(other);
    if let Value::Object(known) = known {
        object.extend(known);
    }
    Value::Object(object)
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, ReadError> {
    serde_json::from_value(value).map_err(|e| ReadError::BadJson {
        what: what.into(),
        detail: e.to_string(),
    })
}

fn sql(e: rusqlite::Error) -> ReadError {
    super::sqlite_error(e)
}

/// Every note type, with its fields and templates, by id.
pub(super) fn notetypes(db: &Connection) -> Result<Vec<NotetypeJson>, ReadError> {
    let mut out = Vec::new();
    let mut statement = db
        .prepare("SELECT id, name, mtime_secs, usn, config FROM notetypes ORDER BY id")
        .map_err(sql)?;
    let mut rows = statement.query([]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let id: i64 = row.get(0).map_err(sql)?;
        let name: String = row.get(1).map_err(sql)?;
        let what = format!("note type `{name}`");
        let config: NotetypeConfig = decode(&blob(row, 4)?, &what)?;
        let reqs: Vec<Value> = config
            .reqs
            .iter()
            .map(|r| {
                let kind = ["none", "any", "all"][usize::try_from(r.kind).unwrap_or(0).min(2)];
                json!([r.card_ord, kind, r.field_ords])
            })
            .collect();
        let mut known = json!({
            "id": id,
            "name": name,
            "type": config.kind,
            "mod": row.get::<_, i64>(2).map_err(sql)?,
            "usn": row.get::<_, i64>(3).map_err(sql)?,
            "sortf": config.sort_field_idx,
            "did": (config.target_deck_id_unused != 0).then_some(config.target_deck_id_unused),
            "tmpls": templates(db, id)?,
            "flds": fields(db, id)?,
            "css": config.css,
            "latexPre": config.latex_pre,
            "latexPost": config.latex_post,
            "latexsvg": config.latex_svg,
            "req": reqs,
            "originalStockKind": config.original_stock_kind,
        });
        if let Some(original) = config.original_id {
            known["originalId"] = original.into();
        }
        out.push(from_json(merged(&config.other, known), &what)?);
    }
    Ok(out)
}

fn blob(row: &rusqlite::Row, index: usize) -> Result<Vec<u8>, ReadError> {
    row.get::<_, Vec<u8>>(index).map_err(sql)
}

fn fields(db: &Connection, notetype: i64) -> Result<Vec<Value>, ReadError> {
    let mut statement = db
        .prepare_cached("SELECT ord, name, config FROM fields WHERE ntid = ? ORDER BY ord")
        .map_err(sql)?;
    let mut rows = statement.query([notetype]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(1).map_err(sql)?;
        let c: FieldConfig = decode(&blob(row, 2)?, &format!("field `{name}`"))?;
        let known = json!({
            "name": name,
            "ord": row.get::<_, i64>(0).map_err(sql)?,
            "sticky": c.sticky,
            "rtl": c.rtl,
            "font": c.font_name,
            "size": c.font_size,
            "description": c.description,
            "plainText": c.plain_text,
            "collapsed": c.collapsed,
            "excludeFromSearch": c.exclude_from_search,
            "id": c.id,
            "tag": c.tag,
            "preventDeletion": c.prevent_deletion,
        });
        out.push(merged(&c.other, known));
    }
    Ok(out)
}

fn templates(db: &Connection, notetype: i64) -> Result<Vec<Value>, ReadError> {
    let mut statement = db
        .prepare_cached("SELECT ord, name, config FROM templates WHERE ntid = ? ORDER BY ord")
        .map_err(sql)?;
    let mut rows = statement.query([notetype]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(1).map_err(sql)?;
        let c: TemplateConfig = decode(&blob(row, 2)?, &format!("card template `{name}`"))?;
        let known = json!({
            "name": name,
            "ord": row.get::<_, i64>(0).map_err(sql)?,
            "qfmt": c.q_format,
            "afmt": c.a_format,
            "bqfmt": c.q_format_browser,
            "bafmt": c.a_format_browser,
            "did": (c.target_deck_id != 0).then_some(c.target_deck_id),
            "bfont": c.browser_font_name,
            "bsize": c.browser_font_size,
            "id": c.id,
        });
        out.push(merged(&c.other, known));
    }
    Ok(out)
}

/// Every deck, normal and filtered, by id. Names use `::` between levels (the table
/// separates them with `\x1f`).
pub(super) fn decks(db: &Connection) -> Result<Vec<DeckJson>, ReadError> {
    let mut statement = db
        .prepare("SELECT id, name, mtime_secs, usn, common, kind FROM decks ORDER BY id")
        .map_err(sql)?;
    let mut rows = statement.query([]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name = row.get::<_, String>(1).map_err(sql)?.replace('\x1f', "::");
        let what = format!("deck `{name}`");
        let common: DeckCommon = decode(&blob(row, 4)?, &what)?;
        let kind: DeckKind = decode(&blob(row, 5)?, &what)?;
        let day = common.last_day_studied;
        let mut known = json!({
            "id": row.get::<_, i64>(0).map_err(sql)?,
            "mod": row.get::<_, i64>(2).map_err(sql)?,
            "name": name,
            "usn": row.get::<_, i64>(3).map_err(sql)?,
            "lrnToday": [day, common.learning_studied],
            "revToday": [day, common.review_studied],
            "newToday": [day, common.new_studied],
            "timeToday": [day, common.milliseconds_studied],
            "collapsed": common.study_collapsed,
            "browserCollapsed": common.browser_collapsed,
        });
        let specific = match (kind.normal, kind.filtered) {
            (_, Some(f)) => filtered_keys(f),
            (normal, None) => normal_keys(normal.unwrap_or_default()),
        };
        if let (Value::Object(known), Value::Object(specific)) = (&mut known, specific) {
            known.extend(specific);
        }
        out.push(from_json(merged(&common.other, known), &what)?);
    }
    Ok(out)
}

fn normal_keys(n: NormalDeck) -> Value {
    let day_limit = |l: Option<DayLimit>| l.map(|l| json!({"limit": l.limit, "today": l.today}));
    let mut keys = json!({
        "desc": n.description,
        "dyn": 0,
        "conf": n.config_id,
        "extendNew": n.extend_new,
        "extendRev": n.extend_review,
        "reviewLimit": n.review_limit,
        "newLimit": n.new_limit,
        "reviewLimitToday": day_limit(n.review_limit_today),
        "newLimitToday": day_limit(n.new_limit_today),
    });
    if n.markdown_description {
        keys["md"] = true.into();
    }
    // Schema 11 keeps a percentage, or null.
    keys["desiredRetention"] = json!(n.desired_retention.map(|r| (r * 100.0).round() as u32));
    keys
}

fn filtered_keys(f: FilteredDeck) -> Value {
    let terms: Vec<Value> = f
        .search_terms
        .iter()
        .map(|t| json!([t.search, t.limit, t.order]))
        .collect();
    json!({
        "desc": "",
        "dyn": 1,
        "resched": f.reschedule,
        "terms": terms,
        "separate": true,
        "delays": (!f.delays.is_empty()).then(|| decimals(&f.delays)),
        "previewDelay": f.preview_delay,
        "previewAgainSecs": f.preview_again_secs,
        "previewHardSecs": f.preview_hard_secs,
        "previewGoodSecs": f.preview_good_secs,
    })
}

/// Every deck options group, by id, as Anki downgrades them.
pub(super) fn deck_configs(db: &Connection) -> Result<Vec<DeckConfig>, ReadError> {
    let mut statement = db
        .prepare("SELECT id, name, mtime_secs, usn, config FROM deck_config ORDER BY id")
        .map_err(sql)?;
    let mut rows = statement.query([]).map_err(sql)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let name: String = row.get(1).map_err(sql)?;
        let what = format!("deck options `{name}`");
        let c: DeckConfigInner = decode(&blob(row, 4)?, &what)?;
        let mut other = other_keys(&c.other);
        let part = |other: &mut JsonMap, key: &str, known: Value| {
            let rest = match other.remove(key) {
                Some(Value::Object(rest)) => serde_json::to_vec(&rest).unwrap_or_default(),
                _ => Vec::new(),
            };
            merged(&rest, known)
        };
        let new = part(&mut other, "new", new_keys(&c));
        let rev = part(&mut other, "rev", rev_keys(&c));
        let lapse = part(&mut other, "lapse", lapse_keys(&c));
        let known = json!({
            "id": row.get::<_, i64>(0).map_err(sql)?,
            "mod": row.get::<_, i64>(2).map_err(sql)?,
            "name": name,
            "usn": row.get::<_, i64>(3).map_err(sql)?,
            "maxTaken": c.cap_answer_time_to_secs,
            "autoplay": !c.disable_autoplay,
            "timer": i64::from(c.show_timer),
            "replayq": !c.skip_question_when_replaying_answer,
            "dyn": false,
            "new": new,
            "rev": rev,
            "lapse": lapse,
            "newMix": c.new_mix,
            "newPerDayMinimum": c.new_per_day_minimum,
            "interdayLearningMix": c.interday_learning_mix,
            "reviewOrder": c.review_order,
            "newSortOrder": c.new_card_sort_order,
            "newGatherPriority": c.new_card_gather_priority,
            "buryInterdayLearning": c.bury_interday_learning,
            "desiredRetention": decimal(c.desired_retention),
            "fsrsWeights": decimals(&c.fsrs_params_4),
            "fsrsParams5": decimals(&c.fsrs_params_5),
            "fsrsParams6": decimals(&c.fsrs_params_6),
            "easyDaysPercentages": decimals(&c.easy_days_percentages),
            "sm2Retention": decimal(c.historical_retention),
            "weightSearch": c.param_search,
            "ignoreRevlogsBeforeDate": c.ignore_revlogs_before_date,
            "stopTimerOnAnswer": c.stop_timer_on_answer,
            "secondsToShowQuestion": decimal(c.seconds_to_show_question),
            "secondsToShowAnswer": decimal(c.seconds_to_show_answer),
            "questionAction": c.question_action,
            "answerAction": c.answer_action,
            "waitForAudio": c.wait_for_audio,
        });
        let merged = merged(&serde_json::to_vec(&other).unwrap_or_default(), known);
        out.push(from_json(merged, &what)?);
    }
    Ok(out)
}

fn new_keys(c: &DeckConfigInner) -> Value {
    json!({
        "bury": c.bury_new,
        "delays": decimals(&c.learn_steps),
        "initialFactor": (decimal(c.initial_ease) * 1000.0).round() as i64,
        "ints": [c.graduating_interval_good, c.graduating_interval_easy, 0],
        // Insert order "due" (0) is schema 11's 1, "random" (1) its 0.
        "order": i64::from(c.new_card_insert_order == 0),
        "perDay": c.new_per_day,
    })
}

fn rev_keys(c: &DeckConfigInner) -> Value {
    json!({
        "bury": c.bury_reviews,
        "ease4": decimal(c.easy_multiplier),
        "ivlFct": decimal(c.interval_multiplier),
        "maxIvl": c.maximum_review_interval,
        "perDay": c.reviews_per_day,
        "hardFactor": decimal(c.hard_multiplier),
    })
}

fn lapse_keys(c: &DeckConfigInner) -> Value {
    json!({
        "delays": decimals(&c.relearn_steps),
        // Leech action "suspend" is 0 in both, "tag only" 1.
        "leechAction": i64::from(c.leech_action == 1),
        "leechFails": c.leech_threshold,
        "minInt": c.minimum_lapse_interval,
        "mult": decimal(c.lapse_multiplier),
    })
}
