//! The `.apkg` container: which zip entries a package has, how each is compressed, and
//! how the `media` list and the `meta` entry are encoded. The writer and a reader of
//! packages both take these facts from here, so that what one writes the other reads.
//!
//! The three layouts Anki has used (`Version`):
//! - legacy 1: `collection.anki2` (schema 11), media files as entries `0`, `1`, … and a
//!   JSON `media` map `{"0": "name.jpg"}`; no `meta` entry;
//! - legacy 2: the same, with the collection as `collection.anki21` and a dummy
//!   `collection.anki2` beside it; no `meta` entry;
//! - latest: a `meta` entry, the collection zstd-compressed as `collection.anki21b`,
//!   a dummy `collection.anki2`, media files zstd-compressed, and a zstd-compressed
//!   protobuf `MediaEntries` list in `media`.

/// The schema 11 collection of a legacy 1 package, and the dummy one of newer packages.
pub const COLLECTION_LEGACY1: &str = "collection.anki2";
/// The collection of a legacy 2 package.
pub const COLLECTION_LEGACY2: &str = "collection.anki21";
/// The zstd-compressed collection of a latest package.
pub const COLLECTION_LATEST: &str = "collection.anki21b";
/// The list of media files: which entry holds which file.
pub const MEDIA: &str = "media";
/// The protobuf `PackageMetadata` of a latest package.
pub const META: &str = "meta";

/// The zip entry holding the media file at `index` in the media list.
pub fn media_entry(index: usize) -> String {
    index.to_string()
}

/// Media types that are compressed already; compressing them again only costs time.
const COMPRESSED_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "mp3", "m4a", "aac", "ogg", "oga", "opus",
    "flac", "mp4", "m4v", "webm", "mkv", "mov", "zip", "gz", "woff", "woff2",
];

/// Deflate level of the legacy format: the fastest. On 100k generated notes the 91 MB
/// collection deflated in 0.56 s at level 1 against 0.76 s at level 2 (zlib's default 6
/// took 1.7 s longer than 2), for packages of 31.1, 26.7 and 24.1 MB; genanki stores it.
const DEFLATE_LEVEL: i64 = 1;

/// zstd level for the collection and compressible media (Anki uses zstd's default, 3).
const ZSTD_LEVEL: i32 = 3;

/// A collection of at most this many bytes (about a thousand plain notes) is small: it is
/// rewritten compactly ([`crate::package`]'s writer) and compressed at the levels below,
/// which cost some 50 ms of CPU at this size and make the package smaller: for 10 notes,
/// 3.1 KB instead of 4.4 KB deflated, 2.9 KB instead of 3.0 KB with zstd. (zstd's 19
/// gives 2.9 KB too, but takes a second a MiB.)
const SMALL_COLLECTION: u64 = 1 << 20;
/// Deflate level of a small collection: zlib's default.
const DEFLATE_LEVEL_SMALL: i64 = 6;
/// zstd level of a small collection.
const ZSTD_LEVEL_SMALL: i32 = 9;

/// Whether a collection of `size` bytes is small (see [`SMALL_COLLECTION`]).
pub(crate) fn is_small_collection(size: u64) -> bool {
    size <= SMALL_COLLECTION
}
/// zstd level for media that is compressed already: the fastest, since it cannot shrink.
const ZSTD_LEVEL_COMPRESSED: i32 = 1;

/// Which kind of `.apkg` to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `collection.anki2` (schema 11) with deflated entries and a JSON media map: what
    /// Anki 2.1.49 and older, old AnkiDroid and every other Anki client reads.
    #[default]
    Legacy1,
    /// What Anki 23.10+ exports by default: a `meta` entry (version 3), the collection
    /// zstd-compressed as `collection.anki21b`, zstd-compressed media with a protobuf
    /// media list, and a dummy `collection.anki2` that tells old clients to update.
    /// Smaller packages; needs Anki 2.1.50+, AnkiDroid 2.16+ or a recent AnkiMobile.
    Latest,
}

impl Format {
    /// Every format, in the order `ankideck build --format` lists them.
    pub const ALL: [Format; 2] = [Format::Legacy1, Format::Latest];

