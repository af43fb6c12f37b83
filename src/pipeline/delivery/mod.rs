//! Delivery: batches of records sent as upserts, each a spawned task, several in flight. What
//! happens to a batch the target does not confirm is decided by
//! [`TargetError::disposition`] alone: a target that is down or busy is waited out and the same
//! batch sent again; a batch too large is re-cut; only a batch refused for its content is split
//! until the bad records stand alone, and those are rejected with the target's reason. Nothing
//! is dropped.
//!
//! A record travels as an [`Outgoing`]: the [`ApiRecord`] the target gets, known by its target
//! id, and the id of the source row it was built from, which the rejects file names.
//!
//! Batches finish in any order. Rejects are committed as each finishes; counts and the cursor
//! settle in submission order, so the ledger's checkpoint only moves forward, to the last row
//! of the longest run of confirmed batches.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{BatchSize, MigrateError, MigrateOptions, DEFAULT_MAX_BATCH};
use crate::destination::{BatchBody, Destination, Disposition, ReturnedId, TargetError};
use crate::plan::ObjectPlan;
use crate::record::ApiRecord;
use crate::report::{ObjectReport, Reject, RejectsFile};
use crate::state::{Confirmed, Ledger};
use crate::transform::target_id;

mod answer;
mod refusal;

use answer::{merged_into, not_kept};
use refusal::{field_by_shape, field_in_message};

/// One record on its way to the target, with the source row it was built from. The target
/// knows the record by its own id (`record.id()`, the source id through [`target_id`], which
/// may be a UUIDv5 derived from it); the rejects file names the source id, which a derived id
/// cannot be turned back into, so both travel together until the record is confirmed.
#[derive(Debug)]
pub(super) struct Outgoing {
    /// The id of the source row, named by the rejects file.
    pub(super) source_id: Uuid,
    /// The record as sent; its id is the target id.
    pub(super) record: ApiRecord,
    /// What the ledger records once the target confirms it.
    note: Note,
}

/// What the ledger records of a confirmed [`Outgoing`].
#[derive(Debug, Clone, Copy)]
enum Note {
    /// Nothing.
    Nothing,
    /// The record as sent (records stage); `true` when the target held it already.
    Record(Confirmed, bool),
    /// Its deferred references are written (links stage).
    Links,
    /// Its references to records the configuration stage creates are written.
    LateLinks,
    /// Some of those references: the others wait for their records, so the ledger records
    /// nothing.
    SomeLateLinks,
}

impl Outgoing {
    /// The record built from source row `source_id`.
    pub(super) fn new(source_id: Uuid, record: ApiRecord) -> Self {
        Self {
            source_id,
            record,
            note: Note::Nothing,
        }
    }

    /// Once confirmed, the ledger keeps `confirmed` as what the target holds of the record;
    /// `update`: the target held it already (it counts as updated).
    pub(super) fn confirming(mut self, confirmed: Confirmed, update: bool) -> Self {
        self.note = Note::Record(confirmed, update);
        self
    }

    /// Once confirmed, the ledger knows the record's deferred references are written.
    pub(super) fn writing_links(mut self) -> Self {
        self.note = Note::Links;
        self
    }

    /// Once confirmed, the ledger knows the record's references written after the
    /// configuration stage are.
    pub(super) fn writing_late_links(mut self) -> Self {
        self.note = Note::LateLinks;
        self
    }

    /// Only some of the record's references written after the configuration stage: once
    /// confirmed, the others are still pending.
    pub(super) fn writing_some_late_links(mut self) -> Self {
        self.note = Note::SomeLateLinks;
        self
    }

    /// Only references of a record an earlier stage created: a refusal leaves the record.
    fn writes_links(&self) -> bool {
        matches!(
            self.note,
            Note::Links | Note::LateLinks | Note::SomeLateLinks
        )
    }
}

pub(super) struct Run<'a, D> {
    ledger: &'a Ledger,
    /// Batches travelling at once.
    max_in_flight: usize,
    /// Deliveries travelling, each a spawned task tagged with its sequence number.
    tasks: JoinSet<(u64, Result<Delivered, MigrateError>)>,
    /// Batches submitted and not yet settled.
    in_order: InOrder,
    /// A batch was confirmed (or the target stated its cap): the batch size is known.
    cap_known: bool,
    target: &'a D,
    pub(super) cap: usize,
    adaptive: bool,
    rejects: RejectsFile,
    /// Target ids of rejected records, per object, so that records pointing at them are
    /// rejected with a clear reason.
    pub(super) rejected: HashMap<String, HashSet<Uuid>>,
    /// Objects whose first confirmed batch was compared with what the target returned.
    checked: HashSet<String>,
    /// System values the target did not keep.
    pub(super) not_kept: Vec<String>,
    /// Cancelled on Ctrl-C: a delivery waiting out an outage stops waiting.
    cancel: CancellationToken,
    /// The ledger file, named by the error of an interrupted delivery.
    state_path: PathBuf,
}

