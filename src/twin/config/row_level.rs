//! Row-level permission predicates of roles (an Enterprise feature): `Role.rowLevelPermissionPredicates`,
//! `Role.rowLevelPermissionPredicateGroups` and `upsertRowLevelPermissionPredicates` on
//! `/metadata` (`MM/role/role.resolver.ts:271-283, 383-413`).
//!
//! `RLS/` below is `MM/row-level-permission-predicate/`, `SVC` its
//! `services/row-level-permission-predicate.service.ts`. The feature needs a valid enterprise
//! key and the billing entitlement `RLS` (`SVC:555-579`). Without it (the twin's default, as a
//! self-hosted server without an enterprise key) the upsert is refused with `FORBIDDEN`
//! `ROW_LEVEL_PERMISSION_FEATURE_DISABLED` and the role fields answer `[]` (`SVC:56-61`,
//! `services/row-level-permission-predicate-group.service.ts:65-70`), as recorded (golden
//! `config-row-level-permission-predicates-without-the-enterprise-feature`);
//! [`crate::twin::TwinConfig::row_level_permissions`] turns it on.

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    forbidden, internal, migration_failed, reason, shared, validation_failed, Id, Refused,
};
use super::{now, State};
use crate::twin::lock;

/// `RowLevelPermissionPredicateOperand` (`twenty-shared/src/types/RowLevelPermissionPredicateOperand.ts`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum RowLevelPermissionPredicateOperand {
    Is,
    IsNotNull,
    IsNot,
    LessThanOrEqual,
    GreaterThanOrEqual,
    IsBefore,
    IsAfter,
    Contains,
    DoesNotContain,
    IsEmpty,
    IsNotEmpty,
    IsRelative,
    IsInPast,
    IsInFuture,
    IsToday,
    VectorSearch,
}

/// `RowLevelPermissionPredicateGroupLogicalOperator` (AND, OR only).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum RowLevelPermissionPredicateGroupLogicalOperator {
    And,
    Or,
}

/// A predicate (`RLS/dtos/row-level-permission-predicate.dto.ts`: ids are `String`s there).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct RowLevelPermissionPredicate {
    pub id: String,
    pub field_metadata_id: String,
    pub object_metadata_id: String,
    pub operand: RowLevelPermissionPredicateOperand,
    pub sub_field_name: Option<String>,
    pub workspace_member_field_metadata_id: Option<String>,
    pub workspace_member_sub_field_name: Option<String>,
    pub row_level_permission_predicate_group_id: Option<String>,
    pub position_in_row_level_permission_predicate_group: Option<f64>,
    pub role_id: String,
    pub value: Option<Json<Value>>,
    /// Soft-deleted rows stay (the maps are read `withDeleted`): their ids stay taken.
    #[graphql(skip)]
    pub deleted_at: Option<String>,
}

/// A predicate group (`RLS/dtos/row-level-permission-predicate-group.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct RowLevelPermissionPredicateGroup {
    pub id: String,
    pub parent_row_level_permission_predicate_group_id: Option<String>,
    pub logical_operator: RowLevelPermissionPredicateGroupLogicalOperator,
    pub position_in_row_level_permission_predicate_group: Option<f64>,
    pub role_id: String,
    pub object_metadata_id: String,
    #[graphql(skip)]
    pub deleted_at: Option<String>,
}

/// `RowLevelPermissionPredicateInput` (`RLS/dtos/inputs/upsert-row-level-permission-predicates.input.ts`).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct RowLevelPermissionPredicateInput {
    pub id: Option<Id>,
    pub field_metadata_id: Id,
    pub operand: RowLevelPermissionPredicateOperand,
    pub value: Option<Json<Value>>,
    pub sub_field_name: Option<String>,
    pub workspace_member_field_metadata_id: Option<String>,
    pub workspace_member_sub_field_name: Option<String>,
    pub row_level_permission_predicate_group_id: Option<Id>,
    pub position_in_row_level_permission_predicate_group: Option<f64>,
}

/// `RowLevelPermissionPredicateGroupInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct RowLevelPermissionPredicateGroupInput {
    pub id: Option<Id>,
    pub object_metadata_id: Id,
    pub parent_row_level_permission_predicate_group_id: Option<Id>,
    pub logical_operator: RowLevelPermissionPredicateGroupLogicalOperator,
    pub position_in_row_level_permission_predicate_group: Option<f64>,
}

