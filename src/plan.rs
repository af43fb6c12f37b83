//! The migration plan: which objects move and in what order, how each field maps onto the
//! target, how members map by email, which references wait for a second pass, and what the
//! run will cost in requests and time. Pure: it reads two models and some counts, no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use uuid::Uuid;

use crate::model::{Field, FieldType, Model, Object, RelationKind};
use crate::transform::{MemberTarget, Reference};

/// An object the plan does not move, and the named rule that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedObject {
    /// `nameSingular`.
    pub object: String,
    /// The rule's name (stable, for scripts).
    pub rule: &'static str,
    /// Why, in a sentence.
    pub reason: String,
    /// Rows in the source (live + soft-deleted), all of which count as skipped.
    pub rows: u64,
}

/// Objects that must not move or that Twenty rebuilds, with the rule that skips them.
///
/// - messaging/calendar infrastructure re-syncs from the connected accounts and carries OAuth
///   tokens (`source-schema.md` §9; Twenty's export FAQ, PR twentyhq/twenty#23266);
/// - workflows: `workflowVersion.createOne` is blocked
///   (`modules/workflow/common/query-hooks/workflow-version-create-one.pre-query.hook.ts`);
/// - workspace members are created by sign-up only
///   (`modules/workspace-member/query-hooks/workspace-member-create-one.pre-query.hook.ts`).
const SKIP_RULES: &[(&str, &str, &str)] = &[
    ("workspaceMember", "members-by-email", "members cannot be created through the API; references are mapped to the target's members by email"),
    ("connectedAccount", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target (and carries OAuth tokens)"),
    ("message", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageThread", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageParticipant", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageChannel", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageChannelMessageAssociation", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageChannelMessageAssociationMessageFolder", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageFolder", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("messageThreadTarget", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarEvent", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarEventParticipant", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarChannel", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarChannelEventAssociation", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("calendarEventTarget", "resynced-messaging", "messaging and calendar data re-syncs from the connected accounts in the target"),
    ("callRecording", "resynced-messaging", "call recordings belong to the connected meeting integration"),
    ("blocklist", "resynced-messaging", "the blocklist is per-member messaging settings"),
    ("workflow", "workflows-manual", "workflows cannot be recreated through the record API (Twenty migrates them manually)"),
    ("workflowVersion", "workflows-manual", "workflow versions cannot be created through the API"),
    ("workflowRun", "workflows-manual", "workflow runs are execution history and cannot be created through the API"),
    ("workflowAutomatedTrigger", "workflows-manual", "triggers are created by the target when a workflow is activated"),
    ("timelineActivity", "regenerated-history", "timeline events are written by the target itself"),
    ("auditLog", "regenerated-history", "audit logs are written by the target itself"),
    ("favorite", "personal-navigation", "favorites are personal navigation state (replaced by navigation menu items in 2.7)"),
    ("favoriteFolder", "personal-navigation", "favorites are personal navigation state (replaced by navigation menu items in 2.7)"),
    ("dashboard", "dashboards-manual", "dashboards depend on page layouts that the API does not migrate"),
    ("view", "views-not-records", "views are workspace configuration, not records"),
    ("viewField", "views-not-records", "views are workspace configuration, not records"),
    ("viewFilter", "views-not-records", "views are workspace configuration, not records"),
    ("viewFilterGroup", "views-not-records", "views are workspace configuration, not records"),
    ("viewSort", "views-not-records", "views are workspace configuration, not records"),
    ("viewGroup", "views-not-records", "views are workspace configuration, not records"),
];

/// The rule that skips every record of `object`, if one does.
pub fn skip_rule(object: &str) -> Option<&'static str> {
    SKIP_RULES
        .iter()
        .find(|(o, _, _)| *o == object)
        .map(|(_, rule, _)| *rule)
}

/// What to do with references to source members that have no target member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum UnmatchedMembers {
    /// Stop at plan time (the default).
    Stop,
    /// Write null references; actor fields keep the original name.
    Null,
    /// Actor fields keep the original name only; other references become null.
    ActorNameOnly,
    /// Point every unmatched reference at this target member (given by email).
    Member(String),
}

impl std::str::FromStr for UnmatchedMembers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stop" => Ok(Self::Stop),
            "null" => Ok(Self::Null),
            "ACTOR_NAME_ONLY" => Ok(Self::ActorNameOnly),
            email if email.contains('@') => Ok(Self::Member(email.to_owned())),
            other => Err(format!(
                "--unmatched-members takes null, ACTOR_NAME_ONLY or the email of a target member, not {other:?}"
            )),
        }
    }
}

