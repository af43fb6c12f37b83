//! A widget's `configuration` as a real 2.21 answers it: the GraphQL union `WidgetConfiguration`
//! (`MM/page-layout-widget/dtos/widget-configuration.interface.ts`), one member per
//! `configurationType` (`…/constants/all-widget-configuration-type-validator-by-widget-configuration-type.constant.ts`),
//! each exposing the fields its DTO declares (`MM/page-layout-widget/dtos/*-configuration.dto.ts`),
//! so a reader needs inline fragments and sees nothing the DTO leaves out. The stored JSON is
//! kept as sent (`configuration: widgetInput.configuration`,
//! `MM/page-layout/services/page-layout-update.service.ts`).
//!
//! Simplification: enum fields (`WidgetConfigurationType`, `AggregateOperations`, …) and the
//! `UUID` scalar answer as `String`, and every field but `configurationType` is nullable; the
//! answers have the same JSON shape.

use async_graphql::{Json, SimpleObject, Union};
use serde::Deserialize;
use serde_json::Value;

/// `RatioAggregateConfig` (`MM/page-layout-widget/dtos/ratio-aggregate-config.dto.ts`).
#[derive(SimpleObject, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RatioAggregateConfig {
    pub field_metadata_id: Option<String>,
    pub option_value: Option<String>,
}

/// `RichTextBody` (`MM/page-layout-widget/dtos/rich-text-body.dto.ts`).
#[derive(SimpleObject, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RichTextBody {
    pub blocknote: Option<String>,
    pub markdown: Option<String>,
}

/// The `defaultValue`s of a member's DTO fields, which a real 2.21 answers where the stored
/// configuration leaves the field unset (seen live: a pie chart created without them read back
/// `dateGranularity: DAY`, `timezone: UTC`, `displayLegend: true`…; rehearsal r18). From
/// `MM/page-layout-widget/dtos/{aggregate,bar,line,pie}-chart-configuration.dto.ts`.
fn defaults(kind: &str) -> Vec<(&'static str, Value)> {
    use serde_json::json;
    let monday = ("firstDayOfTheWeek", json!(1)); // CalendarStartDay.MONDAY
    let utc = ("timezone", json!("UTC"));
    let no_labels = ("displayDataLabel", json!(false));
    let axes = || {
        vec![
            ("primaryAxisDateGranularity", json!("DAY")),
            ("secondaryAxisGroupByDateGranularity", json!("DAY")),
            ("splitMultiValueFields", json!(true)),
            ("axisNameDisplay", json!("NONE")),
            no_labels.clone(),
            ("displayLegend", json!(true)),
            utc.clone(),
            monday.clone(),
        ]
    };
    match kind {
        "AGGREGATE_CHART" => vec![no_labels, utc, monday],
        "BAR_CHART" => axes(),
        "LINE_CHART" => {
            let mut v = axes();
            v.push(("primaryAxisOrderBy", json!("FIELD_ASC")));
            v
        }
        "PIE_CHART" => vec![
            ("dateGranularity", json!("DAY")),
            ("orderBy", json!("VALUE_DESC")),
            no_labels,
            ("showCenterMetric", json!(true)),
            ("displayLegend", json!(true)),
            ("hideEmptyCategory", json!(false)),
            ("splitMultiValueFields", json!(true)),
            utc,
            monday,
        ],
        _ => Vec::new(),
    }
}

/// `value` with its member's defaults where it leaves a field unset.
fn with_defaults(kind: &str, value: &Value) -> Value {
    let mut value = value.clone();
    if let Value::Object(map) = &mut value {
        for (key, default) in defaults(kind) {
            if map.get(key).is_none_or(Value::is_null) {
                map.insert(key.to_owned(), default);
            }
        }
    }
    value
}

