//! The zip: opening it, telling its version, and inflating entries within [`Limits`],
//! counting the bytes as they come out rather than trusting any header.

use super::{Limits, ReadError};
use crate::package::meta::{self, Version};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use zip::result::ZipError;

/// The largest `meta` entry or media list read into memory.
const SMALL_ENTRY_MAX: u64 = 64 << 20;

/// A package's zip archive and what has been inflated from it so far.
pub(super) struct Container {
    path: PathBuf,
    zip: zip::ZipArchive<BufReader<File>>,
    limits: Limits,
    inflated: u64,
}

/// Where a copy failed: reading (the entry), or writing (the destination).
pub(super) enum CopyError {
    Read(ReadError),
    Write(std::io::Error),
}

impl Container {
    pub(super) fn open(path: &Path, limits: Option<Limits>) -> Result<Container, ReadError> {
        let io = |source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let zip = match zip::ZipArchive::new(BufReader::new(file)) {
            Ok(zip) => zip,
            Err(ZipError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(ReadError::Truncated {
                    path: path.to_path_buf(),
                })
            }
            Err(ZipError::Io(source)) => return Err(io(source)),
            Err(error) => return Err(not_zip(path, error)),
        };
        Ok(Container {
            path: path.to_path_buf(),
            zip,
            limits: limits.unwrap_or_else(|| Limits::for_package(size)),
            inflated: 0,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// The version: the `meta` entry's, or from the collection entries present.
    pub(super) fn version(&mut self) -> Result<Version, ReadError> {
        let version = if self.has(meta::META) {
            let bytes = self.read_small(meta::META, false)?;
            Version::from_meta(&bytes).map_err(|e| match e {
                meta::DecodeError::UnknownVersion(v) => ReadError::UnknownVersion(v),
                other => ReadError::CorruptEntry {
                    entry: meta::META.into(),
                    detail: other.to_string(),
                },
            })?
        } else {
            Version::without_meta(self.zip.file_names())
        };
        if !self.has(version.collection_entry()) {
            let any = [
                meta::COLLECTION_LEGACY1,
                meta::COLLECTION_LEGACY2,
                meta::COLLECTION_LATEST,
            ]
            .iter()
            .any(|name| self.has(name));
            return Err(if any {
                ReadError::MissingEntry(version.collection_entry().into())
            } else {
                ReadError::NoCollection {
                    path: self.path.clone(),
                }
            });
        }
        Ok(version)
    }

    /// Whether the archive has an entry `name`.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.has(name)
    }

    /// The size the zip claims for entry `name` once inflated.
    pub(super) fn claimed_size(&mut self, name: &str) -> Option<u64> {
        self.zip.by_name(name).ok().map(|entry| entry.size())
    }

    /// An entry (the `meta` entry, the media list) read into memory, zstd-decoded if
    /// `zstd`.
    pub(super) fn read_small(&mut self, name: &str, zstd: bool) -> Result<Vec<u8>, ReadError> {
        let mut out = Vec::new();
        let cap = SMALL_ENTRY_MAX.min(self.limits.entry);
        self.copy(name, zstd, cap, &mut out).map_err(|e| match e {
            CopyError::Read(e) => e,
            CopyError::Write(_) => unreachable!("writing to a Vec cannot fail"),
        })?;
        Ok(out)
    }

    /// Inflates the collection into a scratch file.
    pub(super) fn inflate_collection(
        &mut self,
        version: Version,
        scratch_dir: Option<&Path>,
    ) -> Result<tempfile::NamedTempFile, ReadError> {
        let dir = scratch_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let scratch = |source| ReadError::Scratch {
            dir: dir.clone(),
            source,
        };
        let mut file = tempfile::Builder::new()
            .prefix(".ankideck-collection-")
            .tempfile_in(&dir)
            .map_err(scratch)?;
        let entry = version.collection_entry();
        let cap = self.limits.entry;
        {
            let mut out = std::io::BufWriter::new(file.as_file_mut());
            match self.copy(entry, version.zstd(), cap, &mut out) {
                Ok(_) => {}
                Err(CopyError::Read(e)) => return Err(e),
                Err(CopyError::Write(e)) => return Err(scratch(e)),
            }
            out.flush().map_err(scratch)?;
        }
        Ok(file)
    }

    /// Copies a media entry to `to`.
    pub(super) fn copy_entry(
        &mut self,
        entry: &str,
        name: &str,
        zstd: bool,
        to: &mut dyn Write,
    ) -> Result<u64, ReadError> {
        let cap = self.limits.entry;
        self.copy(entry, zstd, cap, to).map_err(|e| match e {
            CopyError::Read(e) => e,
            CopyError::Write(source) => ReadError::WriteMedia {
                name: name.into(),
                source,
            },
        })
    }

    /// Streams entry `name`, decoded, to `to`, refusing it once more than `cap` bytes
    /// (or more than the total limit allows) come out.
    fn copy(
        &mut self,
        name: &str,
        zstd: bool,
        cap: u64,
        to: &mut dyn Write,
    ) -> Result<u64, CopyError> {
        let left = self.limits.total.saturating_sub(self.inflated);
        let limit = cap.min(left);
        let path = self.path.clone();
        let entry = match self.zip.by_name(name) {
            Ok(entry) => entry,
            Err(ZipError::FileNotFound) => {
                return Err(CopyError::Read(ReadError::MissingEntry(name.into())))
            }
            Err(ZipError::Io(source)) => {
                return Err(CopyError::Read(ReadError::Io { path, source }))
            }
            Err(other) => return Err(CopyError::Read(corrupt(name, other.to_string()))),
        };
        let result = if zstd {
            match zstd::Decoder::new(entry) {
                Ok(decoder) => bounded_copy(decoder, to, limit),
                Err(e) => Err(CopyError::Read(corrupt(name, e.to_string()))),
            }
        } else {
            bounded_copy(entry, to, limit)
        };
        match result {
            Ok(copied) => {
                self.inflated += copied;
                Ok(copied)
            }
            Err(CopyError::Read(ReadError::TooLarge { .. })) => {
                Err(CopyError::Read(ReadError::TooLarge {
                    entry: name.into(),
                    limit,
                }))
            }
            Err(CopyError::Read(ReadError::CorruptEntry { detail, .. })) => {
                Err(CopyError::Read(corrupt(name, detail)))
            }
            Err(other) => Err(other),
        }
    }
}

fn corrupt(entry: &str, detail: String) -> ReadError {
    ReadError::CorruptEntry {
        entry: entry.into(),
        detail,
    }
}

/// Copies `from` to `to` in chunks, failing as soon as more than `limit` bytes came.
fn bounded_copy(mut from: impl Read, to: &mut dyn Write, limit: u64) -> Result<u64, CopyError> {
    let mut buffer = vec![0; 64 << 10];
    let mut copied = 0u64;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(corrupt("", e.to_string()))),
        };
        copied += n as u64;
        if copied > limit {
            return Err(CopyError::Read(ReadError::TooLarge {
                entry: String::new(),
                limit,
            }));
        }
        to.write_all(&buffer[..n]).map_err(CopyError::Write)?;
    }
}

/// A file that is no zip archive: truncated if it starts like one.
fn not_zip(path: &Path, error: ZipError) -> ReadError {
    let mut start = [0u8; 4];
    let starts_like_zip = File::open(path)
        .and_then(|mut f| f.read_exact(&mut start))
        .is_ok()
        && start == *b"PK\x03\x04";
    if starts_like_zip {
        ReadError::Truncated {
            path: path.to_path_buf(),
        }
    } else {
        ReadError::NotZip {
            path: path.to_path_buf(),
            detail: error.to_string(),
        }
    }
}
