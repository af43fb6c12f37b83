//! Views and their children: fields, filter groups, filters, sorts, kanban groups.
//!
//! A source view is found on the target by its id (a rerun), else, for an object's `INDEX` view
//! or one of Twenty's standard views, by object + key or object + name + type (a fresh
//! workspace has them, and a custom object gets its `INDEX` view when the schema sync creates
//! it: `object-metadata.service.ts`); anything else is created with its id. Twenty 2.21 keeps
//! no uniqueness on `key` or on a group's `fieldValue`, so matching before creating is the
//! tool's job (`view.entity.ts`, `view-group.entity.ts`).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::Action;
use super::{ConfigReport, Names, ViewIds};
use crate::destination::{
    TargetConfiguration, TargetView, TargetViewField, TargetViewFilter, TargetViewFilterGroup,
    TargetViewGroup, TargetViewSort,
};
use crate::model::config::{View, WorkspaceConfig};
use crate::transform::target_id;

/// Where each source view lives on the target, and which views this run creates or changes.
#[derive(Debug, Default)]
pub(super) struct ViewIndex {
    /// Source view id → target view id (created or matched).
    pub(super) ids: ViewIds,
    /// Target ids of the views created.
    created: HashSet<Uuid>,
    /// Target ids of the matched views whose own properties change.
    changed: HashSet<Uuid>,
}

/// Views are moved when the workspace sees them; a personal (UNLISTED) view only its owner can
/// create (`view-access.service.ts`): it goes to the runbook.
pub(super) fn movable(view: &View) -> bool {
    view.visibility != "UNLISTED"
}

pub(super) fn diff_views(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> (Vec<Action>, ViewIndex) {
    let mut actions = Vec::new();
    let mut plan = ViewIndex::default();
    let mut taken: HashSet<Uuid> = HashSet::new();
    for view in config.views.iter().filter(|v| movable(v)) {
        let Some(object_id) = names.object(&view.object) else {
            report.notes.push(format!(
                "view {} ({}): the target has no object {}; the view is not moved",
                view.name, view.id, view.object
            ));
            continue;
        };
        let desired = desired_view(view, object_id, names, report);
        match find(view, &desired, &target.views, &taken, names) {
            Some(existing) => {
                taken.insert(existing.id);
                names.stands_as(KIND, view.id, existing.id);
                plan.ids.insert(view.id, existing.id);
                let changes = view_changes(&desired, existing);
                if !changes.is_empty() {
                    plan.changed.insert(existing.id);
                    actions.push(Action::UpdateView(existing.id, Value::Object(changes)));
                }
            }
            None => {
                plan.ids.insert(view.id, desired.id);
                plan.created.insert(desired.id);
                actions.push(Action::CreateView(Box::new(desired)));
            }
        }
    }
    // Counted with the children, which decide whether a matched view is updated.
    (actions, plan)
}

/// The kind views are matched under in the ledger.
const KIND: &str = "view";

/// The target view that stands for `view`: by id, by the match an earlier run kept, else (the
/// object's INDEX view, a standard view) by natural key.
fn find<'t>(
    view: &View,
    desired: &TargetView,
    existing: &'t [TargetView],
    taken: &HashSet<Uuid>,
    names: &Names<'_>,
) -> Option<&'t TargetView> {
    let free = |v: &&TargetView| !taken.contains(&v.id);
    if let Some(v) = existing
        .iter()
        .filter(free)
        .find(|v| names.is_id_of(view.id, v.id))
    {
        return Some(v);
    }
    if let Some(matched) = names.matched(KIND, view.id) {
        if let Some(v) = existing.iter().filter(free).find(|v| v.id == matched) {
            return Some(v);
        }
    }
    let same_object = |v: &&TargetView| v.object_metadata_id == desired.object_metadata_id;
    if view.key.as_deref() == Some("INDEX") {
        return existing
            .iter()
            .filter(free)
            .filter(same_object)
            .find(|v| v.key.as_deref() == Some("INDEX"));
    }
    if view.is_standard || view.system_side_effect {
        // The target's copy carries the standard name; the source's may be renamed.
        let named = |name: &str| {
            existing
                .iter()
                .filter(free)
                .filter(same_object)
                .find(|v| v.name == name && v.kind == desired.kind)
        };
        // An object has one record-page fields view, whatever the label it was named after.
        let fields_widget = || {
            existing
                .iter()
                .filter(free)
                .filter(same_object)
                .find(|v| v.kind == FIELDS_WIDGET && desired.kind == FIELDS_WIDGET)
        };
        return view
            .standard_name
            .as_deref()
            .and_then(named)
            .or_else(|| named(&desired.name))
            .or_else(fields_widget);
    }
    None
}

