//! The target API client: everything that talks HTTP to a Twenty server (REST records,
//! `/metadata` GraphQL, file uploads: multipart or direct, [`UploadGeneration`]), under one rate limiter, one in-flight bound and one
//! retry policy ([`retry`]).
//!
//! How a caller reacts to each [`TargetError`] of a batch upsert:
//!
//! | error | meaning | caller |
//! |---|---|---|
//! | `BatchTooLarge { cap }` | more records than `QUERY_MAX_RECORDS` | resend in batches of `cap` |
//! | `PayloadTooLarge` | body too large in bytes (413) | split the batch |
//! | `Rejected { .. }` | a bad record (or several) | bisect to isolate it, reject it |
//! | `RateLimited`, `Transient` | still failing after `max_attempts` | stop and resume later, or split and retry |
//! | `Unauthorized`, `Forbidden`, `QuotaExhausted`, `Config` | [`TargetError::is_fatal`] | stop the run with the error's sentence |
//! | `Protocol` | unreadable answer | stop; the batch may or may not have landed (a resend is safe: upsert) |
//!
//! It is written from Twenty's source (each fact names its file in twentyhq/twenty) and shares
//! no code with the twin, so a misreading of Twenty's API in one is not mirrored in the other.

pub(crate) mod client;
mod config;
pub(crate) mod direct_upload;
mod error;
pub(crate) mod metadata;
pub mod retry;
mod types;

#[cfg(test)]
mod tests;

pub use client::{LegacyAnswer, LegacyFolder, LegacyUpload, Target};
pub use config::{ApiKey, TargetConfig};
pub use direct_upload::UploadGeneration;
pub use error::TargetError;
pub use retry::{Backoff, RetryDecision};
pub use types::{
    BatchBody, ClientConfig, FindMany, Page, RelationTarget, RequestStats, ReturnedId, TargetField,
    TargetMember, TargetModel, TargetObject, TargetRelation, UploadedFile,
};
