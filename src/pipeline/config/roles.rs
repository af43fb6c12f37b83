//! Roles with their object permissions, field restrictions and permission flags, and webhooks.
//!
//! A role is found on the target by id, else by label (unique per workspace:
//! `IDX_ROLE_LABEL_WORKSPACE_ID_UNIQUE`, `role/role.entity.ts`). Admin is Twenty's standard,
//! non-editable role (`ROLE_NOT_EDITABLE`): it is matched and never written. Object permissions
//! and flags are sent whole, because `upsertObjectPermissions` and `upsertPermissionFlags`
//! replace the role's set (`object-permission.service.ts`, `role-permission-flag.service.ts`);
//! field permissions merge (`field-permission.service.ts`), so a restriction the target has and
//! the source does not is sent with both values null, which removes it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::Action;
use super::{ConfigReport, Names};
use crate::destination::{
    TargetConfiguration, TargetFieldPermission, TargetObjectPermission, TargetRole, TargetWebhook,
};
use crate::model::config::{Role, WorkspaceConfig};

pub(super) fn diff(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for role in &config.roles {
        let existing = find(role, target, names);
        if let Some(have) = existing {
            names.stands_as("role", role.id, have.id);
        }
        let (id, mut mine) = match existing {
            Some(have) if !have.is_editable => {
                report.kind("roles").unchanged += 1;
                continue;
            }
            Some(have) => (have.id, role_changes(role, have)),
            None => {
                let id = names.config_id(role.id);
                (id, vec![Action::CreateRole(create_input(role, id))])
            }
        };
        let empty = empty_role(id);
        let have = existing.unwrap_or(&empty);
        mine.extend(permissions(role, have, names, report));
        let counts = report.kind("roles");
        match (existing, mine.is_empty()) {
            (None, _) => counts.created += 1,
            (Some(_), false) => counts.updated += 1,
            (Some(_), true) => counts.unchanged += 1,
        }
        actions.extend(mine);
    }
    actions
}

/// The target role standing for `role`: by id, else as an earlier run matched it, else by label.
pub(super) fn find<'t>(
    role: &Role,
    target: &'t TargetConfiguration,
    names: &Names<'_>,
) -> Option<&'t TargetRole> {
    target
        .roles
        .iter()
        .find(|r| names.is_id_of(role.id, r.id))
        .or_else(|| {
            let matched = names.matched("role", role.id)?;
            target.roles.iter().find(|r| r.id == matched)
        })
        .or_else(|| target.roles.iter().find(|r| r.label == role.label))
}

fn empty_role(id: Uuid) -> TargetRole {
    TargetRole {
        id,
        label: String::new(),
        description: None,
        icon: None,
        is_editable: true,
        switches: Map::new(),
        permission_flags: Vec::new(),
        object_permissions: Vec::new(),
        field_permissions: Vec::new(),
        workspace_members: Vec::new(),
        row_level_permission_predicates: Vec::new(),
        row_level_permission_predicate_groups: Vec::new(),
    }
}

fn create_input(role: &Role, id: Uuid) -> Value {
    let mut input = Map::new();
    // `CreateRoleInput.id` is a String (`role/dtos/create-role-input.dto.ts`).
    input.insert("id".into(), json!(id.to_string()));
    input.insert("label".into(), json!(role.label));
    input.insert("description".into(), json!(role.description));
    input.insert("icon".into(), json!(role.icon));
    for (name, on) in &role.switches {
        input.insert(name.clone(), json!(on));
    }
    Value::Object(input)
}

fn role_changes(role: &Role, have: &TargetRole) -> Vec<Action> {
    let mut update = Map::new();
    // Differs only for a role an earlier run matched by label and someone renamed since.
    if role.label != have.label {
        update.insert("label".into(), json!(role.label));
    }
    if role.description.is_some() && role.description != have.description {
        update.insert("description".into(), json!(role.description));
    }
    if role.icon.is_some() && role.icon != have.icon {
        update.insert("icon".into(), json!(role.icon));
    }
    for (name, on) in &role.switches {
        if have.switches.get(name).and_then(Value::as_bool) != Some(*on) {
            update.insert(name.clone(), json!(on));
        }
    }
    if update.is_empty() {
        Vec::new()
    } else {
        vec![Action::UpdateRole(have.id, Value::Object(update))]
    }
}

