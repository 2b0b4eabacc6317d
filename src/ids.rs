//! Every id the package carries is derived here, and only here.
//!
//! Anki matches notes across imports by guid and note types by id, so both must be
//! stable across rebuilds and machines: they are hashes of what the user wrote, never
//! counters or clocks. Ids that Anki treats as millisecond timestamps are mapped into a
//! window in the past (2001–2017), so Check Database never sees an id "in the future".

use sha1::{Digest, Sha1};

/// The 91 characters Anki uses for its own guids.
const BASE91: &[u8; 91] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";

/// Start of the id window: 2001-09-09 in milliseconds.
pub(crate) const ID_WINDOW_START: i64 = 1_000_000_000_000;
/// Width of the id window: about 15 years of milliseconds.
pub(crate) const ID_WINDOW_LEN: u64 = 500_000_000_000;

fn hash64(namespace: &str, key: &str) -> u64 {
    let mut h = Sha1::new();
    h.update(b"ankideck\0");
    h.update(namespace.as_bytes());
    h.update(b"\0");
    h.update(key.as_bytes());
    let digest = h.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("sha1 has 20 bytes"))
}

/// 16 hex digits of SHA-1: enough to tell whether some content changed.
pub(crate) fn short_hash(content: &str) -> String {
    short_hash_of([content])
}

/// [`short_hash`] of the concatenation of `parts`.
pub(crate) fn short_hash_of<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    // Joined first, then hashed in one call: for a note's many short parts, SHA-1's
    // bookkeeping per call cost more than copying them.
    let mut joined = Vec::with_capacity(256);
    for part in parts {
        joined.extend_from_slice(part.as_bytes());
    }
    hex(&Sha1::digest(&joined)[..8])
}

/// The HTML id of footnote `label` in the field written `source`: one per field, so
/// that on a card showing two fields with footnotes each reference jumps to its own
/// field's footnote (pulldown-cmark's id is the label alone, `1` in every field).
pub(crate) fn footnote_id(source: &str, label: &str) -> String {
    format!("fn-{}-{label}", &short_hash(source)[..8])
}

/// Lowercase hex digits of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Anki-style guid (base91 text) derived from `key`.
pub(crate) fn guid(key: &str) -> String {
    let mut n = hash64("guid", key);
    let mut out = Vec::new();
    loop {
        out.push(BASE91[(n % 91) as usize]);
        n /= 91;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("base91 alphabet is ASCII")
}

/// The guid of a note with an explicit `id:`.
pub fn guid_for_id(id: &str) -> String {
    guid(&format!("id:{id}"))
}

/// A guid from values that identify a note, the idea of genanki's `guid_for` (not its
/// hash: the guids differ from genanki's). Choose values that do not change when the
/// note is edited, such as a key of your own, so that Anki updates the note on
/// re-import. One value gives the guid [`guid_for_id`] gives: that of a card file's
/// note with the same `id:`.
pub fn guid_for<S: AsRef<str>>(values: &[S]) -> String {
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    guid_for_id(&values.join("\u{1f}"))
}

/// The id a note without `id:` gets: `h` and 16 hex digits (64 bits) of the SHA-1 of its
/// first field as written, whitespace folded, so that moving or reordering notes keeps
/// their identity. With 64 bits, two of 10 million notes share one with a chance of
/// about 1 in 370,000. `ankideck ids` writes it into the source, after which editing the
/// first field no longer changes the guid. Notes the lock knows by their legacy id keep
/// it (see [`HeadingId`]).
pub fn derived_id(first_field_source: &str) -> String {
    HeadingId::of(first_field_source).derived_id()
}

/// The identity a heading (a note's first field as written, without `id:`) gives: its
/// [`derived_id`] for a new note; for a note the lock knows by it, its legacy id, which
/// notes had before 64-bit derived ids: `h` and 10 hex digits (40 bits, so that two of a
/// few hundred thousand headings may share one). Both start with the same digits; the
/// 16 bits after the legacy id's are the check the lock keeps beside a legacy guid, to
/// tell its note from another heading with the same 40 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadingId {
    digest: [u8; 8],
}