/// `UpsertRowLevelPermissionPredicatesInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpsertRowLevelPermissionPredicatesInput {
    pub role_id: Id,
    pub object_metadata_id: Id,
    pub predicates: Vec<RowLevelPermissionPredicateInput>,
    pub predicate_groups: Vec<RowLevelPermissionPredicateGroupInput>,
}

/// `UpsertRowLevelPermissionPredicatesResult`.
#[derive(SimpleObject)]
#[allow(missing_docs)]
pub struct UpsertRowLevelPermissionPredicatesResult {
    pub predicates: Vec<RowLevelPermissionPredicate>,
    pub predicate_groups: Vec<RowLevelPermissionPredicateGroup>,
}

/// `hasRowLevelPermissionFeature` (`SVC:555-567`): the twin's switch stands for both the
/// enterprise key and the entitlement.
fn enabled(ctx: &Context<'_>) -> async_graphql::Result<bool> {
    Ok(shared(ctx)?.config.row_level_permissions)
}

/// `Role.rowLevelPermissionPredicates`: the role's live predicates by position, `[]` without
/// the feature (`role.resolver.ts:388-398`, `SVC:53-82`).
pub(super) fn predicates_of(
    ctx: &Context<'_>,
    role: Uuid,
) -> async_graphql::Result<Vec<RowLevelPermissionPredicate>> {
    if !enabled(ctx)? {
        return Ok(Vec::new());
    }
    let state = lock(&shared(ctx)?.config_state);
    let role = role.to_string();
    let mut list: Vec<_> = state
        .rls_predicates
        .iter()
        .filter(|p| p.deleted_at.is_none() && p.role_id == role)
        .cloned()
        .collect();
    // A stable sort on `position ?? 0`, as `Array.prototype.sort` is.
    list.sort_by(|a, b| {
        let key = |p: &RowLevelPermissionPredicate| {
            p.position_in_row_level_permission_predicate_group
                .unwrap_or(0.0)
        };
        key(a).total_cmp(&key(b))
    });
    Ok(list)
}

/// `Role.rowLevelPermissionPredicateGroups`: the role's live groups by position, `[]` without
/// the feature (`services/row-level-permission-predicate-group.service.ts:61-91`).
pub(super) fn groups_of(
    ctx: &Context<'_>,
    role: Uuid,
) -> async_graphql::Result<Vec<RowLevelPermissionPredicateGroup>> {
    if !enabled(ctx)? {
        return Ok(Vec::new());
    }
    let state = lock(&shared(ctx)?.config_state);
    let role = role.to_string();
    let mut list: Vec<_> = state
        .rls_groups
        .iter()
        .filter(|g| g.deleted_at.is_none() && g.role_id == role)
        .cloned()
        .collect();
    list.sort_by(|a, b| {
        let key = |g: &RowLevelPermissionPredicateGroup| {
            g.position_in_row_level_permission_predicate_group
                .unwrap_or(0.0)
        };
        key(a).total_cmp(&key(b))
    });
    Ok(list)
}

/// The row-level permission mutation.
#[derive(Default)]
pub struct RowLevelMutation;

#[allow(clippy::unused_async)]
#[Object]
impl RowLevelMutation {
    /// Replaces the predicates and groups of one role on one object (`SVC:153-298`).
    async fn upsert_row_level_permission_predicates(
        &self,
        ctx: &Context<'_>,
        input: UpsertRowLevelPermissionPredicatesInput,
    ) -> async_graphql::Result<UpsertRowLevelPermissionPredicatesResult> {
        // `SVC:163, 569-579`, filtered to FORBIDDEN by
        // `RLS/utils/row-level-permission-predicate-graphql-api-exception-handler.util.ts`.
        if !enabled(ctx)? {
            return Err(forbidden(
                "Row level permission predicate feature is disabled",
                Some("ROW_LEVEL_PERMISSION_FEATURE_DISABLED"),
                "Row level permission predicate feature is disabled.",
            ));
        }
        let s = shared(ctx)?;
        let db = lock(&s.db);
        let mut state = lock(&s.config_state);
        // The whole migration is validated, then run, or nothing is (`SVC:496-548`): work on a
        // copy and keep it only when every step passed.
        let mut next = state.clone();
        upsert(&mut next, &db.model, &input)?;
        *state = next;
        let (role, object) = (
            input.role_id.0.to_string(),
            input.object_metadata_id.0.to_string(),
        );
        // `SVC:272-292`: the live rows of this role and object, in map order.
        Ok(UpsertRowLevelPermissionPredicatesResult {
            predicates: state
                .rls_predicates
                .iter()
                .filter(|p| p.deleted_at.is_none() && p.role_id == role)
                .filter(|p| p.object_metadata_id == object)
                .cloned()
                .collect(),
            predicate_groups: state
                .rls_groups
                .iter()
                .filter(|g| g.deleted_at.is_none() && g.role_id == role)
                .filter(|g| g.object_metadata_id == object)
                .cloned()
                .collect(),
        })
    }
}

