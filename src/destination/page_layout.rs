//! The `/metadata` calls that move a dashboard's page layout (issue 16 facts §8.2), sent through
//! [`Destination::metadata_graphql`]: list the target's DASHBOARD layouts, create one (the
//! server gives the id), and replace its tabs and widgets (our ids kept).

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{Destination, TargetError};

/// The layouts with the parts the migration compares. A widget's `configuration` is the
/// `WidgetConfiguration` union, read with one inline fragment per member
/// ([`CONFIGURATION_MEMBERS`]); `gridPosition` is a plain (deprecated) field. Twenty's own front
/// reads both the same way (`twenty-front/src/modules/page-layout/graphql/fragments/pageLayoutWidgetFragment.ts`).
/// `position`, a union too, is read the same way ([`POSITION_FRAGMENTS`]).
fn layouts_query() -> &'static str {
    static QUERY: OnceLock<String> = OnceLock::new();
    QUERY.get_or_init(|| {
        format!(
            "query($type: PageLayoutType) {{ getPageLayouts(pageLayoutType: $type) {{ id name type objectMetadataId universalIdentifier tabs {{ id title position icon layoutMode isActive widgets {{ id title type objectMetadataId isActive gridPosition {{ row column rowSpan columnSpan }} position {{ {POSITION_FRAGMENTS} }} configuration {{ {} }} }} }} }} }}",
            configuration_fragments()
        )
    })
}

/// The members of `PageLayoutWidgetPosition`
/// (`MM/page-layout-widget/dtos/page-layout-widget-position.union.ts`).
const POSITION_FRAGMENTS: &str = "... on PageLayoutWidgetGridPosition { layoutMode row column rowSpan columnSpan } ... on PageLayoutWidgetVerticalListPosition { layoutMode index } ... on PageLayoutWidgetCanvasPosition { layoutMode }";