/// A member of either side, for matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Member id on its side.
    pub id: Uuid,
    /// Email as stored.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
}

/// One source member and where its references go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberMatch {
    /// The source member.
    pub source: Member,
    /// The target member with the same email (case-insensitive), if any.
    pub target: Option<Uuid>,
    /// Records that reference this member (owner, assignee, createdBy, …).
    pub references: u64,
}

/// One source field and its key in the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDecision {
    /// Source field name.
    pub source: String,
    /// API key in the target body (field name, or join column for relations).
    pub key: String,
    /// Reference rewriting.
    pub reference: Reference,
    /// Written in the second pass (breaks a cycle or a self-reference).
    pub deferred: bool,
    /// The target enforces uniqueness on it (an upsert matches on it).
    pub unique: bool,
    /// Left out of the body when empty: the target is a NOT NULL TEXT field, and Twenty
    /// turns an empty string into null before it writes (`transform-text-field.util.ts`,
    /// `is-null-equivalent-text-field-value.util.ts`), which the column then refuses; left
    /// out, the column's default (`''`) applies.
    #[serde(default)]
    pub omit_empty: bool,
}

/// A source field the plan does not write, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedField {
    /// Source field name.
    pub field: String,
    /// Why, in a sentence.
    pub reason: String,
    /// The named rule; `verify` compares the field anyway and reports the values it loses.
    pub rule: DropRule,
}

/// Why a source field is not written, as a name that the plan, report and `verify` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropRule {
    /// Its content moves another way (an attachment's storage path moves as the file).
    MovedAsFile,
    /// A pre-0.42 single-column `body` whose content the source also holds in `bodyV2`, which
    /// moves (`0-42-migrate-rich-text-field.command.ts` filled `bodyV2` from it).
    Superseded,
    /// The target's object has no field of that name.
    MissingInTarget,
    /// The target's field of that name has another type.
    TypeMismatch,
    /// A relation to an object that is not migrated.
    TargetNotMigrated,
}

impl DropRule {
    /// The rule's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::MovedAsFile => "moved-as-file",
            Self::Superseded => "superseded-by-body-v2",
            Self::MissingInTarget => "missing-in-target",
            Self::TypeMismatch => "type-mismatch",
            Self::TargetNotMigrated => "target-not-migrated",
        }
    }

    /// Whether the values of such a field are lost (and `verify` must say so).
    pub fn loses_values(self) -> bool {
        !matches!(self, Self::MovedAsFile | Self::Superseded)
    }
}

/// One object to migrate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectPlan {
    /// Source `nameSingular` (also the target's).
    pub object: String,
    /// The target's `namePlural` (REST path).
    pub target_plural: String,
    /// Mapped fields.
    pub fields: Vec<FieldDecision>,
    /// Fields not written, with reasons.
    pub dropped: Vec<DroppedField>,
    /// Live source rows.
    pub live: u64,
    /// Soft-deleted source rows.
    pub deleted: u64,
    /// Requests for the records at the batch cap.
    pub requests: u64,
}

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

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Objects to migrate, in dependency order.
    pub objects: Vec<ObjectPlan>,
    /// Objects not migrated.
    pub skipped: Vec<SkippedObject>,
    /// Member mapping.
    pub members: Vec<MemberMatch>,
    /// Reasons the run cannot start; empty when it can.
    pub blockers: Vec<String>,
    /// Cost.
    pub estimate: Estimate,
}