/// Declares the members: `Struct = "CONFIGURATION_TYPE" { fields }`, each struct named as its
/// GraphQL type, and the union that picks one by `configurationType`.
macro_rules! members {
    ($($member:ident = $kind:literal { $($field:ident: $ty:ty),* $(,)? })*) => {
        $(
            #[doc = concat!("`", stringify!($member), "` (`configurationType: ", $kind, "`).")]
            #[derive(SimpleObject, Deserialize, Clone, Debug)]
            #[serde(rename_all = "camelCase")]
            #[allow(missing_docs)]
            pub struct $member {
                pub configuration_type: String,
                $(#[serde(default)] pub $field: Option<$ty>,)*
            }
        )*

        /// `WidgetConfiguration`. Each variant is named as its GraphQL type, which ends in
        /// `Configuration`.
        #[derive(Union, Clone, Debug)]
        #[allow(missing_docs, clippy::enum_variant_names)]
        pub enum WidgetConfiguration {
            $($member($member),)*
        }

        impl WidgetConfiguration {
            /// The member the stored JSON's `configurationType` names (the union's
            /// `resolveType`), or why it answers none.
            pub fn from_stored(value: &Value) -> Result<Self, String> {
                let kind = value
                    .get("configurationType")
                    .and_then(Value::as_str)
                    .ok_or("the configuration has no configurationType")?;
                let value = &with_defaults(kind, value);
                let parsed = match kind {
                    $($kind => serde_json::from_value(value.clone()).map(Self::$member),)*
                    other => return Err(format!("no WidgetConfiguration member for {other}")),
                };
                parsed.map_err(|e| format!("configuration {kind}: {e}"))
            }
        }
    };
}

members! {
    AggregateChartConfiguration = "AGGREGATE_CHART" {
        aggregate_field_metadata_id: String, aggregate_operation: String, label: String,
        display_data_label: bool, number_format: String, description: String,
        filter: Json<Value>, timezone: String, first_day_of_the_week: i32, prefix: String,
        suffix: String, ratio_aggregate_config: RatioAggregateConfig,
    }
    StandaloneRichTextConfiguration = "STANDALONE_RICH_TEXT" { body: RichTextBody }
    PieChartConfiguration = "PIE_CHART" {
        aggregate_field_metadata_id: String, aggregate_operation: String,
        group_by_field_metadata_id: String, group_by_sub_field_name: String,
        date_granularity: String, order_by: String, manual_sort_order: Vec<String>,
        display_data_label: bool, show_center_metric: bool, display_legend: bool,
        hide_empty_category: bool, split_multi_value_fields: bool, description: String,
        color: String, filter: Json<Value>, timezone: String, first_day_of_the_week: i32,
    }
    LineChartConfiguration = "LINE_CHART" {
        aggregate_field_metadata_id: String, aggregate_operation: String,
        primary_axis_group_by_field_metadata_id: String,
        primary_axis_group_by_sub_field_name: String, primary_axis_date_granularity: String,
        primary_axis_order_by: String, primary_axis_manual_sort_order: Vec<String>,
        secondary_axis_group_by_field_metadata_id: String,
        secondary_axis_group_by_sub_field_name: String,
        secondary_axis_group_by_date_granularity: String, secondary_axis_order_by: String,
        secondary_axis_manual_sort_order: Vec<String>, omit_null_values: bool,
        split_multi_value_fields: bool, axis_name_display: String, display_data_label: bool,
        display_legend: bool, range_min: f64, range_max: f64, description: String,
        color: String, filter: Json<Value>, is_stacked: bool, is_cumulative: bool,
        timezone: String, first_day_of_the_week: i32,
    }
    IframeConfiguration = "IFRAME" { url: String }
    BarChartConfiguration = "BAR_CHART" {
        aggregate_field_metadata_id: String, aggregate_operation: String,
        primary_axis_group_by_field_metadata_id: String,
        primary_axis_group_by_sub_field_name: String, primary_axis_date_granularity: String,
        primary_axis_order_by: String, primary_axis_manual_sort_order: Vec<String>,
        secondary_axis_group_by_field_metadata_id: String,
        secondary_axis_group_by_sub_field_name: String,
        secondary_axis_group_by_date_granularity: String, secondary_axis_order_by: String,
        secondary_axis_manual_sort_order: Vec<String>, omit_null_values: bool,
        split_multi_value_fields: bool, axis_name_display: String, display_data_label: bool,
        display_legend: bool, range_min: f64, range_max: f64, description: String,
        color: String, filter: Json<Value>, group_mode: String, layout: String,
        is_cumulative: bool, timezone: String, first_day_of_the_week: i32,
    }
    CalendarConfiguration = "CALENDAR" {}
    FrontComponentConfiguration = "FRONT_COMPONENT" { front_component_id: String }
    EmailsConfiguration = "EMAILS" {}
    EmailThreadConfiguration = "EMAIL_THREAD" {}
    FieldConfiguration = "FIELD" {
        field_metadata_id: String, field_display_mode: String, view_id: String,
    }
    FieldRichTextConfiguration = "FIELD_RICH_TEXT" {}
    FieldsConfiguration = "FIELDS" {
        view_id: String, new_field_default_visibility: bool,
        should_allow_user_to_see_hidden_fields: bool,
    }
    FilesConfiguration = "FILES" {}
    NotesConfiguration = "NOTES" {}
    TasksConfiguration = "TASKS" {}
    TimelineConfiguration = "TIMELINE" {}
    ViewConfiguration = "VIEW" {}
    RecordTableConfiguration = "RECORD_TABLE" { view_id: String, record_limit: i32 }
    WorkflowConfiguration = "WORKFLOW" {}
    WorkflowRunConfiguration = "WORKFLOW_RUN" {}
    WorkflowVersionConfiguration = "WORKFLOW_VERSION" {}
}
