//! Workspace configuration exchanges (issue 16): views and their children, roles and
//! permissions, webhooks, API keys, navigation menu items and a dashboard page layout's tabs on
//! `/metadata`, as an API key may (or may not) write them. Every created view, role, webhook,
//! item and layout has a fresh id and is removed by the exchange that made it.

use serde_json::{json, Value};

use super::{ex, md};
use crate::conformance::{Exchange, Step};
use crate::destination::metadata::{objects_query, ObjectsQuery};

const VIEW: &str = "id name objectMetadataId type key icon position isCompact isCustom \
    openRecordIn mainGroupByFieldMetadataId shouldHideEmptyGroups visibility \
    kanbanAggregateOperation anyFieldFilterValue calendarLayout deletedAt";

/// The objects listing, kept quiet, capturing the object and field ids later steps use.
pub(super) fn ids() -> Step {
    let object = |name: &str| format!("/data/objects/edges/[node.nameSingular={name}]/node");
    let field = |o: &str, f: &str| format!("{}/fieldsList/[name={f}]/id", object(o));
    md(objects_query(ObjectsQuery::NEWEST, None), json!({}))
        .quiet()
        .capture("companyObjectId", &format!("{}/id", object("company")))
        .capture(
            "opportunityObjectId",
            &format!("{}/id", object("opportunity")),
        )
        .capture("taskObjectId", &format!("{}/id", object("task")))
        .capture("stageFieldId", &field("opportunity", "stage"))
        .capture("amountFieldId", &field("opportunity", "amount"))
        .capture("closeDateFieldId", &field("opportunity", "closeDate"))
        .capture("opportunityNameFieldId", &field("opportunity", "name"))
        .capture("companyNameFieldId", &field("company", "name"))
        .capture("domainFieldId", &field("company", "domainName"))
        .capture("linkedinFieldId", &field("company", "linkedinLink"))
}

fn create_view(input: Value) -> Step {
    md(
        format!("mutation CreateView($input: CreateViewInput!) {{ createView(input: $input) {{ {VIEW} }} }}"),
        json!({ "input": input }),
    )
}

fn get_view(id: &str, extra: &str) -> Step {
    md(
        format!("query GetView($id: String!) {{ getView(id: $id) {{ {VIEW} {extra} }} }}"),
        json!({ "id": id }),
    )
}

fn destroy_view(id: &str) -> Step {
    md(
        "mutation DestroyView($id: String!) { destroyView(id: $id) }",
        json!({ "id": id }),
    )
}

/// A custom TABLE view on `object` with a fresh id named `id`.
fn table_view(id: &str, object: &str) -> Value {
    json!({
        "id": format!("${{{id}}}"),
        "name": "Cf ${Run} view",
        "objectMetadataId": format!("${{{object}}}"),
        "icon": "IconList",
        "type": "TABLE",
        "position": 3,
    })
}

/// `getViews` of one object, reduced to what identifies a view, in a stable order.
fn views_summary(body: &Value) -> Value {
    let mut list: Vec<Value> = body
        .pointer("/data/getViews")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            json!({
                "name": v["name"], "type": v["type"], "key": v["key"], "icon": v["icon"],
                "position": v["position"], "isCustom": v["isCustom"],
                "visibility": v["visibility"],
                "mainGroupBy": v["mainGroupByFieldMetadataId"].is_string(),
                "viewGroups": v["viewGroups"].as_array().map(Vec::len),
                "hasViewFields": v["viewFields"].as_array().is_some_and(|f| !f.is_empty()),
            })
        })
        .collect();
    list.sort_by_key(|v| format!("{}|{}", v["type"], v["name"]));
    json!({ "unordered": list, "errors": body.get("errors") })
}

/// A view's groups in position order (the server lists them in no fixed order).
fn groups_by_position(body: &Value) -> Value {
    let mut out = body.clone();
    for pointer in ["/data/getView/viewGroups", "/data/getViewGroups"] {
        if let Some(list) = out.pointer_mut(pointer).and_then(Value::as_array_mut) {
            list.sort_by(|a, b| {
                let p = |v: &Value| v["position"].as_f64().unwrap_or(0.0);
                p(a).total_cmp(&p(b))
            });
        }
    }
    out
}