/// A foreign key no entity of the workspace has (deleted ones count):
/// `resolveEntityRelationUniversalIdentifiers` throws a `FlatEntityMapsException` that nothing
/// maps, so it answers as an internal error (`MM/flat-entity/utils/resolve-entity-relation-universal-identifiers.util.ts:111-118`;
/// the same refusal recorded for views: `Could not find view for given viewId`).
fn not_found(metadata_name: &str, foreign_key: &str) -> async_graphql::Error {
    internal(
        format!("Could not find {metadata_name} for given {foreign_key}"),
        "An error occurred.",
    )
}

/// A create whose id the workspace already has, soft-deleted (`VAL/flat-row-level-permission-predicate-validator.service.ts:40-51`).
fn already_exists(id: Uuid) -> async_graphql::Error {
    validation_failed(
        "Validation errors occurred while upserting row level permission predicates",
        vec![Refused {
            metadata_name: "rowLevelPermissionPredicate",
            minimal: json!({ "universalIdentifier": id }),
            reasons: vec![reason(
                "INVALID_ROW_LEVEL_PERMISSION_PREDICATE_DATA",
                "Row level permission predicate with this universal identifier already exists",
                Some("Row level permission predicate already exists"),
            )],
        }],
    )
}

/// `SVC:165-256` on the state: groups first, then predicates; every entity of this role and
/// object left out of the input is soft-deleted.
fn upsert(
    state: &mut State,
    model: &crate::twin::schema::Model,
    input: &UpsertRowLevelPermissionPredicatesInput,
) -> async_graphql::Result<()> {
    let role = input.role_id.0;
    // `SVC:331-336, 431-436`: the role, then the object, must exist.
    if !state.roles.iter().any(|r| r.id.0 == role) {
        return Err(not_found("role", "roleId"));
    }
    let (role, object) = (role.to_string(), input.object_metadata_id.0.to_string());
    let stamp = now();
    let group_known = |state: &State, id: &str| state.rls_groups.iter().any(|g| g.id == id);

    // Groups (`SVC:338-387`), in input order: a parent must exist already or come earlier.
    let mut kept: Vec<String> = Vec::new();
    for g in &input.predicate_groups {
        let id = g.id.map_or_else(Uuid::new_v4, |i| i.0);
        let key = id.to_string();
        kept.push(key.clone());
        let parent = g
            .parent_row_level_permission_predicate_group_id
            .map(|p| p.0.to_string());
        if parent.as_deref().is_some_and(|p| !group_known(state, p)) {
            return Err(not_found(
                "rowLevelPermissionPredicateGroup",
                "parentRowLevelPermissionPredicateGroupId",
            ));
        }
        let existing = state
            .rls_groups
            .iter_mut()
            .find(|x| x.id == key && x.deleted_at.is_none());
        if let Some(x) = existing {
            // `from-update-…-group-input-….util.ts:28-36`: role and object stay.
            x.logical_operator = g.logical_operator;
            x.parent_row_level_permission_predicate_group_id = parent;
            x.position_in_row_level_permission_predicate_group =
                g.position_in_row_level_permission_predicate_group;
            continue;
        }
        // `from-create-…-group-input-….util.ts:31-70`: the object is the group input's.
        if model.by_id(g.object_metadata_id.0).is_none() {
            return Err(not_found("objectMetadata", "objectMetadataId"));
        }
        // `SVC:374-377`, `addFlatEntityToFlatEntityMapsOrThrow`: an id taken (soft-deleted).
        if group_known(state, &key) {
            return Err(internal(
                format!("addFlatEntityToFlatEntityMapsOrThrow: flat entity to add already exists (universalIdentifier: {key})"),
                "An error occurred.",
            ));
        }
        if state.held_elsewhere.contains(&id) {
            return Err(migration_failed("rowLevelPermissionPredicateGroup"));
        }
        state.rls_groups.push(RowLevelPermissionPredicateGroup {
            id: key,
            parent_row_level_permission_predicate_group_id: parent,
            logical_operator: g.logical_operator,
            position_in_row_level_permission_predicate_group: g
                .position_in_row_level_permission_predicate_group,
            role_id: role.clone(),
            object_metadata_id: g.object_metadata_id.0.to_string(),
            deleted_at: None,
        });
    }
    for x in state.rls_groups.iter_mut() {
        let mine = x.role_id == role && x.object_metadata_id == object;
        if mine && x.deleted_at.is_none() && !kept.contains(&x.id) {
            x.deleted_at = Some(stamp.clone());
        }
    }

    // Predicates (`SVC:438-487`); the object must exist (`SVC:431-436`).
    if model.by_id(input.object_metadata_id.0).is_none() {
        return Err(not_found("objectMetadata", "objectMetadataId"));
    }
    let mut kept: Vec<String> = Vec::new();
    for p in &input.predicates {
        let id = p.id.map_or_else(Uuid::new_v4, |i| i.0);
        let key = id.to_string();
        kept.push(key.clone());
        // `from-create/update-…-input-….util.ts`: field, group and member field resolved.
        if model.field_by_id(p.field_metadata_id.0).is_none() {
            return Err(not_found("fieldMetadata", "fieldMetadataId"));
        }
        let group = p
            .row_level_permission_predicate_group_id
            .map(|g| g.0.to_string());
        if group.as_deref().is_some_and(|g| !group_known(state, g)) {
            return Err(not_found(
                "rowLevelPermissionPredicateGroup",
                "rowLevelPermissionPredicateGroupId",
            ));
        }
        let member_field = p.workspace_member_field_metadata_id.clone();
        let member_field_known = member_field
            .as_deref()
            .is_none_or(|f| Uuid::parse_str(f).is_ok_and(|f| model.field_by_id(f).is_some()));
        if !member_field_known {
            return Err(not_found("fieldMetadata", "workspaceMemberFieldMetadataId"));
        }
        let fill = |x: &mut RowLevelPermissionPredicate| {
            x.field_metadata_id = p.field_metadata_id.0.to_string();
            x.operand = p.operand;
            x.value = p.value.clone();
            x.sub_field_name = p.sub_field_name.clone();
            x.workspace_member_field_metadata_id = member_field.clone();
            x.workspace_member_sub_field_name = p.workspace_member_sub_field_name.clone();
            x.row_level_permission_predicate_group_id = group.clone();
            x.position_in_row_level_permission_predicate_group =
                p.position_in_row_level_permission_predicate_group;
        };
        let existing = state
            .rls_predicates
            .iter_mut()
            .find(|x| x.id == key && x.deleted_at.is_none());
        if let Some(x) = existing {
            // `from-update-…-input-….util.ts:38-55`: role and object stay, even another's.
            fill(x);
            continue;
        }
        if state.rls_predicates.iter().any(|x| x.id == key) {
            return Err(already_exists(id));
        }
        if state.held_elsewhere.contains(&id) {
            return Err(migration_failed("rowLevelPermissionPredicate"));
        }
        let mut row = RowLevelPermissionPredicate {
            id: key,
            field_metadata_id: String::new(),
            object_metadata_id: object.clone(),
            operand: p.operand,
            sub_field_name: None,
            workspace_member_field_metadata_id: None,
            workspace_member_sub_field_name: None,
            row_level_permission_predicate_group_id: None,
            position_in_row_level_permission_predicate_group: None,
            role_id: role.clone(),
            value: None,
            deleted_at: None,
        };
        fill(&mut row);
        state.rls_predicates.push(row);
    }
    for x in state.rls_predicates.iter_mut() {
        let mine = x.role_id == role && x.object_metadata_id == object;
        if mine && x.deleted_at.is_none() && !kept.contains(&x.id) {
            x.deleted_at = Some(stamp.clone());
        }
    }
    Ok(())
}
