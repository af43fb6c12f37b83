//! The configuration's mutations on `/metadata`, one per [`super::ConfigChange`] variant. Input
//! names and shapes are those introspection shows on a real 2.21 (sources in
//! [`super::configuration`]).

use serde_json::{json, Value};
use uuid::Uuid;

use super::configuration::{
    input, TargetFieldPermission, TargetNavigationItem, TargetObjectPermission, TargetView,
    TargetViewField, TargetViewFieldGroup, TargetViewFilter, TargetViewFilterGroup,
    TargetViewGroup, TargetViewSort, TargetWebhook,
};
use super::{Target, TargetError};

impl Target {
    async fn mutate(&self, document: &str, variables: Value) -> Result<(), TargetError> {
        self.graphql(document, variables).await.map(drop)
    }

    /// `createView` with the view's id; a KANBAN's groups are created by the target.
    pub async fn create_view(&self, view: &TargetView) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: CreateViewInput!) { createView(input: $input) { id } }",
            json!({ "input": input(view) }),
        )
        .await
    }

    /// `updateView(id, input)` with only the properties given.
    pub async fn update_view(&self, id: Uuid, changes: Value) -> Result<(), TargetError> {
        self.mutate(
            "mutation($id: String!, $input: UpdateViewInput!) { updateView(id: $id, input: $input) { id } }",
            json!({ "id": id, "input": changes }),
        )
        .await
    }

    /// `createManyViewFields`: one request for a view's missing fields.
    pub async fn create_view_fields(&self, fields: &[TargetViewField]) -> Result<(), TargetError> {
        self.mutate(
            "mutation($inputs: [CreateViewFieldInput!]!) { createManyViewFields(inputs: $inputs) { id } }",
            json!({ "inputs": input(&fields) }),
        )
        .await
    }

    /// `createManyViewFieldGroups` with their ids (`NoPermissionGuard`,
    /// `view-field-group/resolvers/view-field-group.resolver.ts`).
    pub async fn create_view_field_groups(
        &self,
        groups: &[TargetViewFieldGroup],
    ) -> Result<(), TargetError> {
        self.mutate(
            "mutation($inputs: [CreateViewFieldGroupInput!]!) { createManyViewFieldGroups(inputs: $inputs) { id } }",
            json!({ "inputs": input(&groups) }),
        )
        .await
    }

    /// `updateViewFieldGroup(input: {id, update})`.
    pub async fn update_view_field_group(
        &self,
        id: Uuid,
        update: Value,
    ) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateViewFieldGroupInput!) { updateViewFieldGroup(input: $input) { id } }",
            json!({ "input": { "id": id, "update": update } }),
        )
        .await
    }

    /// `updateViewField(input: {id, update})`.
    pub async fn update_view_field(&self, id: Uuid, update: Value) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateViewFieldInput!) { updateViewField(input: $input) { id } }",
            json!({ "input": { "id": id, "update": update } }),
        )
        .await
    }

    /// `createViewFilterGroup` with its id.
    pub async fn create_view_filter_group(
        &self,
        group: &TargetViewFilterGroup,
    ) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: CreateViewFilterGroupInput!) { createViewFilterGroup(input: $input) { id } }",
            json!({ "input": input(group) }),
        )
        .await
    }

    /// `updateViewFilterGroup(id, input)`, always with `logicalOperator`.
    pub async fn update_view_filter_group(
        &self,
        group: &TargetViewFilterGroup,
    ) -> Result<(), TargetError> {
        let mut update = input(group);
        if let Some(map) = update.as_object_mut() {
            map.remove("id");
            map.remove("viewId");
        }
        self.mutate(
            "mutation($id: String!, $input: UpdateViewFilterGroupInput!) { updateViewFilterGroup(id: $id, input: $input) { id } }",
            json!({ "id": group.id, "input": update }),
        )
        .await
    }

    /// `createViewFilter` with its id.
    pub async fn create_view_filter(&self, filter: &TargetViewFilter) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: CreateViewFilterInput!) { createViewFilter(input: $input) { id } }",
            json!({ "input": input(filter) }),
        )
        .await
    }

    /// `updateViewFilter(input: {id, update})`.
    pub async fn update_view_filter(&self, id: Uuid, update: Value) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateViewFilterInput!) { updateViewFilter(input: $input) { id } }",
            json!({ "input": { "id": id, "update": update } }),
        )
        .await
    }

    /// `deleteViewFilter(input: {id})`.
    pub async fn delete_view_filter(&self, id: Uuid) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: DeleteViewFilterInput!) { deleteViewFilter(input: $input) { id } }",
            json!({ "input": { "id": id } }),
        )
        .await
    }

    /// `createViewSort` with its id.
    pub async fn create_view_sort(&self, sort: &TargetViewSort) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: CreateViewSortInput!) { createViewSort(input: $input) { id } }",
            json!({ "input": input(sort) }),
        )
        .await
    }

    /// `updateViewSort(input: {id, update: {direction}})`.
    pub async fn update_view_sort(&self, id: Uuid, direction: &str) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateViewSortInput!) { updateViewSort(input: $input) { id } }",
            json!({ "input": { "id": id, "update": { "direction": direction } } }),
        )
        .await
    }

    /// `deleteViewSort(input: {id})`.
    pub async fn delete_view_sort(&self, id: Uuid) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: DeleteViewSortInput!) { deleteViewSort(input: $input) }",
            json!({ "input": { "id": id } }),
        )
        .await
    }

    /// `createManyViewGroups`: a view's missing groups in one request.
    pub async fn create_view_groups(&self, groups: &[TargetViewGroup]) -> Result<(), TargetError> {
        self.mutate(
            "mutation($inputs: [CreateViewGroupInput!]!) { createManyViewGroups(inputs: $inputs) { id } }",
            json!({ "inputs": input(&groups) }),
        )
        .await
    }

    /// `updateViewGroup(input: {id, update})`.
    pub async fn update_view_group(&self, id: Uuid, update: Value) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateViewGroupInput!) { updateViewGroup(input: $input) { id } }",
            json!({ "input": { "id": id, "update": update } }),
        )
        .await
    }

    /// `createOneRole` with the role's id (`CreateRoleInput.id` is a `String`).
    pub async fn create_role(&self, role: Value) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: CreateRoleInput!) { createOneRole(createRoleInput: $input) { id } }",
            json!({ "input": role }),
        )
        .await
    }

    /// `updateOneRole(updateRoleInput: {id, update})`.
    pub async fn update_role(&self, id: Uuid, update: Value) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateRoleInput!) { updateOneRole(updateRoleInput: $input) { id } }",
            json!({ "input": { "id": id, "update": update } }),
        )
        .await
    }

    /// `upsertObjectPermissions`: replaces the role's whole set.
    pub async fn set_object_permissions(
        &self,
        role: Uuid,
        permissions: &[TargetObjectPermission],
    ) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpsertObjectPermissionsInput!) { upsertObjectPermissions(upsertObjectPermissionsInput: $input) { objectMetadataId } }",
            json!({ "input": { "roleId": role, "objectPermissions": input(&permissions) } }),
        )
        .await
    }

    /// `upsertFieldPermissions`: merges; an entry with both values null removes it.
    pub async fn merge_field_permissions(
        &self,
        role: Uuid,
        permissions: &[TargetFieldPermission],
    ) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpsertFieldPermissionsInput!) { upsertFieldPermissions(upsertFieldPermissionsInput: $input) { fieldMetadataId } }",
            json!({ "input": { "roleId": role, "fieldPermissions": input(&permissions) } }),
        )
        .await
    }

    /// `upsertPermissionFlags`: replaces the role's flags.
    pub async fn set_permission_flags(
        &self,
        role: Uuid,
        flags: &[String],
    ) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpsertPermissionFlagsInput!) { upsertPermissionFlags(upsertPermissionFlagsInput: $input) { flag } }",
            json!({ "input": { "roleId": role, "permissionFlagKeys": flags } }),
        )
        .await
    }

    /// `createManyNavigationMenuItems` (the target creates folders first).
    pub async fn create_navigation_items(
        &self,
        items: &[TargetNavigationItem],
    ) -> Result<(), TargetError> {
        self.mutate(
            "mutation($inputs: [CreateNavigationMenuItemInput!]!) { createManyNavigationMenuItems(inputs: $inputs) { id } }",
            json!({ "inputs": input(&items) }),
        )
        .await
    }

    /// `updateNavigationMenuItem(input: {id, update})`: folder, position, name, link, icon,
    /// color (type and targets cannot change).
    pub async fn update_navigation_item(&self, id: Uuid, update: Value) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateOneNavigationMenuItemInput!) { updateNavigationMenuItem(input: $input) { id } }",
            json!({ "input": { "id": id, "update": update } }),
        )
        .await
    }

    /// `createWebhook` with the source's id and secret.
    pub async fn create_webhook(&self, webhook: &TargetWebhook) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id } }",
            json!({ "input": input(webhook) }),
        )
        .await
    }

    /// `updateWebhook(input: {id, update})`.
    pub async fn update_webhook(&self, webhook: &TargetWebhook) -> Result<(), TargetError> {
        self.mutate(
            "mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { id } }",
            json!({ "input": { "id": webhook.id, "update": {
                "targetUrl": webhook.target_url,
                "operations": webhook.operations,
                "description": webhook.description,
                "secret": webhook.secret,
            } } }),
        )
        .await
    }
}
