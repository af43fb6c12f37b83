//! The data model stage: creates what the target lacks before any record moves, then plans
//! again against the target's real model.

use super::discover::{prepare, prepare_with, Prepared};
use super::{MigrateError, MigrateOptions};
use crate::destination::Destination;
use crate::schema_sync;

/// Prepares the run, runs the pre-flight, applies the data model sync when it has changes,
/// and prepares again. Stops with [`MigrateError::Blocked`] when the plan has blockers or a
/// pre-flight check fails, before anything is written.
pub(super) async fn prepare_and_sync<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
) -> Result<Prepared, MigrateError> {
    let mut prepared = prepare(opts, target).await?;
    if !prepared.plan.blockers.is_empty() {
        return Err(MigrateError::Blocked(prepared.plan.blockers.clone()));
    }
    let checks = super::preflight::run(opts, &prepared, target).await?;
    eprint!("{}", checks.render_text());
    checks.ensure_passed()?;
    if !prepared.schema.has_changes() {
        return Ok(prepared);
    }
    let read = std::mem::take(&mut prepared.target_read);
    let done = schema_sync::apply_to(&prepared.schema, target, read)
        .await
        .map_err(Box::new)?;
    if let Some(line) = done.summary() {
        eprintln!("{line}");
    }
    prepared.source.end_snapshot().await?;
    // The model changed (re-read); the members did not.
    let members = (
        std::mem::take(&mut prepared.target_members),
        std::mem::take(&mut prepared.target_avatars),
    );
    let prepared = prepare_with(opts, target, Some(members)).await?;
    if !prepared.plan.blockers.is_empty() {
        return Err(MigrateError::Blocked(prepared.plan.blockers.clone()));
    }
    Ok(prepared)
}
