//! The state ledger: a local SQLite file that makes a run resumable. It holds the run's
//! fingerprint (source, workspace, target, options — never the API key), each object's phase,
//! keyset cursor and counts, the ids of rejected records, the uploaded files, and the direct
//! uploads created but not completed yet, and what the target holds of each record
//! ([`records`]), which makes a later pass a delta. Progress is written only after the target confirms a
//! batch, and a cursor never moves back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::report::ObjectReport;

mod config_matches;
mod records;

pub use config_matches::ConfigMatches;
pub use records::{CompletedPass, Confirmed, Pass, RecordEntry};

/// Why the ledger cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// SQLite failed.
    #[error("the state file {path} cannot be used: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The file belongs to another migration.
    #[error(
        "the state file {path} belongs to another migration ({differs}); pass --restart to start \
         over, or --state to use another file"
    )]
    DifferentRun {
        /// The file.
        path: PathBuf,
        /// What differs, in words.
        differs: String,
    },
    /// Stored data does not parse.
    #[error("the state file {path} is damaged: {detail}; pass --restart to start over")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// What identifies a run: resuming is allowed only with the same values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Source host, port and database (no credentials).
    pub source: String,
    /// Source workspace id.
    pub workspace: Uuid,
    /// Target base URL.
    pub target: String,
    /// Options that change what is written (`deleted=skip`, `unmatched=null`, …).
    pub options: BTreeMap<String, String>,
}

impl Fingerprint {
    fn differences(&self, other: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        if self.source != other.source {
            out.push(format!("source {} ≠ {}", other.source, self.source));
        }
        if self.workspace != other.workspace {
            out.push(format!(
                "workspace {} ≠ {}",
                other.workspace, self.workspace
            ));
        }
        if self.target != other.target {
            out.push(format!("target {} ≠ {}", other.target, self.target));
        }
        if self.options != other.options {
            out.push(format!("options {:?} ≠ {:?}", other.options, self.options));
        }
        out
    }
}

/// How far an object got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Nothing confirmed yet.
    Pending,
    /// Some batches confirmed; resume after the cursor.
    Copying,
    /// Every row handled in the first pass.
    Copied,
    /// Soft deletions and deferred references written too.
    Done,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Copying => "copying",
            Self::Copied => "copied",
            Self::Done => "done",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "copying" => Self::Copying,
            "copied" => Self::Copied,
            "done" => Self::Done,
            _ => return None,
        })
    }
}

/// One object's saved progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectState {
    /// The phase.
    pub phase: Phase,
    /// The last source id handled (first pass).
    pub cursor: Option<Uuid>,
    /// Counts so far.
    pub report: ObjectReport,
}

/// A direct upload created by the target and not completed yet, kept so that a run stopped
/// between `createFileUpload` and `completeFileUpload` finishes the same file instead of
/// uploading it again. `upload_url` carries the upload's short-lived credential (never the API
/// key): `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingUpload {
    /// The target's file id.
    pub file_id: String,
    /// Where the bytes go.
    pub upload_url: String,
    /// The Content-Type to send them with.
    pub content_type: String,
    /// When the URL expires, if the target said.
    pub expires_at: Option<DateTime<Utc>>,
    /// The FILES field the file was created for.
    pub field_metadata_id: Uuid,
    /// The declared size.
    pub size: u64,
}

