//! The `Destination` seam: the real client against the twin, wrapped so that one batch of one
//! object fails with a chosen `TargetError`. Everything else reaches the twin as usual, so
//! what the run does can only come from the error's disposition.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use twenty_migrate::destination::{
    ApiKey, BatchBody, ConfigChange, Destination, FindMany, LegacyAnswer, LegacyFolder,
    LegacyUpload, MemberPicture, Outage, Page, PendingDirectUpload, RequestStats, ReturnedId,
    Target, TargetConfig, TargetConfiguration, TargetError, TargetField, TargetMember, TargetModel,
    TargetObject, UploadGeneration, UploadedFile,
};
use twenty_migrate::pipeline::{self, BatchSize};
use uuid::Uuid;

use super::{read_back, twin, world, KEY};

/// Forwards to `inner`, except that the `nth` upsert batch of `plural` (from 1) fails with
/// `error()`, and so does every later batch holding one of its records, `limit` times in all.
#[derive(Clone)]
pub(super) struct FailsOneBatch {
    inner: Target,
    plural: &'static str,
    nth: usize,
    error: fn() -> TargetError,
    limit: usize,
    /// Counts only the batches whose every record passes (all of them when `None`).
    only: Option<fn(&Value) -> bool>,
    /// A `/metadata` root field the target does not know, as an older Twenty would not.
    unknown_field: Option<&'static str>,
    seen: Arc<Mutex<Seen>>,
}

/// What the wrapper saw, shared by its clones (each delivery task holds one).
#[derive(Default)]
struct Seen {
    /// Upsert batches of `plural` sent so far.
    batches: usize,
    /// The target ids of the chosen batch's records.
    chosen: HashSet<String>,
    /// Batches failed on purpose.
    failed: usize,
}

impl FailsOneBatch {
    pub(super) fn new(
        inner: Target,
        plural: &'static str,
        nth: usize,
        error: fn() -> TargetError,
    ) -> Self {
        Self {
            inner,
            plural,
            nth,
            error,
            limit: usize::MAX,
            only: None,
            unknown_field: None,
            seen: Arc::default(),
        }
    }

    /// Refuses every `/metadata` document naming `field` as graphql-js refuses a field the
    /// schema lacks (`GRAPHQL_VALIDATION_FAILED`).
    pub(super) fn without_field(mut self, field: &'static str) -> Self {
        self.unknown_field = Some(field);
        self
    }

    /// Fails only the first `limit` sends of the chosen records.
    pub(super) fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Counts (and chooses among) only the batches whose every record passes `only`.
    pub(super) fn only(mut self, only: fn(&Value) -> bool) -> Self {
        self.only = Some(only);
        self
    }

    /// The chosen batch's target ids, and how many sends failed.
    fn outcome(&self) -> (BTreeSet<String>, usize) {
        let seen = self.seen.lock().unwrap();
        (seen.chosen.iter().cloned().collect(), seen.failed)
    }

    /// The error for this batch, if it is the chosen one or holds one of its records.
    fn verdict(&self, plural: &str, body: &BatchBody) -> Result<(), TargetError> {
        if plural != self.plural {
            return Ok(());
        }
        let records: Vec<Value> = serde_json::from_slice(body.bytes()).expect("a JSON array");
        let ids: Vec<String> = records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        let mut seen = self.seen.lock().unwrap();
        if self.only.is_none_or(|only| records.iter().all(only)) {
            seen.batches += 1;
        }
        if seen.batches == self.nth && seen.chosen.is_empty() {
            seen.chosen = ids.iter().cloned().collect();
        }
        if seen.failed < self.limit && ids.iter().any(|id| seen.chosen.contains(id)) {
            seen.failed += 1;
            return Err((self.error)());
        }
        Ok(())
    }
}

impl Destination for FailsOneBatch {
    async fn upsert_batch(&self, plural: &str, body: BatchBody) -> Result<Vec<Value>, TargetError> {
        self.verdict(plural, &body)?;
        self.inner.upsert_batch(plural, body).await
    }

