//! Pre-flight: the checks `plan` prints and `migrate` runs before its first write (the data
//! model sync). Each check ends passed, failed or informational, in one sentence; any failed
//! check stops the run with [`MigrateError::Blocked`] (exit code 2), nothing written.
//!
//! What Twenty 2.21 lets an API key see, found on a real 2.21 server and in its source:
//! - the key's own id is its JWT `jti` (`api-key.service.ts`, `generateApiKeyToken`), and
//!   `getRoles` lists each role's `apiKeys`, so a key with the Roles permission reads its own
//!   role and object permissions;
//! - no record or storage limit is announced (`/client-config` has `billing.isBillingEnabled`
//!   and trial periods only; the billing entitlements are booleans: SSO, custom domain…);
//! - no rate limit is announced on a successful answer (no `X-RateLimit-*` headers), only
//!   in a 429's body;
//! - the metadata schema's `FieldMetadataType` enum lists the field types it takes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::discover::{fingerprint, Prepared};
use super::{target_err, DeletedPolicy, MigrateError, MigrateOptions};
use crate::destination::{Destination, FindMany};
use crate::plan::{human_duration, DropRule};
use crate::state::Ledger;

/// Records per page when reading the target's ids (Twenty's `QUERY_MAX_RECORDS`).
const ID_PAGE: u32 = 200;
/// Colliding ids named per object in the sentence.
const EXAMPLES: usize = 3;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Passed,
    /// The run cannot start.
    Failed,
    /// Something to know that does not stop the run.
    Info,
}

/// One check and its sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `key`, `limits`, `field-types`, `rate`, `ids`.
    pub name: &'static str,
    /// How it ended.
    pub status: Status,
    /// One sentence.
    pub sentence: String,
}

/// Every check of one pre-flight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Preflight {
    fn push(&mut self, name: &'static str, status: Status, sentence: impl Into<String>) {
        self.checks.push(Check {
            name,
            status,
            sentence: sentence.into(),
        });
    }

    /// The sentences of the failed checks.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Failed)
            .map(|c| c.sentence.clone())
            .collect()
    }

    /// `Ok` when no check failed, else [`MigrateError::Blocked`] with one line per failure.
    pub fn ensure_passed(&self) -> Result<(), MigrateError> {
        let failures = self.failures();
        match failures.is_empty() {
            true => Ok(()),
            false => Err(MigrateError::Blocked(failures)),
        }
    }

    /// One line per check.
    pub fn render_text(&self) -> String {
        let mut out = String::from("pre-flight\n");
        for c in &self.checks {
            let mark = match c.status {
                Status::Passed => "passed",
                Status::Failed => "FAILED",
                Status::Info => "info  ",
            };
            out.push_str(&format!("  {mark} {:<12} {}\n", c.name, c.sentence));
        }
        out
    }
}

/// Runs every check against the prepared plan. Reads only: the target's roles, its field
/// types, and the ids it already holds for the planned objects; the source's matching ids.
pub async fn run<D: Destination>(
    opts: &MigrateOptions,
    prepared: &Prepared,
    target: &D,
) -> Result<Preflight, MigrateError> {
    let mut out = Preflight::default();
    key_and_role(opts, prepared, target, &mut out).await;
    // A ledger holding a complete pass of this run makes this run a delta: it sends only what
    // changed, not what the plan counts.
    let delta = Ledger::holds_run(&opts.state_path, &fingerprint(opts, prepared, target))
        && Ledger::holds_completed_pass(&opts.state_path);
    limits(opts, prepared, delta, &mut out);
    field_types(prepared, target, &mut out).await;
    rate(prepared, target, delta, &mut out);
    ids(opts, prepared, target, &mut out).await?;
    Ok(out)
}

/// The role as `getRoles` shows it, reduced to what a migration needs.
struct KeyRole {
    label: String,
    settings: bool,
    flags: BTreeSet<String>,
    read: bool,
    update: bool,
    soft_delete: bool,
    /// Object metadata id → (read, update, soft-delete), null meaning "as the role".
    objects: BTreeMap<String, [Option<bool>; 3]>,
}