    /// The names accepted by `ankideck build --format`.
    pub const NAMES: [&'static str; 2] = [Format::Legacy1.name(), Format::Latest.name()];

    /// The format's name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Legacy1 => "legacy",
            Format::Latest => "latest",
        }
    }

    /// The format named `name` (one of [`Format::NAMES`], or `legacy1`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "legacy1" => Some(Format::Legacy1),
            _ => Format::ALL.into_iter().find(|f| f.name() == name),
        }
    }

    /// The container layout this format writes.
    pub(crate) fn version(self) -> Version {
        match self {
            Format::Legacy1 => Version::Legacy1,
            Format::Latest => Version::Latest,
        }
    }

    /// How the entry of a media file named `name` is compressed.
    pub(crate) fn media_compression(self, name: &str) -> Compression {
        let compressed = is_compressed(name);
        match (self, compressed) {
            (Format::Legacy1, true) => Compression::Stored,
            (Format::Legacy1, false) => Compression::Deflate(DEFLATE_LEVEL),
            (Format::Latest, true) => Compression::Zstd(ZSTD_LEVEL_COMPRESSED),
            (Format::Latest, false) => Compression::Zstd(ZSTD_LEVEL),
        }
    }

    /// How the collection entry is compressed, for a collection of `size` bytes.
    pub(crate) fn collection_compression(self, size: u64) -> Compression {
        match (self, is_small_collection(size)) {
            (Format::Legacy1, false) => Compression::Deflate(DEFLATE_LEVEL),
            (Format::Legacy1, true) => Compression::Deflate(DEFLATE_LEVEL_SMALL),
            (Format::Latest, false) => Compression::Zstd(ZSTD_LEVEL),
            (Format::Latest, true) => Compression::Zstd(ZSTD_LEVEL_SMALL),
        }
    }

    /// How the `media` list is compressed.
    pub(crate) fn media_list_compression(self) -> Compression {
        match self {
            Format::Legacy1 => Compression::Deflate(DEFLATE_LEVEL),
            Format::Latest => Compression::Zstd(ZSTD_LEVEL),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The dummy `collection.anki2` of newer packages is deflated: only clients that read
/// legacy packages (whose collections are deflated) read it, and stored, its mostly empty
/// pages were nearly half of a small package.
pub const DUMMY_COLLECTION_COMPRESSION: Compression = Compression::Deflate(DEFLATE_LEVEL_SMALL);
/// The `meta` entry is stored.
pub const META_COMPRESSION: Compression = Compression::Stored;

/// Whether a media file is of a type that is compressed already.
fn is_compressed(name: &str) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    COMPRESSED_EXTENSIONS.contains(&ext.as_str())
}

/// How an entry's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Stored as is, by zip.
    Stored,
    /// Deflated by zip, at this level.
    Deflate(i64),
    /// Compressed with zstd at this level, then stored by zip: a reader decompresses
    /// these entries itself.
    Zstd(i32),
}

/// The container layouts of `.apkg` files, numbered as Anki's `PackageMetadata.Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `collection.anki2`, what Anki 2.1.49 and older write and ankideck's legacy format.
    Legacy1 = 1,
    /// `collection.anki21` beside a dummy `collection.anki2`, as Anki 2.1 versions before
    /// the latest format export it; read only.
    Legacy2 = 2,
    /// `collection.anki21b` with a `meta` entry: [`Format::Latest`].
    Latest = 3,
}

/// How a version lists its media files in the `media` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaListEncoding {
    /// `{"0": "name"}`, entry name to file name.
    Json,
    /// zstd-compressed protobuf `MediaEntries`, in entry order.
    Protobuf,
}

