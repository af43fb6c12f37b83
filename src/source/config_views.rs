//! Views (with fields, filter groups, filters, sorts and groups), workflows and dashboards of
//! the source configuration; see [`super::config`] for where each lives per layout.
//!
//! Views before 1.5 are workspace tables; they are converted as
//! `upgrade:1-5:migrate-views-to-core` (`MigrateViewsToCoreCommand`) converts them: lower-case
//! `type` and sort `direction` upper-cased, camelCase filter operands to UPPER_SNAKE
//! (`convertViewFilterOperandToCoreOperand`), the text filter `value` parsed as JSON or kept as
//! a string (`convertViewFilterWorkspaceValueToCoreValue`), and the grouping field taken from
//! `viewGroup.fieldMetadataId` where the view has no `mainGroupByFieldMetadataId`.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::config::{boolean, customized, effective, number, text, uuid, Reader, Row};
use super::SourceError;
use crate::model::config::{
    Dashboard, LayoutPart, PageLayout, PageLayoutTab, PageLayoutWidget, View, ViewField,
    ViewFieldGroup, ViewFilter, ViewFilterGroup, ViewGroup, ViewSort, Workflow, WorkflowVersion,
};

/// The views of the workspace, sorted by object, position and id; each with its children.
pub(crate) async fn read_views(r: &Reader<'_>) -> Result<Vec<View>, SourceError> {
    let legacy = !r.has("core", "view");
    let schema = if legacy {
        r.schema.clone()
    } else {
        "core".to_owned()
    };
    let load = |table: &'static str| {
        let schema = schema.clone();
        async move {
            let rows = r.rows(&schema, table).await?;
            Ok::<_, SourceError>(if legacy {
                rows.into_iter().map(legacy_row).collect()
            } else {
                rows
            })
        }
    };
    let views = load("view").await?;
    let fields = by_view(load("viewField").await?);
    let groups = by_view(load("viewFilterGroup").await?);
    let filters = by_view(load("viewFilter").await?);
    let sorts = by_view(load("viewSort").await?);
    let kanban = by_view(load("viewGroup").await?);
    // Record-page sections (2.x); none before.
    let sections = by_view(load("viewFieldGroup").await?);
    let empty = Vec::new();
    let mut out = Vec::new();
    for row in views {
        // A standard view's own name, before the workspace's override: what the target's copy
        // of it is called.
        let base_name = text(&row, "name");
        let row = effective(row);
        let (Some(id), Some(object)) = (uuid(&row, "id"), r.object(uuid(&row, "objectMetadataId")))
        else {
            continue;
        };
        let field_name = |key: &str| r.field(uuid(&row, key)).map(|f| f.field);
        let view_groups = kanban.get(&id).unwrap_or(&empty);
        // Before 1.13 the grouping field was on each viewGroup.
        let main_group_by_field = field_name("mainGroupByFieldMetadataId").or_else(|| {
            view_groups
                .iter()
                .find_map(|g| r.field(uuid(g, "fieldMetadataId")).map(|f| f.field))
        });
        let mut view_fields: Vec<ViewField> = fields
            .get(&id)
            .unwrap_or(&empty)
            .iter()
            .map(|f| effective(f.clone()))
            .filter_map(|f| {
                Some(ViewField {
                    id: uuid(&f, "id")?,
                    field: r.field(uuid(&f, "fieldMetadataId"))?.field,
                    is_visible: boolean(&f, "isVisible").unwrap_or(true),
                    size: number(&f, "size").unwrap_or(0.0),
                    position: number(&f, "position").unwrap_or(0.0),
                    aggregate_operation: text(&f, "aggregateOperation"),
                    group: uuid(&f, "viewFieldGroupId"),
                })
            })
            .collect();
        view_fields.sort_by(|a, b| {
            (a.position, a.id)
                .partial_cmp(&(b.position, b.id))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let filter_groups = parents_first(
            groups
                .get(&id)
                .unwrap_or(&empty)
                .iter()
                .filter_map(|g| {
                    Some(ViewFilterGroup {
                        id: uuid(g, "id")?,
                        parent: uuid(g, "parentViewFilterGroupId"),
                        logical_operator: text(g, "logicalOperator")
                            .unwrap_or_else(|| "AND".into()),
                        position_in_group: number(g, "positionInViewFilterGroup"),
                    })
                })
                .collect(),
        );
        let mut view_filters: Vec<ViewFilter> = filters
            .get(&id)
            .unwrap_or(&empty)
            .iter()
            .filter_map(|f| {
                Some(ViewFilter {
                    id: uuid(f, "id")?,
                    field: r.field(uuid(f, "fieldMetadataId"))?.field,
                    operand: text(f, "operand").unwrap_or_else(|| "CONTAINS".into()),
                    value: f.get("value").cloned().unwrap_or(Value::Null),
                    group: uuid(f, "viewFilterGroupId"),
                    position_in_group: number(f, "positionInViewFilterGroup"),
                    sub_field_name: text(f, "subFieldName"),
                    relation_target_field: r.field(uuid(f, "relationTargetFieldMetadataId")),
                })
            })
            .collect();
        view_filters.sort_by(|a, b| {
            (a.group, a.position_in_group.unwrap_or(0.0), a.id)
                .partial_cmp(&(b.group, b.position_in_group.unwrap_or(0.0), b.id))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut sort_rows: Vec<&Row> = sorts.get(&id).unwrap_or(&empty).iter().collect();
        sort_rows.sort_by_key(|s| (text(s, "createdAt"), uuid(s, "id")));
        let view_sorts = sort_rows
            .into_iter()
            .filter_map(|s| {
                Some(ViewSort {
                    id: uuid(s, "id")?,
                    field: r.field(uuid(s, "fieldMetadataId"))?.field,
                    direction: text(s, "direction").unwrap_or_else(|| "ASC".into()),
                })
            })
            .collect();
        let mut groups_out: Vec<ViewGroup> = view_groups
            .iter()
            .filter_map(|g| {
                Some(ViewGroup {
                    id: uuid(g, "id")?,
                    field_value: text(g, "fieldValue").unwrap_or_default(),
                    is_visible: boolean(g, "isVisible").unwrap_or(true),
                    position: number(g, "position").unwrap_or(0.0),
                })
            })
            .collect();
        groups_out.sort_by(|a, b| {
            (a.position, a.id)
                .partial_cmp(&(b.position, b.id))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut field_groups: Vec<ViewFieldGroup> = sections
            .get(&id)
            .unwrap_or(&empty)
            .iter()
            .filter_map(|g| {
                let standard_name = text(g, "name").filter(|_| r.is_standard(g));
                let g = effective(g.clone());
                Some(ViewFieldGroup {
                    id: uuid(&g, "id")?,
                    name: text(&g, "name").unwrap_or_default(),
                    standard_name,
                    position: number(&g, "position").unwrap_or(0.0),
                    is_visible: boolean(&g, "isVisible").unwrap_or(true),
                })
            })
            .collect();
        field_groups.sort_by(|a, b| {
            (a.position, a.id)
                .partial_cmp(&(b.position, b.id))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        out.push(View {
            id,
            name: text(&row, "name").unwrap_or_default(),
            object,
            kind: text(&row, "type").unwrap_or_else(|| "TABLE".into()),
            key: text(&row, "key"),
            icon: text(&row, "icon").unwrap_or_default(),
            position: number(&row, "position").unwrap_or(0.0),
            is_compact: boolean(&row, "isCompact").unwrap_or(false),
            open_record_in: text(&row, "openRecordIn"),
            kanban_aggregate_operation: text(&row, "kanbanAggregateOperation"),
            kanban_aggregate_field: field_name("kanbanAggregateOperationFieldMetadataId"),
            calendar_layout: text(&row, "calendarLayout"),
            calendar_field: field_name("calendarFieldMetadataId"),
            main_group_by_field,
            should_hide_empty_groups: boolean(&row, "shouldHideEmptyGroups").unwrap_or(false),
            any_field_filter_value: text(&row, "anyFieldFilterValue"),
            visibility: text(&row, "visibility").unwrap_or_else(|| "WORKSPACE".into()),
            owner_email: uuid(&row, "createdByUserWorkspaceId").and_then(|u| r.email(u)),
            is_standard: r.is_standard(&row),
            standard_name: base_name.filter(|_| r.is_standard(&row)),
            system_side_effect: boolean(&row, "isSystemSideEffect") == Some(true),
            fields: view_fields,
            filter_groups,
            filters: view_filters,
            sorts: view_sorts,
            groups: groups_out,
            field_groups,
        });
    }
    out.sort_by(|a, b| {
        (&a.object, a.position, a.id)
            .partial_cmp(&(&b.object, b.position, b.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(out)
}

/// Rows grouped by `viewId`.
fn by_view(rows: Vec<Row>) -> HashMap<uuid::Uuid, Vec<Row>> {
    let mut out: HashMap<uuid::Uuid, Vec<Row>> = HashMap::new();
    for row in rows {
        if let Some(view) = uuid(&row, "viewId") {
            out.entry(view).or_default().push(row);
        }
    }
    out
}

/// Filter groups ordered so that each parent comes before its children (then by position);
/// a group whose parent is missing or in a cycle comes last, as it is.
fn parents_first(mut groups: Vec<ViewFilterGroup>) -> Vec<ViewFilterGroup> {
    groups.sort_by(|a, b| {
        (a.position_in_group.unwrap_or(0.0), a.id)
            .partial_cmp(&(b.position_in_group.unwrap_or(0.0), b.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut placed: HashSet<uuid::Uuid> = HashSet::new();
    let mut out = Vec::with_capacity(groups.len());
    loop {
        let before = out.len();
        groups.retain(|g| {
            let ready = g.parent.is_none_or(|p| placed.contains(&p));
            if ready {
                placed.insert(g.id);
                out.push(g.clone());
            }
            !ready
        });
        if groups.is_empty() || out.len() == before {
            break;
        }
    }
    out.extend(groups);
    out
}

/// A workspace-era (before 1.5) view row in its core form.
fn legacy_row(mut row: Row) -> Row {
    for key in ["type", "direction"] {
        if let Some(Value::String(s)) = row.get_mut(key) {
            *s = s.to_uppercase();
        }
    }
    if let Some(Value::String(op)) = row.get_mut("operand") {
        *op = core_operand(op);
    }
    if let Some(Value::String(raw)) = row.get("value").cloned() {
        row.insert(
            "value".into(),
            serde_json::from_str(&raw).unwrap_or(Value::String(raw)),
        );
    }
    row
}

/// `convertViewFilterOperandToCoreOperand`: camelCase to UPPER_SNAKE; the pre-0.3x strict
/// comparisons map to the inclusive ones (UNCONFIRMED, facts §12).
fn core_operand(op: &str) -> String {
    match op {
        "greaterThan" => return "GREATER_THAN_OR_EQUAL".into(),
        "lessThan" => return "LESS_THAN_OR_EQUAL".into(),
        // Already a core operand.
        _ if !op.chars().any(|c| c.is_ascii_lowercase()) => return op.to_owned(),
        _ => {}
    }
    let mut out = String::new();
    for c in op.chars() {
        if c.is_ascii_uppercase() && !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Workflows (live `workflow` records) with their live versions, oldest first.
pub(crate) async fn read_workflows(r: &Reader<'_>) -> Result<Vec<Workflow>, SourceError> {
    let versions = r.rows(&r.schema, "workflowVersion").await?;
    let mut out: Vec<Workflow> = r
        .rows(&r.schema, "workflow")
        .await?
        .iter()
        .filter_map(|w| {
            let id = uuid(w, "id")?;
            let mut mine: Vec<&Row> = versions
                .iter()
                .filter(|v| uuid(v, "workflowId") == Some(id))
                .collect();
            mine.sort_by(|a, b| {
                (number(a, "position"), text(a, "createdAt"))
                    .partial_cmp(&(number(b, "position"), text(b, "createdAt")))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            Some(Workflow {
                id,
                name: text(w, "name").unwrap_or_default(),
                statuses: match w.get("statuses") {
                    Some(Value::Array(s)) => s
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                },
                versions: mine
                    .into_iter()
                    .filter_map(|v| {
                        Some(WorkflowVersion {
                            id: uuid(v, "id")?,
                            name: text(v, "name").unwrap_or_default(),
                            status: text(v, "status").unwrap_or_else(|| "DRAFT".into()),
                            trigger: v.get("trigger").cloned().unwrap_or(Value::Null),
                            steps: v.get("steps").cloned().unwrap_or(Value::Null),
                        })
                    })
                    .collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    Ok(out)
}

/// A page layout with its tabs and widgets (deactivated ones included), effective values.
fn build_layout(r: &Reader<'_>, row: &Row, tabs: &[Row], widgets: &[Row]) -> Option<PageLayout> {
    let id = uuid(row, "id")?;
    // Made by the server: the standard application's, or a side effect (a custom object's
    // default record page).
    let made_by_server =
        |row: &Row| r.is_standard(row) || boolean(row, "isSystemSideEffect") == Some(true);
    let part = |raw: &Row| LayoutPart {
        is_active: boolean(raw, "isActive").unwrap_or(true),
        standard: made_by_server(raw),
        base_title: text(raw, "title"),
    };
    let live = |row: &&Row| row.get("deletedAt").is_none_or(Value::is_null);
    let own_tabs: Vec<&Row> = tabs
        .iter()
        .filter(|t| uuid(t, "pageLayoutId") == Some(id))
        .filter(live)
        .collect();
    let tab_ids: HashSet<uuid::Uuid> = own_tabs.iter().filter_map(|t| uuid(t, "id")).collect();
    // This layout's widgets with their effective values: stored on one of its tabs, or moved
    // to one by an override.
    let moved_to = |w: &Row| {
        w.get("overrides")
            .and_then(|o| o.get("pageLayoutTabId"))
            .and_then(Value::as_str)
            .and_then(|t| uuid::Uuid::parse_str(t).ok())
    };
    let own_widgets: Vec<(&Row, Row)> = widgets
        .iter()
        .filter(live)
        .filter(|w| {
            [uuid(w, "pageLayoutTabId"), moved_to(w)]
                .into_iter()
                .flatten()
                .any(|t| tab_ids.contains(&t))
        })
        .map(|raw| (raw, effective(raw.clone())))
        .collect();
    let mut layout_tabs: Vec<PageLayoutTab> = own_tabs
        .into_iter()
        .filter_map(|raw| {
            let t = effective(raw.clone());
            let tab_id = uuid(&t, "id")?;
            let mut tab_widgets: Vec<PageLayoutWidget> = own_widgets
                .iter()
                .filter(|(_, w)| uuid(w, "pageLayoutTabId") == Some(tab_id))
                .filter_map(|(raw, w)| {
                    Some(PageLayoutWidget {
                        id: uuid(w, "id")?,
                        title: text(w, "title").unwrap_or_default(),
                        kind: text(w, "type").unwrap_or_else(|| "VIEW".into()),
                        object: r.object(uuid(w, "objectMetadataId")),
                        grid_position: w.get("gridPosition").cloned().unwrap_or(Value::Null),
                        position: w.get("position").cloned().filter(|p| !p.is_null()),
                        configuration: name_fields(
                            r,
                            w.get("configuration").cloned().unwrap_or(Value::Null),
                        ),
                        part: part(raw),
                    })
                })
                .collect();
            tab_widgets.sort_by_key(|w| w.id);
            Some(PageLayoutTab {
                id: tab_id,
                title: text(&t, "title").unwrap_or_default(),
                position: number(&t, "position").unwrap_or(0.0),
                icon: text(&t, "icon"),
                layout_mode: text(&t, "layoutMode"),
                widgets: tab_widgets,
                part: part(raw),
            })
        })
        .collect();
    layout_tabs.sort_by(|a, b| {
        (a.position, a.id)
            .partial_cmp(&(b.position, b.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let effective_row = effective(row.clone());
    Some(PageLayout {
        id,
        name: text(&effective_row, "name").unwrap_or_default(),
        kind: text(row, "type").unwrap_or_else(|| "DASHBOARD".into()),
        object: r.object(uuid(row, "objectMetadataId")),
        is_standard: r.is_standard(row),
        universal_identifier: uuid(row, "universalIdentifier"),
        side_effect: boolean(row, "isSystemSideEffect") == Some(true),
        tabs: layout_tabs,
    })
}

/// The record page layouts (`RECORD_PAGE`) the workspace made or changed: one it made, or one
/// of the server's with a tab or widget it added or edited (see [`customized`]).
pub(crate) fn record_pages(r: &Reader<'_>, rows: &LayoutRows) -> Vec<PageLayout> {
    let LayoutRows {
        layouts,
        tabs,
        widgets,
    } = rows;
    let mut out = Vec::new();
    for row in layouts.iter().filter(|l| {
        text(l, "type").as_deref() == Some("RECORD_PAGE")
            && l.get("deletedAt").is_none_or(Value::is_null)
    }) {
        let Some(id) = uuid(row, "id") else { continue };
        let own_tabs: Vec<&Row> = tabs
            .iter()
            .filter(|t| uuid(t, "pageLayoutId") == Some(id))
            .collect();
        let tab_ids: HashSet<uuid::Uuid> = own_tabs.iter().filter_map(|t| uuid(t, "id")).collect();
        // Edited, added, or (one of the server's) removed, which deactivates it.
        let edited = |row: &Row| customized(r, row) || boolean(row, "isActive") == Some(false);
        let changed = customized(r, row)
            || own_tabs.iter().any(|t| edited(t))
            || widgets.iter().any(|w| {
                uuid(w, "pageLayoutTabId").is_some_and(|t| tab_ids.contains(&t)) && edited(w)
            });
        if changed {
            out.extend(build_layout(r, row, tabs, widgets));
        }
    }
    out.sort_by(|a, b| (&a.object, &a.name, a.id).cmp(&(&b.object, &b.name, b.id)));
    out
}

/// The page layout tables (2.x; empty where the source has none), read once for the
/// dashboards and the record pages.
pub(crate) struct LayoutRows {
    layouts: Vec<Row>,
    tabs: Vec<Row>,
    widgets: Vec<Row>,
}

impl LayoutRows {
    pub(crate) async fn read(r: &Reader<'_>) -> Result<Self, SourceError> {
        Ok(Self {
            layouts: r.rows("core", "pageLayout").await?,
            tabs: r.rows("core", "pageLayoutTab").await?,
            widgets: r.rows("core", "pageLayoutWidget").await?,
        })
    }
}

/// Dashboards (live `dashboard` records) with their page layout, tabs and widgets.
pub(crate) async fn read_dashboards(
    r: &Reader<'_>,
    rows: &LayoutRows,
) -> Result<Vec<Dashboard>, SourceError> {
    let layout = |id: uuid::Uuid| -> Option<PageLayout> {
        let row = rows.layouts.iter().find(|l| uuid(l, "id") == Some(id))?;
        build_layout(r, row, &rows.tabs, &rows.widgets)
    };
    let mut out: Vec<Dashboard> = r
        .rows(&r.schema, "dashboard")
        .await?
        .iter()
        .filter_map(|d| {
            Some(Dashboard {
                id: uuid(d, "id")?,
                title: text(d, "title"),
                position: number(d, "position").unwrap_or(0.0),
                layout: uuid(d, "pageLayoutId").and_then(layout),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.position, a.id)
            .partial_cmp(&(b.position, b.id))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(out)
}

/// Replaces every string under a `…FieldMetadataId` key by the field it names.
fn name_fields(r: &Reader<'_>, value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let named = k.to_ascii_lowercase().ends_with("fieldmetadataid");
                    let v = match (&v, named) {
                        (Value::String(s), true) => uuid::Uuid::parse_str(s)
                            .ok()
                            .and_then(|id| r.field(Some(id)))
                            .map(|f| json!({"object": f.object, "field": f.field}))
                            .unwrap_or(v),
                        _ => name_fields(r, v),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| name_fields(r, v)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_era_operands_become_core_operands() {
        assert_eq!(core_operand("isNotEmpty"), "IS_NOT_EMPTY");
        assert_eq!(core_operand("is"), "IS");
        assert_eq!(core_operand("greaterThanOrEqual"), "GREATER_THAN_OR_EQUAL");
        assert_eq!(core_operand("greaterThan"), "GREATER_THAN_OR_EQUAL");
        assert_eq!(core_operand("IS_NOT"), "IS_NOT");
    }

    #[test]
    fn a_workspace_era_value_is_parsed_as_json_or_kept_as_a_string() {
        let mut row = Row::new();
        row.insert("value".into(), json!("[\"NEW\"]"));
        assert_eq!(legacy_row(row)["value"], json!(["NEW"]));
        let mut row = Row::new();
        row.insert("value".into(), json!("Acme"));
        assert_eq!(legacy_row(row)["value"], json!("Acme"));
    }

    #[test]
    fn parents_come_before_their_children_whatever_the_input_order() {
        let id = |n: u128| uuid::Uuid::from_u128(n);
        let g = |n, parent: Option<u128>| ViewFilterGroup {
            id: id(n),
            parent: parent.map(id),
            logical_operator: "AND".into(),
            position_in_group: None,
        };
        let out = parents_first(vec![g(1, Some(3)), g(2, None), g(3, Some(2))]);
        let order: Vec<_> = out.iter().map(|g| g.id).collect();
        assert_eq!(order, vec![id(2), id(3), id(1)]);
    }
}
