//! Delta passes: after a complete pass, the next `migrate` against the same ledger sends only
//! what changed in the source since. The ledger ([`crate::state::RecordEntry`]) holds the
//! content hash of every record the target confirmed, so the records stage reads every row
//! (in one snapshot, as always) and sends only those whose hash differs, which catches the
//! writes that do not move `updatedAt`; rows soft-deleted or restored since are seen by the
//! ledger's `deleted` flag; rows hard-deleted since are the ledger's ids the source no longer
//! has ([`hard_deletes`]).
//!
//! A record someone changed in the target since the last pass is not overwritten: Twenty keeps
//! the `updatedAt` a client sends and stamps its own clock on any other write (checked on a
//! real 2.21, 2026-12-07: an upsert with `updatedAt` 2020-02-03 stored it; a `PATCH` without one
//! stored the server's time), so a target `updatedAt` other than the one the ledger sent means
//! another writer ([`TargetEdits`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{target_err, MigrateError, Stage};
use crate::destination::{Destination, FindMany, TargetError};
use crate::plan::ObjectPlan;
use crate::record::{ApiRecord, SourceRow};
use crate::report::{ObjectReport, PassReport};
use crate::state::{Ledger, Pass, RecordEntry, StateError};
use crate::transform::target_id;

/// The skip rule of a row the target already holds as the source has it.
pub const UNCHANGED: &str = "unchanged-since-last-pass";
/// The skip rule of a row changed in the target since the last pass (a conflict).
pub const CHANGED_IN_TARGET: &str = "changed-in-target";

/// How far back, before the last pass started, target edits are looked for: the target's
/// clock may run behind this machine's.
const CLOCK_MARGIN: Duration = Duration::hours(1);

/// The skip rule of a row the target refused in an earlier pass and that has not changed
/// since (its reason is in that pass's rejects file): sending it again would only be refused
/// again, at the cost of a bisection.
pub const REFUSED_UNCHANGED: &str = "refused-before-unchanged";

/// The hashes of the rows of a page the target refused in an earlier pass.
pub(super) fn page_refused(
    ledger: &Ledger,
    object: &str,
    rows: &[SourceRow],
) -> Result<HashMap<Uuid, u64>, StateError> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(HashMap::new());
    };
    Ok(ledger
        .refused_between(object, first.id, last.id)?
        .into_iter()
        .collect())
}

/// The ledger's entries for a page of rows (sorted by id, as the source reads them).
pub(super) fn page_entries(
    ledger: &Ledger,
    object: &str,
    rows: &[SourceRow],
) -> Result<HashMap<Uuid, RecordEntry>, StateError> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(HashMap::new());
    };
    Ok(ledger
        .records_between(object, first.id, last.id)?
        .into_iter()
        .collect())
}

/// What a row is to the target, judged by the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// The target has never confirmed it.
    New,
    /// The target holds another version of it.
    Changed,
    /// The target holds it soft-deleted; the source has it live again.
    Restored,
    /// The target holds it as the source has it.
    Unchanged,
}

impl Change {
    /// Whether the record is sent over one the target holds.
    pub(super) fn is_update(self) -> bool {
        matches!(self, Self::Changed | Self::Restored)
    }
}

/// Judges a row whose record hashes to `hash`, `live` when it is not soft-deleted.
pub(super) fn classify(entry: Option<&RecordEntry>, hash: u64, live: bool) -> Change {
    match entry {
        None => Change::New,
        Some(e) if e.deleted && live => Change::Restored,
        Some(e) if e.hash != hash => Change::Changed,
        Some(_) => Change::Unchanged,
    }
}

/// An ISO time (`updatedAt`) in milliseconds since the epoch.
pub(super) fn millis(value: Option<&Value>) -> Option<i64> {
    let text = value?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The records of one object that someone changed in the target since the last pass: read
/// once, when the first record to send over a target one shows up (one request a page, for the
/// objects with updates only).
pub(super) struct TargetEdits {
    since: Option<DateTime<Utc>>,
    /// Target id → the target's `updatedAt`, for the records changed after `since`.
    by_id: Option<HashMap<Uuid, String>>,
}

impl TargetEdits {
    /// Nothing to look for in a first pass, or when target changes are to be overwritten.
    pub(super) fn new(pass: &Pass, overwrite: bool) -> Self {
        Self {
            since: pass
                .previous
                .as_ref()
                .filter(|_| !overwrite)
                .map(|p| p.started_at - CLOCK_MARGIN),
            by_id: None,
        }
    }

    /// Whether [`Self::load`] has yet to run.
    pub(super) fn needs_loading(&self) -> bool {
        self.since.is_some() && self.by_id.is_none()
    }

    /// Reads the object's records changed in the target after the last pass began, page by page.
    pub(super) async fn load<D: Destination>(
        &mut self,
        target: &D,
        plural: &str,
    ) -> Result<(), TargetError> {
        let Some(since) = self.since else {
            return Ok(());
        };
        let mut by_id = HashMap::new();
        let mut query = FindMany {
            limit: Some(200),
            filter: Some(format!(
                "updatedAt[gt]:{}",
                since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            )),
            depth: Some(0),
            ..FindMany::default()
        };
        loop {
            let page = target.find_many(plural, &query).await?;
            for r in &page.records {
                let id = r
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok());
                let at = r.get("updatedAt").and_then(Value::as_str);
                if let (Some(id), Some(at)) = (id, at) {
                    by_id.insert(id, at.to_owned());
                }
            }
            match page.end_cursor {
                Some(cursor)
                    if page.has_next_page
                        && query.starting_after.as_deref() != Some(cursor.as_str()) =>
                {
                    query.starting_after = Some(cursor);
                }
                _ => break,
            }
        }
        self.by_id = Some(by_id);
        Ok(())
    }

    /// The target's `updatedAt` of record `id` when someone other than this tool wrote it
    /// since the last pass: it differs from the one the ledger sent.
    pub(super) fn conflict(&self, id: Uuid, entry: &RecordEntry) -> Option<&str> {
        let at = self.by_id.as_ref()?.get(&id)?;
        let sent = entry.sent_updated_at?;
        let target = DateTime::parse_from_rfc3339(at).ok()?.timestamp_millis();
        (target != sent).then_some(at.as_str())
    }
}

