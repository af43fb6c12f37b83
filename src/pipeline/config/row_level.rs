//! Row-level permission predicates of roles, after the roles and their permissions: one
//! `upsertRowLevelPermissionPredicates` per (role, object) whose predicates and groups differ
//! on the target, none on a rerun.
//!
//! The upsert replaces the role's set on the object: it keeps the ids it is given, creates
//! groups in input order (a parent before its children) and soft-deletes what the input leaves
//! out (`row-level-permission-predicate.service.ts` in 2.21), so the whole set is sent. Ids are
//! the source's scoped to the target workspace ([`Names::config_id`]), fields are found by
//! name, and a value's workspace-member ids go through the member map; other ids in a value
//! (records of a relation) keep the source's, as records do ([`target_id`]).
//!
//! It is an Enterprise feature: a target without it (a self-hosted server without an
//! enterprise key, a plan without the entitlement) refuses the upsert with
//! `ROW_LEVEL_PERMISSION_FEATURE_DISABLED`. Then nothing more is sent, the runbook keeps the
//! steps with the reason and the run goes on; any other refusal of one set keeps its step too.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{json, Value};
use uuid::Uuid;

use super::{Action, ConfigReport, Names};
use crate::destination::{
    Destination, Disposition, TargetConfiguration, TargetError, TargetRlsGroup, TargetRlsPredicate,
    TargetRowLevelPermissions,
};
use crate::model::config::{Role, RowLevelPermissions, WorkspaceConfig};
use crate::transform::{target_id, MemberTarget};

/// The kind the report counts them under.
pub(super) const KIND: &str = "row_level_permissions";

/// The sub-code of the refusal by a target without the feature (`hasRowLevelPermissionFeatureOrThrow`).
const FEATURE_DISABLED: &str = "ROW_LEVEL_PERMISSION_FEATURE_DISABLED";

/// A role's set on one object: (role label, object name), as the runbook names it.
pub type Key = (String, String);

/// What became of the sets: on the target (moved, or equal already), or refused with the
/// target's reason. Sets in neither stay in the runbook as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowLevelOutcome {
    /// Sets the target holds as the source has them.
    pub moved: BTreeSet<Key>,
    /// Sets the target refused, with why.
    pub refused: BTreeMap<Key, String>,
}

/// One set to send.
pub(super) struct Change {
    key: Key,
    /// The target has nothing of it yet.
    creates: bool,
    action: Action,
}

impl Change {
    /// The upsert.
    pub(super) fn action(&self) -> &Action {
        &self.action
    }

    /// Counts it in the report as created or updated.
    pub(super) fn count(&self, report: &mut ConfigReport) {
        let counts = report.kind(KIND);
        if self.creates {
            counts.created += 1;
        } else {
            counts.updated += 1;
        }
    }
}

