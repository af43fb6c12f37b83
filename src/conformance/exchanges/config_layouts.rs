//! Workspace configuration exchanges, continued ([`super::config`]): page layouts (a
//! dashboard's tabs and widgets, a standard record page edited and reset) and custom AI agents.
//! Every created layout and agent is removed by the exchange that made it.

use serde_json::{json, Value};

use super::config::ids;
use super::{ex, md};
use crate::conformance::{Exchange, Step};

/// A page layout with its tabs and their widgets' ids.
const LAYOUT: &str = "id name type tabs { id title position icon layoutMode widgets { id } }";

/// `updatePageLayoutWithTabsAndWidgets` of the layout captured as `layoutId`: one tab `idTab`
/// without widgets, with `icon` when given (`None` leaves the key out).
fn replace_tabs(icon: Option<Value>) -> Step {
    let mut tab = json!({ "id": "${idTab}", "title": "Overview", "position": 0,
                          "layoutMode": "GRID", "widgets": [] });
    if let Some(icon) = icon {
        tab["icon"] = icon;
    }
    md(
        format!("mutation U($id: String!, $input: UpdatePageLayoutWithTabsInput!) {{ updatePageLayoutWithTabsAndWidgets(id: $id, input: $input) {{ {LAYOUT} }} }}"),
        json!({ "id": "${layoutId}", "input": { "name": "Cf ${Run} dashboard",
                "type": "DASHBOARD", "objectMetadataId": null, "tabs": [tab] } }),
    )
}

fn get_layout() -> Step {
    md(
        format!("query G($id: String!) {{ getPageLayout(id: $id) {{ {LAYOUT} }} }}"),
        json!({ "id": "${layoutId}" }),
    )
}