/// The type of a record page's fields view (a custom object gets one from the server:
/// `object-metadata.service.ts`).
const FIELDS_WIDGET: &str = "FIELDS_WIDGET";

fn desired_view(
    view: &View,
    object_id: Uuid,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> TargetView {
    let mut field = |name: &Option<String>, what: &str| -> Option<Uuid> {
        let name = name.as_deref()?;
        let id = names.field(&view.object, name);
        if id.is_none() {
            report.notes.push(format!(
                "view {} ({}): {what} {}.{name} is not on the target; left unset",
                view.name, view.id, view.object
            ));
        }
        id
    };
    TargetView {
        id: names.config_id(view.id),
        name: view.name.clone(),
        object_metadata_id: object_id,
        kind: view.kind.clone(),
        key: view.key.clone(),
        icon: view.icon.clone(),
        position: view.position,
        is_compact: view.is_compact,
        open_record_in: view.open_record_in.clone(),
        kanban_aggregate_operation: view.kanban_aggregate_operation.clone(),
        kanban_aggregate_operation_field_metadata_id: field(
            &view.kanban_aggregate_field,
            "the kanban aggregate field",
        ),
        calendar_layout: view.calendar_layout.clone(),
        calendar_field_metadata_id: field(&view.calendar_field, "the calendar field"),
        main_group_by_field_metadata_id: field(&view.main_group_by_field, "the group-by field"),
        should_hide_empty_groups: view.should_hide_empty_groups,
        any_field_filter_value: view.any_field_filter_value.clone(),
        visibility: Some(view.visibility.clone()),
        view_fields: Vec::new(),
        view_filters: Vec::new(),
        view_filter_groups: Vec::new(),
        view_sorts: Vec::new(),
        view_groups: Vec::new(),
        view_field_groups: Vec::new(),
    }
}

/// The properties `updateView` takes that differ. A name that is still Twenty's template
/// (`All {objectLabelPlural}`) is translated when read, so it is left alone.
fn view_changes(desired: &TargetView, existing: &TargetView) -> Map<String, Value> {
    let want = serde_json::to_value(desired).unwrap_or_default();
    let have = serde_json::to_value(existing).unwrap_or_default();
    let mut changes = Map::new();
    for key in [
        "name",
        "type",
        "icon",
        "position",
        "isCompact",
        "openRecordIn",
        "kanbanAggregateOperation",
        "kanbanAggregateOperationFieldMetadataId",
        "calendarLayout",
        "calendarFieldMetadataId",
        "mainGroupByFieldMetadataId",
        "shouldHideEmptyGroups",
        "anyFieldFilterValue",
    ] {
        if key == "name" && desired.name.contains('{') {
            continue;
        }
        let (w, h) = (&want[key], &have[key]);
        if !same(w, h) {
            changes.insert(key.to_owned(), w.clone());
        }
    }
    changes
}

/// Equal as Twenty reads them back: numbers as numbers, and a JSON text equal to the value it
/// encodes (filter values are often stored as JSON strings).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => decoded(a) == decoded(b),
    }
}

fn decoded(v: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
            serde_json::from_str(s).unwrap_or_else(|_| v.clone())
        }
        other => other.clone(),
    }
}