fn permissions(
    role: &Role,
    have: &TargetRole,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Vec<Action> {
    let mut out = Vec::new();
    let mut objects: Vec<TargetObjectPermission> = Vec::new();
    for p in &role.object_permissions {
        let Some(object_id) = names.object(&p.object) else {
            report.notes.push(format!(
                "role {}: the target has no object {}; its permission is not moved",
                role.label, p.object
            ));
            continue;
        };
        objects.push(TargetObjectPermission {
            object_metadata_id: object_id,
            can_read_object_records: p.can_read,
            can_update_object_records: p.can_update,
            can_soft_delete_object_records: p.can_soft_delete,
            can_destroy_object_records: p.can_destroy,
        });
    }
    objects.sort_by_key(|p| p.object_metadata_id);
    let mut have_objects = have.object_permissions.clone();
    have_objects.sort_by_key(|p| p.object_metadata_id);
    // The input needs at least one entry (`upsert-object-permissions.input.ts`): a set the
    // source emptied cannot be sent this way.
    if objects != have_objects {
        if objects.is_empty() {
            report.notes.push(format!(
                "role {}: the source has no object permissions and the target has {}; remove them in the target's settings",
                role.label,
                have_objects.len()
            ));
        } else {
            out.push(Action::SetObjectPermissions(have.id, objects));
        }
    }

    let mut fields: BTreeMap<Uuid, TargetFieldPermission> = BTreeMap::new();
    for p in &role.field_permissions {
        let (Some(object_id), Some(field_id)) =
            (names.object(&p.field.object), names.field_ref(&p.field))
        else {
            report.notes.push(format!(
                "role {}: the target has no field {}.{}; its restriction is not moved",
                role.label, p.field.object, p.field.field
            ));
            continue;
        };
        fields.insert(
            field_id,
            TargetFieldPermission {
                object_metadata_id: object_id,
                field_metadata_id: field_id,
                can_read_field_value: p.can_read,
                can_update_field_value: p.can_update,
            },
        );
    }
    let mut send: Vec<TargetFieldPermission> = fields
        .values()
        .filter(|want| !have.field_permissions.contains(want))
        .cloned()
        .collect();
    for extra in &have.field_permissions {
        if !fields.contains_key(&extra.field_metadata_id) {
            send.push(TargetFieldPermission {
                can_read_field_value: None,
                can_update_field_value: None,
                ..extra.clone()
            });
        }
    }
    if !send.is_empty() {
        out.push(Action::MergeFieldPermissions(have.id, send));
    }

    let mut flags = role.flags.clone();
    flags.sort();
    let mut have_flags: Vec<String> = have
        .permission_flags
        .iter()
        .map(|f| f.flag.clone())
        .collect();
    have_flags.sort();
    if flags != have_flags {
        out.push(Action::SetFlags(have.id, flags));
    }
    out
}

/// Webhooks, found by id, else by target URL; created with the source's id and secret.
pub(super) fn diff_webhooks(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for hook in &config.webhooks {
        let want = TargetWebhook {
            id: names.config_id(hook.id),
            target_url: hook.target_url.clone(),
            operations: hook.operations.clone(),
            description: hook.description.clone(),
            secret: hook.secret.clone(),
        };
        let existing = target
            .webhooks
            .iter()
            .find(|w| names.is_id_of(hook.id, w.id))
            .or_else(|| {
                let matched = names.matched("webhook", hook.id)?;
                target.webhooks.iter().find(|w| w.id == matched)
            })
            .or_else(|| {
                target
                    .webhooks
                    .iter()
                    .find(|w| w.target_url == want.target_url)
            });
        if let Some(have) = existing {
            names.stands_as("webhook", hook.id, have.id);
        }
        let counts = report.kind("webhooks");
        match existing {
            None => {
                counts.created += 1;
                actions.push(Action::CreateWebhook(want));
            }
            Some(have) => {
                let want = TargetWebhook {
                    id: have.id,
                    ..want
                };
                let mut a = want.operations.clone();
                let mut b = have.operations.clone();
                a.sort();
                b.sort();
                if a != b
                    || want.target_url != have.target_url
                    || want.description != have.description
                    || want.secret != have.secret
                {
                    counts.updated += 1;
                    actions.push(Action::UpdateWebhook(want));
                } else {
                    counts.unchanged += 1;
                }
            }
        }
    }
    actions
}
