//! Deck options groups (Anki's "presets"): the entries of `col.dconf`, both ways.
//!
//! Fields are declared in the byte order of their JSON keys: that is the order the
//! entries have always been written in (and Anki reads keys in any order).

use super::schema::JsonMap;
use crate::deck::DeckOptions;
use crate::ids;
use serde::{Deserialize, Serialize};

/// Id of the deck options group every deck uses unless given its own.
pub const DEFAULT_DECK_CONF: i64 = 1;

/// One entry of `col.dconf`.
#[allow(missing_docs)] // the fields are Anki\'s keys
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

impl DeckConfig {
    /// The default options group, as Anki creates it in a new collection.
    pub fn anki_default(modified: i64) -> DeckConfig {
        DeckConfig {
            autoplay: true,
            dynamic: false,
            id: DEFAULT_DECK_CONF,
            lapse: LapseConfig {
                delays: vec![10.0],
                leech_action: 1,
                leech_fails: 8,
                min_interval: 1,
                mult: 0.0,
                rest: JsonMap::new(),
            },
            max_taken: 60,
            modified,
            name: "Default".into(),
            new: NewConfig {
                bury: false,
                delays: vec![1.0, 10.0],
                initial_factor: 2500,
                ints: vec![1, 4, 0],
                order: 1,
                per_day: 20,
                rest: JsonMap::new(),
            },
            replayq: true,
            rev: ReviewConfig {
                bury: false,
                ease4: 1.3,
                hard_factor: 1.2,
                interval_factor: 1.0,
                max_interval: 36500,
                per_day: 200,
                rest: JsonMap::new(),
            },
            timer: 0,
            usn: 0,
            rest: JsonMap::new(),
        }
    }

    /// The group `options` describes, starting from `base` (Anki's default group) for
    /// what it leaves unset.
    pub fn with_options(base: &DeckConfig, options: &DeckOptions, modified: i64) -> DeckConfig {
        let mut conf = base.clone();
        conf.id = ids::deck_options_id(&options.name);
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
        conf
    }

    /// The options ankideck knows of this group, every one set.
    pub fn options(&self) -> DeckOptions {
        DeckOptions {
            name: self.name.clone(),
            new_per_day: Some(self.new.per_day),
            reviews_per_day: Some(self.rev.per_day),
            learning_steps: Some(self.new.delays.clone()),
            maximum_interval: Some(self.rev.max_interval),
        }
    }
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
        };
        let conf = DeckConfig::with_options(&DeckConfig::anki_default(5), &options, 7);
        assert_eq!(conf.id, ids::deck_options_id("Fast"));
        assert_eq!(conf.modified, 7);
        assert_eq!(conf.options(), options);
        let json = serde_json::to_string(&conf).unwrap();
        assert_eq!(serde_json::from_str::<DeckConfig>(&json).unwrap(), conf);
    }

    #[test]
    fn unset_options_keep_the_default() {
        let base = DeckConfig::anki_default(5);
        let options = DeckOptions {
            name: "Partial".into(),
            ..DeckOptions::default()
        };
        let conf = DeckConfig::with_options(&base, &options, 5);
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
