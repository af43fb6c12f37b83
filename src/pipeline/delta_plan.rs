//! `plan --delta`: what the next delta pass would send and how long it would take, counted by
//! reading the source and the ledger exactly as the pass would, without writing anything.
//! References to rows not migrated are nulled (or the row skipped) as the pass does; the
//! unique-value guard is not run, so a row it would reject counts as sent.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::delta::{self, Change};
use super::records::{build_transform, pending, Judge};
use super::{DeletedPolicy, MigrateError, MigrateOptions, Prepared, DEFAULT_MAX_BATCH};
use crate::destination::Destination;
use crate::plan::WritePass;
use crate::source::records::RowFilter;
use crate::state::Ledger;

/// Target ids per soft delete or destroy request (the client's `id[in]` lookups).
const IDS_PER_REQUEST: u64 = 50;

/// One object's share of the next delta.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectDelta {
    /// Object `nameSingular`.
    pub object: String,
    /// Rows the target has never confirmed.
    pub new: u64,
    /// Rows changed in the source since the last pass.
    pub changed: u64,
    /// Rows live again in the source that the target holds soft-deleted.
    pub restored: u64,
    /// Rows soft-deleted in the source that the target holds live.
    pub soft_deleted: u64,
    /// Rows the ledger holds and the source no longer has.
    pub hard_deleted: u64,
    /// Sent rows with deferred references to write after every record exists.
    pub links: u64,
    /// Sent rows with references to write after the configuration stage (to dashboards);
    /// the `links` column of the text shows both.
    pub late_links: u64,
    /// Requests for all of it (conflict read included).
    pub requests: u64,
}

/// The next delta pass, estimated.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeltaEstimate {
    /// The source time the last complete pass read up to.
    pub since: Option<DateTime<Utc>>,
    /// Per object, those with something to send.
    pub objects: Vec<ObjectDelta>,
    /// Requests of the whole delta, without the few fixed reads every run makes.
    pub requests: u64,
    /// Minutes at the rate limit.
    pub minutes: f64,
    /// Seconds this estimate took to read the source and compare it with the ledger: the
    /// delta's own reading takes as long.
    pub read_seconds: f64,
    /// Whether hard deletes are counted as destroy requests (`--propagate-deletes`).
    pub propagate_deletes: bool,
}

impl DeltaEstimate {
    /// The estimate as text.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nnext delta (changes since {}):",
            self.since
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "never".into())
        );
        let _ = writeln!(
            out,
            "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "object", "new", "changed", "restored", "soft-del", "hard-del", "links", "requests"
        );
        for o in &self.objects {
            let _ = writeln!(
                out,
                "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
                o.object,
                o.new,
                o.changed,
                o.restored,
                o.soft_deleted,
                o.hard_deleted,
                o.links + o.late_links,
                o.requests
            );
        }
        let _ = writeln!(
            out,
            "{} requests, about {:.1} minutes at the rate limit (the source was read and compared in {:.1} s){}",
            self.requests,
            self.minutes,
            self.read_seconds,
            if self.propagate_deletes {
                ""
            } else {
                "; hard deletes are listed, not sent (--propagate-deletes sends them)"
            }
        );
        out
    }
}

