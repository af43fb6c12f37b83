//! The `/metadata` calls that move a dashboard's page layout (issue 16 facts §8.2), sent through
//! [`Destination::metadata_graphql`]: list the target's DASHBOARD layouts, create one (the
//! server gives the id), and replace its tabs and widgets (our ids kept).

use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Destination, TargetError};

/// The layouts with the parts the migration compares. A widget's `position` and
/// `configuration` are unions on 2.21 (22 members for the configuration) and are not read: a
/// widget is compared by id, title, type and object only.
const LAYOUTS: &str = "query($type: PageLayoutType) { getPageLayouts(pageLayoutType: $type) { id name type tabs { id title position icon layoutMode widgets { id title type objectMetadataId } } } }";

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
    /// Tabs.
    #[serde(default)]
    pub tabs: Vec<TargetPageLayoutTab>,
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
    /// Widgets.
    #[serde(default)]
    pub widgets: Vec<TargetPageLayoutWidget>,
}

/// A widget on the target, without its `position` and `configuration`.
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
}

/// The target's DASHBOARD layouts (`getPageLayouts(pageLayoutType: DASHBOARD)`).
pub async fn dashboard_layouts<D: Destination>(
    target: &D,
) -> Result<Vec<TargetPageLayout>, TargetError> {
    let data = target
        .metadata_graphql(LAYOUTS, json!({ "type": "DASHBOARD" }))
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
    let data = target
        .metadata_graphql(
            CREATE,
            json!({ "input": { "name": name, "type": "DASHBOARD" } }),
        )
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
