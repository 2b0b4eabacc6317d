//! Deck options groups (Anki's "presets"): the entries of `col.dconf`, both ways.
//!
//! Fields are declared in the byte order of their JSON keys: that is the order the
//! entries have always been written in (and Anki reads keys in any order).

use super::schema::JsonMap;
use crate::deck::{DeckOptions, KeysError, OWN_KEYS, PARTS};
use crate::ids;
use serde::{Deserialize, Serialize};

/// Id of the deck options group every deck uses unless given its own.
pub const DEFAULT_DECK_CONF: i64 = 1;

/// One entry of `col.dconf`.
#[allow(missing_docs)] // the fields are Anki\'s keys
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeckConfig {
    pub autoplay: bool,
    #[serde(rename = "dyn")]
    pub dynamic: bool,
    pub id: i64,
    pub lapse: LapseConfig,
    #[serde(rename = "maxTaken")]
    pub max_taken: i64,
    #[serde(rename = "mod")]
    pub modified: i64,
    pub name: String,
    pub new: NewConfig,
    pub replayq: bool,
    pub rev: ReviewConfig,
    pub timer: i64,
    pub usn: i64,
    /// Keys Anki writes that ankideck neither sets nor reads.
    #[serde(flatten)]
    pub rest: JsonMap,
}

/// The `new` part of a [`DeckConfig`]: new cards.
#[allow(missing_docs)] // the fields are Anki\'s keys
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewConfig {
    pub bury: bool,
    /// Learning steps in minutes.
    pub delays: Vec<f64>,
    #[serde(rename = "initialFactor")]
    pub initial_factor: i64,
    pub ints: Vec<i64>,
    pub order: i64,
    #[serde(rename = "perDay")]
    pub per_day: u32,
    #[serde(flatten)]
    pub rest: JsonMap,
}

/// The `rev` part of a [`DeckConfig`]: reviews.
#[allow(missing_docs)] // the fields are Anki\'s keys
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewConfig {
    pub bury: bool,
    pub ease4: f64,
    #[serde(rename = "hardFactor")]
    pub hard_factor: f64,
    #[serde(rename = "ivlFct")]
    pub interval_factor: f64,
    /// Maximum interval in days.
    #[serde(rename = "maxIvl")]
    pub max_interval: u32,
    #[serde(rename = "perDay")]
    pub per_day: u32,
    #[serde(flatten)]
    pub rest: JsonMap,
}

/// The `lapse` part of a [`DeckConfig`]: forgotten cards.
#[allow(missing_docs)] // the fields are Anki\'s keys
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LapseConfig {
    pub delays: Vec<f64>,
    #[serde(rename = "leechAction")]
    pub leech_action: i64,
    #[serde(rename = "leechFails")]
    pub leech_fails: i64,
    #[serde(rename = "minInt")]
    pub min_interval: i64,
    pub mult: f64,
    #[serde(flatten)]
    pub rest: JsonMap,
}

impl Default for DeckConfig {
    /// What Anki takes for a key a group leaves out (its schema 11 defaults).
    fn default() -> Self {
        DeckConfig {
            autoplay: true,
            dynamic: false,
            id: 0,
            lapse: LapseConfig::default(),
            max_taken: 60,
            modified: 0,
            name: String::new(),
            new: NewConfig::default(),
            replayq: true,
            rev: ReviewConfig::default(),
            timer: 0,
            usn: 0,
            rest: JsonMap::new(),
        }
    }
}

impl Default for NewConfig {
    fn default() -> Self {
        NewConfig {
            bury: false,
            delays: vec![1.0, 10.0],
            initial_factor: 2500,
            ints: vec![1, 4, 0],
            order: 1,
            per_day: 20,
            rest: JsonMap::new(),
        }
    }
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            bury: false,
            ease4: 1.3,
            hard_factor: 1.2,
            interval_factor: 1.0,
            max_interval: 36500,
            per_day: 200,
            rest: JsonMap::new(),
        }
    }
}

impl Default for LapseConfig {
    fn default() -> Self {
        LapseConfig {
            delays: vec![10.0],
            leech_action: 1,
            leech_fails: 8,
            min_interval: 1,
            mult: 0.0,
            rest: JsonMap::new(),
        }
    }
}

impl DeckConfig {
    /// The default options group, as Anki creates it in a new collection.
    pub fn anki_default(modified: i64) -> DeckConfig {
        DeckConfig {
            id: DEFAULT_DECK_CONF,
            modified,
            name: "Default".into(),
            ..DeckConfig::default()
        }
    }