/// Counts what the next delta against the ledger at `state` would send. Errs when the ledger
/// holds no complete pass (the next `migrate` is then a full one, which the plan describes).
pub async fn estimate<D: Destination>(
    opts: &MigrateOptions,
    prepared: &Prepared,
    target: &D,
    state: &Path,
) -> Result<DeltaEstimate, MigrateError> {
    let started = std::time::Instant::now();
    if !state.exists() {
        return Err(MigrateError::Blocked(vec![format!(
            "no ledger at {}: the next migrate is a full pass (pass --state to name the ledger of the first one)",
            state.display()
        )]));
    }
    let (ledger, _) = Ledger::open(
        state,
        &super::discover::fingerprint(opts, prepared, target),
        false,
    )?;
    let Some(last) = ledger.last_completed()? else {
        return Err(MigrateError::Blocked(vec![format!(
            "the ledger {} holds no complete pass yet: the next migrate resumes it",
            state.display()
        )]));
    };
    let members = super::members::member_map(opts, prepared);
    let absent = super::absent_objects(prepared, opts.deleted);
    let client = prepared.source.client();
    let cap = match opts.batch_size {
        super::BatchSize::Auto => DEFAULT_MAX_BATCH,
        super::BatchSize::Fixed(n) => n,
    } as u64;
    let mut estimate = DeltaEstimate {
        since: Some(last.watermark),
        propagate_deletes: opts.propagate_deletes,
        ..DeltaEstimate::default()
    };
    for object_plan in &prepared.plan.objects {
        let object = prepared
            .model
            .object(&object_plan.object)
            .expect("planned objects come from the model");
        let name = &object.name_singular;
        let mut o = ObjectDelta {
            object: name.clone(),
            ..ObjectDelta::default()
        };
        let filter = match opts.deleted {
            DeletedPolicy::Skip => RowFilter::Live,
            DeletedPolicy::Keep => RowFilter::All,
        };
        let (mut reader, mut nulled) = super::open_guarded(
            client,
            &prepared.workspace.schema,
            object,
            object_plan,
            &absent,
            filter,
            opts.page_size,
        )
        .await?;
        let transform = build_transform(object, object_plan, reader.columns(), WritePass::First);
        let deferred =
            object_plan.fields.iter().any(|f| f.deferred).then(|| {
                build_transform(object, object_plan, reader.columns(), WritePass::Deferred)
            });
        let late = object_plan.fields.iter().any(|f| f.after_config).then(|| {
            build_transform(
                object,
                object_plan,
                reader.columns(),
                WritePass::AfterConfig,
            )
        });
        let deleted_index = reader.columns().iter().position(|c| c.name == "deletedAt");
        loop {
            let rows = reader.next_page(client).await?;
            if rows.is_empty() {
                break;
            }
            nulled.load(client, &rows).await?;
            let judge = Judge {
                entries: delta::page_entries(&ledger, name, &rows)?,
                refused: delta::page_refused(&ledger, name, &rows)?,
                deferred: deferred.as_ref(),
                late: late.as_ref(),
                deleted_index,
            };
            for row in &rows {
                // A row that does not transform is rejected by the pass: nothing to send.
                let Ok(mut record) = transform.apply(row, &members) else {
                    continue;
                };
                if !nulled.apply(row, &mut record, &mut Vec::new()) {
                    continue;
                }
                let verdict = judge.verdict(row, &record, &members);
                if verdict.refused_unchanged {
                    continue;
                }
                let (links, late_links) = (verdict.links, verdict.late);
                match verdict.change {
                    Change::New => o.new += 1,
                    Change::Changed => o.changed += 1,
                    Change::Restored => o.restored += 1,
                    Change::Unchanged => continue,
                }
                if pending(links.as_ref()) {
                    o.links += 1;
                }
                if pending(late_links.as_ref()) {
                    o.late_links += 1;
                }
            }
        }
        if object_plan.deleted > 0 {
            let mut deleted =
                super::soft_deletes::DeletedHeldLive::new(&prepared.workspace.schema, object);
            while let Some(held) = deleted.next(client, &ledger).await? {
                o.soft_deleted += held.len() as u64;
            }
        }
        o.hard_deleted = delta::gone_ids(
            client,
            &prepared.workspace.schema,
            &object.table,
            &ledger,
            name,
        )
        .await?
        .len() as u64;
        let sent = o.new + o.changed + o.restored;
        o.requests = sent.div_ceil(cap)
            + u64::from(o.changed + o.restored > 0 && !opts.overwrite_target_changes)
            + o.links.div_ceil(cap)
            + o.late_links.div_ceil(cap)
            + o.soft_deleted.div_ceil(IDS_PER_REQUEST)
            + if opts.propagate_deletes {
                o.hard_deleted.div_ceil(IDS_PER_REQUEST)
            } else {
                0
            };
        if o != (ObjectDelta {
            object: name.clone(),
            ..ObjectDelta::default()
        }) {
            estimate.requests += o.requests;
            estimate.objects.push(o);
        }
    }
    estimate.minutes = estimate.requests as f64 / f64::from(opts.requests_per_minute.max(1));
    estimate.read_seconds = started.elapsed().as_secs_f64();
    Ok(estimate)
}