/// Ids per source page and per target request of [`hard_deletes`].
const ID_PAGE: usize = 10_000;

/// Finds the records of one object the ledger holds and the source no longer has, and lists
/// them in `pass`, or with `--propagate-deletes` destroys them in the target and forgets them.
pub(super) async fn hard_deletes<D: Destination>(
    stage: &Stage<'_, D>,
    object_plan: &ObjectPlan,
    table: &str,
    report: &mut ObjectReport,
    pass: &mut PassReport,
) -> Result<(), MigrateError> {
    let Stage {
        opts,
        prepared,
        ledger,
        target,
        ..
    } = *stage;
    let object = &object_plan.object;
    if !ledger.has_records(object)? {
        return Ok(());
    }
    let gone = gone_ids(
        prepared.source.client(),
        &prepared.workspace.schema,
        table,
        ledger,
        object,
    )
    .await?;
    if gone.is_empty() {
        return Ok(());
    }
    report.hard_deleted += gone.len() as u64;
    let targets: Vec<Uuid> = gone.iter().map(|id| target_id(*id)).collect();
    if opts.propagate_deletes {
        for (source, ids) in gone.chunks(ID_PAGE).zip(targets.chunks(ID_PAGE)) {
            let mut outage = target.outage();
            loop {
                match target.destroy_many(&object_plan.target_plural, ids).await {
                    Ok(_) => break,
                    Err(e) => {
                        let wait = outage.next_wait(e).map_err(target_err(format!(
                            "destroying {} {object} records deleted in the source",
                            ids.len()
                        )))?;
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            () = opts.cancel.cancelled() => return Err(opts.interrupted()),
                        }
                    }
                }
            }
            ledger.forget_records(object, source)?;
            report.destroyed += ids.len() as u64;
        }
    }
    pass.hard_deleted.insert(object.clone(), targets);
    Ok(())
}

/// The source ids of `object` the ledger holds and the source table no longer has, soft-deleted
/// rows counting as present: both sides are walked in id order, a page at a time.
pub(super) async fn gone_ids(
    client: &tokio_postgres::Client,
    schema: &str,
    table: &str,
    ledger: &Ledger,
    object: &str,
) -> Result<Vec<Uuid>, MigrateError> {
    let mut gone: Vec<Uuid> = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let page =
            crate::source::records::ids_after(client, schema, table, false, after, ID_PAGE).await?;
        let Some(&last) = page.last() else {
            // Past the source's last id: whatever the ledger still holds is gone.
            loop {
                let rest = ledger.record_ids_after(object, after, ID_PAGE)?;
                let Some(&end) = rest.last() else { break };
                gone.extend(rest);
                after = Some(end);
            }
            break;
        };
        let present: HashSet<Uuid> = page.iter().copied().collect();
        let lower = after.unwrap_or(Uuid::nil());
        gone.extend(
            ledger
                .records_between(object, lower, last)?
                .into_iter()
                .map(|(id, _)| id)
                .filter(|id| Some(*id) != after && !present.contains(id)),
        );
        after = Some(last);
    }
    Ok(gone)
}

/// The `updatedAt` a record carries, in milliseconds, for the ledger.
pub(super) fn sent_updated_at(record: &ApiRecord) -> Option<i64> {
    millis(record.get("updatedAt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hash: u64, deleted: bool) -> RecordEntry {
        RecordEntry {
            hash,
            sent_updated_at: Some(1_000),
            deleted,
            links_pending: false,
            late_links_pending: false,
        }
    }

    #[test]
    fn a_row_is_new_changed_restored_or_unchanged_by_the_ledger() {
        assert_eq!(classify(None, 1, true), Change::New);
        assert_eq!(classify(Some(&entry(1, false)), 1, true), Change::Unchanged);
        assert_eq!(classify(Some(&entry(1, false)), 2, true), Change::Changed);
        assert_eq!(classify(Some(&entry(1, true)), 1, true), Change::Restored);
        // Soft-deleted on both sides (`--deleted keep`): nothing to send.
        assert_eq!(classify(Some(&entry(1, true)), 1, false), Change::Unchanged);
    }

    #[test]
    fn only_an_updated_at_other_than_the_one_sent_is_a_conflict() {
        let pass = Pass {
            number: 2,
            started_at: Utc::now(),
            previous: Some(crate::state::CompletedPass {
                started_at: Utc::now(),
                watermark: Utc::now(),
            }),
        };
        let mut edits = TargetEdits::new(&pass, false);
        assert!(edits.needs_loading());
        let ours = Uuid::from_u128(1);
        let theirs = Uuid::from_u128(2);
        edits.by_id = Some(HashMap::from([
            (ours, "1970-01-01T00:00:01.000Z".to_owned()),
            (theirs, "2026-12-07T05:00:00.000Z".to_owned()),
        ]));
        assert_eq!(edits.conflict(ours, &entry(1, false)), None);
        assert_eq!(
            edits.conflict(theirs, &entry(1, false)),
            Some("2026-12-07T05:00:00.000Z")
        );
        assert_eq!(edits.conflict(Uuid::from_u128(3), &entry(1, false)), None);
        assert!(!TargetEdits::new(&pass, true).needs_loading());
    }
}