impl KeyRole {
    fn parse(role: &Value) -> Self {
        let flag = |k: &str| role[k].as_bool().unwrap_or(false);
        Self {
            label: role["label"].as_str().unwrap_or("?").to_owned(),
            settings: flag("canUpdateAllSettings"),
            flags: role["permissionFlags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["flag"].as_str().map(str::to_owned))
                .collect(),
            read: flag("canReadAllObjectRecords"),
            update: flag("canUpdateAllObjectRecords"),
            soft_delete: flag("canSoftDeleteAllObjectRecords"),
            objects: role["objectPermissions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let get = |k: &str| p[k].as_bool();
                    Some((
                        p["objectMetadataId"].as_str()?.to_owned(),
                        [
                            get("canReadObjectRecords"),
                            get("canUpdateObjectRecords"),
                            get("canSoftDeleteObjectRecords"),
                        ],
                    ))
                })
                .collect(),
        }
    }

    /// A settings permission: `canUpdateAllSettings` or the flag
    /// (`permissions.service.ts`, `checkRolePermissions`).
    fn has_setting(&self, flag: &str) -> bool {
        self.settings || self.flags.contains(flag)
    }

    /// (read, create and update, soft-delete) on one object: its object permission where set,
    /// else the role's (`permissions.utils.ts`, insert and update both need
    /// `canUpdateObjectRecords`).
    fn on_object(&self, object_id: &str) -> [bool; 3] {
        let own = self.objects.get(object_id).copied().unwrap_or([None; 3]);
        [
            own[0].unwrap_or(self.read),
            own[1].unwrap_or(self.update),
            own[2].unwrap_or(self.soft_delete),
        ]
    }
}

const ROLES_QUERY: &str = "query PreflightRoles { getRoles { id label canUpdateAllSettings \
    canReadAllObjectRecords canUpdateAllObjectRecords canSoftDeleteAllObjectRecords \
    permissionFlags { flag } objectPermissions { objectMetadataId canReadObjectRecords \
    canUpdateObjectRecords canSoftDeleteObjectRecords } apiKeys { id } } }";

/// The key works (the model was read with it) and its role can do what the run does.
async fn key_and_role<D: Destination>(
    opts: &MigrateOptions,
    prepared: &Prepared,
    target: &D,
    out: &mut Preflight,
) {
    let roles = match target.metadata_graphql(ROLES_QUERY, json!({})).await {
        Ok(data) => data["getRoles"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            out.push(
                "key",
                Status::Info,
                format!(
                    "the API key works, but its role cannot be read ({e}): its permissions will show at the first write"
                ),
            );
            return;
        }
    };
    let lists = |r: &&Value, id: Uuid| {
        r["apiKeys"].as_array().is_some_and(|keys| {
            keys.iter()
                .any(|k| k["id"].as_str() == Some(&id.to_string()))
        })
    };
    let role = match target.api_key_id() {
        Some(id) => roles.iter().find(|r| lists(r, id)),
        // A key that does not carry its id: the one key the roles list, if only one.
        None => {
            let with_keys: Vec<&Value> = roles
                .iter()
                .filter(|r| r["apiKeys"].as_array().is_some_and(|k| k.len() == 1))
                .collect();
            let total: usize = roles
                .iter()
                .map(|r| r["apiKeys"].as_array().map_or(0, Vec::len))
                .sum();
            (with_keys.len() == 1 && total == 1).then(|| with_keys[0])
        }
    };
    let Some(role) = role.map(KeyRole::parse) else {
        out.push(
            "key",
            Status::Info,
            "the API key works, but no role lists it: its permissions will show at the first write",
        );
        return;
    };
    let mut missing = Vec::new();
    let mut cannot = |what: &str, objects: Vec<&str>| {
        if !objects.is_empty() {
            missing.push(format!("{what} {}", objects.join(", ")));
        }
    };
    let planned: Vec<(&str, String)> = prepared
        .plan
        .objects
        .iter()
        .map(|p| {
            let id = prepared
                .target_read
                .object(&p.object)
                .map(|o| o.id.to_string())
                .unwrap_or_default();
            (p.object.as_str(), id)
        })
        .collect();
    let by = |i: usize| -> Vec<&str> {
        planned
            .iter()
            .filter(|(_, id)| !role.on_object(id)[i])
            .map(|(o, _)| *o)
            .collect()
    };
    cannot("read records of", by(0));
    cannot("create or update records of", by(1));
    let soft_deletes =
        opts.deleted == DeletedPolicy::Keep && prepared.plan.objects.iter().any(|p| p.deleted > 0);
    if soft_deletes {
        let deleted: Vec<&str> = by(2)
            .into_iter()
            .filter(|o| {
                prepared
                    .plan
                    .objects
                    .iter()
                    .any(|p| p.object == *o && p.deleted > 0)
            })
            .collect();
        cannot("delete records of", deleted);
    }
    if prepared.schema.has_changes() && !role.has_setting("DATA_MODEL") {
        missing.push("change the data model (permission Data model)".into());
    }
    let files = prepared.plan.estimate.files > 0 || !prepared.member_pictures.is_empty();
    if files && !role.has_setting("UPLOAD_FILE") {
        missing.push("upload files (permission Upload file)".into());
    }
    if missing.is_empty() {
        out.push(
            "key",
            Status::Passed,
            format!(
                "the API key works and its role {} can read the data model, write and delete every planned object's records and upload files",
                role.label
            ),
        );
    } else {
        out.push(
            "key",
            Status::Failed,
            format!(
                "the API key's role {} cannot {}: give the key a role that can (e.g. Admin) in Settings → APIs & Webhooks",
                role.label,
                missing.join("; cannot ")
            ),
        );
    }
}

