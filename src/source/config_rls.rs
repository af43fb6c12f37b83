//! Row-level permission predicates of roles (2.x, an Enterprise feature):
//! `core."rowLevelPermissionPredicate"` and `core."rowLevelPermissionPredicateGroup"`
//! (`MM/row-level-permission-predicate/entities/*.entity.ts`), per role and object. Layouts
//! without the tables read none (the reader yields no rows for a missing table); soft-deleted
//! rows are left out by the reader too.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use uuid::Uuid;

use super::config::{number, text, uuid, Reader};
use super::SourceError;
use crate::model::config::{RowLevelGroup, RowLevelPermissions, RowLevelPredicate};

/// Source role id → its row-level permissions, by object name.
pub(super) async fn read_row_level(
    r: &Reader<'_>,
) -> Result<HashMap<Uuid, Vec<RowLevelPermissions>>, SourceError> {
    // (role, object) → predicates and groups; a BTreeMap so objects come out sorted.
    let mut sets: BTreeMap<(Uuid, String), RowLevelPermissions> = BTreeMap::new();
    let mut groups: Vec<(Uuid, String, RowLevelGroup)> = Vec::new();
    for g in r.rows("core", "rowLevelPermissionPredicateGroup").await? {
        let object = r.object(uuid(&g, "objectMetadataId"));
        let (Some(id), Some(role), Some(object)) = (uuid(&g, "id"), uuid(&g, "roleId"), object)
        else {
            continue;
        };
        groups.push((
            role,
            object,
            RowLevelGroup {
                id,
                parent: uuid(&g, "parentRowLevelPermissionPredicateGroupId"),
                logical_operator: text(&g, "logicalOperator").unwrap_or_else(|| "AND".into()),
                position: number(&g, "positionInRowLevelPermissionPredicateGroup"),
            },
        ));
    }
    let mut predicates: Vec<(Uuid, String, RowLevelPredicate)> = Vec::new();
    for p in r.rows("core", "rowLevelPermissionPredicate").await? {
        let object = r.object(uuid(&p, "objectMetadataId"));
        let field = r.field(uuid(&p, "fieldMetadataId"));
        let (Some(id), Some(role), Some(object), Some(field)) =
            (uuid(&p, "id"), uuid(&p, "roleId"), object, field)
        else {
            continue;
        };
        predicates.push((
            role,
            object,
            RowLevelPredicate {
                id,
                field,
                operand: text(&p, "operand").unwrap_or_else(|| "CONTAINS".into()),
                value: p.get("value").cloned().unwrap_or(Value::Null),
                sub_field_name: text(&p, "subFieldName"),
                workspace_member_field: r.field(uuid(&p, "workspaceMemberFieldMetadataId")),
                workspace_member_sub_field_name: text(&p, "workspaceMemberSubFieldName"),
                group: uuid(&p, "rowLevelPermissionPredicateGroupId"),
                position: number(&p, "positionInRowLevelPermissionPredicateGroup"),
            },
        ));
    }
    for (role, object, g) in groups {
        set(&mut sets, role, object).groups.push(g);
    }
    for (role, object, p) in predicates {
        set(&mut sets, role, object).predicates.push(p);
    }
    let mut out: HashMap<Uuid, Vec<RowLevelPermissions>> = HashMap::new();
    for ((role, _), mut s) in sets {
        s.groups.sort_by_key(|g| g.id);
        s.predicates.sort_by(|a, b| {
            let pos = |p: &RowLevelPredicate| p.position.unwrap_or(0.0);
            pos(a).total_cmp(&pos(b)).then(a.id.cmp(&b.id))
        });
        out.entry(role).or_default().push(s);
    }
    Ok(out)
}

/// The set of `role` on `object`, made empty when new.
fn set(
    sets: &mut BTreeMap<(Uuid, String), RowLevelPermissions>,
    role: Uuid,
    object: String,
) -> &mut RowLevelPermissions {
    sets.entry((role, object.clone()))
        .or_insert_with(|| RowLevelPermissions {
            object,
            predicates: Vec::new(),
            groups: Vec::new(),
        })
}