impl Version {
    /// The version of a package without a `meta` entry, from its entry names.
    pub fn without_meta<'a>(mut entries: impl Iterator<Item = &'a str>) -> Version {
        if entries.any(|name| name == COLLECTION_LEGACY2) {
            Version::Legacy2
        } else {
            Version::Legacy1
        }
    }

    /// The entry holding the real collection.
    pub fn collection_entry(self) -> &'static str {
        match self {
            Version::Legacy1 => COLLECTION_LEGACY1,
            Version::Legacy2 => COLLECTION_LEGACY2,
            Version::Latest => COLLECTION_LATEST,
        }
    }

    /// Whether the collection, media files and media list are zstd-compressed.
    pub fn zstd(self) -> bool {
        self == Version::Latest
    }

    /// How the `media` entry lists the media files.
    pub fn media_list(self) -> MediaListEncoding {
        match self {
            Version::Legacy1 | Version::Legacy2 => MediaListEncoding::Json,
            Version::Latest => MediaListEncoding::Protobuf,
        }
    }

    /// The `meta` entry's bytes: `PackageMetadata { version }`. Only latest packages
    /// have one.
    pub fn meta_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2);
        protobuf::varint_field(&mut out, 1, self as u64);
        out
    }

    /// Reads a `meta` entry.
    pub fn from_meta(bytes: &[u8]) -> Result<Version, DecodeError> {
        let mut version = 0;
        let mut reader = protobuf::Reader::new(bytes);
        while let Some((field, value)) = reader.field()? {
            if field == 1 {
                version = value.varint(field)?;
            }
        }
        match version {
            1 => Ok(Version::Legacy1),
            2 => Ok(Version::Legacy2),
            3 => Ok(Version::Latest),
            other => Err(DecodeError::UnknownVersion(other)),
        }
    }
}

/// Why a `meta` entry or media list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the protobuf data ends in the middle of a field")]
    Truncated,
    #[error("a protobuf varint is longer than 64 bits")]
    VarintTooLong,
    #[error("protobuf field {field} has wire type {wire_type}, which is not expected there")]
    WireType { field: u64, wire_type: u8 },
    #[error("the package's version {0} is unknown")]
    UnknownVersion(u64),
    #[error("media file name is not UTF-8")]
    NameNotUtf8,
    #[error("media file `{name}` has a SHA-1 of {len} bytes")]
    Sha1Length { name: String, len: usize },
    #[error("media file size {0} does not fit in 32 bits")]
    SizeTooLarge(u64),
    #[error("the JSON media map is malformed: {0}")]
    Json(String),
    #[error("the JSON media map names entry `{0}`, which is not a number")]
    EntryName(String),
}

/// One file of a latest package's media list. The file's entry is its index in the
/// list, unless a package converted from a legacy one recorded its old entry number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaEntry {
    pub name: String,
    pub size: u32,
    pub sha1: [u8; 20],
    pub legacy_zip_filename: Option<u32>,
}

impl MediaEntry {
    /// Appends the entry to a `MediaEntries` message (as its field 1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut entry = Vec::with_capacity(self.name.len() + 32);
        protobuf::bytes_field(&mut entry, 1, self.name.as_bytes());
        if self.size != 0 {
            protobuf::varint_field(&mut entry, 2, u64::from(self.size));
        }
        protobuf::bytes_field(&mut entry, 3, &self.sha1);
        if let Some(number) = self.legacy_zip_filename {
            protobuf::varint_field(&mut entry, 255, u64::from(number));
        }
        protobuf::bytes_field(out, 1, &entry);
    }

    /// Reads a `MediaEntries` message (uncompressed).
    pub fn decode_list(bytes: &[u8]) -> Result<Vec<MediaEntry>, DecodeError> {
        let mut entries = Vec::new();
        let mut reader = protobuf::Reader::new(bytes);
        while let Some((field, value)) = reader.field()? {
            if field == 1 {
                entries.push(MediaEntry::decode(value.bytes(field)?)?);
            }
        }
        Ok(entries)
    }

    fn decode(bytes: &[u8]) -> Result<MediaEntry, DecodeError> {
        let (mut name, mut size, mut sha1, mut legacy) = (String::new(), 0, Vec::new(), None);
        let mut reader = protobuf::Reader::new(bytes);
        while let Some((field, value)) = reader.field()? {
            match field {
                1 => {
                    let bytes = value.bytes(field)?.to_vec();
                    name = String::from_utf8(bytes).map_err(|_| DecodeError::NameNotUtf8)?;
                }
                2 => size = u32_of(value.varint(field)?)?,
                3 => sha1 = value.bytes(field)?.to_vec(),
                255 => legacy = Some(u32_of(value.varint(field)?)?),
                _ => {}
            }
        }
        let sha1 = <[u8; 20]>::try_from(sha1.as_slice()).map_err(|_| DecodeError::Sha1Length {
            name: name.clone(),
            len: sha1.len(),
        })?;
        Ok(MediaEntry {
            name,
            size,
            sha1,
            legacy_zip_filename: legacy,
        })
    }
}