pub(super) fn diff_children(
    config: &WorkspaceConfig,
    existing: &[TargetView],
    index: &ViewIndex,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for view in config.views.iter().filter(|v| movable(v)) {
        let Some(&target_view_id) = index.ids.get(&view.id) else {
            continue;
        };
        let object_id = names.object(&view.object).unwrap_or_default();
        let placeholder;
        let tv = match existing.iter().find(|v| v.id == target_view_id) {
            Some(tv) => tv,
            // Created in this run (or, for a plan, to be created): no children yet.
            None => {
                placeholder = TargetView::empty(target_view_id, object_id);
                &placeholder
            }
        };
        let mut mine = Vec::new();
        let sections = super::sections::diff(view, tv, names, &mut mine);
        fields(view, tv, sections.as_ref(), names, report, &mut mine);
        let groups_ids = filter_groups(view, tv, names, &mut mine);
        filters(view, tv, &groups_ids, names, report, &mut mine);
        sorts(view, tv, names, report, &mut mine);
        groups(view, tv, names, &mut mine);
        let counts = report.kind("views");
        if index.created.contains(&target_view_id) {
            counts.created += 1;
        } else if !mine.is_empty() || index.changed.contains(&target_view_id) {
            counts.updated += 1;
        } else {
            counts.unchanged += 1;
        }
        actions.extend(mine);
    }
    actions
}

fn fields(
    view: &View,
    tv: &TargetView,
    sections: Option<&HashMap<Uuid, Uuid>>,
    names: &Names<'_>,
    report: &mut ConfigReport,
    out: &mut Vec<Action>,
) {
    let mut create = Vec::new();
    let mut shown: HashSet<Uuid> = HashSet::new();
    for f in &view.fields {
        let Some(field_id) = names.field(&view.object, &f.field) else {
            report.notes.push(format!(
                "view {} ({}): field {}.{} is not on the target; its column is not moved",
                view.name, view.id, view.object, f.field
            ));
            continue;
        };
        shown.insert(field_id);
        let want = TargetViewField {
            id: names.config_id(f.id),
            view_id: Some(tv.id),
            field_metadata_id: field_id,
            is_visible: f.is_visible,
            size: f.size,
            position: f.position,
            aggregate_operation: f.aggregate_operation.clone(),
            view_field_group_id: sections.and_then(|s| s.get(&f.group?).copied()),
        };
        match tv
            .view_fields
            .iter()
            .find(|t| t.field_metadata_id == field_id)
        {
            Some(have) => {
                let mut update = Map::new();
                if have.is_visible != want.is_visible {
                    update.insert("isVisible".into(), json!(want.is_visible));
                }
                if have.size != want.size {
                    update.insert("size".into(), json!(want.size));
                }
                if have.position != want.position {
                    update.insert("position".into(), json!(want.position));
                }
                if have.aggregate_operation != want.aggregate_operation {
                    update.insert("aggregateOperation".into(), json!(want.aggregate_operation));
                }
                if sections.is_some() && have.view_field_group_id != want.view_field_group_id {
                    update.insert("viewFieldGroupId".into(), json!(want.view_field_group_id));
                }
                if !update.is_empty() {
                    out.push(Action::UpdateViewField(have.id, Value::Object(update)));
                }
            }
            None => create.push(want),
        }
    }
    // Columns the target shows and the source view does not: hidden, not deleted.
    for have in &tv.view_fields {
        if have.is_visible && !shown.contains(&have.field_metadata_id) {
            out.push(Action::UpdateViewField(
                have.id,
                json!({ "isVisible": false }),
            ));
        }
    }
    if !create.is_empty() {
        out.push(Action::CreateViewFields(create));
    }
}

