//! The field separator: named by `#separator:`, or guessed from the body as Anki does.

/// Separators in the order Anki tries them when the file names none.
const SEPARATORS: &[(&str, u8)] = &[
    ("tab", b'\t'),
    ("pipe", b'|'),
    ("semicolon", b';'),
    ("colon", b':'),
    ("comma", b','),
    ("space", b' '),
];

/// Anki looks only this far into the body when it guesses.
const SAMPLE_BYTES: usize = 8 * 1024;

/// The separator a `#separator:` value names: by name (any case, spaces around allowed)
/// or as the character itself (exactly, so a lone space stays a space).
pub(super) fn named(value: &str) -> Option<u8> {
    let lower = value.to_ascii_lowercase();
    SEPARATORS
        .iter()
        .find(|(name, byte)| lower.trim() == *name || lower.as_bytes() == [*byte])
        .map(|(_, byte)| *byte)
}

/// The first separator, in Anki's order, found in the start of the body; a space if none.
pub(super) fn detect(body: &str) -> u8 {
    let sample = sample(body);
    SEPARATORS
        .iter()
        .find(|(_, b)| sample.contains(b))
        .map_or(b' ', |(_, b)| *b)
}

/// For a file with `extension` whose separator was guessed as `guessed` from `body`:
/// the separator its extension stands for (`,` for `.csv`, tab for `.tsv`) with its
/// name, when that is another one and the body has it, so that the guess surprises.
pub(super) fn surprising(extension: &str, body: &str, guessed: u8) -> Option<(u8, &'static str)> {
    let expected = match extension.to_ascii_lowercase().as_str() {
        "csv" => (b',', "commas"),
        "tsv" => (b'\t', "tabs"),
        _ => return None,
    };
    (guessed != expected.0 && sample(body).contains(&expected.0)).then_some(expected)
}

/// The start of the body that Anki guesses from.
fn sample(body: &str) -> &[u8] {
    &body.as_bytes()[..body.len().min(SAMPLE_BYTES)]
}

/// How a message shows separator `byte`.
pub(super) fn shown(byte: u8) -> String {
    match byte {
        b'\t' => "tab".into(),
        b' ' => "space".into(),
        other => char::from(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_characters_name_separators() {
        assert_eq!(named("tab"), Some(b'\t'));
        assert_eq!(named(" Comma "), Some(b','));
        assert_eq!(named("PIPE"), Some(b'|'));
        assert_eq!(named(";"), Some(b';'));
        assert_eq!(named(" "), Some(b' '));
        assert_eq!(named("\t"), Some(b'\t'));
        assert_eq!(named("space"), Some(b' '));
    }

    #[test]
    fn unknown_separators_are_none() {
        assert_eq!(named("dash"), None);
        assert_eq!(named("-"), None);
        assert_eq!(named(" ;"), None, "a character is taken exactly");
        assert_eq!(named(""), None);
    }

    #[test]
    fn detection_follows_ankis_order() {
        assert_eq!(detect("a\tb,c\n"), b'\t');
        assert_eq!(detect("a|b;c\n"), b'|');
        assert_eq!(detect("a;b:c,d\n"), b';');
        assert_eq!(detect("a:b,c\n"), b':');
        assert_eq!(detect("a,b c\n"), b',');
        assert_eq!(detect("a b\n"), b' ');
        assert_eq!(detect("ab\n"), b' ', "no separator at all: a space");
        assert_eq!(detect(""), b' ');
    }

    #[test]
    fn a_guess_the_extension_does_not_suggest_surprises() {
        let body = "Bonjour,Hello: a greeting\n";
        assert_eq!(detect(body), b':');
        assert_eq!(surprising("CSV", body, b':'), Some((b',', "commas")));
        assert_eq!(surprising("tsv", "a\tb|c\n", b'|'), Some((b'\t', "tabs")));
        assert_eq!(surprising("csv", "a,b\n", b','), None);
        assert_eq!(
            surprising("csv", "a;b\n", b';'),
            None,
            "no comma: not surprising"
        );
        assert_eq!(surprising("txt", body, b':'), None);
    }

    #[test]
    fn detection_reads_only_the_start() {
        let body = format!("{}\t", "a,".repeat(SAMPLE_BYTES));
        assert_eq!(detect(&body), b',');
        let body = format!("{}\t", "a".repeat(SAMPLE_BYTES - 1));
        assert_eq!(detect(&body), b'\t');
    }
}