impl std::fmt::Debug for PendingUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingUpload")
            .field("file_id", &self.file_id)
            .field("upload_url", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The ledger of one run.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS object (
    name TEXT PRIMARY KEY, phase TEXT NOT NULL, cursor TEXT, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (object TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (object, id));
CREATE TABLE IF NOT EXISTS file (
    source_key TEXT PRIMARY KEY, target_file_id TEXT NOT NULL, size INTEGER, uploaded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_upload (
    source_key TEXT PRIMARY KEY, file_id TEXT NOT NULL, upload_url TEXT NOT NULL,
    content_type TEXT NOT NULL, expires_at TEXT, field_metadata_id TEXT NOT NULL,
    size INTEGER NOT NULL);
";

impl Ledger {
    /// Whether a ledger already at `path` belongs to this run (same source, workspace, target
    /// and options): records of this run found in the target are then its own. Reads only;
    /// no ledger, or one that cannot be read, is `false`.
    pub fn holds_run(path: &Path, fingerprint: &Fingerprint) -> bool {
        if !path.exists() {
            return false;
        }
        let Ok(conn) =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return false;
        };
        let stored: Option<String> = conn
            .query_row("SELECT value FROM run WHERE key = 'fingerprint'", [], |r| {
                r.get(0)
            })
            .optional()
            .ok()
            .flatten();
        stored
            .and_then(|text| serde_json::from_str::<Fingerprint>(&text).ok())
            .is_some_and(|stored| fingerprint.differences(&stored).is_empty())
    }

    /// Whether the ledger at `path` holds a complete pass (the next run is a delta), read
    /// without opening it for writing.
    pub fn holds_completed_pass(path: &Path) -> bool {
        let Ok(conn) =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return false;
        };
        conn.query_row("SELECT 1 FROM run WHERE key = 'pass_completed'", [], |_| {
            Ok(())
        })
        .optional()
        .ok()
        .flatten()
        .is_some()
    }

    /// Opens (or creates) the ledger for `fingerprint`. An existing ledger of another run is
    /// refused; `restart` wipes it first. Returns the ledger and whether it resumes a run.
    pub fn open(
        path: &Path,
        fingerprint: &Fingerprint,
        restart: bool,
    ) -> Result<(Self, bool), StateError> {
        let err = |source| StateError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        conn.execute_batch(records::SCHEMA).map_err(err)?;
        conn.execute_batch(config_matches::SCHEMA).map_err(err)?;
        let ledger = Self {
            conn,
            path: path.to_owned(),
        };
        if restart {
            ledger
                .conn
                .execute_batch(
                    "DELETE FROM run; DELETE FROM object; DELETE FROM rejected; DELETE FROM file;
                     DELETE FROM pending_upload; DELETE FROM record;
                     DELETE FROM rejected_record; DELETE FROM config_match;",
                )
                .map_err(err)?;
        }
        let stored: Option<String> = ledger
            .conn
            .query_row("SELECT value FROM run WHERE key = 'fingerprint'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        let resuming = match stored {
            Some(text) => {
                let stored: Fingerprint =
                    serde_json::from_str(&text).map_err(|e| StateError::Damaged {
                        path: path.to_owned(),
                        detail: e.to_string(),
                    })?;
                let differs = fingerprint.differences(&stored);
                if !differs.is_empty() {
                    return Err(StateError::DifferentRun {
                        path: path.to_owned(),
                        differs: differs.join("; "),
                    });
                }
                true
            }
            None => {
                let text = serde_json::to_string(fingerprint).map_err(|e| StateError::Damaged {
                    path: path.to_owned(),
                    detail: e.to_string(),
                })?;
                ledger
                    .conn
                    .execute(
                        "INSERT INTO run (key, value) VALUES ('fingerprint', ?1)",
                        params![text],
                    )
                    .map_err(err)?;
                false
            }
        };
        ledger.mark_record_format(resuming)?;
        Ok((ledger, resuming))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The saved state of an object, if any.
    pub fn object(&self, name: &str) -> Result<Option<ObjectState>, StateError> {
        let row: Option<(String, Option<String>, String)> = self
            .conn
            .query_row(
                "SELECT phase, cursor, report FROM object WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(self.sqlite())?;
        let Some((phase, cursor, report)) = row else {
            return Ok(None);
        };
        let damaged = |detail: String| StateError::Damaged {
            path: self.path.clone(),
            detail,
        };
        Ok(Some(ObjectState {
            phase: Phase::parse(&phase).ok_or_else(|| damaged(format!("phase {phase:?}")))?,
            cursor: cursor
                .map(|c| c.parse().map_err(|_| damaged(format!("cursor {c:?}"))))
                .transpose()?,
            report: serde_json::from_str(&report).map_err(|e| damaged(e.to_string()))?,
        }))
    }

    /// Records confirmed progress: the cursor never moves back.
    pub fn save(
        &self,
        name: &str,
        phase: Phase,
        cursor: Option<Uuid>,
        report: &ObjectReport,
    ) -> Result<(), StateError> {
        if let (Some(new), Some(old)) = (cursor, self.object(name)?.and_then(|s| s.cursor)) {
            if new < old {
                return Err(StateError::Damaged {
                    path: self.path.clone(),
                    detail: format!("cursor of {name} would move back from {old} to {new}"),
                });
            }
        }
        let report = serde_json::to_string(report).map_err(|e| StateError::Damaged {
            path: self.path.clone(),
            detail: e.to_string(),
        })?;
        self.conn
            .execute(
                "INSERT INTO object (name, phase, cursor, report) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET phase = ?2, cursor = coalesce(?3, cursor), report = ?4",
                params![name, phase.as_str(), cursor.map(|c| c.to_string()), report],
            )
            .map_err(self.sqlite())?;
        Ok(())
    }

    /// Remembers a rejected record (target id).
    pub fn add_rejected(&self, object: &str, id: Uuid) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO rejected (object, id) VALUES (?1, ?2)",
                params![object, id.to_string()],
            )
            .map_err(self.sqlite())?;
        Ok(())
    }

    /// Every rejected record id of an object.
    pub fn rejected(&self, object: &str) -> Result<HashSet<Uuid>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM rejected WHERE object = ?1")
            .map_err(self.sqlite())?;
        let ids = stmt
            .query_map(params![object], |r| r.get::<_, String>(0))
            .map_err(self.sqlite())?
            .filter_map(|r| r.ok()?.parse().ok())
            .collect();
        Ok(ids)
    }

    /// The uploaded file for a source storage key, if it was uploaded before.
    pub fn uploaded_file(&self, source_key: &str) -> Result<Option<String>, StateError> {
        self.conn
            .query_row(
                "SELECT target_file_id FROM file WHERE source_key = ?1",
                params![source_key],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sqlite())
    }

    /// Records an upload before the record that uses it is written (uploads are not
    /// idempotent, so a rerun must find it here), and forgets its pending upload.
    pub fn record_upload(
        &self,
        source_key: &str,
        target_file_id: &str,
        size: u64,
    ) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO file (source_key, target_file_id, size, uploaded_at)
                 VALUES (?1, ?2, ?3, datetime('now'))",
                params![source_key, target_file_id, size as i64],
            )
            .map_err(self.sqlite())?;
        // After the file: a pending row left by a crash in between is never read, since the
        // file is found first.
        self.conn
            .execute(
                "DELETE FROM pending_upload WHERE source_key = ?1",
                params![source_key],
            )
            .map_err(self.sqlite())?;
        Ok(())
    }

    /// Records a direct upload the target created for a source storage key, before its bytes
    /// are sent; it replaces the key's earlier one.
    pub fn record_pending_upload(
        &self,
        source_key: &str,
        pending: &PendingUpload,
    ) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO pending_upload (source_key, file_id, upload_url,
                     content_type, expires_at, field_metadata_id, size)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    source_key,
                    pending.file_id,
                    pending.upload_url,
                    pending.content_type,
                    pending.expires_at.map(|t| t.to_rfc3339()),
                    pending.field_metadata_id.to_string(),
                    pending.size as i64,
                ],
            )
            .map_err(self.sqlite())?;
        Ok(())
    }

    /// The direct upload created for a source storage key and not completed, if any.
    pub fn pending_upload(&self, source_key: &str) -> Result<Option<PendingUpload>, StateError> {
        type Row = (String, String, String, Option<String>, String, i64);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT file_id, upload_url, content_type, expires_at, field_metadata_id, size
                 FROM pending_upload WHERE source_key = ?1",
                params![source_key],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()
            .map_err(self.sqlite())?;
        let Some((file_id, upload_url, content_type, expires_at, field, size)) = row else {
            return Ok(None);
        };
        let damaged = |detail: String| StateError::Damaged {
            path: self.path.clone(),
            detail,
        };
        Ok(Some(PendingUpload {
            file_id,
            upload_url,
            content_type,
            expires_at: expires_at
                .map(|t| {
                    DateTime::parse_from_rfc3339(&t)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| damaged(format!("pending upload expiry {t:?}")))
                })
                .transpose()?,
            field_metadata_id: field
                .parse()
                .map_err(|_| damaged(format!("pending upload field {field:?}")))?,
            size: u64::try_from(size)
                .map_err(|_| damaged(format!("pending upload size {size}")))?,
        }))
    }
}