/// Filter groups, found by id; returns source group id → target group id, which the groups'
/// parents and the filters name.
fn filter_groups(
    view: &View,
    tv: &TargetView,
    names: &Names<'_>,
    out: &mut Vec<Action>,
) -> HashMap<Uuid, Uuid> {
    let found = |g: Uuid| {
        tv.view_filter_groups
            .iter()
            .find(|t| names.is_id_of(g, t.id))
    };
    let ids: HashMap<Uuid, Uuid> = view
        .filter_groups
        .iter()
        .map(|g| (g.id, found(g.id).map_or(names.config_id(g.id), |t| t.id)))
        .collect();
    let id_of = |g: Uuid| ids.get(&g).copied().unwrap_or(names.config_id(g));
    for g in &view.filter_groups {
        let want = TargetViewFilterGroup {
            id: id_of(g.id),
            view_id: Some(tv.id),
            parent_view_filter_group_id: g.parent.map(id_of),
            logical_operator: g.logical_operator.clone(),
            position_in_view_filter_group: g.position_in_group,
        };
        match found(g.id) {
            Some(have) => {
                let differs = have.logical_operator != want.logical_operator
                    || have.parent_view_filter_group_id != want.parent_view_filter_group_id
                    || have.position_in_view_filter_group != want.position_in_view_filter_group;
                if differs {
                    out.push(Action::UpdateFilterGroup(want));
                }
            }
            None => out.push(Action::CreateFilterGroup(want)),
        }
    }
    ids
}

fn filters(
    view: &View,
    tv: &TargetView,
    filter_groups: &HashMap<Uuid, Uuid>,
    names: &Names<'_>,
    report: &mut ConfigReport,
    out: &mut Vec<Action>,
) {
    let mut matched: HashSet<Uuid> = HashSet::new();
    for f in &view.filters {
        let Some(field_id) = names.field(&view.object, &f.field) else {
            report.notes.push(format!(
                "view {} ({}): filter {} on {}.{}: the field is not on the target; the filter is not moved",
                view.name, view.id, f.id, view.object, f.field
            ));
            continue;
        };
        let value = filter_value(view, &f.field, f.id, &f.value, names, report);
        let want = TargetViewFilter {
            id: names.config_id(f.id),
            view_id: Some(tv.id),
            field_metadata_id: field_id,
            operand: f.operand.clone(),
            value,
            view_filter_group_id: f
                .group
                .map(|g| filter_groups.get(&g).copied().unwrap_or(names.config_id(g))),
            position_in_view_filter_group: f.position_in_group,
            sub_field_name: f.sub_field_name.clone(),
            relation_target_field_metadata_id: f
                .relation_target_field
                .as_ref()
                .and_then(|r| names.field_ref(r)),
        };
        let found = tv
            .view_filters
            .iter()
            .filter(|t| !matched.contains(&t.id))
            .find(|t| names.is_id_of(f.id, t.id))
            .or_else(|| {
                tv.view_filters
                    .iter()
                    .filter(|t| !matched.contains(&t.id))
                    .find(|t| {
                        t.field_metadata_id == field_id
                            && t.operand == want.operand
                            && t.sub_field_name == want.sub_field_name
                    })
            });
        match found {
            Some(have) => {
                matched.insert(have.id);
                let mut update = Map::new();
                if !same(&have.value, &want.value) {
                    update.insert("value".into(), want.value.clone());
                }
                if have.view_filter_group_id != want.view_filter_group_id {
                    update.insert("viewFilterGroupId".into(), json!(want.view_filter_group_id));
                }
                if have.position_in_view_filter_group != want.position_in_view_filter_group {
                    update.insert(
                        "positionInViewFilterGroup".into(),
                        json!(want.position_in_view_filter_group),
                    );
                }
                if !update.is_empty() {
                    out.push(Action::UpdateFilter(have.id, Value::Object(update)));
                }
            }
            None => out.push(Action::CreateFilter(want)),
        }
    }
    for have in &tv.view_filters {
        if !matched.contains(&have.id) {
            out.push(Action::DeleteFilter(have.id));
        }
    }
}

