//! [`Destination`]: the operations the pipeline's stages and the data model sync ask of a
//! target, and nothing else. [`Target`] is the one implementation the binary has; tests wrap
//! it to make the target fail on purpose without faking its answers.

use std::future::Future;
use std::path::Path;

use serde_json::Value;
use uuid::Uuid;

use super::client::{LegacyAnswer, LegacyFolder, LegacyUpload, MemberPicture, Target};
use super::config_change::ConfigChange;
use super::configuration::TargetConfiguration;
use super::direct_upload::{PendingDirectUpload, UploadGeneration};
use super::error::TargetError;
use super::retry::Outage;
use super::types::{
    BatchBody, FindMany, Page, RequestStats, ReturnedId, TargetField, TargetMember, TargetModel,
    TargetObject, UploadedFile,
};

/// A Twenty server as the stages see it: batch upserts, reads, soft-deletes, uploads and
/// metadata calls.
///
/// The contract, which every implementation keeps and every caller relies on:
///
/// - An error is final for this call: the implementation has already spent its retries (and
///   its rate-limit permits) on it. The caller never retries on its own judgement.
/// - What the caller does next is decided by [`TargetError::disposition`] alone: wait the
///   target out ([`Destination::outage`]) and send the same request again, shrink, reject the
///   records (bisecting a batch only then), or stop. No caller looks at a status code.
/// - Writes are idempotent when resent: upserts keep the caller's ids and soft-deleting twice
///   is harmless, so at-least-once delivery is exact.
/// - Clones share one rate limiter, one in-flight bound and one set of counters, so a stage
///   may hand a clone to each spawned task (hence `Clone + Send + Sync + 'static`, and
///   futures that are `Send`).
///
/// The methods mirror [`Target`]'s of the same name, whose docs give the wire details. Its
/// other methods (`find_all`, `soft_delete`, `client_config`, `upload_file`) are not here: no
/// stage calls them.
pub trait Destination: Clone + Send + Sync + 'static {
    /// Upserts a batch of `plural` records, ids kept; returns the records as stored, in full.
    fn upsert_batch(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send;

    /// Upserts a batch of `plural` records, ids kept; returns only the stored ids, in order.
    fn upsert_batch_ids(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> impl Future<Output = Result<Vec<ReturnedId>, TargetError>> + Send;

    /// One page of `plural` records, with the total count when the target gives it.
    fn find_many(
        &self,
        plural: &str,
        query: &FindMany,
    ) -> impl Future<Output = Result<Page, TargetError>> + Send;

    /// The live `plural` records among `ids`; absent ones are simply missing.
    fn find_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send;

    /// The soft-deleted `plural` records among `ids`.
    fn find_deleted_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send;

    /// Soft-deletes the `plural` records `ids`; returns how many the target reports.
    fn soft_delete_many(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<usize, TargetError>> + Send;

    /// Destroys the `plural` records `ids` (live or soft-deleted); returns how many the target
    /// reports.
    fn destroy_many(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<usize, TargetError>> + Send;

    /// How the target takes files for a FILES field.
    fn upload_generation(
        &self,
    ) -> impl Future<Output = Result<UploadGeneration, TargetError>> + Send;

    /// Uploads the file at `path` for the FILES field `field_metadata_id` by multipart.
    fn upload_file_from_path(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> impl Future<Output = Result<UploadedFile, TargetError>> + Send;

    /// Uploads the file at `path` for the FILES field `field_metadata_id` by direct upload,
    /// finishing `earlier` where the target still takes it; `created` is awaited with each
    /// upload created, before its bytes go (see [`Target::upload_file_direct`]).
    fn upload_file_direct<F, Fut>(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        earlier: Option<PendingDirectUpload>,
        created: F,
    ) -> impl Future<Output = Result<UploadedFile, TargetError>> + Send
    where
        F: FnMut(&PendingDirectUpload) -> Fut + Send,
        Fut: Future<Output = ()> + Send;

    /// Uploads the file at `path` into `folder` with an older target's `uploadFile`; `answer`
    /// is the answer shape learnt from an earlier upload, if any.
    fn upload_legacy_file(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
        folder: LegacyFolder,
        answer: Option<LegacyAnswer>,
    ) -> impl Future<Output = Result<LegacyUpload, TargetError>> + Send;

    /// Uploads the picture at `path` for a workspace member (`uploadWorkspaceMemberProfilePicture`).
    fn upload_member_picture(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> impl Future<Output = Result<MemberPicture, TargetError>> + Send;

    /// Sets standard fields of a workspace member (`updateWorkspaceMemberSettings`).
    fn update_member_settings(
        &self,
        member: Uuid,
        update: Value,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;

    /// The target's data model.
    fn model(&self) -> impl Future<Output = Result<TargetModel, TargetError>> + Send;

    /// The target's workspace members.
    fn members(&self) -> impl Future<Output = Result<Vec<TargetMember>, TargetError>> + Send;

    /// Creates an object (`createOneObject` input); not idempotent, see `schema_sync::apply`.
    fn create_object(
        &self,
        object: Value,
    ) -> impl Future<Output = Result<TargetObject, TargetError>> + Send;

    /// Creates a field (`createOneField` input); not idempotent, see `schema_sync::apply`.
    fn create_field(
        &self,
        field: Value,
    ) -> impl Future<Output = Result<TargetField, TargetError>> + Send;

    /// Runs a GraphQL document on `/metadata`; returns its `data`.
    fn metadata_graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> impl Future<Output = Result<Value, TargetError>> + Send;

    /// What the target has of the workspace configuration (views, roles, navigation,
    /// webhooks, API keys).
    fn configuration(
        &self,
    ) -> impl Future<Output = Result<TargetConfiguration, TargetError>> + Send;

    /// Makes one change to the workspace configuration.
    fn change_configuration(
        &self,
        change: &ConfigChange,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;

    /// Downloads the file at a FILES value's signed `url`; returns its size in bytes.
    fn download_size(&self, url: &str) -> impl Future<Output = Result<u64, TargetError>> + Send;

    /// A fresh policy for waiting out a target that stays unavailable after every retry, one
    /// per request being delivered.
    fn outage(&self) -> Outage;

    /// Counts of the requests sent so far, shared by every clone.
    fn stats(&self) -> RequestStats;

    /// The server's root URL, without a trailing slash.
    fn base_url(&self) -> &str;

    /// The API key's own id, when the key says it (see [`super::ApiKey::key_id`]).
    fn api_key_id(&self) -> Option<Uuid>;
}

/// Each method returns the inherent method's future as it is: no extra state, no boxing.
impl Destination for Target {
    fn upsert_batch(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send {
        Target::upsert_batch(self, plural, body)
    }

    fn upsert_batch_ids(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> impl Future<Output = Result<Vec<ReturnedId>, TargetError>> + Send {
        Target::upsert_batch_ids(self, plural, body)
    }

    fn find_many(
        &self,
        plural: &str,
        query: &FindMany,
    ) -> impl Future<Output = Result<Page, TargetError>> + Send {
        Target::find_many(self, plural, query)
    }

    fn find_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send {
        Target::find_by_ids(self, plural, ids)
    }

    fn find_deleted_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send {
        Target::find_deleted_by_ids(self, plural, ids)
    }

    fn soft_delete_many(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<usize, TargetError>> + Send {
        Target::soft_delete_many(self, plural, ids)
    }

    fn destroy_many(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<usize, TargetError>> + Send {
        Target::destroy_many(self, plural, ids)
    }

    fn upload_generation(
        &self,
    ) -> impl Future<Output = Result<UploadGeneration, TargetError>> + Send {
        Target::upload_generation(self)
    }

    fn upload_file_from_path(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> impl Future<Output = Result<UploadedFile, TargetError>> + Send {
        Target::upload_file_from_path(self, field_metadata_id, path, file_name, mime)
    }

    fn upload_file_direct<F, Fut>(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        earlier: Option<PendingDirectUpload>,
        created: F,
    ) -> impl Future<Output = Result<UploadedFile, TargetError>> + Send
    where
        F: FnMut(&PendingDirectUpload) -> Fut + Send,
        Fut: Future<Output = ()> + Send,
    {
        Target::upload_file_direct(self, field_metadata_id, path, file_name, earlier, created)
    }

    fn upload_legacy_file(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
        folder: LegacyFolder,
        answer: Option<LegacyAnswer>,
    ) -> impl Future<Output = Result<LegacyUpload, TargetError>> + Send {
        Target::upload_legacy_file(self, path, file_name, mime, folder, answer)
    }

    fn upload_member_picture(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> impl Future<Output = Result<MemberPicture, TargetError>> + Send {
        Target::upload_member_picture(self, path, file_name, mime)
    }

    fn update_member_settings(
        &self,
        member: Uuid,
        update: Value,
    ) -> impl Future<Output = Result<(), TargetError>> + Send {
        Target::update_member_settings(self, member, update)
    }

    fn model(&self) -> impl Future<Output = Result<TargetModel, TargetError>> + Send {
        Target::model(self)
    }

    fn members(&self) -> impl Future<Output = Result<Vec<TargetMember>, TargetError>> + Send {
        Target::members(self)
    }

    fn create_object(
        &self,
        object: Value,
    ) -> impl Future<Output = Result<TargetObject, TargetError>> + Send {
        Target::create_object(self, object)
    }

    fn create_field(
        &self,
        field: Value,
    ) -> impl Future<Output = Result<TargetField, TargetError>> + Send {
        Target::create_field(self, field)
    }

    fn metadata_graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> impl Future<Output = Result<Value, TargetError>> + Send {
        Target::metadata_graphql(self, query, variables)
    }

    fn configuration(
        &self,
    ) -> impl Future<Output = Result<TargetConfiguration, TargetError>> + Send {
        Target::configuration(self)
    }

    fn change_configuration(
        &self,
        change: &ConfigChange,
    ) -> impl Future<Output = Result<(), TargetError>> + Send {
        change.send(self)
    }

    fn download_size(&self, url: &str) -> impl Future<Output = Result<u64, TargetError>> + Send {
        Target::download_size(self, url)
    }

    fn outage(&self) -> Outage {
        Target::outage(self)
    }

    fn stats(&self) -> RequestStats {
        Target::stats(self)
    }

    fn base_url(&self) -> &str {
        Target::base_url(self)
    }

    fn api_key_id(&self) -> Option<Uuid> {
        Target::api_key_id(self)
    }
}