impl HeadingId {
    pub(crate) fn of(first_field_source: &str) -> HeadingId {
        let folded: Vec<&str> = first_field_source.split_whitespace().collect();
        let digest = Sha1::digest(folded.join(" ").as_bytes());
        HeadingId {
            digest: digest[..8].try_into().expect("sha1 has 20 bytes"),
        }
    }

    /// `h` and 16 hex digits.
    pub(crate) fn derived_id(&self) -> String {
        format!("h{}", hex(&self.digest))
    }

    /// The guid of a new note: that of its [`HeadingId::derived_id`].
    pub(crate) fn guid(&self) -> String {
        guid_for_id(&self.derived_id())
    }

    /// `h` and 10 hex digits, as `ankideck ids` wrote it before.
    pub(crate) fn legacy_id(&self) -> String {
        format!("h{}", hex(&self.digest[..5]))
    }

    /// The guid a note had under the legacy rule.
    pub(crate) fn legacy_guid(&self) -> String {
        guid_for_id(&self.legacy_id())
    }

    /// The 16 bits the lock keeps beside a legacy guid.
    pub(crate) fn check(&self) -> u16 {
        u16::from_be_bytes([self.digest[5], self.digest[6]])
    }
}

/// The legacy guids a lock knows notes by, each with the check of its heading (see
/// [`HeadingId`]): a note without `id:` keeps its legacy guid when the lock has it for
/// its heading. One number per legacy note, so that a large lock costs little to hold.
#[derive(Debug, Default)]
pub(crate) struct LegacyGuids {
    /// The lock did not record checks (version 1): a legacy guid alone counts.
    any_check: bool,
    /// [`LegacyGuids::key`]s, sorted.
    keys: Vec<u64>,
}

impl LegacyGuids {
    /// The legacy guids of a lock, as [`LegacyGuids::key`]s; `any_check` when it did not
    /// record checks.
    pub(crate) fn new(any_check: bool, mut keys: Vec<u64>) -> LegacyGuids {
        keys.sort_unstable();
        LegacyGuids { any_check, keys }
    }

    /// A legacy guid with its check, as one number.
    pub(crate) fn key(guid: &str, check: Option<u16>) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        (guid, check).hash(&mut hasher);
        hasher.finish()
    }

    /// The legacy guid of `heading`, if the lock knows a note by it.
    pub(crate) fn of(&self, heading: &HeadingId) -> Option<String> {
        if self.keys.is_empty() {
            return None;
        }
        let guid = heading.legacy_guid();
        let check = (!self.any_check).then(|| heading.check());
        let found = self.keys.binary_search(&Self::key(&guid, check)).is_ok();
        found.then_some(guid)
    }
}

/// The guid of a note without `id:` that no lock knows: the same as if its
/// [`derived_id`] were written.
pub fn guid_for_heading(source: &str) -> String {
    HeadingId::of(source).guid()
}

/// The guid of a first field under the legacy 40-bit rule (see [`HeadingId`]), which
/// [`crate::Note::new`] still gives, so that notes made in code keep their identity.
pub fn guid_for_first_field(source: &str) -> String {
    HeadingId::of(source).legacy_guid()
}

/// A timestamp-like id in the past, stable for `(namespace, key)`.
pub(crate) fn stable_id(namespace: &str, key: &str) -> i64 {
    ID_WINDOW_START + (hash64(namespace, key) % ID_WINDOW_LEN) as i64
}

/// Id of a note type, from its name (or a stock type's fixed key).
pub fn notetype_id(key: &str) -> i64 {
    stable_id("notetype", key)
}

/// The key a custom note type's ids derive from, given its own key (its `id`, else its
/// folder's name or, built in code, its name).
pub(crate) fn custom_notetype_key(key: &str) -> String {
    format!("custom:{key}")
}

/// The key of a stock note type (`basic`, `cloze`, …), from which its ids come.
pub fn stock_notetype_key(key: &str) -> String {
    format!("stock:{key}")
}

