//! Record page layouts (`RECORD_PAGE`): the standard ones a fresh 2.21 workspace holds, the
//! default one a custom object gets, and `resetPageLayoutToDefault`
//! (`MM/page-layout/services/page-layout-reset.service.ts`); the widget `position` union.
//!
//! The standard layouts are data recorded from a real 2.21 (`standard_record_pages.json`,
//! `getPageLayouts(pageLayoutType: RECORD_PAGE)` on the seeded Apple workspace): their names,
//! universal identifiers (the same in every workspace), tabs and widgets. Twenty computes them
//! in `engine/workspace-manager/twenty-standard-application/`.

use std::sync::OnceLock;

use async_graphql::{Context, Error, ErrorExtensions, Json, Object, SimpleObject, Union};
use serde_json::{json, Value};
use uuid::Uuid;

use super::layouts::{
    PageLayout, PageLayoutTab, PageLayoutTabLayoutMode, PageLayoutType, PageLayoutWidget,
    WidgetType,
};
use super::{now, shared, Id, State};
use crate::twin::lock;
use crate::twin::schema::{stable_id, ObjectMeta};

/// The recorded standard layouts, by object name.
fn standard() -> &'static Value {
    static DATA: OnceLock<Value> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str(include_str!("standard_record_pages.json"))
            .map(|d: Value| d["layouts"].clone())
            .unwrap_or(Value::Null)
    })
}

/// The tabs a custom object's default layout has: those of a standard one without the mail
/// and calendar tabs, the home tab holding the fields widget alone (LIVE: "Default Pet
/// Layout", made by the server when the object was created, `isSystemSideEffect`).
const CUSTOM_TABS: [&str; 5] = ["Home", "Timeline", "Tasks", "Notes", "Files"];

/// Adds `object`'s record page layout: the recorded standard one for a standard object (none
/// where nothing was recorded), else the default one a custom object gets. `fields_view` is
/// the object's FIELDS_WIDGET view, which the fields widget shows.
pub(super) fn add_layout(
    state: &mut State,
    object: &ObjectMeta,
    custom: bool,
    fields_view: Option<Uuid>,
) {
    let template = match custom {
        false => &standard()[object.name_singular.as_str()],
        true => &standard()["company"],
    };
    let Some(tabs) = template["tabs"].as_array() else {
        return;
    };
    let key = format!("{}.{}", state.workspace(), object.id);
    let id = Id(stable_id("pageLayout", &key));
    let universal_identifier = match (custom, template["universalIdentifier"].as_str()) {
        (false, Some(u)) => Uuid::parse_str(u).map(Id).unwrap_or(id),
        _ => Id(stable_id("pageLayoutUniversalIdentifier", &key)),
    };
    let mut layout_tabs = Vec::new();
    for t in tabs {
        let title = t["title"].as_str().unwrap_or_default();
        if custom && !CUSTOM_TABS.contains(&title) {
            continue;
        }
        let tab_id = Id(stable_id("pageLayoutTab", &format!("{key}.{title}")));
        let widgets = t["widgets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| !custom || title != "Home" || w["type"] == "FIELDS")
            .enumerate()
            .filter_map(|(i, w)| widget(w, object, tab_id, fields_view, &format!("{key}.{i}")))
            .collect();
        layout_tabs.push(PageLayoutTab {
            id: tab_id,
            title: title.to_owned(),
            position: t["position"].as_f64().unwrap_or_default(),
            page_layout_id: id,
            icon: t["icon"].as_str().map(str::to_owned),
            layout_mode: layout_mode(t["layoutMode"].as_str()),
            widgets,
            is_active: true,
            standard: true,
        });
    }
    let at = now();
    let name = match custom {
        false => template["name"].as_str().unwrap_or_default().to_owned(),
        true => format!("Default {} Layout", object.label_singular),
    };
    state.page_layouts.push(PageLayout {
        id,
        name,
        layout_type: PageLayoutType::RecordPage,
        object_metadata_id: Some(Id(object.id)),
        tabs: layout_tabs.clone(),
        answered_without_tabs: false,
        universal_identifier,
        created_at: at.clone(),
        updated_at: at,
        deleted_at: None,
        default_tabs: Some(layout_tabs),
    });
}

/// One recorded widget on `object`'s layout; `None` where it names a field the object lacks.
fn widget(
    w: &Value,
    object: &ObjectMeta,
    tab: Id,
    fields_view: Option<Uuid>,
    key: &str,
) -> Option<PageLayoutWidget> {
    let mut configuration = w["configuration"].clone();
    if let Some(field) = configuration["fieldMetadataId"].as_str() {
        let field = object.fields.iter().find(|f| f.name == field)?;
        configuration["fieldMetadataId"] = json!(field.id);
    }
    if configuration.get("viewId").is_some() {
        configuration["viewId"] = json!(fields_view);
    }
    let kind: WidgetType = async_graphql::InputType::parse(Some(
        async_graphql::Value::from_json(w["type"].clone()).ok()?,
    ))
    .ok()?;
    let title = w["title"].as_str().unwrap_or_default();
    Some(PageLayoutWidget {
        id: Id(stable_id("pageLayoutWidget", &format!("{key}.{title}"))),
        page_layout_tab_id: tab,
        title: title.to_owned(),
        widget_type: kind,
        object_metadata_id: (w["object"] == true).then_some(Id(object.id)),
        grid_position: w["gridPosition"].clone(),
        position: Some(Json(w["position"].clone())).filter(|p| !p.0.is_null()),
        configuration: Json(configuration),
        is_active: true,
        standard: true,
    })
}

fn layout_mode(mode: Option<&str>) -> Option<PageLayoutTabLayoutMode> {
    match mode? {
        "GRID" => Some(PageLayoutTabLayoutMode::Grid),
        "VERTICAL_LIST" => Some(PageLayoutTabLayoutMode::VerticalList),
        "CANVAS" => Some(PageLayoutTabLayoutMode::Canvas),
        _ => None,
    }
}

/// `PageLayoutWidgetPosition` (`MM/page-layout-widget/dtos/page-layout-widget-position.union.ts`),
/// resolved by `layoutMode`.
#[derive(Union, Clone, Debug)]
#[allow(missing_docs)]
pub enum PageLayoutWidgetPosition {
    Grid(PageLayoutWidgetGridPosition),
    VerticalList(PageLayoutWidgetVerticalListPosition),
    Canvas(PageLayoutWidgetCanvasPosition),
}

/// `PageLayoutWidgetGridPosition` (`page-layout-widget-grid-position.dto.ts`: `Int`s).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct PageLayoutWidgetGridPosition {
    pub layout_mode: PageLayoutTabLayoutMode,
    pub row: i64,
    pub column: i64,
    pub row_span: i64,
    pub column_span: i64,
}

