//! Page layouts with their tabs and widgets (`MM/page-layout/resolvers/page-layout.resolver.ts`),
//! as an API key uses them to move a dashboard (issue 16 facts §8.2): `createPageLayout` takes
//! no id and the server makes one; `updatePageLayoutWithTabsAndWidgets` replaces the tabs and
//! widgets, keeping the ids it is given.
//!
//! A widget's `configuration` answers as the `WidgetConfiguration` union a real 2.21 has
//! ([`super::widget_configuration`]), its `position` as the `PageLayoutWidgetPosition` union
//! ([`super::record_pages`]).

use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, InputObject, Json, MaybeUndefined, Object,
    SimpleObject,
};
use serde_json::Value;
use uuid::Uuid;

use super::record_pages::PageLayoutWidgetPosition;
use super::widget_configuration::WidgetConfiguration;
use super::{bad_input, check_client_id, now, reason, shared, validation_failed, Id, Refused};
use crate::twin::lock;

/// `PageLayoutType` (`MM/page-layout/enums/page-layout-type.enum.ts`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum PageLayoutType {
    RecordIndex,
    RecordPage,
    Dashboard,
    StandalonePage,
}

/// `PageLayoutTabLayoutMode` (`MM/page-layout-tab/enums/page-layout-tab-layout-mode.enum.ts`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum PageLayoutTabLayoutMode {
    Grid,
    VerticalList,
    Canvas,
}

/// `WidgetType` (`MM/page-layout-widget/enums/widget-type.enum.ts`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum WidgetType {
    View,
    Iframe,
    Field,
    Fields,
    Graph,
    StandaloneRichText,
    Timeline,
    Tasks,
    Notes,
    Files,
    Emails,
    Calendar,
    FieldRichText,
    Workflow,
    WorkflowVersion,
    WorkflowRun,
    FrontComponent,
    RecordTable,
    EmailThread,
}

/// A page layout (`MM/page-layout/dtos/page-layout.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
#[allow(missing_docs)]
pub struct PageLayout {
    pub id: Id,
    pub name: String,
    #[graphql(name = "type")]
    pub layout_type: PageLayoutType,
    pub object_metadata_id: Option<Id>,
    #[graphql(skip)]
    pub tabs: Vec<PageLayoutTab>,
    /// Set on `createPageLayout`'s answer only, whose `tabs` is `null`.
    #[graphql(skip)]
    pub answered_without_tabs: bool,
    /// Equals `id` for an API create (facts §1.2).
    pub universal_identifier: Id,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    /// A standard or server-made layout's tabs as the server made them, which
    /// `resetPageLayoutToDefault` restores; `None` for a layout the workspace made.
    #[graphql(skip)]
    pub default_tabs: Option<Vec<PageLayoutTab>>,
}

#[allow(clippy::unused_async)]
#[ComplexObject]
impl PageLayout {
    /// The tabs; `null` in `createPageLayout`'s answer, which a real 2.21 builds from the layout
    /// alone (`fromFlatPageLayoutToPageLayoutDto` in `MM/page-layout/services/page-layout.service.ts`
    /// `create`; recorded in `config-page-layout-tab-icon-set-on-update-only`).
    async fn tabs(&self) -> Option<Vec<PageLayoutTab>> {
        (!self.answered_without_tabs).then(|| self.tabs.clone())
    }
}

/// A tab (`MM/page-layout-tab/dtos/page-layout-tab.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct PageLayoutTab {
    pub id: Id,
    pub title: String,
    pub position: f64,
    pub page_layout_id: Id,
    pub icon: Option<String>,
    pub layout_mode: Option<PageLayoutTabLayoutMode>,
    pub widgets: Vec<PageLayoutWidget>,
    pub is_active: bool,
    /// The server made it (standard application or a side effect): left out of an update, it
    /// is deactivated rather than deleted (`splitEntitiesByRemovalStrategy`).
    #[graphql(skip)]
    pub standard: bool,
}