/// The roles listing reduced to the role labelled `Cf <run> role` and the Admin and Member
/// roles' identity (the seeded workspace has more roles than a fresh one).
fn roles_summary(body: &Value) -> Value {
    let roles = body
        .pointer("/data/getRoles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut mine: Vec<Value> = roles
        .iter()
        .filter(|r| {
            r["label"]
                .as_str()
                .is_some_and(|l| l.starts_with("Cf ") || l == "Admin" || l == "Member")
        })
        .map(|r| {
            let mut r = r.clone();
            if let Some(list) = r.get_mut("objectPermissions").and_then(Value::as_array_mut) {
                list.sort_by_key(|p| p["objectMetadataId"].as_str().unwrap_or("").to_owned());
            }
            if let Some(list) = r.get_mut("permissionFlags").and_then(Value::as_array_mut) {
                for f in list.iter_mut() {
                    *f = f["flag"].clone();
                }
                list.sort_by_key(|f| f.as_str().unwrap_or("").to_owned());
            }
            r
        })
        .collect();
    mine.sort_by_key(|r| r["label"].as_str().unwrap_or("").to_owned());
    json!({ "roles": mine, "errors": body.get("errors") })
}

const ROLE: &str = "id label description icon isEditable canUpdateAllSettings \
    canAccessAllTools canReadAllObjectRecords canUpdateAllObjectRecords \
    canSoftDeleteAllObjectRecords canDestroyAllObjectRecords canBeAssignedToUsers \
    canBeAssignedToAgents canBeAssignedToApiKeys";

fn get_roles() -> Step {
    md(
        format!(
            "query GetRoles {{ getRoles {{ {ROLE} universalIdentifier permissionFlags {{ flag }} \
             objectPermissions {{ objectMetadataId canReadObjectRecords canUpdateObjectRecords \
             canSoftDeleteObjectRecords canDestroyObjectRecords }} }} }}"
        ),
        json!({}),
    )
}

fn object_permissions(role: &str, objects: &[&str]) -> Step {
    let list: Vec<Value> = objects
        .iter()
        .map(|o| json!({ "objectMetadataId": format!("${{{o}}}"), "canReadObjectRecords": true, "canUpdateObjectRecords": false }))
        .collect();
    md(
        "mutation Upsert($input: UpsertObjectPermissionsInput!) { upsertObjectPermissions(upsertObjectPermissionsInput: $input) { objectMetadataId canReadObjectRecords canUpdateObjectRecords canSoftDeleteObjectRecords canDestroyObjectRecords } }",
        json!({ "input": { "roleId": role, "objectPermissions": list } }),
    )
}

const WEBHOOK: &str = "id targetUrl operations description secret";

const NAV: &str = "id userWorkspaceId targetRecordId targetObjectMetadataId viewId type \
    name link icon color folderId pageLayoutId position";

fn nav_by_id(body: &Value) -> Value {
    let mut out = body.clone();
    if let Some(list) = out
        .pointer_mut("/data/createManyNavigationMenuItems")
        .and_then(Value::as_array_mut)
    {
        list.sort_by_key(|i| i["type"].as_str().unwrap_or("").to_owned());
    }
    out
}

/// Every configuration exchange, in run order.
pub(super) fn config() -> Vec<Exchange> {
    let mut all = vec![
        ex(
            "config-view-create-with-id-and-soft-delete",
            vec![
                ids(),
                create_view(table_view("idView", "companyObjectId")),
                get_view("${idView}", "viewFields { fieldMetadataId } viewGroups { fieldValue }"),
                md(
                    "mutation DeleteView($id: String!) { deleteView(id: $id) }",
                    json!({ "id": "${idView}" }),
                ),
                get_view("${idView}", ""),
                create_view(table_view("idView", "companyObjectId")),
                destroy_view("${idView}"),
                create_view(table_view("idView", "companyObjectId")),
                destroy_view("${idView}"),
            ],
        ),
        ex(
            "config-view-unlisted-and-unknown-object-refused",
            vec![
                create_view({
                    let mut v = table_view("idUnlistedView", "companyObjectId");
                    v["visibility"] = json!("UNLISTED");
                    v
                }),
                create_view(table_view("idOrphanView", "idNoSuchObject")),
            ],
        ),
        ex(
            "config-view-kanban-creates-its-groups",
            vec![
                create_view({
                    let mut v = table_view("idKanbanNoGroup", "opportunityObjectId");
                    v["type"] = json!("KANBAN");
                    v
                }),
                create_view({
                    let mut v = table_view("idKanbanOnDate", "opportunityObjectId");
                    v["type"] = json!("KANBAN");
                    v["mainGroupByFieldMetadataId"] = json!("${closeDateFieldId}");
                    v
                }),
                create_view({
                    let mut v = table_view("idKanban", "opportunityObjectId");
                    v["type"] = json!("KANBAN");
                    v["mainGroupByFieldMetadataId"] = json!("${stageFieldId}");
                    v
                }),
                get_view("${idKanban}", "viewGroups { fieldValue position isVisible viewId }")
                    .select(groups_by_position),
                md(
                    "query G($viewId: String) { getViewGroups(viewId: $viewId) { fieldValue position isVisible } }",
                    json!({ "viewId": "${idKanban}" }),
                )
                .select(groups_by_position),
                destroy_view("${idKanban}"),
            ],
        ),
        ex(
            "config-view-filter-options-and-groups",
            vec![
                create_view(table_view("idFilterView", "opportunityObjectId")).quiet(),
                md(
                    "mutation F($input: CreateViewFilterInput!) { createViewFilter(input: $input) { id fieldMetadataId operand value viewFilterGroupId viewId } }",
                    json!({ "input": { "id": "${idBadFilter}", "viewId": "${idFilterView}", "fieldMetadataId": "${stageFieldId}", "operand": "IS", "value": ["NEW", "FOO"] } }),
                ),
                md(
                    "mutation G($input: CreateViewFilterGroupInput!) { createViewFilterGroup(input: $input) { id logicalOperator parentViewFilterGroupId positionInViewFilterGroup viewId } }",
                    json!({ "input": { "id": "${idFilterGroup}", "viewId": "${idFilterView}", "logicalOperator": "OR" } }),
                ),
                md(
                    "mutation F($input: CreateViewFilterInput!) { createViewFilter(input: $input) { id fieldMetadataId operand value viewFilterGroupId positionInViewFilterGroup viewId } }",
                    json!({ "input": { "id": "${idFilter}", "viewId": "${idFilterView}", "fieldMetadataId": "${stageFieldId}", "operand": "IS", "value": "[\"NEW\",\"MEETING\"]", "viewFilterGroupId": "${idFilterGroup}", "positionInViewFilterGroup": 0 } }),
                ),
                md(
                    "mutation U($id: String!, $input: UpdateViewFilterGroupInput!) { updateViewFilterGroup(id: $id, input: $input) { id logicalOperator positionInViewFilterGroup } }",
                    json!({ "id": "${idFilterGroup}", "input": { "positionInViewFilterGroup": 1 } }),
                ),
                md(
                    "mutation U($input: UpdateViewFilterInput!) { updateViewFilter(input: $input) { id operand value } }",
                    json!({ "input": { "id": "${idFilter}", "update": { "operand": "IS_NOT" } } }),
                ),
                md(
                    "query Q($viewId: String) { getViewFilters(viewId: $viewId) { id operand value viewFilterGroupId } }",
                    json!({ "viewId": "${idFilterView}" }),
                ),
                destroy_view("${idFilterView}"),
            ],
        ),
        ex(
            "config-view-field-and-sort-unique-per-view",
            vec![
                create_view(table_view("idFieldView", "companyObjectId")).quiet(),
                md(
                    "mutation M($inputs: [CreateViewFieldInput!]!) { createManyViewFields(inputs: $inputs) { id fieldMetadataId isVisible size position viewId } }",
                    json!({ "inputs": [
                        { "id": "${idNameViewField}", "viewId": "${idFieldView}", "fieldMetadataId": "${companyNameFieldId}", "position": 0, "size": 180 },
                        { "id": "${idDomainViewField}", "viewId": "${idFieldView}", "fieldMetadataId": "${domainFieldId}", "position": 1, "size": 100 },
                    ] }),
                ),
                md(
                    "mutation C($input: CreateViewFieldInput!) { createViewField(input: $input) { id fieldMetadataId } }",
                    json!({ "input": { "id": "${idDuplicateViewField}", "viewId": "${idFieldView}", "fieldMetadataId": "${domainFieldId}", "position": 2 } }),
                ),
                md(
                    "mutation U($input: UpdateViewFieldInput!) { updateViewField(input: $input) { id isVisible size position } }",
                    json!({ "input": { "id": "${idDomainViewField}", "update": { "isVisible": false } } }),
                ),
                md(
                    "mutation S($input: CreateViewSortInput!) { createViewSort(input: $input) { id fieldMetadataId direction viewId } }",
                    json!({ "input": { "id": "${idSort}", "viewId": "${idFieldView}", "fieldMetadataId": "${companyNameFieldId}", "direction": "DESC" } }),
                ),
                md(
                    "mutation S($input: CreateViewSortInput!) { createViewSort(input: $input) { id fieldMetadataId direction viewId } }",
                    json!({ "input": { "id": "${idDuplicateSort}", "viewId": "${idFieldView}", "fieldMetadataId": "${companyNameFieldId}" } }),
                ),
                md(
                    "mutation U($input: UpdateViewSortInput!) { updateViewSort(input: $input) { id direction } }",
                    json!({ "input": { "id": "${idSort}", "update": { "direction": "ASC" } } }),
                ),
                md(
                    "query Q($viewId: String!) { getViewFields(viewId: $viewId) { id fieldMetadataId isVisible position } }",
                    json!({ "viewId": "${idFieldView}" }),
                ),
                destroy_view("${idFieldView}"),
            ],
        ),
        ex(
            "config-view-field-groups",
            vec![
                ids(),
                create_view(table_view("idSectionView", "companyObjectId")).quiet(),
                md(
                    "mutation M($inputs: [CreateViewFieldInput!]!) { createManyViewFields(inputs: $inputs) { id } }",
                    json!({ "inputs": [
                        { "id": "${idSectionField}", "viewId": "${idSectionView}", "fieldMetadataId": "${companyNameFieldId}", "position": 0 },
                    ] }),
                )
                .quiet(),
                md(
                    "mutation G($inputs: [CreateViewFieldGroupInput!]!) { createManyViewFieldGroups(inputs: $inputs) { id name position isVisible viewId } }",
                    json!({ "inputs": [
                        { "id": "${idSectionA}", "viewId": "${idSectionView}", "name": "Main", "position": 0 },
                        { "id": "${idSectionB}", "viewId": "${idSectionView}", "name": "Other", "position": 1, "isVisible": false },
                    ] }),
                ),
                md(
                    "mutation G($inputs: [CreateViewFieldGroupInput!]!) { createManyViewFieldGroups(inputs: $inputs) { id } }",
                    json!({ "inputs": [{ "id": "${idSectionA}", "viewId": "${idSectionView}", "name": "Main" }] }),
                ),
                md(
                    "mutation G($inputs: [CreateViewFieldGroupInput!]!) { createManyViewFieldGroups(inputs: $inputs) { id } }",
                    json!({ "inputs": [{ "id": "${idSectionC}", "viewId": "${idNoSuchView}", "name": "Lost" }] }),
                ),
                md(
                    "mutation U($input: UpdateViewFieldInput!) { updateViewField(input: $input) { id viewFieldGroupId } }",
                    json!({ "input": { "id": "${idSectionField}", "update": { "viewFieldGroupId": "${idSectionB}" } } }),
                ),
                md(
                    "mutation U($input: UpdateViewFieldGroupInput!) { updateViewFieldGroup(input: $input) { id name position isVisible } }",
                    json!({ "input": { "id": "${idSectionB}", "update": { "name": "Renamed", "isVisible": true } } }),
                ),
                md(
                    "mutation U($input: UpdateViewFieldGroupInput!) { updateViewFieldGroup(input: $input) { id } }",
                    json!({ "input": { "id": "${idNoSuchSection}", "update": { "name": "R" } } }),
                ),
                md(
                    "query Q($viewId: String!) { getViewFieldGroups(viewId: $viewId) { id name position isVisible viewFields { id } } }",
                    json!({ "viewId": "${idSectionView}" }),
                )
                .select(|body| {
                    let mut out = body.clone();
                    if let Some(list) = out.pointer_mut("/data/getViewFieldGroups").and_then(Value::as_array_mut) {
                        list.sort_by(|a, b| {
                            let p = |v: &Value| v["position"].as_f64().unwrap_or(0.0);
                            p(a).total_cmp(&p(b))
                        });
                    }
                    out
                }),
                md(
                    "mutation U($input: UpdateViewFieldInput!) { updateViewField(input: $input) { id viewFieldGroupId } }",
                    json!({ "input": { "id": "${idSectionField}", "update": { "viewFieldGroupId": null } } }),
                ),
                destroy_view("${idSectionView}"),
            ],
        ),
        ex(
            "config-standard-views-of-opportunity-and-task",
            vec![
                md(
                    format!("query V($o: String) {{ getViews(objectMetadataId: $o) {{ {VIEW} viewFields {{ id }} viewGroups {{ id }} }} }}"),
                    json!({ "o": "${opportunityObjectId}" }),
                )
                .select(views_summary),
                md(
                    format!("query V($o: String) {{ getViews(objectMetadataId: $o) {{ {VIEW} viewFields {{ id }} viewGroups {{ id }} }} }}"),
                    json!({ "o": "${taskObjectId}" }),
                )
                .select(views_summary),
                md(
                    format!("query V($o: String) {{ getViews(objectMetadataId: $o) {{ {VIEW} viewFields {{ id }} viewGroups {{ id }} }} }}"),
                    json!({ "o": "${thingObjectId}" }),
                )
                .select(views_summary),
            ],
        ),
        ex(
            "config-standard-view-update-is-an-override",
            vec![
                md(
                    "query V($o: String) { getViews(objectMetadataId: $o, viewTypes: [TABLE]) { id key name } }",
                    json!({ "o": "${companyObjectId}" }),
                )
                .quiet()
                .capture("companyIndexViewId", "/data/getViews/[key=INDEX]/id"),
                md(
                    format!("mutation U($id: String!, $input: UpdateViewInput!) {{ updateView(id: $id, input: $input) {{ {VIEW} }} }}"),
                    json!({ "id": "${companyIndexViewId}", "input": { "name": "All the Companies" } }),
                ),
                get_view("${companyIndexViewId}", ""),
                md(
                    "mutation U($id: String!, $input: UpdateViewInput!) { updateView(id: $id, input: $input) { name } }",
                    json!({ "id": "${companyIndexViewId}", "input": { "name": "All Companies" } }),
                ),
            ],
        ),
        ex(
            "config-role-create-and-replace-permissions",
            vec![
                md(
                    format!("mutation R($input: CreateRoleInput!) {{ createOneRole(createRoleInput: $input) {{ {ROLE} }} }}"),
                    json!({ "input": { "id": "${idRole}", "label": "Cf ${Run} role", "description": "migrated", "icon": "IconUser", "canReadAllObjectRecords": false, "canUpdateAllSettings": false } }),
                ),
                md(
                    format!("mutation R($input: CreateRoleInput!) {{ createOneRole(createRoleInput: $input) {{ {ROLE} }} }}"),
                    json!({ "input": { "id": "${idRoleTwin}", "label": "Cf ${Run} role" } }),
                ),
                object_permissions("${idRole}", &["companyObjectId", "opportunityObjectId"]),
                object_permissions("${idRole}", &["companyObjectId"]),
                md(
                    "mutation F($input: UpsertPermissionFlagsInput!) { upsertPermissionFlags(upsertPermissionFlagsInput: $input) { roleId flag } }",
                    json!({ "input": { "roleId": "${idRole}", "permissionFlagKeys": ["VIEWS", "WORKFLOWS"] } }),
                ),
                md(
                    "mutation F($input: UpsertPermissionFlagsInput!) { upsertPermissionFlags(upsertPermissionFlagsInput: $input) { roleId flag } }",
                    json!({ "input": { "roleId": "${idRole}", "permissionFlagKeys": ["VIEWS", "ADMIN_PANEL"] } }),
                ),
                md(
                    "mutation P($input: UpsertFieldPermissionsInput!) { upsertFieldPermissions(upsertFieldPermissionsInput: $input) { objectMetadataId fieldMetadataId roleId canReadFieldValue canUpdateFieldValue } }",
                    json!({ "input": { "roleId": "${idRole}", "fieldPermissions": [{ "objectMetadataId": "${companyObjectId}", "fieldMetadataId": "${domainFieldId}", "canUpdateFieldValue": false }] } }),
                ),
                md(
                    "mutation P($input: UpsertFieldPermissionsInput!) { upsertFieldPermissions(upsertFieldPermissionsInput: $input) { fieldMetadataId canReadFieldValue } }",
                    json!({ "input": { "roleId": "${idRole}", "fieldPermissions": [{ "objectMetadataId": "${companyObjectId}", "fieldMetadataId": "${linkedinFieldId}", "canReadFieldValue": true }] } }),
                ),
                md(
                    format!("mutation U($input: UpdateRoleInput!) {{ updateOneRole(updateRoleInput: $input) {{ {ROLE} }} }}"),
                    json!({ "input": { "id": "${idRole}", "update": { "description": "migrated again", "canAccessAllTools": true } } }),
                ),
                get_roles().select(roles_summary),
                md(
                    "mutation D($roleId: UUID!) { deleteOneRole(roleId: $roleId) }",
                    json!({ "roleId": "${idRole}" }),
                ),
            ],
        ),
        ex(
            "config-role-admin-not-editable-and-assignments-refused",
            vec![
                get_roles()
                    .quiet()
                    .capture("adminRoleId", "/data/getRoles/[label=Admin]/id")
                    .capture("memberRoleId", "/data/getRoles/[label=Member]/id"),
                object_permissions("${adminRoleId}", &["companyObjectId"]),
                md(
                    "mutation M($w: UUID!, $r: UUID!) { updateWorkspaceMemberRole(workspaceMemberId: $w, roleId: $r) { id } }",
                    json!({ "w": "${idMember}", "r": "${memberRoleId}" }),
                ),
                md(
                    "mutation A($k: UUID!, $r: UUID!) { assignRoleToApiKey(apiKeyId: $k, roleId: $r) }",
                    json!({ "k": "${idApiKey}", "r": "${memberRoleId}" }),
                ),
                md(
                    "mutation I($emails: [String!]!) { sendInvitations(emails: $emails) { success } }",
                    json!({ "emails": ["someone@example.com"] }),
                ),
            ],
        ),
        ex(
            "config-api-keys-are-session-only",
            vec![
                md(
                    "mutation K($input: CreateApiKeyInput!) { createApiKey(input: $input) { id name } }",
                    json!({ "input": { "name": "migrated", "expiresAt": "2030-01-01T00:00:00.000Z", "roleId": "${memberRoleId}" } }),
                ),
                md(
                    "mutation K($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { id } }",
                    json!({ "input": { "id": "${idApiKey}" } }),
                ),
            ],
        ),
        ex(
            "config-webhook-create-with-id-and-secret",
            vec![
                md(
                    format!("mutation W($input: CreateWebhookInput!) {{ createWebhook(input: $input) {{ {WEBHOOK} }} }}"),
                    json!({ "input": { "id": "${idWebhook}", "targetUrl": "http://localhost:9/hook", "operations": ["company.created", "*.updated"], "description": "migrated", "secret": "s3cret-${Run}" } }),
                ),
                md(
                    format!("query W($id: UUID!) {{ webhook(id: $id) {{ {WEBHOOK} }} }}"),
                    json!({ "id": "${idWebhook}" }),
                ),
                md(
                    format!("mutation W($input: CreateWebhookInput!) {{ createWebhook(input: $input) {{ {WEBHOOK} }} }}"),
                    json!({ "input": { "id": "${idWebhook}", "targetUrl": "http://localhost:9/other", "operations": ["*.*"] } }),
                ),
                md(
                    format!("mutation W($input: UpdateWebhookInput!) {{ updateWebhook(input: $input) {{ {WEBHOOK} }} }}"),
                    json!({ "input": { "id": "${idWebhook}", "update": { "description": "changed" } } }),
                ),
                md(
                    "mutation W($id: UUID!) { deleteWebhook(id: $id) { id } }",
                    json!({ "id": "${idWebhook}" }),
                ),
                md(
                    "query W($id: UUID!) { webhook(id: $id) { id } }",
                    json!({ "id": "${idWebhook}" }),
                ),
            ],
        ),
        ex(
            "config-navigation-items",
            vec![
                md(
                    format!("mutation N($input: CreateNavigationMenuItemInput!) {{ createNavigationMenuItem(input: $input) {{ {NAV} }} }}"),
                    json!({ "input": { "id": "${idUserNav}", "userWorkspaceId": "${idUserWorkspace}", "type": "LINK", "name": "Docs", "link": "https://example.com" } }),
                ),
                md(
                    format!("mutation N($input: CreateNavigationMenuItemInput!) {{ createNavigationMenuItem(input: $input) {{ {NAV} }} }}"),
                    json!({ "input": { "id": "${idBadNav}", "type": "VIEW", "name": "no view" } }),
                ),
                create_view(table_view("idNavView", "companyObjectId")).quiet(),
                md(
                    format!("mutation N($inputs: [CreateNavigationMenuItemInput!]!) {{ createManyNavigationMenuItems(inputs: $inputs) {{ {NAV} }} }}"),
                    json!({ "inputs": [
                        { "id": "${idNavViewItem}", "type": "VIEW", "viewId": "${idNavView}", "folderId": "${idNavFolder}", "position": 0 },
                        { "id": "${idNavFolder}", "type": "FOLDER", "name": "Cf ${Run} folder", "position": 40 },
                    ] }),
                )
                .select(nav_by_id),
                md(
                    format!("mutation N($input: UpdateOneNavigationMenuItemInput!) {{ updateNavigationMenuItem(input: $input) {{ {NAV} }} }}"),
                    json!({ "input": { "id": "${idNavFolder}", "update": { "name": "Cf ${Run} renamed", "position": 41 } } }),
                ),
                md(
                    format!("query N($id: UUID!) {{ navigationMenuItem(id: $id) {{ {NAV} }} }}"),
                    json!({ "id": "${idNavViewItem}" }),
                ),
                md(
                    "mutation D($ids: [UUID!]!) { deleteManyNavigationMenuItems(ids: $ids) { id } }",
                    json!({ "ids": ["${idNavViewItem}", "${idNavFolder}"] }),
                ),
                destroy_view("${idNavView}"),
            ],
        ),
        ex(
            "config-one-root-resolver-per-document",
            vec![md(
                "query Two($a: String!, $b: String!) { a: getView(id: $a) { id } b: getView(id: $b) { id } }",
                json!({ "a": "${idNoView1}", "b": "${idNoView2}" }),
            )],
        ),
    ];
    all.extend(super::config_layouts::config_layouts());
    all
}