/// One field of a configuration member: its name and, for an object, the fields of that object.
type MemberField = (&'static str, &'static [&'static str]);

/// One member of `WidgetConfiguration`: GraphQL type, `configurationType`, the fields besides
/// `configurationType`.
type Member = (&'static str, &'static str, &'static [MemberField]);

/// A scalar (or `JSON`) field.
const fn f(name: &'static str) -> MemberField {
    (name, &[])
}

/// The fields every chart with a primary and secondary axis has (bar and line).
macro_rules! axis_chart {
    ($($extra:literal),*) => {
        &[
            f("aggregateFieldMetadataId"), f("aggregateOperation"),
            f("primaryAxisGroupByFieldMetadataId"), f("primaryAxisGroupBySubFieldName"),
            f("primaryAxisDateGranularity"), f("primaryAxisOrderBy"),
            f("primaryAxisManualSortOrder"), f("secondaryAxisGroupByFieldMetadataId"),
            f("secondaryAxisGroupBySubFieldName"), f("secondaryAxisGroupByDateGranularity"),
            f("secondaryAxisOrderBy"), f("secondaryAxisManualSortOrder"), f("omitNullValues"),
            f("splitMultiValueFields"), f("axisNameDisplay"), f("displayDataLabel"),
            f("displayLegend"), f("rangeMin"), f("rangeMax"), f("description"), f("color"),
            f("filter"), $(f($extra),)* f("isCumulative"), f("timezone"), f("firstDayOfTheWeek"),
        ]
    };
}

/// The members of 2.21's `WidgetConfiguration` with the fields each DTO declares
/// (`MM/page-layout-widget/constants/all-widget-configuration-type-validator-by-widget-configuration-type.constant.ts`,
/// `MM/page-layout-widget/dtos/*-configuration.dto.ts`, `MM/` being
/// `packages/twenty-server/src/engine/metadata-modules/`). A key a DTO does not declare is
/// stored but never answered.
pub const CONFIGURATION_MEMBERS: &[Member] = &[
    (
        "AggregateChartConfiguration",
        "AGGREGATE_CHART",
        &[
            f("aggregateFieldMetadataId"),
            f("aggregateOperation"),
            f("label"),
            f("displayDataLabel"),
            f("numberFormat"),
            f("description"),
            f("filter"),
            f("timezone"),
            f("firstDayOfTheWeek"),
            f("prefix"),
            f("suffix"),
            ("ratioAggregateConfig", &["fieldMetadataId", "optionValue"]),
        ],
    ),
    (
        "StandaloneRichTextConfiguration",
        "STANDALONE_RICH_TEXT",
        &[("body", &["blocknote", "markdown"])],
    ),
    (
        "PieChartConfiguration",
        "PIE_CHART",
        &[
            f("aggregateFieldMetadataId"),
            f("aggregateOperation"),
            f("groupByFieldMetadataId"),
            f("groupBySubFieldName"),
            f("dateGranularity"),
            f("orderBy"),
            f("manualSortOrder"),
            f("displayDataLabel"),
            f("showCenterMetric"),
            f("displayLegend"),
            f("hideEmptyCategory"),
            f("splitMultiValueFields"),
            f("description"),
            f("color"),
            f("filter"),
            f("timezone"),
            f("firstDayOfTheWeek"),
        ],
    ),
    (
        "LineChartConfiguration",
        "LINE_CHART",
        axis_chart!("isStacked"),
    ),
    ("IframeConfiguration", "IFRAME", &[f("url")]),
    (
        "BarChartConfiguration",
        "BAR_CHART",
        axis_chart!("groupMode", "layout"),
    ),
    ("CalendarConfiguration", "CALENDAR", &[]),
    (
        "FrontComponentConfiguration",
        "FRONT_COMPONENT",
        &[f("frontComponentId")],
    ),
    ("EmailsConfiguration", "EMAILS", &[]),
    ("EmailThreadConfiguration", "EMAIL_THREAD", &[]),
    (
        "FieldConfiguration",
        "FIELD",
        &[f("fieldMetadataId"), f("fieldDisplayMode"), f("viewId")],
    ),
    ("FieldRichTextConfiguration", "FIELD_RICH_TEXT", &[]),
    (
        "FieldsConfiguration",
        "FIELDS",
        &[
            f("viewId"),
            f("newFieldDefaultVisibility"),
            f("shouldAllowUserToSeeHiddenFields"),
        ],
    ),
    ("FilesConfiguration", "FILES", &[]),
    ("NotesConfiguration", "NOTES", &[]),
    ("TasksConfiguration", "TASKS", &[]),
    ("TimelineConfiguration", "TIMELINE", &[]),
    ("ViewConfiguration", "VIEW", &[]),
    (
        "RecordTableConfiguration",
        "RECORD_TABLE",
        &[f("viewId"), f("recordLimit")],
    ),
    ("WorkflowConfiguration", "WORKFLOW", &[]),
    ("WorkflowRunConfiguration", "WORKFLOW_RUN", &[]),
    ("WorkflowVersionConfiguration", "WORKFLOW_VERSION", &[]),
];

/// `... on <Member> { configurationType <fields> }` for every member.
fn configuration_fragments() -> String {
    CONFIGURATION_MEMBERS
        .iter()
        .map(|(type_name, _, fields)| {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, sub)| match sub.is_empty() {
                    true => (*name).to_owned(),
                    false => format!("{name} {{ {} }}", sub.join(" ")),
                })
                .collect();
            format!(
                "... on {type_name} {{ configurationType {} }}",
                fields.join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A configuration as the target answers it: the fields its member declares (absent ones
/// `null`), numbers as floats (an `Int` field answers `3` where `3.0` may have been sent).
/// Comparing what is sent with what is read, each taken through this, tells whether the target
/// holds it. A `configurationType` no member has keeps only that key.
pub fn answered_configuration(value: &Value) -> Value {
    let kind = value
        .get("configurationType")
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("configurationType".into(), kind.clone());
    let member = CONFIGURATION_MEMBERS
        .iter()
        .find(|(_, k, _)| kind.as_str() == Some(*k));
    for (name, sub) in member.map_or(&[][..], |(_, _, fields)| fields) {
        let v = value.get(*name).unwrap_or(&Value::Null);
        let v = match (sub.is_empty(), v) {
            (false, Value::Object(o)) => Value::Object(
                sub.iter()
                    .map(|k| ((*k).to_owned(), o.get(*k).cloned().unwrap_or(Value::Null)))
                    .collect(),
            ),
            _ => v.clone(),
        };
        out.insert((*name).to_owned(), floats(v));
    }
    Value::Object(out)
}

/// `value` with every number as an `f64`.
fn floats(value: Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or(Value::Number(n), Value::from),
        Value::Array(items) => Value::Array(items.into_iter().map(floats).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

/// `createPageLayout` takes no `id` (`CreatePageLayoutInput`).
const CREATE: &str =
    "mutation($input: CreatePageLayoutInput!) { createPageLayout(input: $input) { id } }";

/// The JSON parts (`configuration`, `position`) must travel in variables (facts §1.2).
const REPLACE: &str = "mutation($id: String!, $input: UpdatePageLayoutWithTabsInput!) { updatePageLayoutWithTabsAndWidgets(id: $id, input: $input) { id } }";

/// A page layout on the target, as compared.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetPageLayout {
    /// The target's id.
    pub id: Uuid,
    /// `name`.
    pub name: String,
    /// `objectMetadataId` (a record page's object).
    #[serde(default)]
    pub object_metadata_id: Option<Uuid>,
    /// `universalIdentifier`: a standard layout's is the same in every workspace.
    #[serde(default)]
    pub universal_identifier: Option<Uuid>,
    /// Tabs, deactivated ones included.
    #[serde(default)]
    pub tabs: Vec<TargetPageLayoutTab>,
}

/// `isActive` where the reading did not ask for it.
fn active() -> bool {
    true
}

/// A tab on the target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetPageLayoutTab {
    /// Id (ours, when the migration made it).
    pub id: Uuid,
    /// `title`.
    pub title: String,
    /// `position`.
    pub position: f64,
    /// `icon`.
    pub icon: Option<String>,
    /// `layoutMode`.
    pub layout_mode: Option<String>,
    /// `isActive`: a standard tab a workspace removed is kept, deactivated.
    #[serde(default = "active")]
    pub is_active: bool,
    /// Widgets, deactivated ones included.
    #[serde(default)]
    pub widgets: Vec<TargetPageLayoutWidget>,
}

/// A widget on the target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetPageLayoutWidget {
    /// Id (ours, when the migration made it).
    pub id: Uuid,
    /// `title`.
    pub title: String,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `objectMetadataId`.
    pub object_metadata_id: Option<Uuid>,
    /// `isActive`.
    #[serde(default = "active")]
    pub is_active: bool,
    /// `gridPosition`: `{row, column, rowSpan, columnSpan}`.
    #[serde(default)]
    pub grid_position: Value,
    /// `position`, the fields of its union member (`null` where none was set or read).
    #[serde(default)]
    pub position: Value,
    /// `configuration`, the fields of its union member.
    #[serde(default)]
    pub configuration: Value,
}

/// [`layouts_query`] without the widgets' grid position and configuration, for a target that
/// cannot answer those: a server that has dropped the deprecated `gridPosition` or changed
/// the union's members refuses the document, and one holding a configuration its member
/// cannot answer (a non-null field missing) fails the whole list.
const LEAN_LAYOUTS: &str = "query($type: PageLayoutType) { getPageLayouts(pageLayoutType: $type) { id name type tabs { id title position icon layoutMode widgets { id title type objectMetadataId } } } }";

/// The target's DASHBOARD layouts (`getPageLayouts(pageLayoutType: DASHBOARD)`); with `full`,
/// each widget's grid position and configuration too (the lean reading otherwise).
pub async fn dashboard_layouts<D: Destination>(
    target: &D,
    full: bool,
) -> Result<Vec<TargetPageLayout>, TargetError> {
    layouts(target, "DASHBOARD", full).await
}

/// The target's RECORD_PAGE layouts, in full.
pub async fn record_page_layouts<D: Destination>(
    target: &D,
) -> Result<Vec<TargetPageLayout>, TargetError> {
    layouts(target, "RECORD_PAGE", true).await
}

async fn layouts<D: Destination>(
    target: &D,
    kind: &str,
    full: bool,
) -> Result<Vec<TargetPageLayout>, TargetError> {
    let query = if full { layouts_query() } else { LEAN_LAYOUTS };
    let data = target
        .metadata_graphql(query, json!({ "type": kind }))
        .await?;
    serde_json::from_value(data.get("getPageLayouts").cloned().unwrap_or(Value::Null)).map_err(
        |e| TargetError::Protocol(format!("getPageLayouts answered an unexpected shape: {e}")),
    )
}

/// `createPageLayout(input: {name, type: DASHBOARD})`; returns the id the target gave it.
pub async fn create_dashboard_layout<D: Destination>(
    target: &D,
    name: &str,
) -> Result<Uuid, TargetError> {
    create_layout(target, json!({ "name": name, "type": "DASHBOARD" })).await
}

/// `createPageLayout(input: {name, type: RECORD_PAGE, objectMetadataId})`; returns the id.
pub async fn create_record_page_layout<D: Destination>(
    target: &D,
    name: &str,
    object: Uuid,
) -> Result<Uuid, TargetError> {
    let input = json!({ "name": name, "type": "RECORD_PAGE", "objectMetadataId": object });
    create_layout(target, input).await
}

async fn create_layout<D: Destination>(target: &D, input: Value) -> Result<Uuid, TargetError> {
    let data = target
        .metadata_graphql(CREATE, json!({ "input": input }))
        .await?;
    data.pointer("/createPageLayout/id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| TargetError::Protocol("createPageLayout answered no id".into()))
}

/// `updatePageLayoutWithTabsAndWidgets(id, input)`: the layout's tabs and widgets become
/// `input`'s (`UpdatePageLayoutWithTabsInput`); unknown ids are created with those ids, the
/// ones left out deleted.
pub async fn replace_tabs<D: Destination>(
    target: &D,
    layout: Uuid,
    input: Value,
) -> Result<(), TargetError> {
    target
        .metadata_graphql(REPLACE, json!({ "id": layout.to_string(), "input": input }))
        .await
        .map(drop)
}