    /// The group `options` describes, starting from `base` (Anki's default group) for
    /// what it leaves unset: its Anki keys over `base`, then the options it names.
    pub fn with_options(
        base: &DeckConfig,
        options: &DeckOptions,
        modified: i64,
    ) -> Result<DeckConfig, KeysError> {
        let mut conf = match options.anki_keys.is_empty() {
            true => base.clone(),
            false => with_keys(base, &options.anki_keys)?,
        };
        conf.id = (options.id).unwrap_or_else(|| ids::deck_options_id(&options.name));
        conf.name = options.name.clone();
        conf.modified = modified;
        if let Some(n) = options.new_per_day {
            conf.new.per_day = n;
        }
        if let Some(n) = options.reviews_per_day {
            conf.rev.per_day = n;
        }
        if let Some(steps) = &options.learning_steps {
            conf.new.delays = steps.clone();
        }
        if let Some(n) = options.maximum_interval {
            conf.rev.max_interval = n;
        }
        Ok(conf)
    }

    /// Whether this group holds Anki's defaults for every key (whatever its name and
    /// id): a `Default` group nobody edited.
    pub fn is_anki_default(&self) -> bool {
        let mut defaults = to_map(&DeckConfig::default());
        defaults.extend(newer_defaults());
        same_values(&to_map(self), &defaults)
    }

    /// This group as `_deck.toml` says it: every option set, its id, and every other key
    /// it has as Anki's key.
    pub fn options(&self) -> DeckOptions {
        let mut anki_keys = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => JsonMap::new(),
        };
        for key in OWN_KEYS {
            match key.split_once('.') {
                Some((part, key)) => {
                    if let Some(serde_json::Value::Object(part)) = anki_keys.get_mut(part) {
                        part.remove(key);
                    }
                }
                None => {
                    anki_keys.remove(*key);
                }
            }
        }
        DeckOptions {
            name: self.name.clone(),
            new_per_day: Some(self.new.per_day),
            reviews_per_day: Some(self.rev.per_day),
            learning_steps: Some(self.new.delays.clone()),
            maximum_interval: Some(self.rev.max_interval),
            id: Some(self.id),
            anki_keys,
        }
    }
}

fn to_map(conf: &DeckConfig) -> JsonMap {
    match serde_json::to_value(conf) {
        Ok(serde_json::Value::Object(mut map)) => {
            for key in ["id", "mod", "usn", "name"] {
                map.remove(key);
            }
            map
        }
        _ => JsonMap::new(),
    }
}

/// Anki's defaults for the keys newer versions added (those of a new collection's
/// `Default` group).
fn newer_defaults() -> JsonMap {
    let defaults = serde_json::json!({
        "newMix": 0, "newPerDayMinimum": 0, "interdayLearningMix": 0, "reviewOrder": 0,
        "newSortOrder": 0, "newGatherPriority": 0, "buryInterdayLearning": false,
        "fsrsWeights": [], "fsrsParams5": [], "fsrsParams6": [], "desiredRetention": 0.9,
        "ignoreRevlogsBeforeDate": "", "easyDaysPercentages": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "stopTimerOnAnswer": false, "secondsToShowQuestion": 0.0, "secondsToShowAnswer": 0.0,
        "questionAction": 0, "answerAction": 0, "waitForAudio": true, "sm2Retention": 0.9,
        "weightSearch": "",
    });
    match defaults {
        serde_json::Value::Object(map) => map,
        _ => JsonMap::new(),
    }
}

/// Whether every key of `values` has its value in `defaults` (numbers compared as
/// numbers, `1` as `1.0`); a key `defaults` lacks is not a default.
fn same_values(values: &JsonMap, defaults: &JsonMap) -> bool {
    use serde_json::Value;
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (Value::Object(x), Value::Object(y)) => same_values(x, y),
            _ => a == b,
        }
    }
    (values.iter()).all(|(key, value)| defaults.get(key).is_some_and(|d| same(value, d)))
}

