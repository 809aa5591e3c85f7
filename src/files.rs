//! The files rampart reads and writes: versioned JSON documents (snapshots
//! and reports), read with a version check before the body, and outputs
//! written atomically so a failed run never leaves half a file behind.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::{FileError, SourceError};

/// The versioned JSON documents rampart writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Snapshot,
    Report,
}

impl Document {
    pub fn name(self) -> &'static str {
        match self {
            Document::Snapshot => "snapshot",
            Document::Report => "report",
        }
    }

    /// What to run instead when a file is the other kind of document.
    fn hint(self) -> &'static str {
        match self {
            Document::Snapshot => "it is a report; use `rampart report` to render it",
            Document::Report => "it is a snapshot; use `rampart evaluate` to evaluate it",
        }
    }
}

/// The fields read before the body: the version, and one field only each
/// kind of document has, so a snapshot given where a report is expected
/// (or the reverse) is named as such rather than failing on a field.
#[derive(Deserialize)]
struct Head {
    schema_version: Option<u32>,
    collected_at: Option<IgnoredAny>,
    findings: Option<IgnoredAny>,
}

impl Head {
    fn kind(&self) -> Option<Document> {
        match (&self.findings, &self.collected_at) {
            (Some(_), _) => Some(Document::Report),
            (None, Some(_)) => Some(Document::Snapshot),
            (None, None) => None,
        }
    }
}

/// The schema versions a reader accepts: `current`, and older ones from
/// `oldest` on that `upgrade` brings up to date (given the version found
/// and the document as JSON).
#[derive(Clone, Copy)]
pub struct Versions {
    pub current: u32,
    pub oldest: u32,
    pub upgrade: fn(u32, &mut serde_json::Value),
}

impl Versions {
    /// Only the current version.
    pub fn only(current: u32) -> Versions {
        Versions {
            current,
            oldest: current,
            upgrade: |_, _| {},
        }
    }
}

/// Reads a document of `kind` in one of the `versions`.
pub fn read_versioned<T: DeserializeOwned>(
    path: &Path,
    kind: Document,
    versions: Versions,
) -> Result<T, FileError> {
    let text = fs::read_to_string(path).map_err(|source| FileError::Read {
        kind: kind.name(),
        path: path.to_owned(),
        source,
    })?;
    parse_versioned(&text, kind, versions).map_err(|err| err.at(path))
}

/// Parses a document of `kind`, checking the schema version before the body
/// so a file from another version gets a version error, not a field error;
/// an older version the reader knows is upgraded first.
pub fn parse_versioned<T: DeserializeOwned>(
    text: &str,
    kind: Document,
    versions: Versions,
) -> Result<T, FileError> {
    let head = serde_json::from_str::<Head>(text).map_err(FileError::json)?;
    let not_this_kind = |hint| FileError::WrongKind {
        path: None,
        kind: kind.name(),
        hint,
    };
    match (head.schema_version, head.kind()) {
        (_, Some(found)) if found != kind => Err(not_this_kind(kind.hint())),
        (None, _) => Err(not_this_kind("it has no `schema_version` field")),
        (Some(found), _) if found == versions.current => {
            serde_json::from_str(text).map_err(FileError::json)
        }
        (Some(found), _) if (versions.oldest..versions.current).contains(&found) => {
            let mut document: serde_json::Value =
                serde_json::from_str(text).map_err(FileError::json)?;
            (versions.upgrade)(found, &mut document);
            serde_json::from_value(document).map_err(FileError::json)
        }
        (Some(found), _) => Err(FileError::Version {
            path: None,
            kind: kind.name(),
            found,
            oldest: versions.oldest,
            current: versions.current,
        }),
    }
}

/// Writes a file atomically: a crash or a full disk leaves either the old
/// file or the complete new one, never half of it.
pub fn write_atomically(path: &Path, what: &str, contents: &[u8]) -> Result<(), FileError> {
    let write_err = |source| FileError::Write {
        what: what.to_owned(),
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // tempfile names its random file in the error; the user knows only
    // the path they asked for, so keep the OS error alone.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|err| {
        let text = err.to_string();
        let message = text.split(" at path ").next().unwrap_or(&text);
        write_err(std::io::Error::new(err.kind(), message.to_owned()))
    })?;
    tmp.write_all(contents).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|err| write_err(err.error))?;
    Ok(())
}

/// Parses a YAML file a person wrote; a mistake is reported at its line and
/// column.
pub fn parse_yaml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, SourceError> {
    serde_saphyr::from_str(text).map_err(|err| {
        let (line, column) = err
            .location()
            .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
        SourceError {
            file: file.to_owned(),
            line,
            column,
            message: yaml_message(&err.to_string()),
        }
    })
}

/// The YAML library renders `error: line L column C: MESSAGE` and then a
/// source snippet; the position is already in the prefix rampart writes,
/// so keep only the message.
fn yaml_message(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or(rendered);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message.to_owned(),
        None => first.to_owned(),
    }
}