/// The sets that differ on the target, and those already equal there. A set naming an object,
/// a field or a member field the target lacks is not sent (a partial set could widen what the
/// role sees): it gets a note and stays in the runbook.
pub(super) fn diff(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> (Vec<Change>, BTreeSet<Key>) {
    let mut changes = Vec::new();
    let mut unchanged = BTreeSet::new();
    for role in config
        .roles
        .iter()
        .filter(|r| !r.row_level_permissions.is_empty())
    {
        let existing = super::roles::find(role, target, names);
        // A role the roles stage creates gets this id.
        let role_id = existing.map_or_else(|| names.config_id(role.id), |r| r.id);
        for set in &role.row_level_permissions {
            let key = (role.label.clone(), set.object.clone());
            let Some(want) = wanted(role, set, role_id, names, report) else {
                continue;
            };
            let have_predicates: Vec<TargetRlsPredicate> = existing
                .iter()
                .flat_map(|r| &r.row_level_permission_predicates)
                .filter(|p| p.object_metadata_id == Some(want.object_metadata_id))
                .cloned()
                .collect();
            let have_groups: Vec<TargetRlsGroup> = existing
                .iter()
                .flat_map(|r| &r.row_level_permission_predicate_groups)
                .filter(|g| g.object_metadata_id == want.object_metadata_id)
                .cloned()
                .collect();
            if same(&want, &have_predicates, &have_groups) {
                unchanged.insert(key);
            } else {
                changes.push(Change {
                    key,
                    creates: have_predicates.is_empty() && have_groups.is_empty(),
                    action: Action::SetRowLevelPermissions(Box::new(want)),
                });
            }
        }
    }
    (changes, unchanged)
}

/// The upsert that makes the target hold `set`, or `None` (with a note) when something it
/// names is not on the target.
fn wanted(
    role: &Role,
    set: &RowLevelPermissions,
    role_id: Uuid,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Option<TargetRowLevelPermissions> {
    let missing = |report: &mut ConfigReport, what: String| {
        report.notes.push(format!(
            "role {}: the target has no {what}; its row-level permissions on {} are not moved (runbook)",
            role.label, set.object
        ));
    };
    let Some(object_id) = names.object(&set.object) else {
        missing(report, format!("object {}", set.object));
        return None;
    };
    let known: HashSet<Uuid> = set.groups.iter().map(|g| g.id).collect();
    let in_set = |g: Option<Uuid>| g.filter(|g| known.contains(g)).map(|g| names.config_id(g));
    let mut predicates = Vec::new();
    for p in &set.predicates {
        let Some(field) = names.field_ref(&p.field) else {
            missing(
                report,
                format!("field {}.{}", p.field.object, p.field.field),
            );
            return None;
        };
        let member_field = match &p.workspace_member_field {
            Some(f) => match names.field_ref(f) {
                Some(id) => Some(id),
                None => {
                    missing(report, format!("field {}.{}", f.object, f.field));
                    return None;
                }
            },
            None => None,
        };
        predicates.push(TargetRlsPredicate {
            id: names.config_id(p.id),
            field_metadata_id: field,
            object_metadata_id: None,
            operand: p.operand.clone(),
            value: value(&p.value, names, &role.label, report),
            sub_field_name: p.sub_field_name.clone(),
            workspace_member_field_metadata_id: member_field,
            workspace_member_sub_field_name: p.workspace_member_sub_field_name.clone(),
            row_level_permission_predicate_group_id: in_set(p.group),
            position_in_row_level_permission_predicate_group: p.position,
        });
    }
    // Parents before children: the target resolves a parent among the groups it has and
    // those created earlier in the same input.
    let depth = |mut id: Uuid| {
        let mut d = 0;
        while let Some(parent) = set
            .groups
            .iter()
            .find(|g| g.id == id)
            .and_then(|g| g.parent)
        {
            if d > set.groups.len() || !known.contains(&parent) {
                break;
            }
            id = parent;
            d += 1;
        }
        d
    };
    let mut groups: Vec<(usize, TargetRlsGroup)> = set
        .groups
        .iter()
        .map(|g| {
            let group = TargetRlsGroup {
                id: names.config_id(g.id),
                object_metadata_id: object_id,
                parent_row_level_permission_predicate_group_id: in_set(g.parent),
                logical_operator: g.logical_operator.clone(),
                position_in_row_level_permission_predicate_group: g.position,
            };
            (depth(g.id), group)
        })
        .collect();
    groups.sort_by_key(|(d, g)| (*d, g.id));
    Some(TargetRowLevelPermissions {
        role: role.label.clone(),
        object: set.object.clone(),
        role_id,
        object_metadata_id: object_id,
        predicates,
        predicate_groups: groups.into_iter().map(|(_, g)| g).collect(),
    })
}

/// A predicate's value with its workspace-member ids mapped: the value itself, the items of a
/// list, or `selectedRecordIds`, where one is a source member's id. Any other id is a record's
/// and keeps the source's, as the records do.
fn value(v: &Value, names: &Names<'_>, role: &str, report: &mut ConfigReport) -> Value {
    let mut map_id = |s: &str| -> Value {
        let Ok(id) = Uuid::parse_str(s) else {
            return json!(s);
        };
        match names.members.members.get(&id) {
            Some(MemberTarget::Member(t)) => json!(t),
            Some(_) => {
                report.notes.push(format!(
                    "role {role}: a row-level permission names member {id}, who has no account on the target; kept as it is"
                ));
                json!(s)
            }
            None => json!(target_id(id)),
        }
    };
    match v {
        Value::String(s) => map_id(s),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.clone(), &mut map_id))
                .collect(),
        ),
        Value::Object(o) => {
            let mut o = o.clone();
            if let Some(Value::Array(ids)) = o.get_mut("selectedRecordIds") {
                for i in ids.iter_mut() {
                    if let Some(s) = i.as_str().map(str::to_owned) {
                        *i = map_id(&s);
                    }
                }
            }
            Value::Object(o)
        }
        other => other.clone(),
    }
}

