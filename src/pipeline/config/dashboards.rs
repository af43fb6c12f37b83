//! Dashboards: each source `dashboard` record with its DASHBOARD page layout (issue 16 facts
//! §8.2). In order, per dashboard: the layout (`createPageLayout`, which gives the target's
//! id), its tabs and widgets with our ids (`updatePageLayoutWithTabsAndWidgets`), then the
//! record with its source id and `pageLayoutId` = the target layout. A real 2.21 creates a tab
//! without its icon, so a layout with new tabs that carry one is sent twice (the second time
//! the tabs exist and take their icons). The record always carries
//! `pageLayoutId`: one created without it makes the target create a layout of its own
//! (`modules/dashboard/query-hooks/dashboard-create-one.pre-query.hook.ts`).
//!
//! Idempotent: the record on the target names its layout; a layout left by a run cut short
//! before the record was written is found by the tab ids it holds. A layout is replaced only
//! when its name, tabs or widgets differ (widgets compared by id, title, type, object, grid
//! position and configuration, the last as far as the target answers it: the fields its
//! `WidgetConfiguration` member declares, [`page_layout::answered_configuration`]).

use std::collections::HashMap;
use std::future::Future;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::layout_compare::same_layout;
use super::{ConfigReport, Names, ViewIds};
use crate::destination::page_layout::{self, TargetPageLayout};
use crate::destination::{BatchBody, Destination, Disposition, TargetError};
use crate::model::config::{Dashboard, PageLayout, PageLayoutTab, PageLayoutWidget};

/// The kind the counts are under.
const KIND: &str = "dashboards";

/// What the target holds of the dashboards: their records (by id) and its DASHBOARD layouts.
pub(crate) struct TargetDashboards {
    /// The dashboard object's plural name on the target.
    plural: String,
    /// The records of the source's dashboards that the target has, by id.
    records: HashMap<Uuid, Value>,
    /// Every DASHBOARD layout of the target.
    layouts: Vec<TargetPageLayout>,
    /// The widgets were read with their grid position and configuration.
    widgets_in_full: bool,
}

/// Reads what the target holds of `dashboards` (two requests; a third, noted, where the target
/// cannot answer the widgets' details); `None` when there are none, or (noted) when the target
/// has no dashboard object.
pub(crate) async fn read_target<D: Destination>(
    dashboards: &[Dashboard],
    target: &D,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Result<Option<TargetDashboards>, TargetError> {
    if dashboards.is_empty() {
        return Ok(None);
    }
    let Some(plural) = names
        .model
        .object("dashboard")
        .map(|o| o.name_plural.clone())
    else {
        report.notes.push(format!(
            "dashboards: the target has no dashboard object; {} dashboards not moved",
            dashboards.len()
        ));
        return Ok(None);
    };
    let ids: Vec<Uuid> = dashboards.iter().map(|d| d.id).collect();
    let records = deliver(target, || target.find_by_ids(&plural, &ids)).await?;
    let records = records.map_err(|e| TargetError::Protocol(format!("reading dashboards: {e}")))?;
    let records = records
        .into_iter()
        .filter_map(|r| Some((r.get("id")?.as_str()?.parse().ok()?, r)))
        .collect();
    let full = match deliver(target, || page_layout::dashboard_layouts(target, true)).await {
        Ok(Ok(layouts)) => Ok(layouts),
        Ok(Err(e)) => Err(e),
        Err(e) if e.is_graphql_validation() => Err(e),
        Err(e) => return Err(e),
    };
    let widgets_in_full = full.is_ok();
    let layouts = match full {
        Ok(layouts) => layouts,
        Err(e) => {
            // Still move the dashboards, compared as before the widgets' details were read.
            report.notes.push(format!(
                "dashboards: the target did not answer its widgets' grid positions and configurations ({e}); a widget changed only in those is not updated on this run"
            ));
            let lean = deliver(target, || page_layout::dashboard_layouts(target, false)).await?;
            lean.map_err(|e| TargetError::Protocol(format!("getPageLayouts: {e}")))?
        }
    };
    Ok(Some(TargetDashboards {
        plural,
        records,
        layouts,
        widgets_in_full,
    }))
}

/// What one dashboard needs, found by comparing it with the target.
struct Decision<'a> {
    /// The target layout that is this dashboard's, if any (else one is created).
    existing: Option<&'a TargetPageLayout>,
    /// The record on the target, if any.
    record: Option<&'a Value>,
    /// `UpdatePageLayoutWithTabsInput`.
    input: Value,
    /// The layout's tabs and widgets must be sent.
    replace: bool,
    /// …twice: new tabs carry an icon ([`icons_left_on_new_tabs`]).
    icons_twice: bool,
    /// "title (id)", for notes.
    label: String,
}

