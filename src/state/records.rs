//! What the ledger knows of each record the target confirmed, so that a later pass sends only
//! what changed: the content hash of what was sent, the `updatedAt` it carried (to tell the
//! target's own edits from ours), whether the target holds it soft-deleted, and whether its
//! deferred references, and its references written after the configuration stage, are still
//! to be written (bits 1 and 2 of the `links` column; a ledger of an earlier version holds 0
//! or 1 there, which reads the same). Keyed by object and source id; ids are stored
//! as 16 big-endian bytes, so SQLite orders them as Postgres orders `uuid`s.
//!
//! Passes: the first `migrate` is pass 1. Once a pass completes, the next `migrate` against the
//! same ledger starts a delta pass, which keeps these rows and starts every object over.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

use super::{Ledger, StateError};

/// The ledger's row of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordEntry {
    /// [`crate::record::content_hash`] of what was last sent.
    pub hash: u64,
    /// The `updatedAt` last sent, in milliseconds since the epoch, when one was.
    pub sent_updated_at: Option<i64>,
    /// Whether the target holds it soft-deleted.
    pub deleted: bool,
    /// Whether its deferred references are still to be written.
    pub links_pending: bool,
    /// Whether its references to records the configuration stage creates are still to be
    /// written.
    pub late_links_pending: bool,
}

/// A record the target confirmed, as the ledger keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed {
    /// The source id.
    pub id: Uuid,
    /// What was sent.
    pub hash: u64,
    /// The `updatedAt` sent, in milliseconds.
    pub sent_updated_at: Option<i64>,
    /// The record has deferred references to write after every record exists.
    pub links_pending: bool,
    /// The record has references to write after the configuration stage (to dashboards).
    pub late_links_pending: bool,
}

/// The `links` bit of the deferred references.
const DEFERRED: i64 = 1;
/// The `links` bit of the references written after the configuration stage.
const AFTER_CONFIG: i64 = 2;

impl Confirmed {
    /// The `links` column.
    fn links(&self) -> i64 {
        i64::from(self.links_pending) * DEFERRED + i64::from(self.late_links_pending) * AFTER_CONFIG
    }
}

impl RecordEntry {
    /// Reads the `links` column.
    fn with_links(mut self, links: i64) -> Self {
        self.links_pending = links & DEFERRED != 0;
        self.late_links_pending = links & AFTER_CONFIG != 0;
        self
    }
}

/// One migration pass, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// 1 for the first full pass, then 2, 3… for each delta.
    pub number: u32,
    /// When this pass started (this machine's clock).
    pub started_at: DateTime<Utc>,
    /// The pass before, once complete: `None` for the first pass.
    pub previous: Option<CompletedPass>,
}

impl Pass {
    /// Whether this pass sends only what changed since a complete earlier one.
    pub fn is_delta(&self) -> bool {
        self.previous.is_some()
    }
}