/// Whether the target's predicates and groups of the object are the ones wanted, whatever
/// their order.
fn same(
    want: &TargetRowLevelPermissions,
    predicates: &[TargetRlsPredicate],
    groups: &[TargetRlsGroup],
) -> bool {
    let mut a = want.predicates.clone();
    let mut b: Vec<TargetRlsPredicate> = predicates
        .iter()
        .map(|p| TargetRlsPredicate {
            object_metadata_id: None,
            ..p.clone()
        })
        .collect();
    a.sort_by_key(|p| p.id);
    b.sort_by_key(|p| p.id);
    let mut c = want.predicate_groups.clone();
    let mut d = groups.to_vec();
    c.sort_by_key(|g| g.id);
    d.sort_by_key(|g| g.id);
    a == b && c == d
}

/// Sends the changes, one upsert each; the sets already equal count as unchanged. A target
/// that is down is waited out as for every configuration change; a refusal keeps the set in
/// the runbook, and the feature's absence stops the sending (every set would be refused).
pub(super) async fn apply<D: Destination>(
    target: &D,
    changes: Vec<Change>,
    unchanged: BTreeSet<Key>,
    report: &mut ConfigReport,
) -> Result<RowLevelOutcome, TargetError> {
    if !unchanged.is_empty() {
        report.kind(KIND).unchanged += unchanged.len();
    }
    let mut outcome = RowLevelOutcome {
        moved: unchanged,
        ..RowLevelOutcome::default()
    };
    let mut disabled: Option<String> = None;
    for change in changes {
        if let Some(reason) = &disabled {
            outcome.refused.insert(change.key, reason.clone());
            continue;
        }
        let mut outage = target.outage();
        let refusal = loop {
            match target.change_configuration(&change.action).await {
                Ok(()) => break None,
                Err(e) if e.disposition() == Disposition::RetryLater => {
                    tokio::time::sleep(outage.next_wait(e)?).await;
                }
                Err(e) => break Some(e),
            }
        };
        match refusal {
            None => {
                change.count(report);
                outcome.moved.insert(change.key);
            }
            Some(e) if e.forbidden_code() == Some(FEATURE_DISABLED) => {
                let reason = format!(
                    "the target refused them ({FEATURE_DISABLED}): row-level permissions are an Enterprise feature (a valid enterprise key and the plan's RLS entitlement) this target does not have; redo them once it has"
                );
                outcome.refused.insert(change.key, reason.clone());
                disabled = Some(reason);
            }
            Some(e) => {
                report.notes.push(format!(
                    "the target refused to {}: {e}; left in the runbook",
                    change.action.describe()
                ));
                outcome
                    .refused
                    .insert(change.key, format!("the target refused them: {e}"));
            }
        }
    }
    if disabled.is_some() {
        let n = outcome
            .refused
            .values()
            .filter(|r| r.contains(FEATURE_DISABLED))
            .count();
        report.notes.push(format!(
            "the target refused the row-level permission predicates ({FEATURE_DISABLED}: an Enterprise feature, which needs a valid enterprise key and a plan with the RLS entitlement); the runbook keeps {n} set(s) for a person to redo on a target that has it"
        ));
    }
    Ok(outcome)
}

