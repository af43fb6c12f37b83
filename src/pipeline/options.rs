//! What a run is told: the options of `plan`, `migrate` and `verify`, with their defaults.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::{files, MigrateError};
use crate::plan::UnmatchedMembers;
use crate::schema_sync::SchemaOptions;

/// The largest batch current Twenty accepts (`QUERY_MAX_RECORDS`, 200 in the server code and
/// tests of 2026; `packages/twenty-shared/src/constants/QueryMaxRecords.ts`).
pub const DEFAULT_MAX_BATCH: usize = 200;

/// How many records go in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// Start at [`DEFAULT_MAX_BATCH`] and adapt to the cap the target states.
    Auto,
    /// Exactly this many.
    Fixed(usize),
}

impl std::str::FromStr for BatchSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Self::Fixed(n)),
            _ => Err(format!(
                "--batch-size takes `auto` or a positive number, not {s:?}"
            )),
        }
    }
}

/// Soft-deleted source rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedPolicy {
    /// Not migrated; counted as skipped by rule `soft-deleted`.
    Skip,
    /// Created, then soft-deleted in the target.
    Keep,
}

impl std::str::FromStr for DeletedPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "skip" => Ok(Self::Skip),
            "keep" => Ok(Self::Keep),
            other => Err(format!("--deleted takes skip or keep, not {other:?}")),
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Source Postgres URL.
    pub source_url: String,
    /// Workspace selector.
    pub workspace: Option<String>,
    /// Records per request.
    pub batch_size: BatchSize,
    /// Unmatched-member policy.
    pub unmatched: UnmatchedMembers,
    /// Soft-deleted rows.
    pub deleted: DeletedPolicy,
    /// Where refused records go.
    pub rejects_path: PathBuf,
    /// Source rows per keyset page.
    pub page_size: usize,
    /// Requests per minute (for the estimate; the client enforces it).
    pub requests_per_minute: u32,
    /// Data model sync (`--no-schema`, `--include-inactive`).
    pub schema: SchemaOptions,
    /// The ledger file that makes the run resumable.
    pub state_path: PathBuf,
    /// Forget the ledger's progress and start over.
    pub restart: bool,
    /// Cancelled on Ctrl-C / SIGTERM: the run stops after the batch in flight.
    pub cancel: CancellationToken,
    /// Where attachment bytes are read from, and the size cap.
    pub files: crate::pipeline::files::FileOptions,
    /// Batches in flight at once (the rate limiter still paces them).
    pub max_in_flight: usize,
    /// Source sessions reading the shared snapshot at once (`--source-jobs`).
    pub source_jobs: usize,
    /// Move the workspace configuration (views, roles, navigation, webhooks) and write the
    /// runbook of what an API key cannot do.
    pub config: bool,
    /// In a delta pass, destroy in the target the records hard-deleted in the source since
    /// the last pass (`--propagate-deletes`); otherwise they are listed in the report.
    pub propagate_deletes: bool,
    /// In a delta pass, overwrite records changed in the target since the last pass
    /// (`--overwrite-target-changes`); otherwise they are left alone and listed as conflicts.
    pub overwrite_target_changes: bool,
    /// The most records the target may take (`--target-record-limit`): a first pass writing
    /// more stops at the pre-flight.
    pub target_record_limit: Option<u64>,
}

impl MigrateOptions {
    /// The options of a run from `source_url`, with every other choice at its default: one
    /// workspace (the only one), batches of the target's cap, members matched or the run
    /// stopped, soft-deleted rows skipped, data model synced, pages of 1,000 rows, 4 batches
    /// in flight, Twenty's default limit of 100 requests/min, and the rejects file and ledger
    /// in `work_dir`. Change a choice with struct update syntax:
    /// `MigrateOptions { page_size: 50, ..MigrateOptions::new(url, dir) }`.
    pub fn new(source_url: impl Into<String>, work_dir: &std::path::Path) -> Self {
        Self {
            source_url: source_url.into(),
            workspace: None,
            batch_size: BatchSize::Auto,
            unmatched: UnmatchedMembers::Stop,
            deleted: DeletedPolicy::Skip,
            rejects_path: work_dir.join("rejects.jsonl"),
            page_size: 1000,
            requests_per_minute: 100,
            schema: SchemaOptions::default(),
            state_path: work_dir.join("state.sqlite"),
            restart: false,
            cancel: CancellationToken::new(),
            files: files::FileOptions::default(),
            max_in_flight: 4,
            source_jobs: crate::source::snapshot::DEFAULT_JOBS,
            config: true,
            propagate_deletes: false,
            overwrite_target_changes: false,
            target_record_limit: None,
        }
    }

    /// Where the runbook goes: beside the ledger.
    pub fn runbook_dir(&self) -> &std::path::Path {
        self.state_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
    }

    /// The error that ends a run stopped on request.
    pub(super) fn interrupted(&self) -> MigrateError {
        MigrateError::Interrupted {
            state: self.state_path.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_size_parses_auto_and_positive_numbers() {
        assert_eq!("auto".parse::<BatchSize>().unwrap(), BatchSize::Auto);
        assert_eq!("60".parse::<BatchSize>().unwrap(), BatchSize::Fixed(60));
        assert!("0".parse::<BatchSize>().is_err());
    }
}