/// A pass that completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPass {
    /// When it started (this machine's clock).
    pub started_at: DateTime<Utc>,
    /// The source's clock when its snapshot was taken: every write committed before it was read.
    pub watermark: DateTime<Utc>,
}

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rejected_record (
    object TEXT NOT NULL, id BLOB NOT NULL, hash INTEGER NOT NULL,
    PRIMARY KEY (object, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS record (
    object TEXT NOT NULL, id BLOB NOT NULL, hash INTEGER NOT NULL, sent_updated_at INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0, links INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (object, id)) WITHOUT ROWID;
";

fn key(id: Uuid) -> [u8; 16] {
    *id.as_bytes()
}

fn parse_id(bytes: Vec<u8>) -> Option<Uuid> {
    Uuid::from_slice(&bytes).ok()
}

fn time(value: Option<String>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&value?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Ledger {
    fn run_value(&self, key: &str) -> Result<Option<String>, StateError> {
        self.conn
            .query_row("SELECT value FROM run WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.sqlite())
    }

    fn set_run_value(&self, key: &str, value: &str) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT INTO run (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = ?2",
                params![key, value],
            )
            .map_err(self.sqlite())?;
        Ok(())
    }

    /// Notes whether this ledger keeps a row for every record the target confirmed: a new
    /// ledger does; one written by a version before delta passes does not, which
    /// [`Self::legacy_records`] tells until its next delta pass sends what it lacks.
    pub(super) fn mark_record_format(&self, resuming: bool) -> Result<(), StateError> {
        if self.run_value("record_format")?.is_none() {
            if resuming {
                self.set_run_value("legacy_records", "1")?;
            }
            self.set_run_value("record_format", "1")?;
        }
        Ok(())
    }

    /// Whether records confirmed before this ledger kept a row per record may lack one: the
    /// deferred references of every row are then written, as before.
    pub fn legacy_records(&self) -> Result<bool, StateError> {
        Ok(self.run_value("legacy_records")?.is_some())
    }

    /// The pass this run belongs to. A ledger whose last pass completed starts a delta pass:
    /// every object starts over (its counts, cursor and phase are forgotten) while the records
    /// the target holds stay known. An unfinished pass is resumed as it was.
    pub fn begin_pass(&self) -> Result<Pass, StateError> {
        let number: u32 = self
            .run_value("pass")?
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let completed = self.run_value("pass_completed")?.is_some();
        let (number, started_at) = if completed {
            let number = number + 1;
            // A delta sends every row the ledger has no row for: afterwards it has them all.
            self.conn
                .execute_batch(
                    "DELETE FROM object;
                     DELETE FROM run WHERE key IN ('pass_completed', 'legacy_records');",
                )
                .map_err(self.sqlite())?;
            let now = Utc::now();
            self.set_run_value("pass", &number.to_string())?;
            self.set_run_value("pass_started", &now.to_rfc3339())?;
            (number, now)
        } else {
            let started = match time(self.run_value("pass_started")?) {
                Some(t) => t,
                None => {
                    let now = Utc::now();
                    self.set_run_value("pass", &number.to_string())?;
                    self.set_run_value("pass_started", &now.to_rfc3339())?;
                    now
                }
            };
            (number, started)
        };
        let previous = match (
            time(self.run_value("previous_started")?),
            time(self.run_value("previous_watermark")?),
        ) {
            (Some(started_at), Some(watermark)) if number > 1 => Some(CompletedPass {
                started_at,
                watermark,
            }),
            _ => None,
        };
        Ok(Pass {
            number,
            started_at,
            previous,
        })
    }

    /// Marks the current pass complete, its source snapshot taken at `watermark`: the next run
    /// against this ledger is a delta from it.
    pub fn complete_pass(&self, pass: &Pass, watermark: DateTime<Utc>) -> Result<(), StateError> {
        self.set_run_value("previous_started", &pass.started_at.to_rfc3339())?;
        self.set_run_value("previous_watermark", &watermark.to_rfc3339())?;
        self.set_run_value("pass_completed", &Utc::now().to_rfc3339())
    }

    /// The last completed pass, if any (for `plan --delta`).
    pub fn last_completed(&self) -> Result<Option<CompletedPass>, StateError> {
        if self.run_value("pass_completed")?.is_none() {
            return Ok(None);
        }
        Ok(
            match (
                time(self.run_value("previous_started")?),
                time(self.run_value("previous_watermark")?),
            ) {
                (Some(started_at), Some(watermark)) => Some(CompletedPass {
                    started_at,
                    watermark,
                }),
                _ => None,
            },
        )
    }

    /// The entries of `object` whose source ids lie in `first..=last`, in id order.
    pub fn records_between(
        &self,
        object: &str,
        first: Uuid,
        last: Uuid,
    ) -> Result<Vec<(Uuid, RecordEntry)>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, hash, sent_updated_at, deleted, links FROM record
                 WHERE object = ?1 AND id >= ?2 AND id <= ?3 ORDER BY id",
            )
            .map_err(self.sqlite())?;
        let rows = stmt
            .query_map(params![object, &key(first)[..], &key(last)[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    RecordEntry {
                        hash: r.get::<_, i64>(1)? as u64,
                        sent_updated_at: r.get(2)?,
                        deleted: r.get::<_, i64>(3)? != 0,
                        links_pending: false,
                        late_links_pending: false,
                    }
                    .with_links(r.get(4)?),
                ))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, entry) = row.map_err(self.sqlite())?;
            if let Some(id) = parse_id(id) {
                out.push((id, entry));
            }
        }
        Ok(out)
    }

    /// The entries of `object` for exactly these source ids (point lookups: for ids spread
    /// over the whole id range, where [`Self::records_between`] would return every entry).
    pub fn records_among(
        &self,
        object: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, RecordEntry)>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT hash, sent_updated_at, deleted, links FROM record
                 WHERE object = ?1 AND id = ?2",
            )
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for id in ids {
            let entry = stmt
                .query_row(params![object, &key(*id)[..]], |r| {
                    Ok(RecordEntry {
                        hash: r.get::<_, i64>(0)? as u64,
                        sent_updated_at: r.get(1)?,
                        deleted: r.get::<_, i64>(2)? != 0,
                        links_pending: false,
                        late_links_pending: false,
                    }
                    .with_links(r.get(3)?))
                })
                .optional()
                .map_err(self.sqlite())?;
            if let Some(entry) = entry {
                out.push((*id, entry));
            }
        }
        Ok(out)
    }

    /// Up to `limit` source ids of `object` known to the ledger after `after`, in id order.
    pub fn record_ids_after(
        &self,
        object: &str,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Uuid>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM record WHERE object = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )
            .map_err(self.sqlite())?;
        let after = after.map(key).unwrap_or([0; 16]);
        let ids = stmt
            .query_map(params![object, &after[..], limit as i64], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .map_err(self.sqlite())?
            .filter_map(|r| parse_id(r.ok()?))
            .collect();
        Ok(ids)
    }

    /// Whether the ledger holds any record of `object`.
    pub fn has_records(&self, object: &str) -> Result<bool, StateError> {
        self.conn
            .query_row(
                "SELECT 1 FROM record WHERE object = ?1 LIMIT 1",
                params![object],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(self.sqlite())
    }

    /// Records what the target confirmed (live, as sent), in one transaction; a record rejected
    /// earlier and confirmed now is no longer rejected.
    pub fn confirm_records(&self, object: &str, records: &[Confirmed]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(self.sqlite())?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO record (object, id, hash, sent_updated_at, deleted, links)
                     VALUES (?1, ?2, ?3, ?4, 0, ?5)
                     ON CONFLICT (object, id) DO UPDATE SET hash = ?3, sent_updated_at = ?4,
                         deleted = 0, links = ?5",
                )
                .map_err(self.sqlite())?;
            let mut unreject = tx
                .prepare_cached("DELETE FROM rejected WHERE object = ?1 AND id = ?2")
                .map_err(self.sqlite())?;
            let mut unreject_hash = tx
                .prepare_cached("DELETE FROM rejected_record WHERE object = ?1 AND id = ?2")
                .map_err(self.sqlite())?;
            for r in records {
                upsert
                    .execute(params![
                        object,
                        &key(r.id)[..],
                        r.hash as i64,
                        r.sent_updated_at,
                        r.links()
                    ])
                    .map_err(self.sqlite())?;
                unreject
                    .execute(params![
                        object,
                        crate::transform::target_id(r.id).to_string()
                    ])
                    .map_err(self.sqlite())?;
                unreject_hash
                    .execute(params![object, &key(r.id)[..]])
                    .map_err(self.sqlite())?;
            }
        }
        tx.commit().map_err(self.sqlite())
    }

    /// Records the hash of records the target refused, by source id: a later pass does not
    /// send them again until they change.
    pub fn refused_records(&self, object: &str, records: &[(Uuid, u64)]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(self.sqlite())?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO rejected_record (object, id, hash) VALUES (?1, ?2, ?3)
                     ON CONFLICT (object, id) DO UPDATE SET hash = ?3",
                )
                .map_err(self.sqlite())?;
            for (id, hash) in records {
                stmt.execute(params![object, &key(*id)[..], *hash as i64])
                    .map_err(self.sqlite())?;
            }
        }
        tx.commit().map_err(self.sqlite())
    }

    /// The hashes of the records the target refused whose source ids lie in `first..=last`.
    pub fn refused_between(
        &self,
        object: &str,
        first: Uuid,
        last: Uuid,
    ) -> Result<Vec<(Uuid, u64)>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, hash FROM rejected_record WHERE object = ?1 AND id >= ?2 AND id <= ?3",
            )
            .map_err(self.sqlite())?;
        let rows = stmt
            .query_map(params![object, &key(first)[..], &key(last)[..]], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(self.sqlite())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, hash) = row.map_err(self.sqlite())?;
            if let Some(id) = parse_id(id) {
                out.push((id, hash));
            }
        }
        Ok(out)
    }

    /// Records that the deferred references of these records are written.
    pub fn links_written(&self, object: &str, ids: &[Uuid]) -> Result<(), StateError> {
        self.set_flag(
            object,
            ids,
            "UPDATE record SET links = links & ~1 WHERE object = ?1 AND id = ?2",
        )
    }

    /// Records that the references written after the configuration stage are written (or
    /// that these records have none left to write).
    pub fn late_links_written(&self, object: &str, ids: &[Uuid]) -> Result<(), StateError> {
        self.set_flag(
            object,
            ids,
            "UPDATE record SET links = links & ~2 WHERE object = ?1 AND id = ?2",
        )
    }

    /// Whether some record of `object` has references to write after the configuration
    /// stage: without one, that step need not read the object at all.
    pub fn has_late_links(&self, object: &str) -> Result<bool, StateError> {
        self.conn
            .query_row(
                "SELECT 1 FROM record WHERE object = ?1 AND (links & 2) != 0 LIMIT 1",
                params![object],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(self.sqlite())
    }

    /// Records that the target holds these records soft-deleted.
    pub fn mark_soft_deleted(&self, object: &str, ids: &[Uuid]) -> Result<(), StateError> {
        self.set_flag(
            object,
            ids,
            "UPDATE record SET deleted = 1 WHERE object = ?1 AND id = ?2",
        )
    }

    /// Forgets records destroyed in the target.
    pub fn forget_records(&self, object: &str, ids: &[Uuid]) -> Result<(), StateError> {
        self.set_flag(
            object,
            ids,
            "DELETE FROM record WHERE object = ?1 AND id = ?2",
        )
    }

    fn set_flag(&self, object: &str, ids: &[Uuid], sql: &str) -> Result<(), StateError> {
        if ids.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(self.sqlite())?;
        {
            let mut stmt = tx.prepare_cached(sql).map_err(self.sqlite())?;
            for id in ids {
                stmt.execute(params![object, &key(*id)[..]])
                    .map_err(self.sqlite())?;
            }
        }
        tx.commit().map_err(self.sqlite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Fingerprint;
    use std::collections::BTreeMap;

    fn ledger(dir: &std::path::Path) -> Ledger {
        let fp = Fingerprint {
            source: "s".into(),
            workspace: Uuid::nil(),
            target: "t".into(),
            options: BTreeMap::new(),
        };
        Ledger::open(&dir.join("l.sqlite"), &fp, false).unwrap().0
    }

    #[test]
    fn records_come_back_in_uuid_order_with_what_was_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(dir.path());
        let ids: Vec<Uuid> = [0xff00u128 << 112, 5, 0x8000u128 << 112]
            .iter()
            .map(|n| Uuid::from_u128(*n))
            .collect();
        let confirmed: Vec<Confirmed> = ids
            .iter()
            .map(|id| Confirmed {
                id: *id,
                hash: u64::MAX - 1,
                sent_updated_at: Some(7),
                links_pending: true,
                late_links_pending: true,
            })
            .collect();
        l.confirm_records("company", &confirmed).unwrap();
        let mut sorted = ids.clone();
        sorted.sort();
        let got = l
            .records_between("company", Uuid::nil(), Uuid::max())
            .unwrap();
        assert_eq!(got.iter().map(|(id, _)| *id).collect::<Vec<_>>(), sorted);
        assert_eq!(got[0].1.hash, u64::MAX - 1);
        let among = l
            .records_among("company", &[sorted[2], Uuid::from_u128(77)])
            .unwrap();
        assert_eq!(among.len(), 1);
        assert_eq!(among[0].0, sorted[2]);
        assert!(got[0].1.links_pending && !got[0].1.deleted);
        assert_eq!(
            l.record_ids_after("company", Some(sorted[0]), 10).unwrap(),
            sorted[1..]
        );
        assert!(got[0].1.late_links_pending);
        assert!(l.has_late_links("company").unwrap());
        l.links_written("company", &sorted[..1]).unwrap();
        l.mark_soft_deleted("company", &sorted[1..2]).unwrap();
        l.forget_records("company", &sorted[2..]).unwrap();
        let got = l
            .records_between("company", Uuid::nil(), Uuid::max())
            .unwrap();
        assert_eq!(got.len(), 2);
        assert!(!got[0].1.links_pending);
        // Each kind of reference is marked written on its own.
        assert!(got[0].1.late_links_pending);
        l.late_links_written("company", &sorted[..2]).unwrap();
        assert!(!l.has_late_links("company").unwrap());
        let got = l
            .records_between("company", Uuid::nil(), Uuid::max())
            .unwrap();
        assert!(!got[0].1.late_links_pending && !got[0].1.links_pending);
        assert!(got[1].1.deleted);
        assert!(l
            .records_between("person", Uuid::nil(), Uuid::max())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_ledger_of_a_version_before_record_rows_is_legacy_until_its_next_delta() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(dir.path());
        assert!(!l.legacy_records().unwrap(), "a new ledger keeps every row");
        // As an older version left it: a fingerprint, no record format.
        l.conn
            .execute("DELETE FROM run WHERE key = 'record_format'", [])
            .unwrap();
        drop(l);
        let l = ledger(dir.path());
        assert!(l.legacy_records().unwrap());
        let pass = l.begin_pass().unwrap();
        assert!(
            l.legacy_records().unwrap(),
            "the unfinished pass stays legacy"
        );
        l.complete_pass(&pass, Utc::now()).unwrap();
        l.begin_pass().unwrap();
        assert!(
            !l.legacy_records().unwrap(),
            "the delta sends what it lacks"
        );
        drop(l);
        assert!(!ledger(dir.path()).legacy_records().unwrap());
    }

    #[test]
    fn a_completed_pass_makes_the_next_run_a_delta_that_starts_every_object_over() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(dir.path());
        let first = l.begin_pass().unwrap();
        assert_eq!(first.number, 1);
        assert!(!first.is_delta());
        // Resuming the unfinished first pass keeps it.
        assert_eq!(l.begin_pass().unwrap(), first);
        l.save(
            "company",
            super::super::Phase::Done,
            None,
            &crate::report::ObjectReport::new("company"),
        )
        .unwrap();
        let watermark: DateTime<Utc> = "2026-12-07T05:00:00Z".parse().unwrap();
        l.complete_pass(&first, watermark).unwrap();
        let delta = l.begin_pass().unwrap();
        assert_eq!(delta.number, 2);
        assert_eq!(delta.previous.as_ref().unwrap().watermark, watermark);
        assert!(l.object("company").unwrap().is_none());
        // Resuming an unfinished delta is the same delta.
        assert_eq!(l.begin_pass().unwrap(), delta);
    }
}