impl Plan {
    /// The member map the transform uses.
    pub fn member_map(
        &self,
        policy: &UnmatchedMembers,
        target_members: &[Member],
    ) -> crate::transform::MemberMap {
        let fallback = match policy {
            UnmatchedMembers::Member(email) => target_members
                .iter()
                .find(|m| {
                    m.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
                .map(|m| m.id),
            _ => None,
        };
        let members = self
            .members
            .iter()
            .map(|m| {
                let target = match (m.target, fallback) {
                    (Some(t), _) => MemberTarget::Member(t),
                    (None, Some(f)) => MemberTarget::Member(f),
                    (None, None) => MemberTarget::Unmatched,
                };
                (m.source.id, target)
            })
            .collect();
        crate::transform::MemberMap { members }
    }
}

impl Plan {
    /// The plan as text: order, mapping, members, skips, estimate and blockers.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "objects to migrate, in order");
        let _ = writeln!(
            out,
            "  {:<4} {:<28} {:<28} {:>9} {:>9} {:>9}",
            "#", "object", "target path", "live", "deleted", "requests"
        );
        for (i, o) in self.objects.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:<4} {:<28} {:<28} {:>9} {:>9} {:>9}",
                i + 1,
                o.object,
                format!("/rest/batch/{}", o.target_plural),
                o.live,
                o.deleted,
                o.requests
            );
        }
        let _ = writeln!(out, "\nfield mapping");
        for o in &self.objects {
            let mapped = o
                .fields
                .iter()
                .map(|f| {
                    let mut s = if f.source == f.key {
                        f.key.clone()
                    } else {
                        format!("{}→{}", f.source, f.key)
                    };
                    if f.reference == Reference::Member {
                        s.push_str(" (member)");
                    }
                    if f.deferred {
                        s.push_str(" (second pass)");
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "  {}: {mapped}", o.object);
            for d in &o.dropped {
                let _ = writeln!(
                    out,
                    "    not written: {}: [{}] {}",
                    d.field,
                    d.rule.name(),
                    d.reason
                );
            }
        }
        let deferred: Vec<String> = self
            .objects
            .iter()
            .flat_map(|o| {
                o.fields
                    .iter()
                    .filter(|f| f.deferred)
                    .map(move |f| format!("{}.{}", o.object, f.key))
            })
            .collect();
        if !deferred.is_empty() {
            let _ = writeln!(
                out,
                "\ndeferred references (second pass): {}",
                deferred.join(", ")
            );
        }
        let _ = writeln!(out, "\nmembers (by email)");
        for m in &self.members {
            let _ = writeln!(
                out,
                "  {:<30} {:<36} {:>6} refs  {}",
                m.source.name,
                m.source.email.as_deref().unwrap_or("(no email)"),
                m.references,
                match m.target {
                    Some(t) => format!("→ {t}"),
                    None => "NO TARGET MEMBER".to_owned(),
                }
            );
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(out, "\nobjects not migrated");
            for s in &self.skipped {
                let _ = writeln!(
                    out,
                    "  {:<28} {:>9} rows  [{}] {}",
                    s.object, s.rows, s.rule, s.reason
                );
            }
        }
        let e = &self.estimate;
        let _ = writeln!(
            out,
            "\nestimate: {} records in {} requests (+ up to {} for deferred references, + up to {} for {} attachment files) at {} per batch and {} requests/min: about {}",
            e.records,
            e.record_requests,
            e.deferred_requests,
            e.file_requests,
            e.files,
            e.batch_size,
            e.requests_per_minute,
            human_duration(e.seconds)
        );
        if !self.blockers.is_empty() {
            let _ = writeln!(out, "\nthe migration cannot start:");
            for b in &self.blockers {
                let _ = writeln!(out, "  - {b}");
            }
        }
        out
    }
}

/// `3 h 12 min`, `4 min 05 s`, `12 s`.
fn human_duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// What the planner needs besides the two models.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The source model.
    pub source: &'a Model,
    /// The target model (fields without columns).
    pub target: &'a Model,
    /// (live, soft-deleted) rows per source object.
    pub counts: &'a HashMap<String, (u64, u64)>,
    /// Source members.
    pub source_members: &'a [Member],
    /// Target members.
    pub target_members: &'a [Member],
    /// References per source member id.
    pub member_references: &'a HashMap<Uuid, u64>,
    /// Unmatched-member policy.
    pub unmatched: &'a UnmatchedMembers,
    /// Whether soft-deleted rows are migrated.
    pub keep_deleted: bool,
    /// Records per request.
    pub batch_size: usize,
    /// Requests per minute.
    pub requests_per_minute: u32,
}

