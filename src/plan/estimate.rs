//! The request and time estimate of a plan.

use serde::Serialize;

use super::ObjectPlan;

/// Requests one file costs at most: direct upload, the newest generation, is
/// `createFileUpload`, the `PUT` of the bytes and `completeFileUpload`
/// (`file-upload.resolver.ts`, `file-upload.controller.ts`); older targets take one multipart
/// request. The plan does not ask the target which, so it counts the most.
pub const REQUESTS_PER_FILE: u64 = 3;

/// The request and time estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Records to send (first pass).
    pub records: u64,
    /// Requests at the batch cap, first pass.
    pub record_requests: u64,
    /// Requests of the second pass (upper bound: every row may hold a deferred reference).
    pub deferred_requests: u64,
    /// Requests of the references written after the configuration stage (to dashboards;
    /// upper bound: every row of their objects may hold one).
    pub after_config_requests: u64,
    /// Attachment files to upload (each attachment holds one).
    pub files: u64,
    /// Requests for those files, upper bound: [`REQUESTS_PER_FILE`] each.
    pub file_requests: u64,
    /// Batch cap used.
    pub batch_size: usize,
    /// Requests per minute used.
    pub requests_per_minute: u32,
    /// Total duration at that rate, in seconds.
    pub seconds: f64,
}

/// Requests and duration of the planned objects at the rate limit: batches, the second pass,
/// the references written after the configuration stage, soft-deletions (kept deleted rows) and the attachments' file uploads.
pub(super) fn estimate(
    objects: &[ObjectPlan],
    keep_deleted: bool,
    batch_size: usize,
    requests_per_minute: u32,
) -> Estimate {
    let rows = |o: &ObjectPlan| o.live + if keep_deleted { o.deleted } else { 0 };
    let records: u64 = objects.iter().map(rows).sum();
    let record_requests: u64 = objects.iter().map(|o| o.requests).sum();
    let deferred_requests: u64 = objects
        .iter()
        .filter(|o| o.fields.iter().any(|f| f.deferred))
        .map(|o| o.requests)
        .sum();
    let after_config_requests: u64 = objects
        .iter()
        .filter(|o| o.fields.iter().any(|f| f.after_config))
        .map(|o| o.requests)
        .sum();
    let soft_delete_requests: u64 = if keep_deleted {
        objects.iter().map(|o| o.deleted).sum()
    } else {
        0
    };
    let files: u64 = objects
        .iter()
        .filter(|o| o.object == "attachment")
        .map(rows)
        .sum();
    let file_requests = files * REQUESTS_PER_FILE;
    let total = record_requests
        + deferred_requests
        + after_config_requests
        + soft_delete_requests
        + file_requests;
    Estimate {
        records,
        record_requests,
        deferred_requests,
        after_config_requests,
        files,
        file_requests,
        batch_size,
        requests_per_minute,
        seconds: total as f64 * 60.0 / requests_per_minute.max(1) as f64,
    }
}