/// A widget (`MM/page-layout-widget/dtos/page-layout-widget.dto.ts`). `gridPosition` is a
/// field there, deprecated (which hides it from an introspection that leaves deprecated fields
/// out, facts §8.2) but answered; Twenty's own front reads it
/// (`twenty-front/src/modules/page-layout/graphql/fragments/pageLayoutWidgetFragment.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
#[allow(missing_docs)]
pub struct PageLayoutWidget {
    pub id: Id,
    pub page_layout_tab_id: Id,
    pub title: String,
    #[graphql(name = "type")]
    pub widget_type: WidgetType,
    pub object_metadata_id: Option<Id>,
    /// `{row, column, rowSpan, columnSpan}`, answered as `gridPosition` (a `GridPosition`).
    #[graphql(skip)]
    pub grid_position: Value,
    /// As sent; answered as the `PageLayoutWidgetPosition` union.
    #[graphql(skip)]
    pub position: Option<Json<Value>>,
    /// As sent; answered as the `WidgetConfiguration` union.
    #[graphql(skip)]
    pub configuration: Json<Value>,
    pub is_active: bool,
    /// The server made it: deactivated, not deleted, when an update leaves it out.
    #[graphql(skip)]
    pub standard: bool,
}

/// `GridPosition` (`GridPositionDTO` in `MM/page-layout-widget/dtos/page-layout-widget.dto.ts`:
/// `@Field() row: number`, so `Float`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct GridPosition {
    pub row: f64,
    pub column: f64,
    pub row_span: f64,
    pub column_span: f64,
}

#[allow(clippy::unused_async)]
#[ComplexObject]
impl PageLayoutWidget {
    /// `gridPosition` (non-null).
    #[graphql(name = "gridPosition")]
    async fn grid_position_answer(&self) -> async_graphql::Result<GridPosition> {
        let n = |k: &str| {
            self.grid_position
                .get(k)
                .and_then(Value::as_f64)
                .ok_or_else(|| async_graphql::Error::new(format!("gridPosition has no {k}")))
        };
        Ok(GridPosition {
            row: n("row")?,
            column: n("column")?,
            row_span: n("rowSpan")?,
            column_span: n("columnSpan")?,
        })
    }

    /// `position`: the union member its `layoutMode` names; `null` where none was given.
    #[graphql(name = "position")]
    async fn position_answer(&self) -> Option<PageLayoutWidgetPosition> {
        self.position
            .as_ref()
            .and_then(|p| PageLayoutWidgetPosition::from_stored(&p.0))
    }

    /// `configuration` (non-null): the union member its `configurationType` names.
    #[graphql(name = "configuration")]
    async fn configuration_answer(&self) -> async_graphql::Result<WidgetConfiguration> {
        WidgetConfiguration::from_stored(&self.configuration.0).map_err(async_graphql::Error::new)
    }
}

/// `CreatePageLayoutInput` (`MM/page-layout/dtos/inputs/create-page-layout.input.ts`): no `id`;
/// the server makes one with `v4()`
/// (`MM/flat-page-layout/utils/from-create-page-layout-input-to-flat-page-layout-to-create.util.ts:30`).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreatePageLayoutInput {
    pub name: String,
    #[graphql(name = "type", default_with = "PageLayoutType::RecordPage")]
    pub layout_type: PageLayoutType,
    pub object_metadata_id: Option<Id>,
}

/// `GridPositionInput`.
#[derive(InputObject, Clone)]
#[allow(missing_docs)]
pub struct GridPositionInput {
    pub row: f64,
    pub column: f64,
    pub row_span: f64,
    pub column_span: f64,
}

/// `UpdatePageLayoutWidgetWithIdInput`.
#[derive(InputObject, Clone)]
#[allow(missing_docs)]
pub struct UpdatePageLayoutWidgetWithIdInput {
    pub id: Id,
    pub page_layout_tab_id: Id,
    pub title: String,
    #[graphql(name = "type")]
    pub widget_type: WidgetType,
    pub object_metadata_id: Option<Id>,
    pub grid_position: GridPositionInput,
    pub position: Option<Json<Value>>,
    pub configuration: Option<Json<Value>>,
    pub conditional_display: Option<Json<Value>>,
    pub conditional_availability_expression: Option<String>,
}

/// `UpdatePageLayoutTabWithWidgetsInput`. `icon` left out keeps a tab's icon, `null` clears it
/// (`...(tabInput.icon !== undefined && { icon: tabInput.icon })`,
/// `MM/page-layout/services/page-layout-update.service.ts` `computeTabOperations`).
#[derive(InputObject, Clone)]
#[allow(missing_docs)]
pub struct UpdatePageLayoutTabWithWidgetsInput {
    pub id: Id,
    pub title: String,
    pub position: f64,
    pub icon: MaybeUndefined<String>,
    #[graphql(default_with = "Some(PageLayoutTabLayoutMode::Grid)")]
    pub layout_mode: Option<PageLayoutTabLayoutMode>,
    pub widgets: Vec<UpdatePageLayoutWidgetWithIdInput>,
}

/// `UpdatePageLayoutWithTabsInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdatePageLayoutWithTabsInput {
    pub name: String,
    #[graphql(name = "type")]
    pub layout_type: PageLayoutType,
    pub object_metadata_id: Option<Id>,
    pub tabs: Vec<UpdatePageLayoutTabWithWidgetsInput>,
}

/// The page layout queries.
#[derive(Default)]
pub struct LayoutQuery;

#[allow(clippy::unused_async)]
#[Object]
impl LayoutQuery {
    /// Layouts, filtered by object and type where given (`page-layout.resolver.ts`
    /// `getPageLayouts`, `NoPermissionGuard`).
    async fn get_page_layouts(
        &self,
        ctx: &Context<'_>,
        object_metadata_id: Option<String>,
        page_layout_type: Option<PageLayoutType>,
    ) -> async_graphql::Result<Vec<PageLayout>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(state
            .page_layouts
            .iter()
            .filter(|l| {
                object_metadata_id
                    .as_deref()
                    .is_none_or(|o| l.object_metadata_id.is_some_and(|id| id.0.to_string() == o))
            })
            .filter(|l| page_layout_type.is_none_or(|t| l.layout_type == t))
            .cloned()
            .collect())
    }

    /// One layout, `null` when there is none (`getPageLayout`).
    async fn get_page_layout(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<PageLayout>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(state
            .page_layouts
            .iter()
            .find(|l| l.id.0.to_string() == id)
            .cloned())
    }
}

/// The page layout mutations (each `SettingsPermissionGuard(LAYOUTS)`, which an Admin key has).
#[derive(Default)]
pub struct LayoutMutation;

#[allow(clippy::unused_async)]
#[Object]
impl LayoutMutation {
    /// `createPageLayout`: a layout without tabs, with a server id
    /// (`MM/page-layout/services/page-layout.service.ts` `create`).
    async fn create_page_layout(
        &self,
        ctx: &Context<'_>,
        input: CreatePageLayoutInput,
    ) -> async_graphql::Result<PageLayout> {
        let id = Id(Uuid::new_v4());
        let at = now();
        let layout = PageLayout {
            id,
            name: input.name,
            layout_type: input.layout_type,
            object_metadata_id: input.object_metadata_id,
            tabs: Vec::new(),
            answered_without_tabs: false,
            universal_identifier: id,
            created_at: at.clone(),
            updated_at: at,
            deleted_at: None,
            default_tabs: None,
        };
        lock(&shared(ctx)?.config_state)
            .page_layouts
            .push(layout.clone());
        Ok(PageLayout {
            answered_without_tabs: true,
            ..layout
        })
    }

