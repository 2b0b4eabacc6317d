//! Media file names: the name a file gets in a package, and the names Anki accepts.

use crate::error::{Error, Result};
use unicode_normalization::UnicodeNormalization;

/// Characters Anki removes from media names (besides control characters).
const MEDIA_NAME_FORBIDDEN: &str = "\\/:*?\"<>|[]^";

/// Checks a media file name against Anki's rules and returns it NFC-normalized.
///
/// The name must be one Anki leaves as it is: the latest package format refuses the
/// whole package otherwise, and the legacy one renames the file so notes miss it.
pub fn check_name(name: &str) -> Result<String> {
    let nfc: String = name.nfc().collect();
    let bad = nfc.is_empty()
        || nfc.len() > 120
        || nfc.ends_with(['.', ' '])
        || nfc
            .chars()
            .any(|c| c.is_control() || c == '\u{a0}' || MEDIA_NAME_FORBIDDEN.contains(c))
        || is_windows_device_name(&nfc);
    if bad {
        return Err(Error::MediaName(name.to_string()));
    }
    Ok(nfc)
}

/// `CON`, `nul.txt`, `COM1.mp3`, …: names Windows reserves, which Anki renames.
fn is_windows_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && matches!(stem.as_bytes()[3], b'1'..=b'9'))
}

/// The name a media file gets in the package: its own name with a short content hash,
/// so that same-named files from different folders never collide and an edited file
/// arrives in Anki under a new name instead of being mistaken for the old one.
pub fn packaged_name(original_file_name: &str, sha1_hex: &str) -> String {
    let cleaned: String = original_file_name
        .nfc()
        .map(|c| {
            // Also `&` and `'`, so a name never needs escaping in HTML.
            if c.is_control() || "\\/:*?\"<>|#%[]^&'".contains(c) || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let (stem, ext) = match cleaned.rfind('.') {
        Some(i) if i > 0 && i + 1 < cleaned.len() => (&cleaned[..i], &cleaned[i..]),
        _ => (cleaned.as_str(), ""),
    };
    let ext: String = ext.chars().take(16).collect();
    let mut stem_end = stem.len().min(80);
    while !stem.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    format!("{}-{}{}", &stem[..stem_end], &sha1_hex[..8], ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_names() {
        assert_eq!(
            packaged_name("loss.png", "0123456789abcdef"),
            "loss-01234567.png"
        );
        assert_eq!(packaged_name("a b?.mp3", "ffffffff00"), "a_b_-ffffffff.mp3");
        assert_eq!(
            packaged_name("Tom & Jerry's.mp3", "ffffffff00"),
            "Tom___Jerry_s-ffffffff.mp3"
        );
        assert_eq!(packaged_name(".hidden", "abcdef0123"), ".hidden-abcdef01");
        let long = "长".repeat(60) + ".png";
        let name = packaged_name(&long, "abcdef0123");
        assert!(check_name(&name).is_ok(), "{name}");
        assert!(check_name("a/b.png").is_err());
        assert!(check_name("a:b.png").is_err());
        for bad in [
            "a[1].png",
            "x^2.png",
            "con",
            "NUL.mp3",
            "lpt1.txt",
            "dot.",
            "space ",
            "nb\u{a0}sp",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        for good in [
            "console.png",
            "com10.mp3",
            "con-1234.png",
            "_font.woff2",
            "图.png",
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        assert_eq!(
            packaged_name("x^2[1].png", "abcdef0123"),
            "x_2_1_-abcdef01.png"
        );
        assert_eq!(
            packaged_name("trailing.", "abcdef0123"),
            "trailing.-abcdef01"
        );
    }
}