/// Compares one dashboard with the target. `taken` holds the layouts already given to a
/// dashboard (the records' own first, then each dashboard's in turn), so a leftover is never
/// given to two.
fn decide<'a>(
    dashboard: &Dashboard,
    have: &'a TargetDashboards,
    taken: &[Uuid],
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) -> Decision<'a> {
    let name = dashboard.title.as_deref().unwrap_or("Untitled");
    let empty;
    let layout = match &dashboard.layout {
        Some(layout) => layout,
        None => {
            empty = empty_layout(dashboard.id, name);
            &empty
        }
    };
    let desired = desired_tabs(dashboard, layout, names, views, report);
    let record = have.records.get(&dashboard.id);
    let existing = find_layout(&have.layouts, record, layout, taken, names);
    let replace =
        existing.is_none_or(|l| !same_layout(l, &layout.name, &desired, have.widgets_in_full));
    let icons_twice = replace && icons_left_on_new_tabs(existing, &desired);
    Decision {
        existing,
        record,
        input: json!({
            "name": layout.name,
            "type": "DASHBOARD",
            "objectMetadataId": null,
            "tabs": desired,
        }),
        replace,
        icons_twice,
        label: format!("{name} ({})", dashboard.id),
    }
}

/// The dashboard record as wanted, naming `layout` on the target.
fn record_row(dashboard: &Dashboard, layout: Uuid) -> Value {
    json!({
        "id": dashboard.id,
        "title": dashboard.title,
        "position": dashboard.position,
        "pageLayoutId": layout,
    })
}

/// What [`sync`] would do, without sending anything (for `plan`): per dashboard created (its
/// record is new), updated (layout or record differ) or unchanged, and the requests: a
/// `createPageLayout` where the target has no layout for it, one
/// `updatePageLayoutWithTabsAndWidgets` (two where new tabs carry an icon) where the layout
/// differs, and one batch for all the records to write.
pub(crate) fn plan(
    dashboards: &[Dashboard],
    have: &TargetDashboards,
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) {
    let mut taken = records_layouts(have);
    let mut records_to_write = false;
    for dashboard in dashboards {
        let d = decide(dashboard, have, &taken, names, views, report);
        let write_record = match d.existing {
            Some(l) => {
                taken.push(l.id);
                d.record
                    .is_none_or(|r| !same_record(r, &record_row(dashboard, l.id)))
            }
            None => {
                report.requests += 1;
                true
            }
        };
        if d.replace {
            report.requests += 1 + u64::from(d.icons_twice);
        }
        records_to_write |= write_record;
        let counts = report.kinds.entry(KIND.into()).or_default();
        match (write_record, d.record.is_some(), d.replace) {
            (true, false, _) => counts.created += 1,
            (true, true, _) | (false, _, true) => counts.updated += 1,
            (false, _, false) => counts.unchanged += 1,
        }
    }
    report.requests += u64::from(records_to_write);
}

