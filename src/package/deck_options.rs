//! Deck options groups (Anki's "presets") as `dconf` entries.

use crate::deck::DeckOptions;
use crate::ids;
use serde_json::Value;

impl DeckOptions {
    /// The group as a `dconf` entry, starting from Anki's default group `base`.
    pub(crate) fn to_json(&self, base: &Value, modified: i64) -> Value {
        let mut conf = base.clone();
        conf["id"] = ids::deck_options_id(&self.name).into();
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