/// The sizes of the files a run uploaded, by target file id, read from the ledger at `path`
/// without opening it for a run (no fingerprint): what `verify --checklist` compares a
/// download against. Empty when there is no ledger there.
pub fn uploaded_sizes(path: &Path) -> Result<HashMap<String, u64>, StateError> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let err = |source| StateError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(err)?;
    let mut stmt = conn
        .prepare("SELECT target_file_id, size FROM file WHERE size IS NOT NULL")
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(err)?;
    let mut sizes = HashMap::new();
    for row in rows {
        let (id, size) = row.map_err(err)?;
        sizes.insert(id, u64::try_from(size).unwrap_or(0));
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(target: &str) -> Fingerprint {
        Fingerprint {
            source: "localhost:5432/twenty".into(),
            workspace: Uuid::nil(),
            target: target.into(),
            options: BTreeMap::from([("deleted".into(), "skip".into())]),
        }
    }

    #[test]
    fn a_ledger_resumes_the_same_run_and_refuses_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let (ledger, resuming) = Ledger::open(&path, &fingerprint("https://a"), false).unwrap();
        assert!(!resuming);
        let mut report = ObjectReport::new("company");
        report.read = 10;
        report.written = 10;
        let cursor = Uuid::from_u128(5);
        ledger
            .save("company", Phase::Copying, Some(cursor), &report)
            .unwrap();
        ledger.add_rejected("company", Uuid::from_u128(9)).unwrap();
        drop(ledger);

        let (ledger, resuming) = Ledger::open(&path, &fingerprint("https://a"), false).unwrap();
        assert!(resuming);
        let state = ledger.object("company").unwrap().unwrap();
        assert_eq!(state.phase, Phase::Copying);
        assert_eq!(state.cursor, Some(cursor));
        assert_eq!(state.report, report);
        assert!(ledger
            .rejected("company")
            .unwrap()
            .contains(&Uuid::from_u128(9)));
        drop(ledger);

        let err = Ledger::open(&path, &fingerprint("https://b"), false).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("belongs to another migration") && text.contains("--restart"));
        let (ledger, resuming) = Ledger::open(&path, &fingerprint("https://b"), true).unwrap();
        assert!(!resuming);
        assert!(ledger.object("company").unwrap().is_none());
    }

    #[test]
    fn a_pending_upload_is_kept_until_its_file_is_recorded_and_restart_forgets_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let (ledger, _) = Ledger::open(&path, &fingerprint("t"), false).unwrap();
        let pending = PendingUpload {
            file_id: "f1".into(),
            upload_url: "http://t/file-upload/f1?token=SECRET-UPLOAD-TOKEN".into(),
            content_type: "application/octet-stream".into(),
            expires_at: Some("2026-12-07T10:15:00Z".parse().unwrap()),
            field_metadata_id: Uuid::from_u128(3),
            size: 42,
        };
        assert_eq!(ledger.pending_upload("a/b.png").unwrap(), None);
        ledger.record_pending_upload("a/b.png", &pending).unwrap();
        let newer = PendingUpload {
            file_id: "f2".into(),
            expires_at: None,
            ..pending.clone()
        };
        ledger.record_pending_upload("c/d.png", &pending).unwrap();
        ledger.record_pending_upload("c/d.png", &newer).unwrap();
        drop(ledger);

        let (ledger, _) = Ledger::open(&path, &fingerprint("t"), false).unwrap();
        assert_eq!(ledger.pending_upload("a/b.png").unwrap(), Some(pending));
        assert_eq!(
            ledger.pending_upload("c/d.png").unwrap(),
            Some(newer.clone())
        );
        assert!(!format!("{newer:?}").contains("SECRET"));
        ledger.record_upload("a/b.png", "f1", 42).unwrap();
        assert_eq!(ledger.pending_upload("a/b.png").unwrap(), None);
        drop(ledger);

        let (ledger, _) = Ledger::open(&path, &fingerprint("t"), true).unwrap();
        assert_eq!(ledger.pending_upload("c/d.png").unwrap(), None);
    }

    #[test]
    fn a_cursor_never_moves_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let (ledger, _) = Ledger::open(&path, &fingerprint("t"), false).unwrap();
        let r = ObjectReport::new("person");
        ledger
            .save("person", Phase::Copying, Some(Uuid::from_u128(7)), &r)
            .unwrap();
        assert!(ledger
            .save("person", Phase::Copying, Some(Uuid::from_u128(3)), &r)
            .is_err());
    }
}