/// The page layout and agent exchanges, in run order (after the other configuration ones).
pub(super) fn config_layouts() -> Vec<Exchange> {
    vec![
        ex(
            "config-page-layout-tab-icon-set-on-update-only",
            vec![
                md(
                    "mutation C($input: CreatePageLayoutInput!) { createPageLayout(input: $input) { id name type tabs { id } } }",
                    json!({ "input": { "name": "Cf ${Run} dashboard", "type": "DASHBOARD" } }),
                )
                .capture("layoutId", "/data/createPageLayout/id"),
                // New: the tab is created with `icon: null`.
                replace_tabs(Some(json!("IconChartBar"))),
                get_layout(),
                // Existing: the same input sets the icon.
                replace_tabs(Some(json!("IconChartBar"))),
                get_layout(),
                // Left out, the icon stays; `null` clears it.
                replace_tabs(None),
                replace_tabs(Some(Value::Null)),
                md(
                    "mutation D($id: String!) { destroyPageLayout(id: $id) }",
                    json!({ "id": "${layoutId}" }),
                ),
            ],
        ),
        // A widget configuration that leaves fields unset reads back with its DTO's default
        // values (`MM/page-layout-widget/dtos/pie-chart-configuration.dto.ts`): seen in
        // rehearsal r18, where every rerun replaced the layout until unset fields were no
        // longer compared.
        ex(
            "config-page-layout-widget-configuration-defaults",
            vec![
                ids(),
                md(
                    "mutation C($input: CreatePageLayoutInput!) { createPageLayout(input: $input) { id } }",
                    json!({ "input": { "name": "Cf ${Run} defaults", "type": "DASHBOARD" } }),
                )
                .quiet()
                .capture("layoutId", "/data/createPageLayout/id"),
                md(
                    format!("mutation U($id: String!, $input: UpdatePageLayoutWithTabsInput!) {{ updatePageLayoutWithTabsAndWidgets(id: $id, input: $input) {{ {LAYOUT} }} }}"),
                    json!({ "id": "${layoutId}", "input": { "name": "Cf ${Run} defaults",
                            "type": "DASHBOARD", "objectMetadataId": null, "tabs": [{
                                "id": "${idTab}", "title": "Overview", "position": 0,
                                "layoutMode": "GRID", "widgets": [{
                                    "id": "${idWidget}", "pageLayoutTabId": "${idTab}",
                                    "title": "By stage", "type": "GRAPH",
                                    "objectMetadataId": "${opportunityObjectId}",
                                    "gridPosition": { "row": 0, "column": 0, "rowSpan": 4, "columnSpan": 4 },
                                    "configuration": {
                                        "configurationType": "PIE_CHART",
                                        "aggregateOperation": "COUNT",
                                        "aggregateFieldMetadataId": "${amountFieldId}",
                                        "groupByFieldMetadataId": "${stageFieldId}",
                                        "displayDataLabel": true
                                    }
                                }]
                            }] } }),
                ),
                md(
                    "query G($id: String!) { getPageLayout(id: $id) { tabs { widgets { id gridPosition { row column rowSpan columnSpan } configuration { ... on PieChartConfiguration { configurationType aggregateOperation aggregateFieldMetadataId groupByFieldMetadataId groupBySubFieldName dateGranularity orderBy displayDataLabel showCenterMetric displayLegend hideEmptyCategory splitMultiValueFields timezone firstDayOfTheWeek color description } } } } } }",
                    json!({ "id": "${layoutId}" }),
                ),
                md(
                    "mutation D($id: String!) { destroyPageLayout(id: $id) }",
                    json!({ "id": "${layoutId}" }),
                ),
            ],
        ),
        // A FRONT_COMPONENT widget names a front component of an installed application; one
        // the target does not have fails the whole replacement (rehearsal r20: the seeded
        // "Sales Overview" dashboard of another workspace).
        ex(
            "config-page-layout-front-component-widget-of-another-workspace",
            vec![
                md(
                    "mutation C($input: CreatePageLayoutInput!) { createPageLayout(input: $input) { id } }",
                    json!({ "input": { "name": "Cf ${Run} front", "type": "DASHBOARD" } }),
                )
                .quiet()
                .capture("layoutId", "/data/createPageLayout/id"),
                md(
                    format!("mutation U($id: String!, $input: UpdatePageLayoutWithTabsInput!) {{ updatePageLayoutWithTabsAndWidgets(id: $id, input: $input) {{ {LAYOUT} }} }}"),
                    json!({ "id": "${layoutId}", "input": { "name": "Cf ${Run} front",
                            "type": "DASHBOARD", "objectMetadataId": null, "tabs": [{
                                "id": "${idTab}", "title": "Overview", "position": 0,
                                "layoutMode": "GRID", "widgets": [{
                                    "id": "${idWidget}", "pageLayoutTabId": "${idTab}",
                                    "title": "Front Component", "type": "FRONT_COMPONENT",
                                    "gridPosition": { "row": 0, "column": 0, "rowSpan": 2, "columnSpan": 5 },
                                    "configuration": {
                                        "configurationType": "FRONT_COMPONENT",
                                        "frontComponentId": "${idNoSuchFrontComponent}"
                                    }
                                }]
                            }] } }),
                ),
                get_layout(),
                md(
                    "mutation D($id: String!) { destroyPageLayout(id: $id) }",
                    json!({ "id": "${layoutId}" }),
                ),
            ],
        ),
        // A standard RECORD_PAGE layout edited the way the tool replays a source's edits: a
        // standard tab renamed and stripped of two widgets, a tab added with our ids, the other
        // standard tabs left out. Left-out standard tabs and widgets are deactivated, not
        // deleted (`splitEntitiesByRemovalStrategy`, `MM/page-layout/services/page-layout-update.service.ts`),
        // and `resetPageLayoutToDefault` deletes the added tab and restores the rest
        // (`MM/page-layout/services/page-layout-reset.service.ts`).
        ex(
            "config-record-page-layout-standard-edited",
            vec![
                ids(),
                md(
                    format!("query L($o: String) {{ getPageLayouts(objectMetadataId: $o, pageLayoutType: RECORD_PAGE) {{ {RECORD_PAGE} }} }}"),
                    json!({ "o": "${companyObjectId}" }),
                )
                .capture("layoutId", "/data/getPageLayouts/0/id")
                .capture("homeTabId", "/data/getPageLayouts/0/tabs/[title=Home]/id")
                .capture("timelineTabId", "/data/getPageLayouts/0/tabs/[title=Timeline]/id")
                .capture("fieldsWidgetId", "/data/getPageLayouts/0/tabs/[title=Home]/widgets/[title=Fields]/id")
                .capture("fieldsViewId", "/data/getPageLayouts/0/tabs/[title=Home]/widgets/[title=Fields]/configuration/viewId")
                .capture("timelineWidgetId", "/data/getPageLayouts/0/tabs/[title=Timeline]/widgets/[title=Timeline]/id"),
                md(
                    format!("mutation U($id: String!, $input: UpdatePageLayoutWithTabsInput!) {{ updatePageLayoutWithTabsAndWidgets(id: $id, input: $input) {{ {RECORD_PAGE} }} }}"),
                    json!({ "id": "${layoutId}", "input": {
                        "name": "Default Company Layout", "type": "RECORD_PAGE",
                        "objectMetadataId": "${companyObjectId}",
                        "tabs": [
                            { "id": "${homeTabId}", "title": "Overview", "position": 10,
                              "icon": "IconHome", "layoutMode": "VERTICAL_LIST", "widgets": [{
                                "id": "${fieldsWidgetId}", "pageLayoutTabId": "${homeTabId}",
                                "title": "Fields", "type": "FIELDS",
                                "objectMetadataId": "${companyObjectId}",
                                "gridPosition": { "row": 0, "column": 0, "rowSpan": 12, "columnSpan": 12 },
                                "position": { "layoutMode": "VERTICAL_LIST", "index": 0 },
                                "configuration": { "configurationType": "FIELDS", "viewId": "${fieldsViewId}",
                                                   "newFieldDefaultVisibility": true }
                            }] },
                            { "id": "${timelineTabId}", "title": "Timeline", "position": 20,
                              "icon": "IconTimelineEvent", "layoutMode": "CANVAS", "widgets": [{
                                "id": "${timelineWidgetId}", "pageLayoutTabId": "${timelineTabId}",
                                "title": "Timeline", "type": "TIMELINE",
                                "objectMetadataId": "${companyObjectId}",
                                "gridPosition": { "row": 0, "column": 0, "rowSpan": 6, "columnSpan": 12 },
                                "position": { "layoutMode": "CANVAS" },
                                "configuration": { "configurationType": "TIMELINE" }
                            }] },
                            { "id": "${idTab}", "title": "Sales", "position": 25,
                              "icon": "IconChartBar", "layoutMode": "CANVAS", "widgets": [{
                                "id": "${idWidget}", "pageLayoutTabId": "${idTab}",
                                "title": "Pipeline", "type": "IFRAME",
                                "gridPosition": { "row": 0, "column": 0, "rowSpan": 6, "columnSpan": 12 },
                                "position": { "layoutMode": "CANVAS" },
                                "configuration": { "configurationType": "IFRAME", "url": "https://example.com/pipeline" }
                            }] }
                        ] } }),
                ),
                md(
                    format!("query L($o: String) {{ getPageLayouts(objectMetadataId: $o, pageLayoutType: RECORD_PAGE) {{ {RECORD_PAGE} }} }}"),
                    json!({ "o": "${companyObjectId}" }),
                ),
                md(
                    "mutation R($id: String!) { resetPageLayoutToDefault(id: $id) { id tabs { title isActive } } }",
                    json!({ "id": "${layoutId}" }),
                ),
                md(
                    format!("query L($o: String) {{ getPageLayouts(objectMetadataId: $o, pageLayoutType: RECORD_PAGE) {{ {RECORD_PAGE} }} }}"),
                    json!({ "o": "${companyObjectId}" }),
                ),
            ],
        ),
        // Custom AI agents (`MM/ai/ai-agent/agent.resolver.ts`, `SettingsPermissionGuard(AI)`
        // and `AI_SETTINGS` for writes, which an Admin key has): no id in the input (the
        // server makes one), `name` unique per workspace, a model the workspace lacks refused.
        ex(
            "config-agents",
            vec![
                md(format!("query {{ findManyAgents {{ {AGENT} }} }}"), json!({})),
                md(
                    format!("mutation C($i: CreateAgentInput!) {{ createOneAgent(input: $i) {{ {AGENT} }} }}"),
                    json!({ "i": { "name": "cf-${Run}-agent", "label": "Deal helper",
                                   "description": "Summarises deals", "icon": "IconRobot",
                                   "prompt": "You summarise the deals of a company.",
                                   "modelId": "default-smart-model" } }),
                )
                .capture("agentId", "/data/createOneAgent/id"),
                md(
                    "mutation C($i: CreateAgentInput!) { createOneAgent(input: $i) { id } }",
                    json!({ "i": { "name": "cf-${Run}-agent", "label": "Again",
                                   "prompt": "x", "modelId": "default-smart-model" } }),
                ),
                md(
                    "mutation C($i: CreateAgentInput!) { createOneAgent(input: $i) { id } }",
                    json!({ "i": { "name": "cf-${Run}-other", "label": "Other",
                                   "prompt": "x", "modelId": "no-such-model" } }),
                ),
                md(
                    format!("mutation U($i: UpdateAgentInput!) {{ updateOneAgent(input: $i) {{ {AGENT} }} }}"),
                    json!({ "i": { "id": "${agentId}", "label": "Deal summariser",
                                   "prompt": "You summarise deals." } }),
                ),
                md(
                    "mutation D($i: AgentIdInput!) { deleteOneAgent(input: $i) { id } }",
                    json!({ "i": { "id": "${agentId}" } }),
                ),
            ],
        ),
    ]
}

/// An agent as `findManyAgents` answers it (`MM/ai/ai-agent/dtos/agent.dto.ts`).
const AGENT: &str = "id name label icon description prompt modelId responseFormat roleId isCustom modelConfiguration evaluationInputs";

/// A record page layout as the tool reads it, with each tab's and widget's `isActive`.
const RECORD_PAGE: &str = "id name type objectMetadataId universalIdentifier tabs { id title position icon layoutMode isActive widgets { id title type isActive objectMetadataId pageLayoutTabId gridPosition { row column rowSpan columnSpan } configuration { __typename ... on FieldsConfiguration { configurationType viewId newFieldDefaultVisibility } ... on FieldConfiguration { configurationType fieldMetadataId fieldDisplayMode } ... on TimelineConfiguration { configurationType } ... on IframeConfiguration { configurationType url } } } }";
