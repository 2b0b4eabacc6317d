//! Deck descriptions and deck options groups (Anki's "presets", `dconf`).

use crate::ids;
use serde_json::Value;

/// What a deck carries besides its cards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeckSettings {
    /// HTML shown on the deck's overview screen.
    pub description: String,
    pub options: Option<DeckOptions>,
}

/// A deck options group; unset values keep Anki's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeckOptions {
    /// The group's name in Anki; decks naming the same group share it.
    pub name: String,
    pub new_per_day: Option<u32>,
    pub reviews_per_day: Option<u32>,
    /// Learning steps in minutes.
    pub learning_steps: Option<Vec<f64>>,
    /// Maximum interval in days.
    pub maximum_interval: Option<u32>,
}

impl DeckOptions {
    /// The group's id: stable, from its name.
    pub fn id(&self) -> i64 {
        ids::stable_id("deck-options", &self.name)
    }

    /// The group as a `dconf` entry, starting from Anki's default group `base`.
    pub(crate) fn to_json(&self, base: &Value, modified: i64) -> Value {
        let mut conf = base.clone();
        conf["id"] = self.id().into();
        conf["name"] = self.name.clone().into();
        conf["mod"] = modified.into();
        if let Some(n) = self.new_per_day {
            conf["new"]["perDay"] = n.into();
        }
        if let Some(n) = self.reviews_per_day {
            conf["rev"]["perDay"] = n.into();
        }
        if let Some(steps) = &self.learning_steps {
            conf["new"]["delays"] = steps.clone().into();
        }
        if let Some(n) = self.maximum_interval {
            conf["rev"]["maxIvl"] = n.into();
        }
        conf
    }
}