/// The outcome `plan` expects: every set it would send or finds equal is moved.
pub(super) fn anticipated(changes: &[Change], unchanged: &BTreeSet<Key>) -> RowLevelOutcome {
    RowLevelOutcome {
        moved: unchanged
            .iter()
            .cloned()
            .chain(changes.iter().map(|c| c.key.clone()))
            .collect(),
        refused: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::super::{plan_actions, Action};
    use crate::destination::{TargetConfiguration, TargetModel, TargetObject, TargetRole};
    use crate::model::config::{
        FieldRef, Role, RowLevelGroup, RowLevelPermissions, RowLevelPredicate, WorkspaceConfig,
    };
    use crate::transform::{config_id, MemberMap, MemberTarget};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | n)
    }

    const WORKSPACE: u128 = 0x77;
    const COMPANY: u128 = 0x100;
    const NAME: u128 = 0x101;
    const OWNER: u128 = 0x102;
    const MEMBER: u128 = 0x200;
    const MEMBER_ID_FIELD: u128 = 0x201;
    const SOURCE_ANN: u128 = 0x300;
    const TARGET_ANN: u128 = 0x301;
    const ROLE: u128 = 0x400;
    const TARGET_ROLE: u128 = 0x401;

    fn model() -> TargetModel {
        let object = |oid: u128, name: &str, plural: &str, fields: Vec<(u128, &str, &str)>| {
            let mut o: TargetObject = serde_json::from_value(json!({
                "id": id(oid), "nameSingular": name, "namePlural": plural, "isActive": true,
            }))
            .unwrap();
            o.fields = fields
                .into_iter()
                .map(|(fid, f, kind)| {
                    serde_json::from_value(
                        json!({ "id": id(fid), "name": f, "type": kind, "isActive": true }),
                    )
                    .unwrap()
                })
                .collect();
            o
        };
        TargetModel {
            objects: vec![
                object(
                    COMPANY,
                    "company",
                    "companies",
                    vec![(NAME, "name", "TEXT"), (OWNER, "accountOwner", "RELATION")],
                ),
                object(
                    MEMBER,
                    "workspaceMember",
                    "workspaceMembers",
                    vec![(MEMBER_ID_FIELD, "id", "UUID")],
                ),
            ],
        }
    }

    /// Role Sales on company: an AND group holding an OR group (listed child first), a name
    /// predicate, one naming member Ann, one comparing with the reader's member id.
    fn source() -> WorkspaceConfig {
        let field = |object: &str, field: &str| FieldRef {
            object: object.into(),
            field: field.into(),
        };
        let predicate = |n: u128, f: &str, value, group: u128| RowLevelPredicate {
            id: id(n),
            field: field("company", f),
            operand: "IS".into(),
            value,
            sub_field_name: None,
            workspace_member_field: None,
            workspace_member_sub_field_name: None,
            group: Some(id(group)),
            position: Some(0.0),
        };
        let set = RowLevelPermissions {
            object: "company".into(),
            predicates: vec![
                predicate(0x11, "name", json!("Acme"), 0x21),
                predicate(
                    0x12,
                    "accountOwner",
                    json!({"isCurrentWorkspaceMemberSelected": false, "selectedRecordIds": [id(SOURCE_ANN)]}),
                    0x22,
                ),
                RowLevelPredicate {
                    workspace_member_field: Some(field("workspaceMember", "id")),
                    position: Some(1.0),
                    ..predicate(0x13, "accountOwner", json!(null), 0x22)
                },
            ],
            groups: vec![
                RowLevelGroup {
                    id: id(0x22),
                    parent: Some(id(0x21)),
                    logical_operator: "OR".into(),
                    position: Some(1.0),
                },
                RowLevelGroup {
                    id: id(0x21),
                    parent: None,
                    logical_operator: "AND".into(),
                    position: None,
                },
            ],
        };
        let role: Role = serde_json::from_value(json!({
            "id": id(ROLE), "label": "Sales", "description": null, "icon": null,
            "is_editable": true, "is_standard": false, "switches": [],
            "object_permissions": [], "field_permissions": [], "flags": [],
        }))
        .unwrap();
        WorkspaceConfig {
            roles: vec![Role {
                row_level_permissions: vec![set],
                ..role
            }],
            ..WorkspaceConfig::default()
        }
    }

    fn members() -> MemberMap {
        MemberMap {
            members: [(id(SOURCE_ANN), MemberTarget::Member(id(TARGET_ANN)))].into(),
        }
    }

    /// The target with role Sales, holding `predicates` and `groups` as `getRoles` answers.
    fn target(predicates: serde_json::Value, groups: serde_json::Value) -> TargetConfiguration {
        let role: TargetRole = serde_json::from_value(json!({
            "id": id(TARGET_ROLE), "label": "Sales", "isEditable": true,
            "rowLevelPermissionPredicates": predicates,
            "rowLevelPermissionPredicateGroups": groups,
        }))
        .unwrap();
        TargetConfiguration {
            roles: vec![role],
            workspace_id: Some(id(WORKSPACE)),
            ..TargetConfiguration::default()
        }
    }

    fn upserts(actions: &[Action]) -> Vec<&crate::destination::TargetRowLevelPermissions> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::SetRowLevelPermissions(r) => Some(r.as_ref()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_role_without_row_level_permissions_on_the_target_gets_one_upsert_with_ids_fields_and_members_mapped(
    ) {
        let (actions, report) = plan_actions(
            &source(),
            &target(json!([]), json!(null)),
            &model(),
            &members(),
        );
        let sent = upserts(&actions);
        assert_eq!(sent.len(), 1, "{actions:?}");
        let set = sent[0];
        let scoped = |n: u128| config_id(Some(id(WORKSPACE)), id(n));
        assert_eq!(set.role_id, id(TARGET_ROLE));
        assert_eq!(set.object_metadata_id, id(COMPANY));
        let groups: Vec<(Uuid, Option<Uuid>)> = set
            .predicate_groups
            .iter()
            .map(|g| (g.id, g.parent_row_level_permission_predicate_group_id))
            .collect();
        assert_eq!(
            groups,
            vec![(scoped(0x21), None), (scoped(0x22), Some(scoped(0x21)))],
            "the parent is sent before its child"
        );
        let owner = set
            .predicates
            .iter()
            .find(|p| p.id == scoped(0x12))
            .unwrap();
        assert_eq!(owner.field_metadata_id, id(OWNER));
        assert_eq!(owner.value["selectedRecordIds"], json!([id(TARGET_ANN)]));
        assert_eq!(
            owner.row_level_permission_predicate_group_id,
            Some(scoped(0x22))
        );
        let me = set
            .predicates
            .iter()
            .find(|p| p.id == scoped(0x13))
            .unwrap();
        assert_eq!(
            me.workspace_member_field_metadata_id,
            Some(id(MEMBER_ID_FIELD))
        );
        let name = set
            .predicates
            .iter()
            .find(|p| p.id == scoped(0x11))
            .unwrap();
        assert_eq!(name.value, json!("Acme"));
        assert_eq!(report.kinds["row_level_permissions"].created, 1);
        assert_eq!(report.kinds["row_level_permissions"].runbook, 0);
    }

    #[test]
    fn a_target_holding_the_same_set_in_another_order_gets_nothing_and_one_that_differs_gets_the_whole_set(
    ) {
        let first = plan_actions(
            &source(),
            &target(json!([]), json!([])),
            &model(),
            &members(),
        )
        .0;
        let set = upserts(&first)[0].clone();
        // As `getRoles` reads them back: with the object, in another order.
        let mut predicates = serde_json::to_value(&set.predicates).unwrap();
        for p in predicates.as_array_mut().unwrap() {
            p["objectMetadataId"] = json!(id(COMPANY));
        }
        predicates.as_array_mut().unwrap().reverse();
        let mut groups = serde_json::to_value(&set.predicate_groups).unwrap();
        groups.as_array_mut().unwrap().reverse();
        let (again, report) = plan_actions(
            &source(),
            &target(predicates.clone(), groups.clone()),
            &model(),
            &members(),
        );
        assert!(upserts(&again).is_empty(), "{again:?}");
        assert_eq!(report.kinds["row_level_permissions"].unchanged, 1);

        predicates[0]["value"] = json!("Globex");
        let (changed, report) =
            plan_actions(&source(), &target(predicates, groups), &model(), &members());
        let sent = upserts(&changed);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].predicates.len(),
            3,
            "the whole set, not the difference"
        );
        assert_eq!(report.kinds["row_level_permissions"].updated, 1);
    }

    #[test]
    fn a_set_naming_a_field_the_target_lacks_is_not_sent_and_stays_in_the_runbook() {
        let mut config = source();
        config.roles[0].row_level_permissions[0].predicates[0]
            .field
            .field = "tagline".into();
        config
            .not_moved
            .push(crate::model::config::NotMoved::RowLevelPermissions {
                role: "Sales".into(),
                object: "company".into(),
                predicates: 3,
            });
        let (actions, report) =
            plan_actions(&config, &target(json!([]), json!([])), &model(), &members());
        assert!(upserts(&actions).is_empty());
        assert!(
            report.notes.iter().any(|n| n.contains("company.tagline")),
            "{:?}",
            report.notes
        );
        assert_eq!(report.kinds["row_level_permissions"].runbook, 1);
    }
}
