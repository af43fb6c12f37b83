//! Workspace configuration on `/metadata` (issue 16): the fresh workspace's views, roles and
//! navigation items, the side effects of createOneObject, the id rules, the webhook write
//! counter, and the one-root-field-per-document rule. The answers themselves are checked
//! against real 2.21 goldens (`tests/conformance/twenty-2.21/config-*.json`).

use serde_json::{json, Value};
use uuid::Uuid;

use super::{start, Env};

async fn create_view(env: &Env, input: Value) -> Value {
    env.gql(
        "mutation($i: CreateViewInput!) { createView(input: $i) { id name type key isCustom } }",
        json!({ "i": input }),
    )
    .await
}

// engine/workspace-manager/twenty-standard-application/utils/view/compute-standard-*-views.util.ts
#[tokio::test]
async fn a_fresh_twin_has_the_standard_views_roles_and_menu_of_a_2_21_workspace() {
    let env = start().await;
    let views = env.twin.views();
    let opportunity = env.object_id("opportunity").await;
    let by_stage = views
        .iter()
        .find(|v| v.name == "By Stage" && v.object_metadata_id.0.to_string() == opportunity)
        .expect("By Stage");
    assert_eq!(env.twin.view_groups(by_stage.id.0).len(), 5);
    let index = views
        .iter()
        .find(|v| v.name == "All Opportunities")
        .expect("INDEX view, name template translated");
    assert!(!env.twin.view_fields(index.id.0).is_empty());
    let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
    for want in [
        "By Status",
        "Assigned to Me",
        "All Companies",
        "Runs",
        "Versions",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    let roles = env.twin.roles();
    let admin = roles.iter().find(|r| r.label == "Admin").expect("Admin");
    assert!(!admin.is_editable);
    assert_eq!(
        admin
            .universal_identifier
            .map(|u| u.0.to_string())
            .as_deref(),
        Some("20202020-02c2-43f2-b94d-cab1f2b532eb")
    );
    assert!(roles.iter().any(|r| r.label == "Member" && r.is_editable));
    let items = env.twin.navigation_menu_items();
    assert_eq!(
        items.len(),
        10,
        "6 objects, a Workflows folder and its 3 objects"
    );
}

// MM/object-metadata/object-metadata.service.ts:500-660
#[tokio::test]
async fn a_created_object_gets_its_index_view_record_page_view_and_menu_item() {
    let env = start().await;
    let body = env
        .gql(
            "mutation($o: CreateObjectInput!) { createOneObject(input: {object: $o}) { id } }",
            json!({"o": {"nameSingular": "rocket", "namePlural": "rockets",
                         "labelSingular": "Rocket", "labelPlural": "Rockets"}}),
        )
        .await;
    let id: Uuid = body["data"]["createOneObject"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("object id");
    let names: Vec<String> = env
        .twin
        .views()
        .into_iter()
        .filter(|v| v.object_metadata_id.0 == id)
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["All Rockets", "Rocket Record Page Fields"]);
    assert!(env
        .twin
        .navigation_menu_items()
        .iter()
        .any(|n| n.target_object_metadata_id.map(|o| o.0) == Some(id)));
}

// assert-is-valid-uuid.util.ts; facts §1.2: a real 2.21 stores such a view and breaks.
#[tokio::test]
async fn a_view_id_that_is_not_rfc_4122_is_refused_and_not_stored() {
    let env = start().await;
    let company = env.object_id("company").await;
    let bad = "20202020-aaaa-4bbb-1ccc-000000000001";
    let body = create_view(
        &env,
        json!({"id": bad, "name": "x", "objectMetadataId": company, "icon": "IconList"}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "INTERNAL_SERVER_ERROR"
    );
    assert_eq!(
        body["errors"][0]["message"],
        format!("Invalid UUID: '{bad}'")
    );
    assert!(env.twin.views().iter().all(|v| v.id.0.to_string() != bad));
}

// view-filter-group: UpdateViewFilterGroupInput = PartialType(Create…), default AND.
#[tokio::test]
async fn updating_a_filter_group_without_its_operator_resets_it_to_and() {
    let env = start().await;
    let company = env.object_id("company").await;
    let view = Uuid::new_v4().to_string();
    create_view(
        &env,
        json!({"id": view, "name": "v", "objectMetadataId": company, "icon": "IconList"}),
    )
    .await;
    let group = Uuid::new_v4().to_string();
    env.gql(
        "mutation($i: CreateViewFilterGroupInput!) { createViewFilterGroup(input: $i) { id } }",
        json!({"i": {"id": group, "viewId": view, "logicalOperator": "OR"}}),
    )
    .await;
    let body = env
        .gql(
            "mutation($id: String!) { updateViewFilterGroup(id: $id, input: {positionInViewFilterGroup: 2}) { logicalOperator } }",
            json!({"id": group}),
        )
        .await;
    assert_eq!(
        body["data"]["updateViewFilterGroup"]["logicalOperator"],
        "AND"
    );
}

// The twin never calls webhook URLs; it counts the record writes after each webhook.
#[tokio::test]
async fn the_webhook_counter_tells_whether_records_were_written_after_the_webhook() {
    let env = start().await;
    env.create("companies", json!([{"name": "Before"}])).await;
    let hook = Uuid::new_v4();
    let body = env
        .gql(
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { id secret } }",
            json!({"i": {"id": hook, "targetUrl": "http://localhost:9/hook", "operations": ["*.*"], "secret": "s"}}),
        )
        .await;
    assert_eq!(body["data"]["createWebhook"]["secret"], "s", "{body}");
    assert_eq!(env.twin.webhook_writes_after(hook), Some(0));
    let after = env
        .create(
            "companies",
            json!([{"name": "After 1"}, {"name": "After 2"}]),
        )
        .await;
    assert_eq!(env.twin.webhook_writes_after(hook), Some(2));
    let (status, _) = env
        .delete(&format!(
            "/rest/companies/{}?soft_delete=true",
            after[0]["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(env.twin.webhook_writes_after(hook), Some(3));
    assert_eq!(env.twin.stats().records_deleted, 1);
    assert_eq!(env.twin.webhook_writes_after(Uuid::new_v4()), None);
}

// core-modules/graphql/hooks/use-validate-graphql-query-complexity.hook.ts:213-245
#[tokio::test]
async fn one_document_may_not_name_the_same_root_field_twice() {
    let env = start().await;
    let body = env
        .gql(
            "query { a: getViews { id } b: getViews { id } }",
            Value::Null,
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"],
        "Duplicate root resolver: \"getViews\""
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(body.get("data").is_none());
    let body = env
        .gql("query { getViews { id } getRoles { id } }", Value::Null)
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

// VAL/flat-view-filter-validator.service.ts:66-90: the filter's field and view exist.
#[tokio::test]
async fn a_filter_on_an_unknown_field_is_a_validation_refusal() {
    let env = start().await;
    let company = env.object_id("company").await;
    let view = Uuid::new_v4().to_string();
    create_view(
        &env,
        json!({"id": view, "name": "v", "objectMetadataId": company, "icon": "IconList"}),
    )
    .await;
    let body = env
        .gql(
            "mutation($i: CreateViewFilterInput!) { createViewFilter(input: $i) { id } }",
            json!({"i": {"viewId": view, "fieldMetadataId": Uuid::new_v4(), "operand": "IS", "value": "x"}}),
        )
        .await;
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(ext["code"], "METADATA_VALIDATION_FAILED", "{body}");
    assert_eq!(
        ext["errors"]["viewFilter"][0]["errors"][0]["code"],
        "INVALID_VIEW_FILTER_DATA"
    );
    assert_eq!(
        ext["errors"]["viewFilter"][0]["errors"][0]["message"],
        "Field metadata not found"
    );
}

// MM/page-layout/resolvers/page-layout.resolver.ts; page-layout-update.service.ts:270-330, 560-590
#[tokio::test]
async fn a_page_layout_gets_a_server_id_and_its_tabs_and_widgets_keep_the_ids_given() {
    let env = start().await;
    let refused = env
        .gql(
            "mutation($i: CreatePageLayoutInput!) { createPageLayout(input: $i) { id } }",
            json!({ "i": { "id": Uuid::new_v4(), "name": "KPIs", "type": "DASHBOARD" } }),
        )
        .await;
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("\"id\""));
    let made = env
        .gql(
            "mutation($i: CreatePageLayoutInput!) { createPageLayout(input: $i) { id name type tabs { id } } }",
            json!({ "i": { "name": "KPIs", "type": "DASHBOARD" } }),
        )
        .await;
    let layout = made["data"]["createPageLayout"]["id"]
        .as_str()
        .expect("a server id")
        .to_owned();
    // A real 2.21 answers the new layout without its tabs (`fromFlatPageLayoutToPageLayoutDto`).
    assert_eq!(made["data"]["createPageLayout"]["tabs"], Value::Null);

    let replace = "mutation($id: String!, $i: UpdatePageLayoutWithTabsInput!) { updatePageLayoutWithTabsAndWidgets(id: $id, input: $i) { id } }";
    let (tab, first, second) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let widget = |id: Uuid, title: &str| {
        json!({ "id": id, "pageLayoutTabId": tab, "title": title, "type": "GRAPH",
                "gridPosition": {"row": 0, "column": 0, "rowSpan": 2, "columnSpan": 2},
                "configuration": {"configurationType": "AGGREGATE_CHART"} })
    };
    let input = |widgets: Vec<Value>| {
        json!({ "name": "KPIs", "type": "DASHBOARD",
                "tabs": [{ "id": tab, "title": "Overview", "position": 0, "widgets": widgets }] })
    };
    let body = env
        .gql(
            replace,
            json!({ "id": layout, "i": input(vec![widget(first, "a"), widget(second, "b")]) }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let layouts = env.twin.dashboard_layouts();
    assert_eq!(layouts[0].tabs[0].id.0, tab, "the tab keeps its id");
    let ids: Vec<Uuid> = layouts[0].tabs[0].widgets.iter().map(|w| w.id.0).collect();
    assert_eq!(ids, vec![first, second], "the widgets keep theirs");

    // A widget left out is deleted.
    env.gql(
        replace,
        json!({ "id": layout, "i": input(vec![widget(second, "b")]) }),
    )
    .await;
    let widgets = &env.twin.dashboard_layouts()[0].tabs[0].widgets;
    assert_eq!(widgets.len(), 1);
    assert_eq!(widgets[0].id.0, second);

    let listed = env
        .gql(
            "{ getPageLayouts(pageLayoutType: DASHBOARD) { id tabs { widgets { id } } } }",
            Value::Null,
        )
        .await;
    assert_eq!(listed["data"]["getPageLayouts"][0]["id"], layout.as_str());
    let missing = env
        .gql(replace, json!({ "id": Uuid::new_v4(), "i": input(vec![]) }))
        .await;
    assert_eq!(missing["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

// MM/flat-page-layout-widget/validators/utils/validate-bar-chart-configuration.util.ts; the
// answer below is what a real 2.21 gave on 2026-12-07 for a bar chart without `layout`.
#[tokio::test]
async fn a_bar_chart_without_its_layout_is_refused_as_twenty_refuses_it() {
    let env = start().await;
    let made = env
        .gql(
            "mutation($i: CreatePageLayoutInput!) { createPageLayout(input: $i) { id } }",
            json!({ "i": { "name": "Bars", "type": "DASHBOARD" } }),
        )
        .await;
    let layout = made["data"]["createPageLayout"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tab = Uuid::new_v4();
    let input = |configuration: Value| {
        json!({ "id": layout, "i": { "name": "Bars", "type": "DASHBOARD", "tabs": [{
            "id": tab, "title": "T", "position": 0, "widgets": [{
                "id": Uuid::new_v4(), "pageLayoutTabId": tab, "title": "Bars", "type": "GRAPH",
                "gridPosition": {"row": 0, "column": 0, "rowSpan": 4, "columnSpan": 4},
                "configuration": configuration }] }] } })
    };
    let replace = "mutation($id: String!, $i: UpdatePageLayoutWithTabsInput!) { updatePageLayoutWithTabsAndWidgets(id: $id, input: $i) { id } }";
    let refused = env
        .gql(
            replace,
            input(json!({"configurationType": "BAR_CHART", "aggregateOperation": "SUM"})),
        )
        .await;
    let error = &refused["errors"][0];
    assert_eq!(
        error["message"],
        "Multiple validation errors occurred while updating page layout with tabs"
    );
    assert_eq!(error["extensions"]["code"], "METADATA_VALIDATION_FAILED");
    let reason = &error["extensions"]["errors"]["pageLayoutWidget"][0]["errors"][0];
    assert_eq!(reason["code"], "INVALID_PAGE_LAYOUT_WIDGET_DATA");
    assert_eq!(
        reason["message"],
        "Layout is required for bar chart widget \"Bars\""
    );
    assert_eq!(
        error["extensions"]["userFriendlyMessage"],
        "Layout is required for bar chart"
    );
    assert!(
        env.twin.dashboard_layouts()[0].tabs.is_empty(),
        "nothing stored"
    );

    let taken = env
        .gql(
            replace,
            input(json!({"configurationType": "BAR_CHART", "aggregateOperation": "SUM", "layout": "VERTICAL"})),
        )
        .await;
    assert!(taken.get("errors").is_none(), "{taken}");
}

// A real 2.21 answers `configuration` as the `WidgetConfiguration` union, each member with the
// fields its DTO declares (`MM/page-layout-widget/dtos/*-configuration.dto.ts`), and
// `gridPosition` as a plain object (`page-layout-widget.dto.ts`), as Twenty's front reads them.
#[tokio::test]
async fn a_widget_configuration_answers_as_its_union_member_with_only_the_declared_fields() {
    let env = start().await;
    let made = env
        .gql(
            "mutation($i: CreatePageLayoutInput!) { createPageLayout(input: $i) { id } }",
            json!({ "i": { "name": "KPIs", "type": "DASHBOARD" } }),
        )
        .await;
    let layout = made["data"]["createPageLayout"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (tab, chart, text) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let widget = |id: Uuid, configuration: Value| {
        json!({ "id": id, "pageLayoutTabId": tab, "title": "w", "type": "GRAPH",
                "gridPosition": {"row": 1, "column": 2, "rowSpan": 3, "columnSpan": 4},
                "configuration": configuration })
    };
    let body = env
        .gql(
            "mutation($id: String!, $i: UpdatePageLayoutWithTabsInput!) { updatePageLayoutWithTabsAndWidgets(id: $id, input: $i) { id } }",
            json!({ "id": layout, "i": { "name": "KPIs", "type": "DASHBOARD", "tabs": [{
                "id": tab, "title": "Overview", "position": 0, "widgets": [
                    widget(chart, json!({"configurationType": "AGGREGATE_CHART",
                        "aggregateOperation": "SUM", "undeclared": 1,
                        "ratioAggregateConfig": {"fieldMetadataId": "f", "optionValue": "A"}})),
                    widget(text, json!({"configurationType": "STANDALONE_RICH_TEXT",
                        "body": {"markdown": "hi"}})),
                ] }] } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    let read = env
        .gql(
            "{ getPageLayouts(pageLayoutType: DASHBOARD) { tabs { widgets { id gridPosition { row column rowSpan columnSpan } configuration { __typename ... on AggregateChartConfiguration { configurationType aggregateOperation label ratioAggregateConfig { fieldMetadataId optionValue } } ... on StandaloneRichTextConfiguration { configurationType body { blocknote markdown } } } } } } }",
            Value::Null,
        )
        .await;
    assert!(read.get("errors").is_none(), "{read}");
    let widgets = &read["data"]["getPageLayouts"][0]["tabs"][0]["widgets"];
    assert_eq!(
        widgets[0]["gridPosition"],
        json!({"row": 1.0, "column": 2.0, "rowSpan": 3.0, "columnSpan": 4.0})
    );
    assert_eq!(
        widgets[0]["configuration"],
        json!({"__typename": "AggregateChartConfiguration", "configurationType": "AGGREGATE_CHART",
               "aggregateOperation": "SUM", "label": null,
               "ratioAggregateConfig": {"fieldMetadataId": "f", "optionValue": "A"}}),
        "the declared fields, the undeclared key not"
    );
    assert_eq!(
        widgets[1]["configuration"],
        json!({"__typename": "StandaloneRichTextConfiguration",
               "configurationType": "STANDALONE_RICH_TEXT",
               "body": {"blocknote": null, "markdown": "hi"}})
    );

    // Without a fragment, a union has no fields to select.
    let bare = env
        .gql(
            "{ getPageLayouts { tabs { widgets { configuration { configurationType } } } } }",
            Value::Null,
        )
        .await;
    assert!(bare["errors"][0]["message"].is_string(), "{bare}");
}
