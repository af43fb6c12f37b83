//! The target API client: everything that talks HTTP to a Twenty server (REST records,
//! `/metadata` GraphQL, file uploads: multipart or direct, [`UploadGeneration`]), under one rate limiter, one in-flight bound and one
//! retry policy ([`retry`]). The stages see it through [`Destination`], which [`Target`]
//! implements.
//!
//! Once the client's retries are spent, [`TargetError::disposition`] alone says what the caller
//! does ([`Disposition`]):
//!
//! | error | disposition | caller |
//! |---|---|---|
//! | `RateLimited`, `Transient` | `RetryLater` | pause ([`Outage`]) and send the same request again |
//! | `BatchTooLarge { cap }`, `PayloadTooLarge` | `Shrink` | resend in batches of `cap`, or halves; a lone record too large is rejected |
//! | `Rejected { .. }` (4xx content), `LocalFile` | `RejectRecords` | bisect a batch to isolate the bad records, reject them |
//! | `Unauthorized`, `Forbidden`, `QuotaExhausted`, `Config`, `Protocol`, `UploadUrlRefused` (after fresh URLs), `Rejected` 405/501 or an invalid GraphQL document | `Stop` | stop the run with the error's sentence; progress is saved |
//!
//! It is written from Twenty's source (each fact names its file in twentyhq/twenty) and shares
//! no code with the twin, so a misreading of Twenty's API in one is not mirrored in the other.

pub mod agents;
pub(crate) mod client;
mod config;
mod config_change;
mod configuration;
mod configuration_calls;
mod contract;
pub(crate) mod direct_upload;
mod error;
pub(crate) mod metadata;
pub mod page_layout;
pub mod retry;
mod row_level;
mod types;

#[cfg(test)]
mod tests;

pub use client::{LegacyAnswer, LegacyFolder, LegacyUpload, MemberPicture, Target};
pub use config::{ApiKey, TargetConfig, DEFAULT_MAX_OUTAGE};
pub use config_change::ConfigChange;
pub use configuration::{
    TargetApiKey, TargetConfiguration, TargetFieldPermission, TargetFlag, TargetNavigationItem,
    TargetObjectPermission, TargetRole, TargetRoleLabel, TargetRoleMember, TargetView,
    TargetViewField, TargetViewFieldGroup, TargetViewFilter, TargetViewFilterGroup,
    TargetViewGroup, TargetViewSort, TargetWebhook,
};
pub use contract::Destination;
pub use direct_upload::{
    PendingDirectUpload, UploadGeneration, RESUME_MARGIN_SECONDS, URL_RENEWALS,
};
pub use error::{Disposition, TargetError};
pub use retry::{Backoff, Outage, RetryDecision};
pub use row_level::{TargetRlsGroup, TargetRlsPredicate, TargetRowLevelPermissions};
pub use types::{
    BatchBody, ClientConfig, FindMany, Page, RelationTarget, RequestStats, ReturnedId, TargetField,
    TargetMember, TargetModel, TargetObject, TargetRelation, UploadedFile,
};
