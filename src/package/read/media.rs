//! The media list: which entry holds which file, and whether its name is safe.

use super::container::Container;
use super::{MediaFile, ReadError, ReadWarning, SafeName};
use crate::package::meta::{self, MediaEntry, MediaListEncoding, Version};
use std::collections::HashMap;

/// The usable media files, and what was left out.
pub(super) struct MediaList {
    pub files: Vec<MediaFile>,
    pub warnings: Vec<ReadWarning>,
}

/// A file as the list names it: name, entry, and the size and SHA-1 if listed.
type Listed = (String, String, Option<u64>, Option<[u8; 20]>);

/// Reads the `media` entry. A package without one has no media (Anki's exporter
/// always writes one, but other tools may not).
pub(super) fn read_list(zip: &mut Container, version: Version) -> Result<MediaList, ReadError> {
    if !zip.contains(meta::MEDIA) {
        return Ok(MediaList {
            files: Vec::new(),
            warnings: Vec::new(),
        });
    }
    let bytes = zip.read_small(meta::MEDIA, version.zstd())?;
    let listed: Vec<Listed> = match version.media_list() {
        MediaListEncoding::Json => meta::parse_legacy_media_json(&bytes)
            .map_err(|e| ReadError::MediaList(e.to_string()))?
            .into_iter()
            .map(|(entry, name)| (name, entry.to_string(), None, None))
            .collect(),
        MediaListEncoding::Protobuf => MediaEntry::decode_list(&bytes)
            .map_err(|e| ReadError::MediaList(e.to_string()))?
            .into_iter()
            .enumerate()
            .map(|(index, e)| {
                let entry = e
                    .legacy_zip_filename
                    .map_or_else(|| meta::media_entry(index), |n| n.to_string());
                (e.name, entry, Some(u64::from(e.size)), Some(e.sha1))
            })
            .collect(),
    };
    let mut list = MediaList {
        files: Vec::with_capacity(listed.len()),
        warnings: Vec::new(),
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for (name, entry, size, sha1) in listed {
        if let Some(warning) = check(zip, &seen, &name, &entry) {
            list.warnings.push(warning);
            continue;
        }
        let name = match SafeName::new(&name) {
            Ok(safe) => safe,
            Err(reason) => {
                list.warnings
                    .push(ReadWarning::UnsafeMediaName { name, reason });
                continue;
            }
        };
        let size = size.or_else(|| zip.claimed_size(&entry)).unwrap_or(0);
        seen.insert(name.as_str().to_string(), entry.clone());
        list.files.push(MediaFile {
            name,
            entry,
            size,
            sha1,
        });
    }
    Ok(list)
}

/// A listed file whose entry is missing, or whose name came before.
fn check(
    zip: &Container,
    seen: &HashMap<String, String>,
    name: &str,
    entry: &str,
) -> Option<ReadWarning> {
    if let Some(first) = seen.get(name) {
        return Some(ReadWarning::DuplicateMediaName {
            name: name.into(),
            first: first.clone(),
            entry: entry.into(),
        });
    }
    let reserved = [
        meta::META,
        meta::MEDIA,
        meta::COLLECTION_LEGACY1,
        meta::COLLECTION_LEGACY2,
        meta::COLLECTION_LATEST,
    ];
    if !zip.contains(entry) || reserved.contains(&entry) {
        return Some(ReadWarning::MediaEntryMissing {
            name: name.into(),
            entry: entry.into(),
        });
    }
    None
}