/// `PageLayoutWidgetVerticalListPosition` (`page-layout-widget-vertical-list-position.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct PageLayoutWidgetVerticalListPosition {
    pub layout_mode: PageLayoutTabLayoutMode,
    pub index: i64,
}

/// `PageLayoutWidgetCanvasPosition` (`page-layout-widget-canvas-position.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct PageLayoutWidgetCanvasPosition {
    pub layout_mode: PageLayoutTabLayoutMode,
}

impl PageLayoutWidgetPosition {
    /// The stored position as the union answers it; `None` for none or an unknown mode.
    pub fn from_stored(stored: &Value) -> Option<Self> {
        let n = |k: &str| stored[k].as_f64().map(|v| v as i64);
        Some(match stored["layoutMode"].as_str()? {
            "GRID" => Self::Grid(PageLayoutWidgetGridPosition {
                layout_mode: PageLayoutTabLayoutMode::Grid,
                row: n("row")?,
                column: n("column")?,
                row_span: n("rowSpan")?,
                column_span: n("columnSpan")?,
            }),
            "VERTICAL_LIST" => Self::VerticalList(PageLayoutWidgetVerticalListPosition {
                layout_mode: PageLayoutTabLayoutMode::VerticalList,
                index: n("index")?,
            }),
            "CANVAS" => Self::Canvas(PageLayoutWidgetCanvasPosition {
                layout_mode: PageLayoutTabLayoutMode::Canvas,
            }),
            _ => return None,
        })
    }
}

/// `resetPageLayoutToDefault`.
#[derive(Default)]
pub struct RecordPageMutation;

#[allow(clippy::unused_async)]
#[Object]
impl RecordPageMutation {
    /// `resetPageLayoutToDefault` (`SettingsPermissionGuard(LAYOUTS)`): the tabs and widgets a
    /// workspace added are deleted, the standard ones restored as they were; a layout the
    /// workspace made cannot be reset (`MM/page-layout/services/page-layout-reset.service.ts:360-420`).
    async fn reset_page_layout_to_default(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<PageLayout> {
        let mut state = lock(&shared(ctx)?.config_state);
        let Some(layout) = state
            .page_layouts
            .iter_mut()
            .find(|l| l.id.0.to_string() == id)
        else {
            return Err(super::layouts::not_found(&id));
        };
        // Recorded (golden `config-record-page-layout-made-by-the-workspace`): no sub-code.
        let Some(default_tabs) = layout.default_tabs.clone() else {
            let message = format!("Custom page layout \"{id}\" cannot be reset to default");
            return Err(Error::new(message).extend_with(|_, e| {
                e.set("code", "BAD_USER_INPUT");
                e.set("userFriendlyMessage", "Invalid page layout data.");
            }));
        };
        layout.tabs = default_tabs;
        layout.updated_at = now();
        Ok(layout.clone())
    }
}