/// Record and storage limits: Twenty announces none to an API key (see the module docs), so
/// the limit is the one the operator states (`--target-record-limit`, the plan's), checked
/// against the records a first pass writes; a delta writes fewer.
fn limits(opts: &MigrateOptions, prepared: &Prepared, delta: bool, out: &mut Preflight) {
    let e = &prepared.plan.estimate;
    match opts.target_record_limit {
        Some(limit) if !delta && e.records > limit => out.push(
            "limits",
            Status::Failed,
            format!(
                "the run writes {} records, more than the target's limit of {limit} (--target-record-limit): raise the target's plan, or leave objects out of the migration",
                e.records
            ),
        ),
        Some(limit) => out.push(
            "limits",
            Status::Passed,
            format!(
                "the run writes {}{} records, within the target's limit of {limit} (--target-record-limit), and {} files",
                if delta { "at most " } else { "" },
                e.records,
                e.files
            ),
        ),
        None => out.push(
            "limits",
            Status::Info,
            format!(
                "the target announces no record or storage limit; the run writes {}{} records and {} files (their bytes are counted as they move; --target-record-limit checks the plan's limit)",
                if delta { "at most " } else { "" },
                e.records,
                e.files
            ),
        ),
    }
}

const TYPES_QUERY: &str =
    "query PreflightFieldTypes { __type(name: \"FieldMetadataType\") { enumValues { name } } }";