    async fn upsert_batch_ids(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> Result<Vec<ReturnedId>, TargetError> {
        self.verdict(plural, &body)?;
        self.inner.upsert_batch_ids(plural, body).await
    }

    fn find_many(
        &self,
        plural: &str,
        query: &FindMany,
    ) -> impl Future<Output = Result<Page, TargetError>> + Send {
        self.inner.find_many(plural, query)
    }

    fn find_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send {
        self.inner.find_by_ids(plural, ids)
    }

    fn find_deleted_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<Value>, TargetError>> + Send {
        self.inner.find_deleted_by_ids(plural, ids)
    }

    fn soft_delete_many(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<usize, TargetError>> + Send {
        self.inner.soft_delete_many(plural, ids)
    }

    fn destroy_many(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<usize, TargetError>> + Send {
        self.inner.destroy_many(plural, ids)
    }

    fn upload_generation(
        &self,
    ) -> impl Future<Output = Result<UploadGeneration, TargetError>> + Send {
        self.inner.upload_generation()
    }

    fn upload_file_from_path(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> impl Future<Output = Result<UploadedFile, TargetError>> + Send {
        self.inner
            .upload_file_from_path(field_metadata_id, path, file_name, mime)
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
        self.inner
            .upload_file_direct(field_metadata_id, path, file_name, earlier, created)
    }

    fn upload_legacy_file(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
        folder: LegacyFolder,
        answer: Option<LegacyAnswer>,
    ) -> impl Future<Output = Result<LegacyUpload, TargetError>> + Send {
        self.inner
            .upload_legacy_file(path, file_name, mime, folder, answer)
    }

    fn upload_member_picture(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> impl Future<Output = Result<MemberPicture, TargetError>> + Send {
        self.inner.upload_member_picture(path, file_name, mime)
    }

    fn update_member_settings(
        &self,
        member: Uuid,
        update: Value,
    ) -> impl Future<Output = Result<(), TargetError>> + Send {
        self.inner.update_member_settings(member, update)
    }

    fn model(&self) -> impl Future<Output = Result<TargetModel, TargetError>> + Send {
        self.inner.model()
    }

    fn members(&self) -> impl Future<Output = Result<Vec<TargetMember>, TargetError>> + Send {
        self.inner.members()
    }

    fn create_object(
        &self,
        object: Value,
    ) -> impl Future<Output = Result<TargetObject, TargetError>> + Send {
        self.inner.create_object(object)
    }

    fn create_field(
        &self,
        field: Value,
    ) -> impl Future<Output = Result<TargetField, TargetError>> + Send {
        self.inner.create_field(field)
    }

    fn metadata_graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> impl Future<Output = Result<Value, TargetError>> + Send {
        let unknown = self.unknown_field.filter(|f| query.contains(f));
        let answer = self.inner.metadata_graphql(query, variables);
        async move {
            match unknown {
                Some(field) => Err(TargetError::Rejected {
                    status: 200,
                    messages: vec![format!("Cannot query field \"{field}\" on type \"Query\".")],
                    code: Some("GRAPHQL_VALIDATION_FAILED".to_owned()),
                }),
                None => answer.await,
            }
        }
    }

    fn configuration(
        &self,
    ) -> impl Future<Output = Result<TargetConfiguration, TargetError>> + Send {
        self.inner.configuration()
    }

    fn change_configuration(
        &self,
        change: &ConfigChange,
    ) -> impl Future<Output = Result<(), TargetError>> + Send {
        Destination::change_configuration(&self.inner, change)
    }

    fn download_size(&self, url: &str) -> impl Future<Output = Result<u64, TargetError>> + Send {
        self.inner.download_size(url)
    }

    fn outage(&self) -> Outage {
        self.inner.outage()
    }

    fn stats(&self) -> RequestStats {
        self.inner.stats()
    }

    fn base_url(&self) -> &str {
        self.inner.base_url()
    }

    fn api_key_id(&self) -> Option<Uuid> {
        self.inner.api_key_id()
    }
}

/// A client for `twin` whose outages are waited out in milliseconds, and given up after 10 s
/// (so a wrong disposition fails the test instead of hanging it).
pub(super) fn quick_target(base_url: &str) -> Target {
    let mut config = TargetConfig::new(base_url, ApiKey::new(KEY));
    config.requests_per_minute = 1_000_000;
    config.backoff.base = Duration::from_millis(10);
    config.backoff.max = Duration::from_millis(40);
    config.max_outage = Duration::from_secs(10);
    Target::new(config).expect("target client")
}

/// What Twenty answers for a value it refuses (`INVALID_ARGS_DATA`, HTTP 400).
pub(super) fn refused_for_its_content() -> TargetError {
    TargetError::Rejected {
        status: 400,
        messages: vec![r#"Invalid value for field "jobTitle""#.to_owned()],
        code: Some("INVALID_ARGS_DATA".to_owned()),
    }
}

#[tokio::test]
async fn a_destination_that_refuses_one_batch_rejects_only_its_records_and_counts_add_up() {
    let w = world(400).await;
    let twin = twin(w.members(), 200).await;
    let target = quick_target(twin.base_url());
    let mut opts = w.options();
    opts.batch_size = BatchSize::Fixed(25);
    let refusing = FailsOneBatch::new(target.clone(), "people", 2, refused_for_its_content);

    let report = pipeline::migrate(&opts, &refusing)
        .await
        .expect("a refused batch does not stop the run");

    let (chosen, failed) = refusing.outcome();
    assert_eq!(chosen.len(), 25, "the second batch of people was full");
    // Split in halves until each record stood alone: 2n - 1 refused sends, of that batch only.
    assert_eq!(failed, 2 * chosen.len() - 1);
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    let people = report
        .objects
        .iter()
        .find(|o| o.object == "person")
        .unwrap();
    assert_eq!(people.rejected, 25, "{}", report.render_text());

    // The rejects file holds the batch's people with the target's message and the field it
    // names; any other line is a record that points at one of them, and says so.
    let lines: Vec<Value> = std::fs::read_to_string(w.rejects_path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, report.rejected());
    let rejected: BTreeSet<String> = lines
        .iter()
        .map(|l| l["record"]["id"].as_str().unwrap().to_owned())
        .collect();
    let mut rejected_people = BTreeSet::new();
    for l in &lines {
        let message = l["message"].as_str().unwrap();
        if l["object"] == "person" {
            assert_eq!(message, r#"Invalid value for field "jobTitle""#);
            assert_eq!(l["field"], "jobTitle");
            rejected_people.insert(l["record"]["id"].as_str().unwrap().to_owned());
        } else {
            // A cascade: a person of the batch, or a record that itself pointed at one.
            assert!(message.contains("which was rejected"), "{l}");
            assert!(
                rejected.iter().any(|id| message.contains(id.as_str())),
                "{l}"
            );
        }
    }
    assert_eq!(rejected_people, chosen);

    // The twin has every other person and none of the batch's.
    let landed = read_back(&target, "people").await;
    assert_eq!(landed.len() as u64, people.written);
    assert!(chosen.iter().all(|id| !landed.contains_key(id)));

    // Read back through the same seam, the only differences are the rejected records.
    let check = pipeline::verify::verify(&opts, &refusing, 100)
        .await
        .expect("verify");
    let missing: BTreeSet<String> = check.differences.iter().map(|d| d.id.to_string()).collect();
    assert_eq!(missing, rejected, "{}", check.render_text());
    assert!(check
        .differences
        .iter()
        .all(|d| d.field == "missing record"));
}

#[tokio::test]
async fn a_destination_down_for_a_while_is_waited_out_and_every_record_lands() {
    let w = world(400).await;
    let twin = twin(w.members(), 200).await;
    let target = quick_target(twin.base_url());
    let mut opts = w.options();
    opts.batch_size = BatchSize::Fixed(25);
    let down = FailsOneBatch::new(target.clone(), "people", 2, || TargetError::Transient {
        reason: "HTTP 503: upstream connect error".to_owned(),
    })
    .limit(3);

    let report = pipeline::migrate(&opts, &down)
        .await
        .expect("an outage shorter than --max-outage does not stop the run");

    let (chosen, failed) = down.outcome();
    assert_eq!(chosen.len(), 25);
    // The same batch, sent again whole after each pause: never split, never rejected.
    assert_eq!(failed, 3);
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    let landed = read_back(&target, "people").await;
    assert!(chosen.iter().all(|id| landed.contains_key(id)));
    let people = report
        .objects
        .iter()
        .find(|o| o.object == "person")
        .unwrap();
    assert_eq!(landed.len() as u64, people.written);
}

/// A refusal that names no field (Twenty's message for a malformed id).
fn refused_naming_no_field() -> TargetError {
    TargetError::Rejected {
        status: 400,
        messages: vec!["Invalid UUID".to_owned()],
        code: Some("INVALID_ARGS_DATA".to_owned()),
    }
}

#[tokio::test]
async fn a_refused_link_upsert_leaves_the_record_created_and_names_only_the_reference() {
    let w = world(150).await;
    // person.favoritePet closes a cycle with pet.owner: written by the links pass.
    crate::schema_sync::add_standard_to_custom_relation(&w.client, &w.spec).await;
    let twin = twin(w.members(), 200).await;
    let t = quick_target(twin.base_url());
    let opts = pipeline::MigrateOptions {
        restart: false,
        ..w.options()
    };
    // The first batch of people's links ({id, favoritePetId, updatedAt}) is refused, each time.
    let refusing = FailsOneBatch::new(t.clone(), "people", 1, refused_naming_no_field)
        .only(|r| r.get("favoritePetId").is_some());
    let report = pipeline::migrate(&opts, &refusing)
        .await
        .expect("a refused link does not stop the run");
    let (chosen, failed) = refusing.outcome();
    assert!(!chosen.is_empty() && failed > 0, "{failed} refusals");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());

    // Each person of that batch exists, without its pet; its line names only the reference.
    let people = read_back(&t, "people").await;
    for id in &chosen {
        assert!(people[id]["favoritePetId"].is_null(), "{id}");
    }
    let lines: Vec<Value> = std::fs::read_to_string(w.rejects_path())
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named: BTreeSet<String> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["object"], "person", "{l}");
            assert_eq!(l["field"], "favoritePetId", "{l}");
            assert!(
                l["message"].as_str().unwrap().contains("the record exists"),
                "{l}"
            );
            l["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(named, chosen);
    let notes = report
        .not_kept
        .iter()
        .filter(|n| n.contains("favoritePetId not written"))
        .count();
    assert_eq!(notes, chosen.len(), "{:#?}", report.not_kept);

    // Not marked rejected: the next run, against a target that takes them, writes the links.
    let again = pipeline::migrate(&opts, &t).await.expect("the next run");
    assert_eq!(again.rejected(), 0, "{}", again.render_text());
    let people = read_back(&t, "people").await;
    let s = w.schema();
    for id in &chosen {
        let pet: Uuid = w
            .client
            .query_one(
                &format!("SELECT \"favoritePetId\" FROM \"{s}\".person WHERE id = $1"),
                &[&id.parse::<Uuid>().unwrap()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            people[id]["favoritePetId"].as_str(),
            Some(pet.to_string().as_str()),
            "{id}"
        );
    }
}