/// A filter's value with its references rewritten: member ids through the member map (by
/// email), record ids as records are (`target_id`). Twenty keeps relation filters as
/// `{isCurrentWorkspaceMemberSelected, selectedRecordIds}`, often as a JSON text inside the
/// jsonb (`view-filter-value.type.ts`); the form is kept.
fn filter_value(
    view: &View,
    field: &str,
    filter_id: Uuid,
    value: &Value,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Value {
    let as_text = matches!(value, Value::String(_));
    let mut decoded = decoded(value);
    let Some(ids) = decoded
        .get_mut("selectedRecordIds")
        .and_then(Value::as_array_mut)
    else {
        return value.clone();
    };
    let target_object = names.relation_target(&view.object, field);
    let to_members = target_object == Some("workspaceMember");
    let mut kept = Vec::new();
    for original in ids.iter() {
        // Not an id (a hand-edited value): kept as it is, for the target to judge.
        let Some(id) = original.as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
            kept.push(original.clone());
            continue;
        };
        if to_members {
            match names.members.members.get(&id) {
                Some(crate::transform::MemberTarget::Member(t)) => kept.push(json!(t)),
                _ => report.notes.push(format!(
                    "view {} ({}): filter {filter_id} names member {id}, who has no account on the target; left out of the filter",
                    view.name, view.id
                )),
            }
        } else {
            kept.push(json!(target_id(id)));
        }
    }
    *ids = kept;
    if as_text {
        Value::String(decoded.to_string())
    } else {
        decoded
    }
}

fn sorts(
    view: &View,
    tv: &TargetView,
    names: &Names<'_>,
    report: &mut ConfigReport,
    out: &mut Vec<Action>,
) {
    let mut kept: HashSet<Uuid> = HashSet::new();
    for s in &view.sorts {
        let Some(field_id) = names.field(&view.object, &s.field) else {
            report.notes.push(format!(
                "view {} ({}): sort on {}.{}: the field is not on the target; not moved",
                view.name, view.id, view.object, s.field
            ));
            continue;
        };
        match tv
            .view_sorts
            .iter()
            .find(|t| t.field_metadata_id == field_id)
        {
            Some(have) => {
                kept.insert(have.id);
                if have.direction != s.direction {
                    out.push(Action::UpdateSort(have.id, s.direction.clone()));
                }
            }
            None => out.push(Action::CreateSort(TargetViewSort {
                id: names.config_id(s.id),
                view_id: Some(tv.id),
                field_metadata_id: field_id,
                direction: s.direction.clone(),
            })),
        }
    }
    for have in &tv.view_sorts {
        if !kept.contains(&have.id) {
            out.push(Action::DeleteSort(have.id));
        }
    }
}

/// Kanban columns, matched by value: the target made its own when the view got its group-by
/// field (`compute-flat-view-groups-on-view-create.util.ts`), so those are updated.
fn groups(view: &View, tv: &TargetView, names: &Names<'_>, out: &mut Vec<Action>) {
    let by_record = view
        .main_group_by_field
        .as_deref()
        .and_then(|f| names.relation_target(&view.object, f))
        .is_some();
    let mut create = Vec::new();
    let mut kept: HashSet<Uuid> = HashSet::new();
    for g in &view.groups {
        let value = match Uuid::parse_str(&g.field_value) {
            Ok(id) if by_record => target_id(id).to_string(),
            _ => g.field_value.clone(),
        };
        match tv.view_groups.iter().find(|t| t.field_value == value) {
            Some(have) => {
                kept.insert(have.id);
                let mut update = Map::new();
                if have.is_visible != g.is_visible {
                    update.insert("isVisible".into(), json!(g.is_visible));
                }
                if have.position != g.position {
                    update.insert("position".into(), json!(g.position));
                }
                if !update.is_empty() {
                    out.push(Action::UpdateGroup(have.id, Value::Object(update)));
                }
            }
            None => create.push(TargetViewGroup {
                id: names.config_id(g.id),
                view_id: Some(tv.id),
                field_value: value,
                is_visible: g.is_visible,
                position: g.position,
            }),
        }
    }
    if !view.groups.is_empty() {
        for have in &tv.view_groups {
            if have.is_visible && !kept.contains(&have.id) {
                out.push(Action::UpdateGroup(have.id, json!({ "isVisible": false })));
            }
        }
    }
    if !create.is_empty() {
        out.push(Action::CreateGroups(create));
    }
}
