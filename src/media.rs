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

/// Why a media name read from a package cannot be used as a file name as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsafeName {
    /// No name at all.
    #[error("it is empty")]
    Empty,
    /// `.` or `..`.
    #[error("it names a folder (`.` or `..`)")]
    Dots,
    /// A `/` or `\`.
    #[error("it holds a path separator (`/` or `\\`), so it could point outside the media folder")]
    Separator,
    /// A control character.
    #[error("it holds a control character")]
    Control,
    /// One of `: * ? " < > |`.
    #[error("it holds a character Windows forbids in file names (: * ? \" < > |)")]
    Windows,
    /// `CON`, `NUL.txt`, `COM1.mp3`, ….
    #[error("it is a name Windows reserves for a device (CON, NUL, COM1, …)")]
    Device,
    /// A last dot or space.
    #[error("it ends with a dot or a space, which Windows drops")]
    TrailingDot,
    /// More than 255 bytes.
    #[error("it is longer than 255 bytes")]
    TooLong,
}

/// A media file name from a package that is safe to create inside a folder: one plain
/// file name, never a path, on any system. The name is kept as stored (an NFD name
/// stays NFD); only [`SafeName::new`] makes one, so a caller holding a `SafeName` can
/// join it to its folder without checking again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SafeName(String);

impl SafeName {
    /// Checks `name`. Refuses more than a Unix file system would, so that sources
    /// written from a package can be checked out on Windows too.
    pub fn new(name: &str) -> std::result::Result<SafeName, UnsafeName> {
        let problem = if name.is_empty() {
            Some(UnsafeName::Empty)
        } else if name == "." || name == ".." {
            Some(UnsafeName::Dots)
        } else if name.contains(['/', '\\']) {
            Some(UnsafeName::Separator)
        } else if name.chars().any(char::is_control) {
            Some(UnsafeName::Control)
        } else if name.contains([':', '*', '?', '"', '<', '>', '|']) {
            Some(UnsafeName::Windows)
        } else if is_windows_device_name(name) {
            Some(UnsafeName::Device)
        } else if name.ends_with(['.', ' ']) {
            Some(UnsafeName::TrailingDot)
        } else if name.len() > 255 {
            Some(UnsafeName::TooLong)
        } else {
            None
        };
        match problem {
            Some(problem) => Err(problem),
            None => Ok(SafeName(name.to_string())),
        }
    }

    /// The name, as the package stores it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SafeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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
    fn safe_names() {
        for (bad, why) in [
            ("", UnsafeName::Empty),
            ("..", UnsafeName::Dots),
            (".", UnsafeName::Dots),
            ("../etc/passwd", UnsafeName::Separator),
            ("/etc/passwd", UnsafeName::Separator),
            ("a\\b.png", UnsafeName::Separator),
            ("C:evil.png", UnsafeName::Windows),
            ("a\nb.png", UnsafeName::Control),
            ("a\u{7f}.png", UnsafeName::Control),
            ("aux.mp3", UnsafeName::Device),
            ("x.", UnsafeName::TrailingDot),
        ] {
            assert_eq!(SafeName::new(bad), Err(why), "{bad:?}");
        }
        assert_eq!(SafeName::new(&"a".repeat(256)), Err(UnsafeName::TooLong));
        // Kept as stored: NFD stays NFD; names Anki would rename are still safe files.
        let nfd = "cafe\u{301}.mp3";
        assert_eq!(SafeName::new(nfd).unwrap().as_str(), nfd);
        for good in ["..hidden", "a[1].png", "x^2.png", "_font.woff2", "图.png"] {
            assert_eq!(SafeName::new(good).unwrap().as_str(), good);
        }
    }

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