/// `base` with `keys` set over it (in `new`, `rev` and `lapse` key by key); a key
/// ankideck sets itself, or a value of the wrong kind, is an error.
fn with_keys(base: &DeckConfig, keys: &JsonMap) -> Result<DeckConfig, KeysError> {
    let mut json = match serde_json::to_value(base) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => JsonMap::new(),
    };
    for (key, value) in keys {
        let own = |k: &str| OWN_KEYS.contains(&k);
        match (json.get_mut(key), value) {
            (Some(serde_json::Value::Object(part)), serde_json::Value::Object(set))
                if PARTS.contains(&key.as_str()) =>
            {
                for (sub, value) in set {
                    if own(&format!("{key}.{sub}")) {
                        return Err(KeysError(format!("`{key}.{sub}` is set by ankideck")));
                    }
                    part.insert(sub.clone(), value.clone());
                }
            }
            _ if own(key) || PARTS.contains(&key.as_str()) => {
                return Err(KeysError(format!("`{key}` is set by ankideck")));
            }
            _ => {
                json.insert(key.clone(), value.clone());
            }
        }
    }
    serde_json::from_value(serde_json::Value::Object(json)).map_err(|e| KeysError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_round_trip() {
        let options = DeckOptions {
            name: "Fast".into(),
            new_per_day: Some(50),
            reviews_per_day: Some(0),
            learning_steps: Some(vec![0.5, 1.0, 1440.0]),
            maximum_interval: Some(365),
            ..DeckOptions::default()
        };
        let conf = DeckConfig::with_options(&DeckConfig::anki_default(5), &options, 7).unwrap();
        assert_eq!(conf.id, ids::deck_options_id("Fast"));
        assert_eq!(conf.modified, 7);
        let back = conf.options();
        assert_eq!(back.id, Some(conf.id));
        assert_eq!(
            DeckConfig::with_options(&DeckConfig::default(), &back, 7).unwrap(),
            conf
        );
        let json = serde_json::to_string(&conf).unwrap();
        assert_eq!(serde_json::from_str::<DeckConfig>(&json).unwrap(), conf);
    }

    /// Every key of a group comes back from its options, values as stored, over any
    /// base; keys ankideck sets itself are refused.
    #[test]
    fn anki_keys_round_trip() {
        let text = r#"{"id":7,"name":"x","mod":3,"usn":0,"maxTaken":30,"autoplay":false,
            "new":{"delays":[1,10],"perDay":9,"separate":true,"ints":[2,5,0]},
            "rev":{"perDay":100,"hardFactor":1.1,"fuzz":0.05},
            "lapse":{"delays":[5],"leechAction":0},"fsrsWeights":[0.5],"desiredRetention":0.85}"#;
        let conf: DeckConfig = serde_json::from_str(text).unwrap();
        let options = conf.options();
        assert_eq!(options.anki_keys["new"]["separate"], true);
        assert!(!options.anki_keys.contains_key("id"));
        assert!(!options.anki_keys["new"]
            .as_object()
            .unwrap()
            .contains_key("perDay"));
        let mut base = DeckConfig::anki_default(1);
        base.rev.hard_factor = 2.0;
        let again = DeckConfig::with_options(&base, &options, 3).unwrap();
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&conf).unwrap()
        );
        assert!(!conf.is_anki_default());
        assert!(DeckConfig::anki_default(9).is_anki_default());
        for bad in [r#"{"id": 3}"#, r#"{"new": {"perDay": 3}}"#, r#"{"new": 3}"#] {
            let mut options = options.clone();
            options.anki_keys = serde_json::from_str(bad).unwrap();
            assert!(
                DeckConfig::with_options(&base, &options, 3).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unset_options_keep_the_default() {
        let base = DeckConfig::anki_default(5);
        let options = DeckOptions {
            name: "Partial".into(),
            ..DeckOptions::default()
        };
        let conf = DeckConfig::with_options(&base, &options, 5).unwrap();
        assert_eq!(conf.new, base.new);
        assert_eq!(conf.rev, base.rev);
    }

    #[test]
    fn unknown_keys_are_kept() {
        // Integers where ankideck writes floats, and keys newer Anki versions add.
        let text = r#"{"id":3,"name":"x","new":{"delays":[1,10],"perDay":9,"separate":true},
            "rev":{"perDay":100,"fuzz":0.05},"lapse":{"delays":[10]},"fsrsWeights":[]}"#;
        let conf: DeckConfig = serde_json::from_str(text).unwrap();
        assert_eq!(conf.new.delays, [1.0, 10.0]);
        assert_eq!(conf.new.rest["separate"], true);
        assert_eq!(conf.rev.rest["fuzz"], 0.05);
        assert!(conf.rest.contains_key("fsrsWeights"));
        let again: DeckConfig =
            serde_json::from_str(&serde_json::to_string(&conf).unwrap()).unwrap();
        assert_eq!(again, conf);
    }
}
