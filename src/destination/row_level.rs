//! Row-level permission predicates of a role on one object (an Enterprise feature of Twenty):
//! read in `getRoles { rowLevelPermissionPredicates rowLevelPermissionPredicateGroups }` and
//! written whole with `upsertRowLevelPermissionPredicates`, which soft-deletes the role and
//! object's predicates and groups the input leaves out and keeps the ids it is given.
//!
//! Sources in twentyhq/twenty 2.21, `packages/twenty-server/src/engine/metadata-modules/`:
//! `role/role.resolver.ts` (the mutation and the two `Role` fields),
//! `row-level-permission-predicate/dtos/` (the shapes: ids are `String`s in the answers, the
//! input's `workspaceMemberFieldMetadataId` is a `String` too),
//! `row-level-permission-predicate/services/row-level-permission-predicate.service.ts` (the
//! upsert: groups are created in input order, so a parent comes before its children).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::configuration::input;
use super::{Target, TargetError};

/// A predicate, as `Role.rowLevelPermissionPredicates` answers it and as the upsert takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRlsPredicate {
    /// Id.
    pub id: Uuid,
    /// The field tested.
    pub field_metadata_id: Uuid,
    /// The object (read only: the input names it once for all).
    #[serde(default, skip_serializing)]
    pub object_metadata_id: Option<Uuid>,
    /// `operand` (`RowLevelPermissionPredicateOperand`).
    pub operand: String,
    /// `value` as stored (a string, a list, `{selectedRecordIds}`…).
    #[serde(default)]
    pub value: Value,
    /// `subFieldName`.
    #[serde(default)]
    pub sub_field_name: Option<String>,
    /// `workspaceMemberFieldMetadataId`: the member's field compared with.
    #[serde(default)]
    pub workspace_member_field_metadata_id: Option<Uuid>,
    /// `workspaceMemberSubFieldName`.
    #[serde(default)]
    pub workspace_member_sub_field_name: Option<String>,
    /// `rowLevelPermissionPredicateGroupId`.
    #[serde(default)]
    pub row_level_permission_predicate_group_id: Option<Uuid>,
    /// `positionInRowLevelPermissionPredicateGroup`.
    #[serde(default)]
    pub position_in_row_level_permission_predicate_group: Option<f64>,
}

/// A predicate group, as read and as the upsert takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRlsGroup {
    /// Id.
    pub id: Uuid,
    /// The object.
    pub object_metadata_id: Uuid,
    /// `parentRowLevelPermissionPredicateGroupId`.
    #[serde(default)]
    pub parent_row_level_permission_predicate_group_id: Option<Uuid>,
    /// `logicalOperator`: AND or OR.
    pub logical_operator: String,
    /// `positionInRowLevelPermissionPredicateGroup`.
    #[serde(default)]
    pub position_in_row_level_permission_predicate_group: Option<f64>,
}

/// One `upsertRowLevelPermissionPredicates`: everything a role has on one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRowLevelPermissions {
    /// The role's label, for reports (not sent).
    #[serde(skip)]
    pub role: String,
    /// The object's name, for reports (not sent).
    #[serde(skip)]
    pub object: String,
    /// `roleId`.
    pub role_id: Uuid,
    /// `objectMetadataId`.
    pub object_metadata_id: Uuid,
    /// `predicates`.
    pub predicates: Vec<TargetRlsPredicate>,
    /// `predicateGroups`, parents before their children.
    pub predicate_groups: Vec<TargetRlsGroup>,
}

/// The `Role` selection of the two lists (both nullable in `role.resolver.ts:383-413`).
pub(super) const ROLE_ROW_LEVEL_FIELDS: &str = "rowLevelPermissionPredicates { id fieldMetadataId objectMetadataId operand value subFieldName workspaceMemberFieldMetadataId workspaceMemberSubFieldName rowLevelPermissionPredicateGroupId positionInRowLevelPermissionPredicateGroup } rowLevelPermissionPredicateGroups { id objectMetadataId parentRowLevelPermissionPredicateGroupId logicalOperator positionInRowLevelPermissionPredicateGroup }";

/// A nullable list read as an empty one.
pub(super) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl Target {
    /// `upsertRowLevelPermissionPredicates`: replaces the role's predicates and groups on the
    /// object.
    pub async fn set_row_level_permissions(
        &self,
        set: &TargetRowLevelPermissions,
    ) -> Result<(), TargetError> {
        self.graphql(
            "mutation($input: UpsertRowLevelPermissionPredicatesInput!) { upsertRowLevelPermissionPredicates(input: $input) { predicates { id } predicateGroups { id } } }",
            json!({ "input": input(set) }),
        )
        .await
        .map(drop)
    }
}