/// The layouts the target's dashboard records name.
fn records_layouts(have: &TargetDashboards) -> Vec<Uuid> {
    have.records
        .values()
        .filter_map(|r| r.get("pageLayoutId")?.as_str()?.parse().ok())
        .collect()
}

/// Moves the dashboards; a refusal is noted and the next dashboard goes on.
pub(super) async fn sync<D: Destination>(
    dashboards: &[Dashboard],
    target: &D,
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) -> Result<(), TargetError> {
    let Some(have) = read_target(dashboards, target, names, report).await? else {
        return Ok(());
    };
    // The records go last, in one batch: a record names its layout, which must exist first.
    let mut rows = Vec::new();
    // The records' own layouts are taken first, so a leftover is never given to another.
    let mut taken = records_layouts(&have);
    for dashboard in dashboards {
        let d = decide(dashboard, &have, &taken, names, views, report);
        let layout_id = match d.existing {
            Some(l) => l.id,
            None => {
                let name = &d.input["name"].as_str().unwrap_or_default().to_owned();
                match deliver(target, || {
                    page_layout::create_dashboard_layout(target, name)
                })
                .await?
                {
                    Ok(id) => id,
                    Err(err) => {
                        report.notes.push(format!(
                            "the target refused to create the page layout of dashboard {}: {err}",
                            d.label
                        ));
                        continue;
                    }
                }
            }
        };
        taken.push(layout_id);
        if d.replace {
            if let Err(err) = deliver(target, || {
                page_layout::replace_tabs(target, layout_id, d.input.clone())
            })
            .await?
            {
                report.notes.push(format!(
                    "the target refused the tabs and widgets of dashboard {}: {err}",
                    d.label
                ));
                continue;
            }
            if d.icons_twice {
                // The tabs exist now, so the same input sets their icons.
                if let Err(err) = deliver(target, || {
                    page_layout::replace_tabs(target, layout_id, d.input.clone())
                })
                .await?
                {
                    report.notes.push(format!(
                        "the target refused the tab icons of dashboard {}: {err}",
                        d.label
                    ));
                }
            }
        }
        let row = record_row(dashboard, layout_id);
        if d.record.is_none_or(|r| !same_record(r, &row)) {
            rows.push((row, d.record.is_some(), d.label));
        } else {
            let counts = report.kinds.entry(KIND.into()).or_default();
            match d.replace {
                true => counts.updated += 1,
                false => counts.unchanged += 1,
            }
        }
    }
    write_records(target, &have.plural, rows, report).await
}

/// Writes the dashboard records that are missing or differ: one batch, then one by one if the
/// target refuses it, so one bad record does not keep the others out.
async fn write_records<D: Destination>(
    target: &D,
    plural: &str,
    rows: Vec<(Value, bool, String)>,
    report: &mut ConfigReport,
) -> Result<(), TargetError> {
    if rows.is_empty() {
        return Ok(());
    }
    let count = |report: &mut ConfigReport, existed: bool| {
        let counts = report.kinds.entry(KIND.into()).or_default();
        match existed {
            true => counts.updated += 1,
            false => counts.created += 1,
        }
    };
    let all: Vec<Value> = rows.iter().map(|(row, _, _)| row.clone()).collect();
    let body = BatchBody::from_values(&all);
    if deliver(target, || target.upsert_batch(plural, body.clone()))
        .await?
        .is_ok()
    {
        for (_, existed, _) in &rows {
            count(report, *existed);
        }
        return Ok(());
    }
    for (row, existed, name) in rows {
        let body = BatchBody::from_values(std::slice::from_ref(&row));
        match deliver(target, || target.upsert_batch(plural, body.clone())).await? {
            Ok(_) => count(report, existed),
            Err(err) => report.notes.push(format!(
                "the target refused the dashboard record {name}: {err}"
            )),
        }
    }
    Ok(())
}

