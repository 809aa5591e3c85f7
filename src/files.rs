//! The files rampart reads and writes: versioned JSON documents (snapshots
//! and reports), read with a version check before the body, and outputs
//! written atomically so a failed run never leaves half a file behind.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::{FileError, SourceError};

/// The versioned JSON documents rampart writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Snapshot,
    Report,
    /// An organization's accounts (`rampart org accounts`).
    Accounts,
    /// What one shard of an organization scan did.
    Manifest,
}

impl Document {
    pub fn name(self) -> &'static str {
        match self {
            Document::Snapshot => "snapshot",
            Document::Report => "report",
            Document::Accounts => "accounts file",
            Document::Manifest => "manifest",
        }
    }

    /// What a file of this kind is for, when it was given where another
    /// kind was expected.
    fn found_hint(self) -> &'static str {
        match self {
            Document::Snapshot => "it is a snapshot; use `rampart evaluate` to evaluate it",
            Document::Report => "it is a report; use `rampart report` to render it",
            Document::Accounts => "it is an accounts file; give it to `rampart scan --accounts`",
            Document::Manifest => {
                "it is the manifest of an organization scan's shard; `rampart merge` reads it"
            }
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
    accounts: Option<IgnoredAny>,
    shard: Option<IgnoredAny>,
}