fn u32_of(value: u64) -> Result<u32, DecodeError> {
    u32::try_from(value).map_err(|_| DecodeError::SizeTooLarge(value))
}

/// The legacy `media` map, `{"0": "a.jpg", "1": "b.mp3"}`, for files in entry order.
/// Keys are in string order (`"10"` before `"2"`), as written since the first release.
pub fn legacy_media_json<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let map: std::collections::BTreeMap<String, &str> = names
        .into_iter()
        .enumerate()
        .map(|(index, name)| (media_entry(index), name))
        .collect();
    serde_json::to_string(&map).expect("a map of strings serializes")
}

/// Reads a legacy `media` map: (entry number, file name), by entry number.
pub fn parse_legacy_media_json(bytes: &[u8]) -> Result<Vec<(u32, String)>, DecodeError> {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
    let mut entries = map
        .into_iter()
        .map(|(entry, name)| match entry.parse::<u32>() {
            Ok(number) => Ok((number, name)),
            Err(_) => Err(DecodeError::EntryName(entry)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_unstable();
    Ok(entries)
}

/// The little of protobuf's wire format the `meta` entry and the media list use.
mod protobuf {
    use super::DecodeError;

    fn varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    pub(super) fn varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
        varint(out, field << 3);
        varint(out, value);
    }

    pub(super) fn bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
        varint(out, field << 3 | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }

    /// A field's value, by wire type.
    pub(super) enum Value<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
        /// 32- and 64-bit fixed-width values, which these messages do not use.
        Fixed,
    }

    impl<'a> Value<'a> {
        pub(super) fn varint(self, field: u64) -> Result<u64, DecodeError> {
            match self {
                Value::Varint(v) => Ok(v),
                _ => Err(DecodeError::WireType {
                    field,
                    wire_type: self.wire_type(),
                }),
            }
        }

        pub(super) fn bytes(self, field: u64) -> Result<&'a [u8], DecodeError> {
            match self {
                Value::Bytes(b) => Ok(b),
                _ => Err(DecodeError::WireType {
                    field,
                    wire_type: self.wire_type(),
                }),
            }
        }

        fn wire_type(&self) -> u8 {
            match self {
                Value::Varint(_) => 0,
                Value::Bytes(_) => 2,
                Value::Fixed => 1,
            }
        }
    }

    /// Reads a message's fields one by one.
    pub(super) struct Reader<'a> {
        bytes: &'a [u8],
    }

    impl<'a> Reader<'a> {
        pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
            Reader { bytes }
        }

        fn varint(&mut self) -> Result<u64, DecodeError> {
            let mut value = 0u64;
            for shift in (0..64).step_by(7) {
                let (&byte, rest) = self.bytes.split_first().ok_or(DecodeError::Truncated)?;
                self.bytes = rest;
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return Ok(value);
                }
            }
            Err(DecodeError::VarintTooLong)
        }

        fn take(&mut self, len: u64) -> Result<&'a [u8], DecodeError> {
            let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
            if len > self.bytes.len() {
                return Err(DecodeError::Truncated);
            }
            let (taken, rest) = self.bytes.split_at(len);
            self.bytes = rest;
            Ok(taken)
        }

        /// The next field number and value, or `None` at the end of the message.
        pub(super) fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, DecodeError> {
            if self.bytes.is_empty() {
                return Ok(None);
            }
            let key = self.varint()?;
            let (field, wire_type) = (key >> 3, (key & 7) as u8);
            let value = match wire_type {
                0 => Value::Varint(self.varint()?),
                1 => self.take(8).map(|_| Value::Fixed)?,
                2 => {
                    let len = self.varint()?;
                    Value::Bytes(self.take(len)?)
                }
                5 => self.take(4).map(|_| Value::Fixed)?,
                _ => return Err(DecodeError::WireType { field, wire_type }),
            };
            Ok(Some((field, value)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, size: u32) -> MediaEntry {
        MediaEntry {
            name: name.into(),
            size,
            sha1: [7; 20],
            legacy_zip_filename: None,
        }
    }

    #[test]
    fn media_entry_encoding() {
        let mut out = Vec::new();
        entry("a.png", 300).encode(&mut out);
        let mut expected = vec![0x0a, 32, 0x0a, 5];
        expected.extend_from_slice(b"a.png");
        expected.extend_from_slice(&[0x10, 0xac, 0x02, 0x1a, 20]);
        expected.extend_from_slice(&[7; 20]);
        assert_eq!(out, expected);
    }

    #[test]
    fn media_list_round_trip() {
        let mut list = vec![
            entry("a.png", 300),
            entry("empty.txt", 0),
            entry("ü.mp3", 1),
        ];
        list[2].legacy_zip_filename = Some(12);
        list.push(entry(&"long".repeat(100), u32::MAX));
        let mut bytes = Vec::new();
        for e in &list {
            e.encode(&mut bytes);
        }
        assert_eq!(MediaEntry::decode_list(&bytes).unwrap(), list);
        assert_eq!(MediaEntry::decode_list(&[]).unwrap(), []);
        assert_eq!(
            MediaEntry::decode_list(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Truncated)
        );
    }

    #[test]
    fn media_entry_needs_a_sha1() {
        let mut bytes = Vec::new();
        protobuf::bytes_field(&mut bytes, 1, b"x");
        let mut list = Vec::new();
        protobuf::bytes_field(&mut list, 1, &bytes);
        assert!(matches!(
            MediaEntry::decode_list(&list),
            Err(DecodeError::Sha1Length { len: 0, .. })
        ));
    }

    #[test]
    fn meta_round_trip() {
        assert_eq!(Version::Latest.meta_bytes(), [0x08, 0x03]);
        for version in [Version::Legacy1, Version::Legacy2, Version::Latest] {
            assert_eq!(Version::from_meta(&version.meta_bytes()), Ok(version));
        }
        assert_eq!(Version::from_meta(&[]), Err(DecodeError::UnknownVersion(0)));
        // Unknown fields are skipped.
        assert_eq!(
            Version::from_meta(&[0x10, 0x05, 0x08, 0x02]),
            Ok(Version::Legacy2)
        );
    }

    #[test]
    fn legacy_media_map_round_trip() {
        let names: Vec<String> = (0..12).map(|i| format!("f{i}.png")).collect();
        let json = legacy_media_json(names.iter().map(String::as_str));
        assert!(json.starts_with(r#"{"0":"f0.png","1":"f1.png","10":"f10.png","11":"#));
        let parsed = parse_legacy_media_json(json.as_bytes()).unwrap();
        let expected: Vec<(u32, String)> =
            names.into_iter().zip(0..).map(|(n, i)| (i, n)).collect();
        assert_eq!(parsed, expected);
        assert_eq!(legacy_media_json([]), "{}");
        assert!(matches!(
            parse_legacy_media_json(br#"{"x": "a"}"#),
            Err(DecodeError::EntryName(_))
        ));
    }

    #[test]
    fn versions_and_entries() {
        assert_eq!(
            Version::without_meta(["collection.anki2", "media"].into_iter()),
            Version::Legacy1
        );
        let legacy2 = ["collection.anki2", "collection.anki21", "media"];
        assert_eq!(Version::without_meta(legacy2.into_iter()), Version::Legacy2);
        assert_eq!(
            Format::Latest.version().collection_entry(),
            COLLECTION_LATEST
        );
        assert_eq!(Version::Legacy2.media_list(), MediaListEncoding::Json);
        assert_eq!(
            Format::Legacy1.media_compression("A.JPG"),
            Compression::Stored
        );
        assert_eq!(
            Format::Legacy1.media_compression("a.txt"),
            Compression::Deflate(1)
        );
        assert_eq!(
            Format::Latest.media_compression("a.mp3"),
            Compression::Zstd(1)
        );
        assert_eq!(
            Format::Latest.media_compression("noext"),
            Compression::Zstd(3)
        );
    }

    /// A small collection is compressed harder; a large one fast.
    #[test]
    fn collection_compression_follows_its_size() {
        let small = SMALL_COLLECTION;
        let large = SMALL_COLLECTION + 1;
        let legacy = Format::Legacy1;
        assert_eq!(
            legacy.collection_compression(small),
            Compression::Deflate(6)
        );
        assert_eq!(
            legacy.collection_compression(large),
            Compression::Deflate(1)
        );
        assert_eq!(
            Format::Latest.collection_compression(small),
            Compression::Zstd(9)
        );
        assert_eq!(
            Format::Latest.collection_compression(large),
            Compression::Zstd(3)
        );
    }
}