/// The guid of a row of an Anki text file that has no guid column: from its note type
/// and first field, so that it stays while the first field does. Rows with the same
/// first field are told apart by `occurrence` (1, 2, … among them); the first keeps the
/// guid it has alone.
pub fn text_row_guid(notetype_id: i64, first_field: &str, occurrence: usize) -> String {
    match occurrence {
        0 | 1 => guid(&format!("text:{notetype_id}\u{1f}{first_field}")),
        n => guid(&format!("text:{notetype_id}\u{1f}{first_field}\u{1f}{n}")),
    }
}

/// Id of a field or template within a note type; Anki uses these to recognise a renamed
/// field as the same field, so they come from a key that survives renames.
fn part_id(notetype_key: &str, part: &str) -> i64 {
    // Anki stores these as signed 64-bit; any value is fine, keep them positive.
    (hash64("part", &format!("{notetype_key}\0{part}")) >> 1) as i64
}

/// Id of a field from its note type's key and its own key (its name unless given).
pub(crate) fn field_id(notetype_key: &str, field_key: &str) -> i64 {
    part_id(notetype_key, &format!("field:{field_key}"))
}

/// Id of a card template from its note type's key and its own key (its name unless
/// given).
pub(crate) fn template_id(notetype_key: &str, template_key: &str) -> i64 {
    part_id(notetype_key, &format!("template:{template_key}"))
}

/// Id of a deck, from its name: a hash of the lowercased name (`Default` is 1).
///
/// Anki matches deck names by a wider rule ([`crate::deck::key`]: full case folding,
/// so `Straße` is `STRASSE`), which the ids keep apart. A package names each deck
/// once, with the id of one spelling: [`DeckIds`] picks it. The ids stayed as they
/// were before deck names were folded, so existing decks keep theirs.
pub fn deck_id(name: &str) -> i64 {
    if name.eq_ignore_ascii_case("Default") {
        return 1;
    }
    stable_id("deck", &name.to_lowercase())
}

/// Id of a deck options group (preset), from its name: decks naming the same group
/// share it.
pub fn deck_options_id(name: &str) -> i64 {
    stable_id("deck-options", name)
}

/// The decks of a package: every spelling of one deck (names with the same
/// [`crate::deck::key`], as Anki matches them) gets the id and the name of the first
/// spelling given, and a deck's name starts with its parent's. Each name is resolved
/// once, however often it is met (every note names its deck).
pub(crate) struct DeckIds<'a> {
    by_name: std::collections::HashMap<&'a str, i64>,
    /// Deck key → id and the name the package gives the deck.
    by_key: std::collections::HashMap<String, (i64, String)>,
}

impl Default for DeckIds<'_> {
    fn default() -> Self {
        let mut by_key = std::collections::HashMap::new();
        by_key.insert(crate::deck::key("Default"), (1, "Default".to_string()));
        DeckIds {
            by_name: std::collections::HashMap::new(),
            by_key,
        }
    }
}

impl<'a> DeckIds<'a> {
    /// The id of the deck `name` spells, which becomes the deck's name if it is the
    /// first spelling given.
    pub(crate) fn get(&mut self, name: &'a str) -> i64 {
        if let Some(&id) = self.by_name.get(name) {
            return id;
        }
        let id = self.resolve(name).0;
        self.by_name.insert(name, id);
        id
    }