/// Whether a tab the target does not hold yet carries an icon. A real 2.21 creates a tab with
/// `icon: null` whatever it is sent and sets the icon only on a tab that exists (`tabsToCreate`
/// vs `tabsToUpdate` in `computeTabOperations`,
/// `MM/page-layout/services/page-layout-update.service.ts`), so such a layout needs the same
/// input twice, or a rerun finds the icon missing and sends it then.
pub(super) fn icons_left_on_new_tabs(
    existing: Option<&TargetPageLayout>,
    desired: &[Value],
) -> bool {
    desired.iter().any(|t| {
        let new = existing.is_none_or(|l| {
            !l.tabs
                .iter()
                .any(|have| Some(have.id.to_string().as_str()) == t["id"].as_str())
        });
        new && t["icon"].is_string()
    })
}

/// The layout a dashboard whose `pageLayoutId` names no source layout gets: one empty tab, as
/// Twenty gives a dashboard created without one ("Tab 1",
/// `modules/dashboard/services/dashboard-to-page-layout-sync.service.ts:21-44`); the tab's id
/// derives from the dashboard's so a rerun finds it.
fn empty_layout(dashboard: Uuid, name: &str) -> PageLayout {
    PageLayout {
        id: Uuid::new_v5(&dashboard, b"pageLayout"),
        name: name.to_owned(),
        kind: "DASHBOARD".into(),
        object: None,
        is_standard: false,
        universal_identifier: None,
        side_effect: false,
        tabs: vec![PageLayoutTab {
            id: Uuid::new_v5(&dashboard, b"pageLayoutTab"),
            title: "Tab 1".into(),
            position: 0.0,
            icon: None,
            layout_mode: Some("GRID".into()),
            widgets: Vec::new(),
            part: Default::default(),
        }],
    }
}

/// The target layout of a dashboard: the one its record names, else one holding a tab of the
/// source layout (left by a run cut short after the tabs were written), else a tabless one of
/// the same name that no dashboard of this run has taken (cut short right after
/// `createPageLayout`; a layout Twenty makes always has a tab). `taken` holds the layouts
/// already given to a dashboard.
fn find_layout<'a>(
    layouts: &'a [TargetPageLayout],
    record: Option<&Value>,
    layout: &PageLayout,
    taken: &[Uuid],
    names: &Names<'_>,
) -> Option<&'a TargetPageLayout> {
    let named = record
        .and_then(|r| r.get("pageLayoutId")?.as_str()?.parse::<Uuid>().ok())
        .and_then(|id| layouts.iter().find(|l| l.id == id));
    let free = |l: &&TargetPageLayout| !taken.contains(&l.id);
    named
        .or_else(|| {
            layouts.iter().filter(free).find(|l| {
                l.tabs
                    .iter()
                    .any(|t| layout.tabs.iter().any(|s| names.is_id_of(s.id, t.id)))
            })
        })
        .or_else(|| {
            layouts
                .iter()
                .filter(free)
                .find(|l| l.tabs.is_empty() && l.name == layout.name)
        })
}

/// The `tabs` of `UpdatePageLayoutWithTabsInput`: the source's, ids kept, references mapped; a
/// widget whose object or a referenced field or view the target lacks is left out, noted.
pub(super) fn desired_tabs(
    dashboard: &Dashboard,
    layout: &PageLayout,
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) -> Vec<Value> {
    let name = dashboard.title.as_deref().unwrap_or("Untitled");
    layout
        .tabs
        .iter()
        .filter(|tab| tab.part.is_active)
        .map(|tab| {
            let widgets: Vec<Value> = tab
                .widgets
                .iter()
                .filter(|w| w.part.is_active)
                .filter_map(|w| match widget_input(w, names.config_id(w.id), names.config_id(tab.id), names, views) {
                    Ok(v) => Some(v),
                    Err(missing) => {
                        report.notes.push(format!(
                            "dashboard {name} ({}): widget {} ({}) not moved: the target has no {missing}",
                            dashboard.id, w.title, w.id
                        ));
                        None
                    }
                })
                .collect();
            json!({
                "id": names.config_id(tab.id),
                "title": tab.title,
                "position": tab.position,
                "icon": tab.icon,
                "layoutMode": tab.layout_mode.as_deref().unwrap_or("GRID"),
                "widgets": widgets,
            })
        })
        .collect()
}