/// Builds the plan.
pub fn build(input: &PlanInput<'_>) -> Plan {
    let mut skipped = Vec::new();
    let mut chosen: Vec<&Object> = Vec::new();
    let rows = |o: &str| {
        let (l, d) = input.counts.get(o).copied().unwrap_or((0, 0));
        l + d
    };
    for object in &input.source.objects {
        let name = object.name_singular.as_str();
        let skip = |rule: &'static str, reason: String| SkippedObject {
            object: name.to_owned(),
            rule,
            reason,
            rows: rows(name),
        };
        if let Some((_, rule, reason)) = SKIP_RULES.iter().find(|(o, _, _)| *o == name) {
            skipped.push(skip(rule, (*reason).to_owned()));
        } else if object.is_remote {
            skipped.push(skip(
                "remote",
                "remote (foreign-table) objects hold no data of their own".into(),
            ));
        } else if !object.table_exists {
            skipped.push(skip(
                "no-table",
                format!("the source has no table {}", object.table),
            ));
        } else if !object.is_active {
            skipped.push(skip(
                "inactive",
                "the object is inactive in the source".into(),
            ));
        } else if input.target.object(name).is_none() {
            skipped.push(skip(
                "missing-in-target",
                "the target has no such object (the data model sync creates custom objects unless --no-schema is given)".into(),
            ));
        } else {
            chosen.push(object);
        }
    }
    let chosen_names: BTreeSet<&str> = chosen.iter().map(|o| o.name_singular.as_str()).collect();

    // Field decisions.
    let mut plans: BTreeMap<String, ObjectPlan> = BTreeMap::new();
    let mut edges: Vec<(String, String, String, bool)> = Vec::new(); // (from, to, key, nullable)
    for object in &chosen {
        let target = input
            .target
            .object(&object.name_singular)
            .expect("chosen objects exist in the target");
        let mut fields = Vec::new();
        let mut dropped = Vec::new();
        for field in &object.fields {
            match decide_field(object, field, target, &chosen_names) {
                FieldOutcome::Write(decision, edge_to) => {
                    if let Some(to) = edge_to {
                        edges.push((
                            object.name_singular.clone(),
                            to,
                            decision.key.clone(),
                            field.is_nullable,
                        ));
                    }
                    fields.push(decision);
                }
                FieldOutcome::Drop(rule, reason) => dropped.push(DroppedField {
                    field: field.name.clone(),
                    reason,
                    rule,
                }),
                FieldOutcome::Silent => {}
            }
        }
        let (live, deleted) = input
            .counts
            .get(&object.name_singular)
            .copied()
            .unwrap_or((0, 0));
        let records = live + if input.keep_deleted { deleted } else { 0 };
        plans.insert(
            object.name_singular.clone(),
            ObjectPlan {
                object: object.name_singular.clone(),
                target_plural: target.name_plural.clone(),
                fields,
                dropped,
                live,
                deleted,
                requests: records.div_ceil(input.batch_size.max(1) as u64),
            },
        );
    }

    // Order by MANY_TO_ONE dependencies; defer self-references and the edges that close cycles.
    let (order, deferred) = order_objects(&chosen_names, &edges);
    for (object, key) in &deferred {
        if let Some(p) = plans.get_mut(object) {
            for f in p.fields.iter_mut().filter(|f| &f.key == key) {
                f.deferred = true;
            }
        }
    }
    let mut blockers = Vec::new();
    for (from, to, key, nullable) in &edges {
        if !nullable && deferred.contains(&(from.clone(), key.clone())) {
            blockers.push(format!(
                "{from}.{key} is a required reference to {to} inside a cycle; it cannot be written in a second pass"
            ));
        }
    }
    let objects: Vec<ObjectPlan> = order.iter().filter_map(|o| plans.remove(o)).collect();

    // Members by email, case-insensitive.
    let by_email: HashMap<String, Uuid> = input
        .target_members
        .iter()
        .filter_map(|m| Some((m.email.as_deref()?.trim().to_lowercase(), m.id)))
        .collect();
    let members: Vec<MemberMatch> = input
        .source_members
        .iter()
        .map(|m| MemberMatch {
            source: m.clone(),
            target: m
                .email
                .as_deref()
                .and_then(|e| by_email.get(&e.trim().to_lowercase()).copied()),
            references: input.member_references.get(&m.id).copied().unwrap_or(0),
        })
        .collect();
    let unmatched: Vec<&MemberMatch> = members.iter().filter(|m| m.target.is_none()).collect();
    match input.unmatched {
        UnmatchedMembers::Stop if !unmatched.is_empty() => {
            let list = unmatched
                .iter()
                .map(|m| {
                    format!(
                        "{} <{}> ({} references)",
                        m.source.name,
                        m.source.email.as_deref().unwrap_or("no email"),
                        m.references
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            blockers.push(format!(
                "{} source member(s) have no target member with the same email: {list}; invite them in the target, or pass --unmatched-members=null|ACTOR_NAME_ONLY|<email of a target member>",
                unmatched.len()
            ));
        }
        UnmatchedMembers::Member(email) => {
            let found = input.target_members.iter().any(|m| {
                m.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            if !found {
                blockers.push(format!("--unmatched-members names {email}, which is not a member of the target workspace"));
            }
        }
        _ => {}
    }

    let estimate = estimate(
        &objects,
        input.keep_deleted,
        input.batch_size,
        input.requests_per_minute,
    );
    Plan {
        objects,
        skipped,
        members,
        blockers,
        estimate,
    }
}

/// Requests and duration of the planned objects at the rate limit: batches, the second pass,
/// soft-deletions (kept deleted rows) and the attachments' file uploads.
fn estimate(
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
    let total = record_requests + deferred_requests + soft_delete_requests + file_requests;
    Estimate {
        records,
        record_requests,
        deferred_requests,
        files,
        file_requests,
        batch_size,
        requests_per_minute,
        seconds: total as f64 * 60.0 / requests_per_minute.max(1) as f64,
    }
}

enum FieldOutcome {
    /// Write it; the object name of a MANY_TO_ONE dependency, if any.
    Write(FieldDecision, Option<String>),
    Drop(DropRule, String),
    /// Not data (ONE_TO_MANY sides, generated columns, the id).
    Silent,
}

fn decide_field(
    object: &Object,
    field: &Field,
    target: &Object,
    chosen: &BTreeSet<&str>,
) -> FieldOutcome {
    let name = field.name.as_str();
    if name == "id" || name == "deletedAt" || field.field_type == FieldType::TsVector {
        return FieldOutcome::Silent;
    }
    if field
        .relation
        .as_ref()
        .is_some_and(|r| r.kind == RelationKind::OneToMany)
    {
        return FieldOutcome::Silent;
    }
    if field.columns.is_empty() {
        return FieldOutcome::Silent;
    }
    if object.name_singular == "attachment" && name == "fullPath" {
        // A source storage path means nothing in the target: the bytes move through `file`.
        return FieldOutcome::Drop(
            DropRule::MovedAsFile,
            "a path in the source's storage; the file moves through the field file".into(),
        );
    }
    if matches!(object.name_singular.as_str(), "note" | "task")
        && name == "body"
        && object.field("bodyV2").is_some()
        && target.field(name).is_none()
    {
        return FieldOutcome::Drop(
            DropRule::Superseded,
            "the pre-0.42 single-column body; its content moves in bodyV2".into(),
        );
    }
    let Some(tfield) = target.field(name) else {
        return FieldOutcome::Drop(
            DropRule::MissingInTarget,
            format!("the target's {} has no field {name}", object.name_singular),
        );
    };
    if !compatible(&field.field_type, &tfield.field_type) {
        return FieldOutcome::Drop(
            DropRule::TypeMismatch,
            format!(
                "the target's {name} is {} where the source's is {}",
                tfield.field_type.api_name(),
                field.field_type.api_name()
            ),
        );
    }
    match &field.relation {
        Some(rel) => {
            let key = tfield
                .relation
                .as_ref()
                .and_then(|r| r.join_column.clone())
                .unwrap_or_else(|| format!("{name}Id"));
            let decision = |reference| FieldDecision {
                source: name.to_owned(),
                key: key.clone(),
                reference,
                deferred: false,
                unique: false,
                omit_empty: false,
            };
            if rel.target_object == "workspaceMember" {
                FieldOutcome::Write(decision(Reference::Member), None)
            } else if chosen.contains(rel.target_object.as_str()) {
                FieldOutcome::Write(decision(Reference::Record), Some(rel.target_object.clone()))
            } else {
                FieldOutcome::Drop(
                    DropRule::TargetNotMigrated,
                    format!("it points at {}, which is not migrated", rel.target_object),
                )
            }
        }
        None => FieldOutcome::Write(
            FieldDecision {
                source: name.to_owned(),
                key: name.to_owned(),
                reference: Reference::None,
                deferred: false,
                unique: tfield.is_unique,
                omit_empty: tfield.field_type == FieldType::Text && !tfield.is_nullable,
            },
            None,
        ),
    }
}

/// Source and target types that carry the same value.
fn compatible(source: &FieldType, target: &FieldType) -> bool {
    use FieldType::*;
    source == target
        || matches!(
            (source, target),
            (Relation, MorphRelation)
                | (MorphRelation, Relation)
                | (Number, Numeric)
                | (Numeric, Number)
                | (Position, Number)
                | (Number, Position)
        )
}

/// Topological order (dependencies first, ties by name) and the (object, key) references
/// deferred to the second pass: every self-reference, plus one edge per remaining cycle.
fn order_objects(
    objects: &BTreeSet<&str>,
    edges: &[(String, String, String, bool)],
) -> (Vec<String>, BTreeSet<(String, String)>) {
    let mut deferred = BTreeSet::new();
    let mut live: Vec<&(String, String, String, bool)> = Vec::new();
    for e in edges {
        if e.0 == e.1 {
            deferred.insert((e.0.clone(), e.2.clone()));
        } else {
            live.push(e);
        }
    }
    let mut remaining: BTreeSet<String> = objects.iter().map(|s| s.to_string()).collect();
    let mut order = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        // An object is ready when everything it depends on is placed.
        let ready = remaining
            .iter()
            .find(|o| {
                !live
                    .iter()
                    .any(|(from, to, _, _)| from == *o && remaining.contains(to))
            })
            .cloned();
        match ready {
            Some(o) => {
                remaining.remove(&o);
                order.push(o);
            }
            None => {
                // A cycle: defer the first edge (nullable preferred) among the remaining objects.
                let pick = live
                    .iter()
                    .filter(|(f, t, _, _)| remaining.contains(f) && remaining.contains(t))
                    .min_by_key(|(f, t, k, nullable)| (!nullable, f.clone(), t.clone(), k.clone()))
                    .map(|e| (*e).clone());
                match pick {
                    Some((from, _, key, _)) => {
                        deferred.insert((from.clone(), key.clone()));
                        live.retain(|(f, _, k, _)| !(f == &from && k == &key));
                    }
                    None => break,
                }
            }
        }
    }
    (order, deferred)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(f: &str, t: &str, k: &str) -> (String, String, String, bool) {
        (f.into(), t.into(), k.into(), true)
    }

    #[test]
    fn dependencies_come_first() {
        let objects = BTreeSet::from(["company", "person", "opportunity", "noteTarget", "note"]);
        let edges = vec![
            edge("person", "company", "companyId"),
            edge("opportunity", "person", "pointOfContactId"),
            edge("opportunity", "company", "companyId"),
            edge("noteTarget", "note", "noteId"),
            edge("noteTarget", "person", "targetPersonId"),
        ];
        let (order, deferred) = order_objects(&objects, &edges);
        let pos = |o: &str| order.iter().position(|x| x == o).unwrap();
        assert!(pos("company") < pos("person"));
        assert!(pos("person") < pos("opportunity"));
        assert!(pos("note") < pos("noteTarget"));
        assert!(deferred.is_empty());
    }

    #[test]
    fn a_cycle_is_broken_by_deferring_one_reference_and_self_references_always_wait() {
        let objects = BTreeSet::from(["a", "b"]);
        let edges = vec![
            edge("a", "b", "bId"),
            edge("b", "a", "aId"),
            edge("a", "a", "parentId"),
        ];
        let (order, deferred) = order_objects(&objects, &edges);
        assert_eq!(order.len(), 2);
        assert!(deferred.contains(&("a".into(), "parentId".into())));
        assert_eq!(deferred.len(), 2, "{deferred:?}");
    }

    fn planned(object: &str, live: u64, deleted: u64, requests: u64) -> ObjectPlan {
        ObjectPlan {
            object: object.into(),
            target_plural: format!("{object}s"),
            fields: Vec::new(),
            dropped: Vec::new(),
            live,
            deleted,
            requests,
        }
    }

    #[test]
    fn the_estimate_counts_three_requests_for_each_attachment_file() {
        let objects = vec![
            planned("company", 400, 10, 2),
            planned("attachment", 50, 5, 1),
        ];
        let e = estimate(&objects, false, 200, 60);
        assert_eq!((e.files, e.file_requests), (50, 150));
        // 3 batches and 150 upload requests at 60 a minute.
        assert!((e.seconds - 153.0).abs() < 1e-9, "{}", e.seconds);
        let kept = estimate(&objects, true, 200, 60);
        assert_eq!(kept.files, 55);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(12.4), "12 s");
        assert_eq!(human_duration(245.0), "4 min 05 s");
        assert_eq!(human_duration(11_520.0), "3 h 12 min");
    }

    #[test]
    fn unmatched_member_policy_parses_the_documented_values() {
        assert_eq!(
            "null".parse::<UnmatchedMembers>().unwrap(),
            UnmatchedMembers::Null
        );
        assert_eq!(
            "ACTOR_NAME_ONLY".parse::<UnmatchedMembers>().unwrap(),
            UnmatchedMembers::ActorNameOnly
        );
        assert_eq!(
            "ops@acme.com".parse::<UnmatchedMembers>().unwrap(),
            UnmatchedMembers::Member("ops@acme.com".into())
        );
        assert!("maybe".parse::<UnmatchedMembers>().is_err());
    }
}