/// Field types: the fields the data model sync would create with a type the target's
/// `FieldMetadataType` lacks (the sync would be refused half-way), and, in one sentence, the
/// fields the plan already leaves out for a type mismatch (rule `type-mismatch`).
async fn field_types<D: Destination>(prepared: &Prepared, target: &D, out: &mut Preflight) {
    let mismatched: Vec<String> = prepared
        .plan
        .objects
        .iter()
        .flat_map(|p| {
            p.dropped
                .iter()
                .filter(|d| d.rule == DropRule::TypeMismatch)
                .map(move |d| format!("{}.{}", p.object, d.field))
        })
        .collect();
    if !mismatched.is_empty() {
        out.push(
            "field-types",
            Status::Info,
            format!(
                "{} field(s) are not written because the target's field of the same name has another type (rule type-mismatch): {}",
                mismatched.len(),
                mismatched.join(", ")
            ),
        );
    }
    let known: BTreeSet<String> = match target.metadata_graphql(TYPES_QUERY, json!({})).await {
        Ok(data) => data["__type"]["enumValues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    if known.is_empty() {
        out.push(
            "field-types",
            Status::Info,
            "the target does not say which field types it has: a field it lacks would be refused by the data model sync",
        );
        return;
    }
    let lacking: Vec<String> = prepared
        .schema
        .fields
        .iter()
        .filter(|f| !known.contains(f.field_type.api_name()))
        .map(|f| format!("{}.{} ({})", f.object, f.name, f.field_type.api_name()))
        .collect();
    if lacking.is_empty() {
        out.push(
            "field-types",
            Status::Passed,
            "the target's version has every field type the data model sync creates",
        );
    } else {
        out.push(
            "field-types",
            Status::Failed,
            format!(
                "the target's version has no field type for {}: it would refuse to create these fields (its FieldMetadataType lists no such type); deactivate them in the source or upgrade the target",
                lacking.join(", ")
            ),
        );
    }
}

/// The rate the run keeps and the time it gives: Twenty announces no limit on a successful
/// answer, so the configured rate is the one used, and what the first calls met (429s) is
/// said; 429s slow the run down as they come.
fn rate<D: Destination>(prepared: &Prepared, target: &D, delta: bool, out: &mut Preflight) {
    let e = &prepared.plan.estimate;
    let seen = target.stats();
    let measured = match seen.rate_limited {
        0 => format!(
            "none of its first {} calls was refused for it",
            seen.requests
        ),
        n => format!(
            "{n} of its first {} calls were refused for it (429): expect the run to take longer",
            seen.requests
        ),
    };
    let requests = e.record_requests + e.deferred_requests + e.file_requests;
    let finish = chrono::Utc::now() + chrono::Duration::seconds(e.seconds.round() as i64);
    out.push(
        "rate",
        Status::Info,
        format!(
            "the target announces no rate limit and {measured}; at {} requests/minute the {} planned requests take about {} (done around {} UTC)",
            e.requests_per_minute,
            requests,
            human_duration(e.seconds),
            finish.format("%H:%M")
        ),
    );
    if delta {
        out.push(
            "rate",
            Status::Info,
            "the ledger holds a complete pass of this migration: this run is a delta and sends only what changed since, far fewer requests than planned above (`plan --delta` counts them)",
        );
    }
}

/// Ids the run writes that the target already holds: on a first run (no ledger of this
/// run) they are other records, which an upsert would overwrite.
async fn ids<D: Destination>(
    opts: &MigrateOptions,
    prepared: &Prepared,
    target: &D,
    out: &mut Preflight,
) -> Result<(), MigrateError> {
    if Ledger::holds_run(&opts.state_path, &fingerprint(opts, prepared, target)) {
        out.push(
            "ids",
            Status::Info,
            format!(
                "the ledger {} holds this run: records of the source already in the target are its own",
                opts.state_path.display()
            ),
        );
        return Ok(());
    }
    let mut found: Vec<(String, Vec<Uuid>, usize)> = Vec::new();
    for p in &prepared.plan.objects {
        // An object the data model sync has yet to create holds nothing.
        if prepared.target_read.object(&p.object).is_none() {
            continue;
        }
        let Some(object) = prepared.model.object(&p.object) else {
            continue;
        };
        let context = || format!("reading the ids the target holds for {}", p.target_plural);
        let mut query = FindMany {
            limit: Some(ID_PAGE),
            ..FindMany::default()
        };
        let mut examples = Vec::new();
        let mut count = 0;
        loop {
            let page = target
                .find_many(&p.target_plural, &query)
                .await
                .map_err(target_err(context()))?;
            let ids: Vec<Uuid> = page
                .records
                .iter()
                .filter_map(|r| r["id"].as_str()?.parse().ok())
                .collect();
            let taken = crate::source::counts::existing_ids(
                prepared.source.client(),
                &prepared.workspace.schema,
                object,
                &ids,
            )
            .await?;
            count += taken.len();
            let room = EXAMPLES.saturating_sub(examples.len());
            examples.extend(taken.into_iter().take(room));
            match (page.has_next_page, page.end_cursor) {
                (true, Some(cursor)) if !page.records.is_empty() => {
                    query.starting_after = Some(cursor)
                }
                _ => break,
            }
        }
        if count > 0 {
            found.push((p.object.clone(), examples, count));
        }
    }
    if found.is_empty() {
        out.push(
            "ids",
            Status::Passed,
            "no record of the target has an id the run writes",
        );
        return Ok(());
    }
    let total: usize = found.iter().map(|(_, _, n)| n).sum();
    let detail = found
        .iter()
        .map(|(o, ex, n)| {
            let ex: Vec<String> = ex.iter().map(Uuid::to_string).collect();
            format!("{o}: {n}, e.g. {}", ex.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    out.push(
        "ids",
        Status::Failed,
        format!(
            "the target already holds {total} record(s) with ids of source records ({detail}) and no ledger of this run says this tool wrote them: the run would overwrite them; migrate into an empty workspace, or pass the ledger of the run that wrote them (--state)"
        ),
    );
    Ok(())
}