/// One widget as `UpdatePageLayoutWidgetWithIdInput` under the id `id` on the tab `tab`, or
/// what the target lacks.
pub(super) fn widget_input(
    w: &PageLayoutWidget,
    id: Uuid,
    tab: Uuid,
    names: &Names<'_>,
    views: &ViewIds,
) -> Result<Value, String> {
    // The tool installs no application: left out, with its runbook step.
    if w.shows_front_component() {
        let component = w
            .configuration
            .get("frontComponentId")
            .and_then(Value::as_str);
        return Err(format!(
            "front component {} (an application's, which the tool does not install)",
            component.unwrap_or("?")
        ));
    }
    let object = match &w.object {
        Some(o) => Some(names.object(o).ok_or_else(|| format!("object {o}"))?),
        None => None,
    };
    let configuration = map_configuration(&w.configuration, None, names, views)?;
    Ok(json!({
        "id": id,
        "pageLayoutTabId": tab,
        "title": w.title,
        "type": w.kind,
        "objectMetadataId": object,
        "gridPosition": w.grid_position,
        "position": w.position,
        "configuration": configuration,
    }))
}

/// The configuration with the source reader's `{"object", "field"}` (under keys ending in
/// `FieldMetadataId`, in any case) turned into the target's field ids and `viewId`s into the target's view
/// ids; `Err` names the first reference the target lacks.
fn map_configuration(
    value: &Value,
    key: Option<&str>,
    names: &Names<'_>,
    views: &ViewIds,
) -> Result<Value, String> {
    match value {
        // The same keys the source reader replaced (`source::config_views`).
        Value::Object(map)
            if key.is_some_and(|k| k.to_ascii_lowercase().ends_with("fieldmetadataid")) =>
        {
            let (Some(object), Some(field), 2) = (
                map.get("object").and_then(Value::as_str),
                map.get("field").and_then(Value::as_str),
                map.len(),
            ) else {
                return Ok(value.clone());
            };
            names
                .field(object, field)
                .map(|id| json!(id))
                .ok_or_else(|| format!("field {object}.{field}"))
        }
        Value::String(s) if key == Some("viewId") => {
            let id: Uuid = s.parse().map_err(|_| format!("view {s}"))?;
            views
                .get(&id)
                .map(|id| json!(id))
                .ok_or_else(|| format!("view {s}"))
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), map_configuration(v, Some(k), names, views)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|v| map_configuration(v, key, names, views))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// The record on the target has the title, position and layout wanted.
fn same_record(have: &Value, want: &Value) -> bool {
    let layout = |v: &Value| v["pageLayoutId"].as_str().map(str::to_lowercase);
    have["title"] == want["title"]
        && have["position"].as_f64() == want["position"].as_f64()
        && layout(have) == layout(want)
}

/// Sends one call: a target that is down is waited out (the client's outage policy); a
/// refusal comes back as the inner `Err` for the caller to note; anything that stops a run
/// is the outer `Err`.
pub(super) async fn deliver<D, T, F, Fut>(
    target: &D,
    mut call: F,
) -> Result<Result<T, TargetError>, TargetError>
where
    D: Destination,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TargetError>>,
{
    let mut outage = target.outage();
    loop {
        match call().await {
            Ok(v) => return Ok(Ok(v)),
            Err(err) => match err.disposition() {
                Disposition::RetryLater => {
                    let wait = outage.next_wait(err)?;
                    tokio::time::sleep(wait).await;
                }
                Disposition::RejectRecords | Disposition::Shrink => return Ok(Err(err)),
                Disposition::Stop => return Err(err),
            },
        }
    }
}