/// Batches that finish in any order, settled in the order they were submitted: a batch
/// settles once it and every batch before it have finished, so the cursor it returns only
/// moves forward and the counts it adds are those of every row up to that cursor.
#[derive(Default)]
struct InOrder {
    /// Submitted and not yet settled, by sequence number.
    waiting: BTreeMap<u64, Submitted>,
    /// The sequence number of the next batch.
    next: u64,
}

/// A submitted batch until it settles.
struct Submitted {
    /// The cursor of the batch's last row.
    cursor: Option<Uuid>,
    /// The rows read since the batch before it, and once the batch finished, its own counts.
    counts: ObjectReport,
    /// Whether the batch finished (confirmed, re-cut or rejected record by record).
    finished: bool,
}

impl InOrder {
    /// Records a new batch; returns its sequence number.
    fn submit(&mut self, cursor: Option<Uuid>, delta: ObjectReport) -> u64 {
        let seq = self.next;
        self.next += 1;
        self.waiting.insert(
            seq,
            Submitted {
                cursor,
                counts: delta,
                finished: false,
            },
        );
        seq
    }

    /// Marks batch `seq` finished with its written and rejected counts, then settles what can
    /// be: the counts go into `report`, the cursors are returned, oldest first.
    fn finish(
        &mut self,
        seq: u64,
        written: u64,
        updated: u64,
        rejected: u64,
        report: &mut ObjectReport,
    ) -> Vec<Option<Uuid>> {
        let entry = self
            .waiting
            .get_mut(&seq)
            .expect("every delivery was submitted");
        entry.counts.written += written;
        entry.counts.updated += updated;
        entry.counts.rejected += rejected;
        entry.finished = true;
        let mut settled = Vec::new();
        while let Some(first) = self.waiting.first_entry() {
            if !first.get().finished {
                break;
            }
            let done = first.remove();
            report.absorb(&done.counts);
            settled.push(done.cursor);
        }
        settled
    }
}

impl<'a, D: Destination> Run<'a, D> {
    /// The delivery state of one run; `resuming` appends to the rejects file of the run it resumes.
    pub(super) fn new(
        opts: &MigrateOptions,
        target: &'a D,
        ledger: &'a Ledger,
        resuming: bool,
    ) -> Self {
        Self {
            target,
            cap: match opts.batch_size {
                BatchSize::Auto => DEFAULT_MAX_BATCH,
                BatchSize::Fixed(n) => n,
            },
            adaptive: opts.batch_size == BatchSize::Auto,
            rejects: RejectsFile::new(&opts.rejects_path, resuming),
            rejected: HashMap::new(),
            checked: HashSet::new(),
            not_kept: Vec::new(),
            ledger,
            max_in_flight: opts.max_in_flight.max(1),
            tasks: JoinSet::new(),
            in_order: InOrder::default(),
            cap_known: opts.batch_size != BatchSize::Auto,
            cancel: opts.cancel.clone(),
            state_path: opts.state_path.clone(),
        }
    }

    pub(super) fn rejected_contains(&self, object: &str, id: Uuid) -> bool {
        self.rejected.get(object).is_some_and(|s| s.contains(&id))
    }

    pub(super) fn flush(&mut self, path: &std::path::Path) -> Result<(), MigrateError> {
        self.rejects
            .flush()
            .map_err(|source| MigrateError::Rejects {
                path: path.to_owned(),
                source,
            })
    }