    pub(crate) fn knows(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The name the package gives the deck `name` spells (after [`DeckIds::get`]).
    pub(crate) fn name(&self, name: &str) -> Option<&str> {
        let (_, shown) = self.by_key.get(&crate::deck::key(name))?;
        Some(shown)
    }

    fn resolve(&mut self, name: &str) -> (i64, String) {
        let key = crate::deck::key(name);
        if let Some(known) = self.by_key.get(&key) {
            return known.clone();
        }
        let shown = match name.rsplit_once("::") {
            Some((parent, leaf)) => format!("{}::{leaf}", self.resolve(parent).1),
            None => name.to_string(),
        };
        let resolved = (deck_id(&shown), shown);
        self.by_key.insert(key, resolved.clone());
        resolved
    }
}

/// Id of a note, from its guid.
pub fn note_id(guid: &str) -> i64 {
    stable_id("note", guid)
}

/// Id of a card, from its note's guid and the card's ordinal.
pub fn card_id(guid: &str, ord: u16) -> i64 {
    stable_id("card", &format!("{guid}\0{ord}"))
}

/// Makes `id` unique among `taken` by stepping forward, so a (rare) hash collision
/// still gives a valid package. Deterministic for a given insertion order.
pub(crate) fn unique(mut id: i64, taken: &mut std::collections::HashSet<i64>) -> i64 {
    while !taken.insert(id) {
        id += 1;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_stable_and_distinct() {
        assert_eq!(guid_for_id("a"), guid_for_id("a"));
        assert_ne!(guid_for_id("a"), guid_for_id("b"));
        assert_eq!(
            guid_for_first_field("a  b\nc"),
            guid_for_first_field("a b c")
        );
        assert!(guid("x").bytes().all(|b| BASE91.contains(&b)));
        // Pinned: a change here would duplicate every note our users already imported.
        assert_eq!(guid_for_id("batch-size-small"), "zkW:NLZD%W");
        let heading = HeadingId::of("深度学习中, batch size\n太小?");
        assert_eq!(heading.legacy_id(), "h962bf3124a");
        let legacy = guid_for_id(&HeadingId::of("q").legacy_id());
        assert_eq!(guid_for_first_field("q"), legacy);
        // The new rule extends the old id, with the check in the digits after it.
        let derived = derived_id("深度学习中, batch size\n太小?");
        assert_eq!(derived.len(), 17);
        assert!(derived.starts_with("h962bf3124a"));
        assert_eq!(format!("{:04x}", heading.check()), derived[11..15]);
        assert_eq!(guid_for_heading("q"), guid_for_id(&derived_id("q")));
        assert_eq!(guid_for(&["batch-size-small"]), "zkW:NLZD%W");
        assert_ne!(guid_for(&["a", "b"]), guid_for(&["ab"]));
        assert_ne!(guid_for(&["a", "b"]), guid_for(&["b", "a"]));
    }

    #[test]
    fn ids_lie_in_the_past_window() {
        for key in ["a", "b", "NLP::x", "中文"] {
            for id in [
                deck_id(key),
                notetype_id(key),
                note_id(key),
                card_id(key, 3),
            ] {
                assert!((ID_WINDOW_START..ID_WINDOW_START + ID_WINDOW_LEN as i64).contains(&id));
            }
        }
        assert_eq!(deck_id("default"), 1);
        assert_eq!(deck_id("NLP::Basics"), deck_id("nlp::basics"));
    }

    /// Spellings Anki takes for one deck get one id and one name, the first given; the
    /// ids are those of the lowercased name, as before deck names were folded.
    #[test]
    fn deck_ids_group_spellings_as_anki_does() {
        // Pinned: a change here would move our users' decks.
        assert_eq!(deck_id("Straße"), 1_150_923_023_052);
        assert_eq!(deck_id("ΟΔΟΣ"), 1_287_182_580_943);
        let mut decks = DeckIds::default();
        let straße = decks.get("Straße");
        assert_eq!(straße, deck_id("Straße"));
        assert_eq!(decks.get("STRASSE"), straße);
        assert_eq!(decks.get("strasse"), straße);
        let child = decks.get("STRASSE::K1");
        assert_eq!(child, deck_id("Straße::K1"));
        assert_eq!(decks.name("strasse::k1"), Some("Straße::K1"));
        assert_eq!(decks.get("οδοσ"), decks.get("ΟΔΟΣ"));
        assert_eq!(decks.name("ΟΔΟΣ"), Some("οδοσ"));
        assert_eq!(decks.get("DEFAULT::x"), deck_id("Default::x"));
        assert_eq!(decks.name("default::X"), Some("Default::x"));
        assert_ne!(decks.get("Strase"), straße);
    }

    #[test]
    fn unique_steps_past_collisions() {
        let mut taken = std::collections::HashSet::new();
        assert_eq!(unique(5, &mut taken), 5);
        assert_eq!(unique(5, &mut taken), 6);
        assert_eq!(unique(6, &mut taken), 7);
    }
}