    /// `destroyPageLayout`: the layout goes with its tabs and widgets; there is no soft delete
    /// (`MM/page-layout/services/page-layout.service.ts` `destroy`).
    async fn destroy_page_layout(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<bool> {
        let mut state = lock(&shared(ctx)?.config_state);
        let before = state.page_layouts.len();
        state.page_layouts.retain(|l| l.id.0.to_string() != id);
        match state.page_layouts.len() < before {
            true => Ok(true),
            false => Err(not_found(&id)),
        }
    }

    /// `updatePageLayoutWithTabsAndWidgets`: the layout's tabs and widgets become the input's.
    /// Tabs and widgets are matched by id; an unknown id is created with exactly that id
    /// (`tabInput.id ?? v4()`), one missing from the input is deleted
    /// (`MM/page-layout/services/page-layout-update.service.ts:270-330, 560-590`).
    async fn update_page_layout_with_tabs_and_widgets(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: UpdatePageLayoutWithTabsInput,
    ) -> async_graphql::Result<PageLayout> {
        if input.tabs.is_empty() {
            return Err(bad_input(
                "tabs must contain at least 1 elements",
                "INVALID_PAGE_LAYOUT_DATA",
                "Invalid page layout data.",
            ));
        }
        let mut state = lock(&shared(ctx)?.config_state);
        let Some(index) = state
            .page_layouts
            .iter()
            .position(|l| l.id.0.to_string() == id)
        else {
            return Err(not_found(&id));
        };
        let layout_id = state.page_layouts[index].id;
        // A bar chart needs its `layout` (VERTICAL/HORIZONTAL): `validate-bar-chart-configuration.util.ts`
        // under `MM/flat-page-layout-widget/validators/utils/`; seen on a real 2.21 (2026-12-07).
        let refused: Vec<Refused> = input
            .tabs
            .iter()
            .flat_map(|t| t.widgets.iter().map(move |w| (t, w)))
            .filter(|(_, w)| {
                w.configuration.as_ref().is_some_and(|c| {
                    c.0.get("configurationType").and_then(Value::as_str) == Some("BAR_CHART")
                        && c.0.get("layout").is_none_or(Value::is_null)
                })
            })
            .map(|(t, w)| Refused {
                metadata_name: "pageLayoutWidget",
                minimal: serde_json::json!({
                    "universalIdentifier": w.id.0,
                    "pageLayoutTabUniversalIdentifier": t.id.0,
                }),
                reasons: vec![reason(
                    "INVALID_PAGE_LAYOUT_WIDGET_DATA",
                    format!("Layout is required for bar chart widget \"{}\"", w.title),
                    Some("Layout is required for bar chart"),
                )],
            })
            .collect();
        if !refused.is_empty() {
            return Err(validation_failed(
                "Multiple validation errors occurred while updating page layout with tabs",
                refused,
            ));
        }
        let old = state.page_layouts[index].tabs.clone();
        let old_widget = |id: Id| {
            old.iter()
                .flat_map(|t| t.widgets.iter())
                .find(|w| w.id == id)
        };
        let sent: std::collections::HashSet<Id> = input
            .tabs
            .iter()
            .flat_map(|t| t.widgets.iter().map(|w| w.id))
            .collect();
        let mut tabs = Vec::new();
        for tab in &input.tabs {
            let existing = old.iter().find(|t| t.id == tab.id);
            // Only a new tab or widget is created, so only its id can be refused.
            let tab_id = match existing {
                Some(t) => t.id,
                None => Id(check_client_id(&state, Some(tab.id), "pageLayoutTab")?),
            };
            // A new tab is created with `icon: null` whatever was sent; only a tab that exists
            // takes the icon (`tabsToCreate` vs `tabsToUpdate` in `computeTabOperations`,
            // `MM/page-layout/services/page-layout-update.service.ts`; seen on a real 2.21).
            let icon = match (existing, &tab.icon) {
                (None, _) => None,
                (Some(t), MaybeUndefined::Undefined) => t.icon.clone(),
                (Some(_), MaybeUndefined::Null) => None,
                (Some(_), MaybeUndefined::Value(icon)) => Some(icon.clone()),
            };
            let mut new_widgets = Vec::new();
            for w in &tab.widgets {
                if w.page_layout_tab_id != tab_id {
                    return Err(bad_input(
                        format!("Widget {} names another tab", w.id.0),
                        "INVALID_PAGE_LAYOUT_WIDGET_DATA",
                        "Invalid page layout widget data.",
                    ));
                }
                if is_front_component(w) {
                    return Err(front_component_missing(w, state.workspace()));
                }
                let before = old_widget(w.id);
                let id = match before {
                    Some(b) => b.id,
                    None => Id(check_client_id(&state, Some(w.id), "pageLayoutWidget")?),
                };
                new_widgets.push(PageLayoutWidget {
                    id,
                    page_layout_tab_id: tab_id,
                    title: w.title.clone(),
                    widget_type: w.widget_type,
                    object_metadata_id: w.object_metadata_id,
                    grid_position: serde_json::json!({
                        "row": w.grid_position.row,
                        "column": w.grid_position.column,
                        "rowSpan": w.grid_position.row_span,
                        "columnSpan": w.grid_position.column_span,
                    }),
                    position: w.position.clone(),
                    configuration: w.configuration.clone().unwrap_or(Json(Value::Null)),
                    // Sent again, a deactivated one is restored (`toRestoreAndUpdate`).
                    is_active: true,
                    standard: before.is_some_and(|b| b.standard),
                });
            }
            // The tab's widgets in the order the server holds them, then the new ones; one
            // left out is deactivated if the server made it, else deleted
            // (`computeWidgetOperationsForTab`, `splitEntitiesByRemovalStrategy` in
            // `MM/flat-entity/utils/split-entities-by-removal-strategy.util.ts`).
            let mut widgets = Vec::new();
            for w in existing.map(|t| t.widgets.as_slice()).unwrap_or_default() {
                if let Some(i) = new_widgets.iter().position(|n| n.id == w.id) {
                    widgets.push(new_widgets.remove(i));
                } else if w.standard && !sent.contains(&w.id) {
                    widgets.push(PageLayoutWidget {
                        is_active: false,
                        ..w.clone()
                    });
                }
            }
            widgets.extend(new_widgets);
            tabs.push(PageLayoutTab {
                id: tab_id,
                title: tab.title.clone(),
                position: tab.position,
                page_layout_id: layout_id,
                icon,
                layout_mode: tab.layout_mode,
                widgets,
                is_active: true,
                standard: existing.is_some_and(|t| t.standard),
            });
        }
        // A tab left out: deactivated with its widgets as they are if the server made it,
        // else deleted with them (`computeTabOperations`).
        for t in &old {
            if t.standard && !input.tabs.iter().any(|i| i.id == t.id) {
                tabs.push(PageLayoutTab {
                    is_active: false,
                    ..t.clone()
                });
            }
        }
        // Answered by position (`reconstructFlatPageLayoutWithTabsAndWidgets`).
        tabs.sort_by(|a, b| a.position.total_cmp(&b.position));
        let layout = &mut state.page_layouts[index];
        layout.name = input.name;
        layout.layout_type = input.layout_type;
        layout.object_metadata_id = input.object_metadata_id;
        layout.tabs = tabs;
        layout.updated_at = now();
        Ok(layout.clone())
    }
}

/// Whether a widget shows a front component: one of an application installed in the
/// workspace. The twin installs none.
fn is_front_component(w: &UpdatePageLayoutWidgetWithIdInput) -> bool {
    w.configuration
        .as_ref()
        .and_then(|c| c.0.get("configurationType"))
        .and_then(Value::as_str)
        == Some("FRONT_COMPONENT")
}

/// A FRONT_COMPONENT widget whose front component the workspace does not have: the migration
/// runner cannot transpile it and the whole replacement fails, the layout keeping its tabs
/// (golden `config-page-layout-front-component-widget-of-another-workspace`, rehearsal r20).
fn front_component_missing(
    w: &UpdatePageLayoutWidgetWithIdInput,
    workspace: Uuid,
) -> async_graphql::Error {
    let at = now();
    let application = super::custom_application();
    let kind = async_graphql::InputType::to_value(&w.widget_type).to_string();
    let configuration = w.configuration.as_ref().map(|c| c.0.clone());
    let flat = serde_json::json!({
        "applicationId": application,
        "applicationUniversalIdentifier": application,
        "conditionalAvailabilityExpression": null,
        "conditionalDisplay": null,
        "configuration": configuration,
        "createdAt": at,
        "deletedAt": null,
        "gridPosition": {
            "column": w.grid_position.column, "columnSpan": w.grid_position.column_span,
            "row": w.grid_position.row, "rowSpan": w.grid_position.row_span,
        },
        "id": w.id.0,
        "isActive": true,
        "isSystemSideEffect": false,
        "objectMetadataId": w.object_metadata_id.map(|o| o.0),
        "objectMetadataUniversalIdentifier": w.object_metadata_id.map(|o| o.0),
        "overrides": null,
        "pageLayoutTabId": w.page_layout_tab_id.0,
        "pageLayoutTabUniversalIdentifier": w.page_layout_tab_id.0,
        "position": w.position.as_ref().map(|p| p.0.clone()),
        "title": w.title,
        "type": kind,
        "universalConfiguration": {
            "configurationType": "FRONT_COMPONENT",
            "frontComponentUniversalIdentifier": null,
        },
        "universalIdentifier": w.id.0,
        "universalOverrides": null,
        "updatedAt": at,
        "workspaceId": workspace,
    });
    let action = serde_json::json!({
        "flatEntity": flat, "id": w.id.0, "metadataName": "pageLayoutWidget", "type": "create",
    });
    let errors = serde_json::json!({"actionTranspilation": {
        "code": "ENTITY_NOT_FOUND",
        "message": "Front component universal identifier is required for FRONT_COMPONENT configuration",
    }});
    let message = format!(
        "Migration action 'create' for 'pageLayoutWidget' (universalIdentifier: {}) failed",
        w.id.0
    );
    async_graphql::Error::new(message).extend_with(move |_, e| {
        e.set("code", "APPLICATION_INSTALLATION_FAILED");
        e.set(
            "action",
            async_graphql::Value::from_json(action.clone()).unwrap_or_default(),
        );
        e.set(
            "errors",
            async_graphql::Value::from_json(errors.clone()).unwrap_or_default(),
        );
        e.set("userFriendlyMessage", "Migration execution failed.");
    })
}

/// An unknown layout id. Recorded from a real 2.21 (`updatePageLayoutWithTabsAndWidgets`):
/// code NOT_FOUND, the id in quotes.
pub(super) fn not_found(id: &str) -> async_graphql::Error {
    let message = format!("Page layout with ID \"{id}\" not found");
    async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("code", "NOT_FOUND");
        e.set("userFriendlyMessage", "An error occurred.");
    })
}