impl Head {
    fn kind(&self) -> Option<Document> {
        if self.findings.is_some() {
            Some(Document::Report)
        } else if self.collected_at.is_some() {
            Some(Document::Snapshot)
        } else if self.shard.is_some() {
            Some(Document::Manifest)
        } else if self.accounts.is_some() {
            Some(Document::Accounts)
        } else {
            None
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

/// The most rampart reads of a JSON document (a snapshot or a report):
/// far above what the largest accounts produce, far below what would
/// exhaust memory when pointed at an endless stream.
pub const MAX_DOCUMENT_BYTES: u64 = 1 << 30;
/// The most rampart reads of a file a person wrote: a rule, configuration
/// or suppression file.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Reads a text file of at most `limit` bytes; a larger one (or an endless
/// stream such as `/dev/zero`) is an error as soon as the limit is passed.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    let file = fs::File::open(path)?;
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "it is larger than {} MiB, the most rampart reads of such a file",
                limit >> 20
            ),
        )
    };
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    if metadata.is_file() && metadata.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// Reads a document of `kind` in one of the `versions`.
pub fn read_versioned<T: DeserializeOwned>(
    path: &Path,
    kind: Document,
    versions: Versions,
) -> Result<T, FileError> {
    let text = read_bounded(path, MAX_DOCUMENT_BYTES).map_err(|source| FileError::Read {
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
    // serde reads a struct from an array too: `[1]` would pass for a head.
    if !text.trim_start().starts_with('{') {
        return Err(not_this_kind("it is not a JSON object"));
    }
    match (head.schema_version, head.kind()) {
        (_, Some(found)) if found != kind => Err(not_this_kind(found.found_hint())),
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
    stage(path, what, contents)?.commit()
}

/// A file written in full beside its target, not yet in place: several
/// outputs are staged and then committed together, so a failure in any
/// leaves every existing file untouched.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    what: String,
}

/// Writes `contents` to a new file (readable only by its owner: reports
/// and snapshots describe an account's defences) in `path`'s directory.
pub fn stage(path: &Path, what: &str, contents: &[u8]) -> Result<Staged, FileError> {
    stage_with(path, what, |out| out.write_all(contents))
}

/// Like [`stage`], the contents written by `write` as a stream through a
/// buffer, so a large output is never held whole in memory.
pub fn stage_with(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<Staged, FileError> {
    let mut staged = Staged::create(path, what)?;
    let written = {
        let mut buffered = std::io::BufWriter::new(staged.tmp.as_file_mut());
        write(&mut buffered).and_then(|()| buffered.flush())
    };
    written
        .and_then(|()| staged.tmp.as_file().sync_all())
        .map_err(|source| staged.error(source))?;
    Ok(staged)
}

/// Fails now, before any work, if `path` could not be written later: its
/// directory is missing, is not a directory, or is not writable.
pub fn check_writable(path: &Path, what: &str) -> Result<(), FileError> {
    if path.is_dir() {
        return Err(FileError::Write {
            what: what.to_owned(),
            path: path.to_owned(),
            source: std::io::Error::other("it is a directory"),
        });
    }
    Staged::create(path, what).map(drop)
}

impl Staged {
    fn create(path: &Path, what: &str) -> Result<Staged, FileError> {
        let dir = directory_of(path);
        // tempfile names its random file in the error; the user knows only
        // the path they asked for, so keep the OS error alone.
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|err| {
            let text = err.to_string();
            let message = text.split(" at path ").next().unwrap_or(&text);
            FileError::Write {
                what: what.to_owned(),
                path: path.to_owned(),
                source: std::io::Error::new(err.kind(), message.to_owned()),
            }
        })?;
        Ok(Staged {
            tmp,
            path: path.to_owned(),
            what: what.to_owned(),
        })
    }

    fn error(&self, source: std::io::Error) -> FileError {
        FileError::Write {
            what: self.what.clone(),
            path: self.path.clone(),
            source,
        }
    }

    /// Moves the file into place, replacing what was there.
    pub fn commit(self) -> Result<(), FileError> {
        let Staged { tmp, path, what } = self;
        tmp.persist(&path)
            .map(drop)
            .map_err(|err| FileError::Write {
                what,
                path,
                source: err.error,
            })
    }
}

/// Moves every staged file into place. Each file it replaces is kept
/// under a temporary name beside it until all are in place, so when one
/// cannot be moved, those already moved are put back as they were (the
/// earlier file restored, or removed where there was none).
pub fn commit_all(staged: Vec<Staged>) -> Result<(), FileError> {
    let mut done: Vec<(PathBuf, Option<tempfile::TempPath>)> = Vec::new();
    for file in staged {
        let previous = match keep_previous(&file.path) {
            Ok(previous) => previous,
            Err(source) => {
                let err = file.error(source);
                roll_back(done);
                return Err(err);
            }
        };
        let path = file.path.clone();
        if let Err(err) = file.commit() {
            roll_back(done);
            return Err(err);
        }
        done.push((path, previous));
    }
    Ok(())
}

/// A second name for the file at `path`, if there is one: a hard link
/// where the file system allows it, else a copy.
fn keep_previous(path: &Path) -> std::io::Result<Option<tempfile::TempPath>> {
    if !path.is_file() {
        return Ok(None);
    }
    let kept = tempfile::Builder::new()
        .prefix(".rampart-previous-")
        .make_in(directory_of(path), |kept| {
            fs::hard_link(path, kept).or_else(|_| fs::copy(path, kept).map(drop))
        })?;
    Ok(Some(kept.into_temp_path()))
}

/// Puts back what `commit_all` replaced, last first. Best effort: the
/// error that stopped the commit is the one reported.
fn roll_back(done: Vec<(PathBuf, Option<tempfile::TempPath>)>) {
    for (path, previous) in done.into_iter().rev() {
        let restored = match previous {
            Some(previous) => previous.persist(&path).map_err(|err| err.error),
            None => fs::remove_file(&path),
        };
        if let Err(err) = restored {
            tracing::error!(path = %path.display(), "cannot put back the earlier file: {err}");
        }
    }
}

/// What a path names once `.`, `..` and symbolic links are resolved, for
/// telling whether two paths are the same file; the file itself need not
/// exist yet, its directory must.
pub fn identity(path: &Path) -> Option<PathBuf> {
    if let Ok(resolved) = fs::canonicalize(path) {
        return Some(resolved);
    }
    Some(
        fs::canonicalize(directory_of(path))
            .ok()?
            .join(path.file_name()?),
    )
}

/// The directory a file path is in: `.` for a bare file name.
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_move_into_place_together_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let replaced = dir.path().join("report.json");
        let created = dir.path().join("report.sarif");
        let blocked = dir.path().join("report.md");
        fs::write(&replaced, "earlier").expect("write");
        let staged = vec![
            stage(&replaced, "json report", b"new").expect("stage"),
            stage(&created, "sarif report", b"new").expect("stage"),
            stage(&blocked, "markdown report", b"new").expect("stage"),
        ];
        // The last target became a non-empty directory after the checks:
        // it cannot be replaced by a file.
        fs::create_dir(&blocked).expect("mkdir");
        fs::write(blocked.join("keep"), "x").expect("write");
        assert!(commit_all(staged).is_err());
        assert_eq!(fs::read_to_string(&replaced).expect("read"), "earlier");
        assert!(!created.exists());
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["report.json", "report.md"]);

        let staged = vec![
            stage(&replaced, "json report", b"new").expect("stage"),
            stage(&created, "sarif report", b"new").expect("stage"),
        ];
        commit_all(staged).expect("commit");
        assert_eq!(fs::read_to_string(&replaced).expect("read"), "new");
        assert_eq!(fs::read_to_string(&created).expect("read"), "new");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 3);
    }
}
