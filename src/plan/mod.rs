//! The migration plan: which objects move and in what order, how each field maps onto the
//! target, how members map by email, which references wait for a second pass, and what the
//! run will cost in requests and time. Pure: it reads two models and some counts, no I/O.

mod estimate;
mod fields;
mod members;
mod order;
mod render;
mod skip;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use uuid::Uuid;

use crate::model::{Model, Object};

pub use estimate::{Estimate, REQUESTS_PER_FILE};
pub use fields::{DropRule, DroppedField, FieldDecision, WritePass};
pub use members::{Member, MemberMatch, UnmatchedMembers};
pub use render::human_duration;
pub use skip::{moved_by_configuration, skip_rule, SkippedObject};

use estimate::estimate;
use fields::{decide_field, FieldOutcome};
use order::order_objects;
use skip::SKIP_RULES;

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
    /// Whether the configuration stage runs: references to the records it creates
    /// (dashboards) are then written after it, else dropped.
    pub config: bool,
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
            match decide_field(object, field, target, &chosen_names, input.config) {
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

#[cfg(test)]
mod tests;
