//! Record page layouts (`RECORD_PAGE`): a standard one edited as the tool replays a source's
//! edits, and one a workspace makes beside it.

use serde_json::json;

use super::config::ids;
use super::{ex, md};
use crate::conformance::Exchange;

pub(super) fn record_pages() -> Vec<Exchange> {
    vec![
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
        // A record page layout the workspace makes beside the standard one: the server gives
        // the id, the tabs and widgets keep ours, and it cannot be reset to a default
        // (`MM/page-layout/services/page-layout-reset.service.ts`).
        ex(
            "config-record-page-layout-made-by-the-workspace",
            vec![
                ids(),
                md(
                    "mutation C($input: CreatePageLayoutInput!) { createPageLayout(input: $input) { id name type objectMetadataId } }",
                    json!({ "input": { "name": "Cf ${Run} page", "type": "RECORD_PAGE",
                                       "objectMetadataId": "${companyObjectId}" } }),
                )
                .capture("layoutId", "/data/createPageLayout/id"),
                md(
                    format!("mutation U($id: String!, $input: UpdatePageLayoutWithTabsInput!) {{ updatePageLayoutWithTabsAndWidgets(id: $id, input: $input) {{ {RECORD_PAGE} }} }}"),
                    json!({ "id": "${layoutId}", "input": {
                        "name": "Cf ${Run} page", "type": "RECORD_PAGE",
                        "objectMetadataId": "${companyObjectId}",
                        "tabs": [{ "id": "${idTab}", "title": "Main", "position": 0,
                                   "layoutMode": "CANVAS", "widgets": [{
                            "id": "${idWidget}", "pageLayoutTabId": "${idTab}",
                            "title": "Site", "type": "IFRAME",
                            "objectMetadataId": "${companyObjectId}",
                            "gridPosition": { "row": 0, "column": 0, "rowSpan": 6, "columnSpan": 12 },
                            "position": { "layoutMode": "CANVAS" },
                            "configuration": { "configurationType": "IFRAME", "url": "https://example.com" }
                        }] }] } }),
                ),
                md(
                    "mutation R($id: String!) { resetPageLayoutToDefault(id: $id) { id } }",
                    json!({ "id": "${layoutId}" }),
                ),
                md(
                    "mutation D($id: String!) { destroyPageLayout(id: $id) }",
                    json!({ "id": "${layoutId}" }),
                ),
            ],
        ),
    ]
}

/// A record page layout as the tool reads it, with each tab's and widget's `isActive`.
const RECORD_PAGE: &str = "id name type objectMetadataId universalIdentifier tabs { id title position icon layoutMode isActive widgets { id title type isActive objectMetadataId pageLayoutTabId gridPosition { row column rowSpan columnSpan } configuration { __typename ... on FieldsConfiguration { configurationType viewId newFieldDefaultVisibility } ... on FieldConfiguration { configurationType fieldMetadataId fieldDisplayMode } ... on TimelineConfiguration { configurationType } ... on IframeConfiguration { configurationType url } } } }";