    /// The first reference of `record` to a record rejected earlier, as (field, message).
    pub(super) fn references_rejected<'r>(
        &self,
        record: &ApiRecord,
        references: &[(&str, &'r str, &str)],
    ) -> Option<(&'r str, String)> {
        references.iter().find_map(|(key, field, target)| {
            let id: Uuid = record.get(key)?.as_str()?.parse().ok()?;
            self.rejected
                .get(*target)?
                .contains(&id)
                .then(|| (*field, format!("{key} references {target} {id}, which was rejected (see its own line in this file)")))
        })
    }

    /// Writes the reject of source row `id` (its `record`, when one was built) and remembers
    /// its target id, so that records referencing it are rejected too.
    pub(super) fn reject(
        &mut self,
        object: &str,
        id: Uuid,
        field: Option<&str>,
        message: &str,
        record: Option<&ApiRecord>,
    ) -> Result<(), MigrateError> {
        self.rejected
            .entry(object.to_owned())
            .or_default()
            .insert(target_id(id));
        self.ledger.add_rejected(object, target_id(id))?;
        self.write_reject(&Reject {
            object,
            id,
            field,
            message,
            record,
        })
    }

    /// Appends one line to the rejects file.
    fn write_reject(&mut self, reject: &Reject<'_>) -> Result<(), MigrateError> {
        let path = self.rejects.path().to_owned();
        self.rejects
            .write(reject)
            .map_err(|source| MigrateError::Rejects { path, source })
    }

    /// A refused upsert of references only: the record exists (an earlier stage created it),
    /// so it is not marked rejected (records pointing at it stay valid); the rejects line and
    /// a note name the references not written, which stay pending for the next run.
    fn refused_links(&mut self, object: &str, r: &DeliveredReject) -> Result<(), MigrateError> {
        let keys = r.field.clone().unwrap_or_else(|| {
            let keys: Vec<&str> = r
                .outgoing
                .record
                .iter()
                .map(|(k, _)| k)
                .filter(|k| *k != "id" && *k != "updatedAt")
                .collect();
            keys.join("/")
        });
        let id = r.outgoing.source_id;
        let message = format!(
            "{}; the record exists, only {keys} not written (the next run tries again)",
            r.message
        );
        self.not_kept.push(format!(
            "{object} {id}: {keys} not written: the target refused it ({}); the record exists without it and the next run tries again",
            r.message
        ));
        self.write_reject(&Reject {
            object,
            id,
            field: Some(&keys),
            message: &message,
            record: Some(&r.outgoing.record),
        })
    }

    /// Spawns the delivery of `records`; up to `max_in_flight` batches travel at once, and this
    /// waits for one to finish while that many do. `delta` holds the counts of the rows read
    /// since the previous batch, `cursor` the last of them: both settle with this batch, in
    /// submission order. Returns the cursors of the batches settled now, in order: every row
    /// up to the last of them is written, rejected or skipped, and `report` counts them all.
    pub(super) async fn submit(
        &mut self,
        plan: &ObjectPlan,
        records: Vec<Outgoing>,
        cursor: Option<Uuid>,
        delta: ObjectReport,
        report: &mut ObjectReport,
    ) -> Result<Vec<Option<Uuid>>, MigrateError> {
        let check = self.checked.insert(plan.object.clone());
        let job = Delivery {
            target: self.target.clone(),
            object: plan.object.clone(),
            plural: plan.target_plural.clone(),
            cap: self.cap,
            adaptive: self.adaptive,
            check,
            cancel: self.cancel.clone(),
            state_path: self.state_path.clone(),
        };
        let seq = self.in_order.submit(cursor, delta);
        self.tasks
            .spawn(async move { (seq, job.run(records).await) });
        // Until one batch is confirmed the cap is a guess: send one at a time, so that a
        // target with a smaller cap refuses one batch, not one per request in flight.
        let limit = if self.cap_known {
            self.max_in_flight
        } else {
            1
        };
        let mut settled = Vec::new();
        while self.tasks.len() >= limit {
            settled.extend(self.complete_one(report).await?);
        }
        Ok(settled)
    }

    /// Waits for every batch in flight; returns the cursors they settle, in order.
    pub(super) async fn drain(
        &mut self,
        report: &mut ObjectReport,
    ) -> Result<Vec<Option<Uuid>>, MigrateError> {
        let mut settled = Vec::new();
        while !self.tasks.is_empty() {
            settled.extend(self.complete_one(report).await?);
        }
        Ok(settled)
    }

    /// Waits for the next batch to finish, whichever it is; commits its rejects at once, then
    /// settles, in submission order, every batch whose predecessors have all finished: their
    /// counts go into `report` and their cursors are returned.
    async fn complete_one(
        &mut self,
        report: &mut ObjectReport,
    ) -> Result<Vec<Option<Uuid>>, MigrateError> {
        let Some(joined) = self.tasks.join_next().await else {
            return Ok(Vec::new());
        };
        let (seq, delivered) = match joined {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => {
                return Err(MigrateError::Unsupported(format!(
                    "a delivery task ended early: {e}"
                )))
            }
        };
        let delivered = match delivered {
            Ok(d) => d,
            Err(e) => {
                // Batches still travelling are dropped unconfirmed: the ledger's cursor is
                // before them, so a rerun sends them again (upserts, so at most once more).
                self.tasks.shutdown().await;
                return Err(e);
            }
        };
        self.cap_known |= delivered.written > 0 || delivered.new_cap.is_some();
        if let Some(cap) = delivered.new_cap {
            if cap < self.cap {
                tracing::info!(old = self.cap, new = cap, "target batch cap adopted");
                self.cap = cap;
            }
        }
        let refused: Vec<(Uuid, u64)> = delivered
            .rejects
            .iter()
            .filter_map(|r| match r.outgoing.note {
                Note::Record(c, _) => Some((c.id, c.hash)),
                _ => None,
            })
            .collect();
        self.ledger.refused_records(&delivered.object, &refused)?;
        for r in &delivered.rejects {
            if r.outgoing.writes_links() {
                self.refused_links(&delivered.object, r)?;
                continue;
            }
            self.reject(
                &delivered.object,
                r.outgoing.source_id,
                r.field.as_deref(),
                &r.message,
                Some(&r.outgoing.record),
            )?;
        }
        self.not_kept.extend(delivered.not_kept);
        self.ledger
            .confirm_records(&delivered.object, &delivered.confirmed)?;
        // A record refused by an earlier pass and written now: records that point at it are
        // no longer rejected for it, later in this very pass.
        if let Some(rejected) = self.rejected.get_mut(&delivered.object) {
            for c in &delivered.confirmed {
                rejected.remove(&target_id(c.id));
            }
        }
        self.ledger
            .links_written(&delivered.object, &delivered.links)?;
        self.ledger
            .late_links_written(&delivered.object, &delivered.late_links)?;
        let rejected = delivered.rejects.len() as u64;
        Ok(self
            .in_order
            .finish(seq, delivered.written, delivered.updated, rejected, report))
    }
}

/// One refused record of a delivery.
struct DeliveredReject {
    outgoing: Outgoing,
    field: Option<String>,
    message: String,
}

/// What a delivery achieved.
struct Delivered {
    object: String,
    written: u64,
    /// Of `written`, records the target held already.
    updated: u64,
    /// The confirmed records the ledger keeps.
    confirmed: Vec<Confirmed>,
    /// The source ids whose deferred references were confirmed.
    links: Vec<Uuid>,
    /// The source ids whose references written after the configuration stage were confirmed.
    late_links: Vec<Uuid>,
    rejects: Vec<DeliveredReject>,
    new_cap: Option<usize>,
    not_kept: Vec<String>,
}

/// One batch on its way: owns what it needs, so that it can run as its own task.
struct Delivery<D> {
    target: D,
    object: String,
    plural: String,
    cap: usize,
    adaptive: bool,
    /// Compare what the target stored with what was sent (first batch of an object).
    check: bool,
    /// Stops the wait through an outage on Ctrl-C.
    cancel: CancellationToken,
    /// Named by the error of an interrupted delivery.
    state_path: PathBuf,
}

impl<D: Destination> Delivery<D> {
    /// Sends records as batch upserts and acts on each refusal as its
    /// [`TargetError::disposition`] says: retry later (pause, then send the same records
    /// again), shrink (re-cut at the stated cap, or in halves), reject records (split in
    /// halves until the bad records stand alone, and return those as rejects), or stop.
    /// Nothing is dropped.
    async fn run(mut self, records: Vec<Outgoing>) -> Result<Delivered, MigrateError> {
        let mut out = Delivered {
            object: self.object.clone(),
            written: 0,
            updated: 0,
            confirmed: Vec::new(),
            links: Vec::new(),
            late_links: Vec::new(),
            rejects: Vec::new(),
            new_cap: None,
            not_kept: Vec::new(),
        };
        let mut outage = self.target.outage();
        let mut work: Vec<Vec<Outgoing>> = vec![records];
        while let Some(mut chunk) = work.pop() {
            if chunk.len() > self.cap {
                let rest = chunk.split_off(self.cap);
                work.push(rest);
            }
            let values: Vec<&ApiRecord> = chunk.iter().map(|o| &o.record).collect();
            let bytes = serde_json::to_vec(&values).map_err(|e| {
                MigrateError::Unsupported(format!("cannot encode a batch of {}: {e}", self.object))
            })?;
            let body = BatchBody::new(bytes, chunk.len());
            let reject = |out: &mut Delivered,
                          outgoing: Outgoing,
                          field: Option<String>,
                          message: String| {
                out.rejects.push(DeliveredReject {
                    outgoing,
                    field,
                    message,
                });
            };
            // Only the first confirmed batch of an object is read in full (for `not_kept`);
            // the others only for their ids.
            let answer = if self.check {
                self.target
                    .upsert_batch(&self.plural, body)
                    .await
                    .map(|records| {
                        out.not_kept
                            .extend(not_kept(&self.object, &chunk, &records));
                        self.check = false;
                        records.iter().map(ReturnedId::of).collect()
                    })
            } else {
                self.target.upsert_batch_ids(&self.plural, body).await
            };
            let err = match answer {
                Ok(returned) => {
                    outage.end();
                    // An upsert that matched another record on a unique field updated that
                    // record instead of creating this one: the source id does not exist in the
                    // target, so it is reported, not counted as written.
                    let merged = merged_into(&chunk, &returned);
                    out.written += (chunk.len() - merged.len()) as u64;
                    let mut chunk: Vec<Option<Outgoing>> = chunk.into_iter().map(Some).collect();
                    for (i, other) in merged {
                        if let Some(row) = chunk[i].take() {
                            let message = format!(
                                "the target already held a record with the same unique value ({} {other}); the upsert updated it instead of creating this one",
                                self.object
                            );
                            reject(&mut out, row, None, message);
                        }
                    }
                    for o in chunk.iter().flatten() {
                        match o.note {
                            Note::Nothing | Note::SomeLateLinks => {}
                            Note::Record(c, update) => {
                                out.confirmed.push(c);
                                out.updated += u64::from(update);
                            }
                            Note::Links => out.links.push(o.source_id),
                            Note::LateLinks => out.late_links.push(o.source_id),
                        }
                    }
                    continue;
                }
                Err(err) => err,
            };
            match err.disposition() {
                Disposition::RetryLater => {
                    // Nothing is wrong with these records: keep them, pause, send them again.
                    let wait = outage.next_wait(err).map_err(|source| MigrateError::Target {
                        context: format!(
                            "the target stayed unavailable for {}s (--max-outage) while {} {} records waited; stopping (progress is saved: run the same command again to resume)",
                            outage.limit().as_secs(),
                            chunk.len(),
                            self.object
                        ),
                        source,
                    })?;
                    tokio::select! {
                        () = tokio::time::sleep(wait) => work.push(chunk),
                        () = self.cancel.cancelled() => {
                            return Err(MigrateError::Interrupted { state: self.state_path });
                        }
                    }
                }
                Disposition::Shrink if chunk.len() > 1 => match err {
                    TargetError::BatchTooLarge { cap, message } => {
                        if !self.adaptive {
                            return Err(MigrateError::Unsupported(format!(
                                "the target refused a batch of {} records ({message}); use --batch-size auto or a smaller number",
                                chunk.len()
                            )));
                        }
                        let new_cap = cap
                            .filter(|c| *c > 0 && *c < chunk.len())
                            .unwrap_or((chunk.len() / 2).max(1));
                        self.cap = new_cap;
                        out.new_cap = Some(new_cap);
                        work.push(chunk);
                    }
                    _ => {
                        let half = chunk.split_off(chunk.len() / 2);
                        work.push(half);
                        work.push(chunk);
                    }
                },
                Disposition::Shrink => {
                    let message = match err {
                        TargetError::PayloadTooLarge => {
                            "the target refused the record as too large (HTTP 413)".to_owned()
                        }
                        other => other.to_string(),
                    };
                    reject(&mut out, chunk.remove(0), None, message);
                }
                Disposition::RejectRecords if chunk.len() > 1 => {
                    tracing::debug!(object = %self.object, records = chunk.len(), error = %err, "batch refused; splitting");
                    let half = chunk.split_off(chunk.len() / 2);
                    work.push(half);
                    work.push(chunk);
                }
                Disposition::RejectRecords => {
                    let row = chunk.remove(0);
                    let (message, code) = match err {
                        TargetError::Rejected { messages, code, .. } => (messages.join("; "), code),
                        other => (other.to_string(), None),
                    };
                    let field = field_in_message(&message)
                        .or_else(|| field_by_shape(code.as_deref(), &row.record));
                    reject(&mut out, row, field, message);
                }
                Disposition::Stop => {
                    return Err(MigrateError::Target {
                        context: format!("sending a batch of {} {}", chunk.len(), self.object),
                        source: err,
                    })
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
