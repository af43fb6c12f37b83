//! The target API client: everything that talks HTTP to a Twenty server (REST records,
//! `/metadata` GraphQL, file uploads), under one rate limiter, one in-flight bound and one
//! retry policy ([`retry`]).
//!
//! It is written from Twenty's source (each fact names its file in twentyhq/twenty) and shares
//! no code with the twin, so a misreading of Twenty's API in one is not mirrored in the other.

mod client;
mod config;
mod error;
mod metadata;
pub mod retry;
mod types;

#[cfg(test)]
mod tests;

pub use client::Target;
pub use config::{ApiKey, TargetConfig};
pub use error::TargetError;
pub use retry::{Backoff, RetryDecision};
pub use types::{
    BatchBody, ClientConfig, FindMany, Page, RelationTarget, RequestStats, TargetField,
    TargetMember, TargetModel, TargetObject, TargetRelation, UploadedFile,
};
