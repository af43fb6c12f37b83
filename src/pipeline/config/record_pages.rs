//! Record page layouts (`RECORD_PAGE`) the workspace made or changed: the tabs and widgets of
//! a record's page. Every object has one on a fresh target already (a standard object's from
//! Twenty's standard application, with the same `universalIdentifier` in every workspace; a
//! custom object's made by the server when the data model sync created the object), so a
//! source layout is matched to the target's and replayed with
//! `updatePageLayoutWithTabsAndWidgets`, which keeps our ids for new tabs and widgets,
//! updates the ones named by the target's ids, and deactivates the server's own that the
//! input leaves out (`MM/page-layout/services/page-layout-update.service.ts`,
//! `splitEntitiesByRemovalStrategy`; golden `config-record-page-layout-standard-edited`).
//! A layout the workspace made itself is created first (`createPageLayout`).
//!
//! The server's tabs and widgets are matched by the ledger, then by their title before the
//! source's overrides (what the target's copy is called). A target tab or widget the source's
//! layout never had (a newer Twenty's) is kept as the target has it.

use std::collections::HashSet;

use serde_json::{json, Value};
use uuid::Uuid;

use super::dashboards::{deliver, icons_left_on_new_tabs, widget_input};
use super::layout_compare::same_layout;
use super::{ConfigReport, Names, ViewIds};
use crate::destination::page_layout::{
    self, TargetPageLayout, TargetPageLayoutTab, TargetPageLayoutWidget,
};
use crate::destination::{Destination, TargetError};
use crate::model::config::{PageLayout, PageLayoutTab, PageLayoutWidget};

/// The kind the counts are under.
const KIND: &str = "record_pages";
/// The ledger kinds of a layout, tab and widget matched to the target's.
const LAYOUT: &str = "page_layout";
const TAB: &str = "page_layout_tab";
const WIDGET: &str = "page_layout_widget";

/// Reads the target's record page layouts (one request); `None`, noted, when there is nothing
/// to move or the target cannot answer.
pub(crate) async fn read_target<D: Destination>(
    pages: &[PageLayout],
    target: &D,
    report: &mut ConfigReport,
) -> Result<Option<Vec<TargetPageLayout>>, TargetError> {
    if pages.is_empty() {
        return Ok(None);
    }
    match deliver(target, || page_layout::record_page_layouts(target)).await {
        Ok(Ok(layouts)) => Ok(Some(layouts)),
        Ok(Err(e)) => {
            report.notes.push(format!(
                "record pages: the target refused to list its record page layouts ({e}); {} layouts not moved",
                pages.len()
            ));
            Ok(None)
        }
        Err(e) if e.is_graphql_validation() => {
            report.notes.push(format!(
                "record pages: the target does not answer Twenty 2.x's page layout query ({e}); {} layouts not moved",
                pages.len()
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What one layout needs.
struct Decision<'a> {
    /// The target's layout, if it has one (else one is created).
    existing: Option<&'a TargetPageLayout>,
    /// The target's object id.
    object: Uuid,
    /// `UpdatePageLayoutWithTabsInput`.
    input: Value,
    /// The tabs and widgets must be sent.
    replace: bool,
    /// …twice: new tabs carry an icon.
    icons_twice: bool,
    /// "name of object (id)", for notes.
    label: String,
}

impl Decision<'_> {
    /// Counts the layout as created (the target had none), updated or unchanged.
    fn count(&self, report: &mut ConfigReport) {
        let counts = report.kinds.entry(KIND.into()).or_default();
        match (self.existing, self.replace) {
            (None, _) => counts.created += 1,
            (Some(_), true) => counts.updated += 1,
            (Some(_), false) => counts.unchanged += 1,
        }
    }
}

/// Compares one source layout with the target's; `None` (noted) when the target lacks its
/// object.
fn decide<'a>(
    page: &PageLayout,
    layouts: &'a [TargetPageLayout],
    taken: &[Uuid],
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) -> Option<Decision<'a>> {
    let object_name = page.object.as_deref().unwrap_or("?");
    let label = format!("{} of {object_name} ({})", page.name, page.id);
    let Some(object) = page.object.as_deref().and_then(|o| names.object(o)) else {
        report.notes.push(format!(
            "record page {label} not moved: the target has no object {object_name}"
        ));
        return None;
    };
    let existing = find_layout(page, layouts, object, taken, names);
    if let Some(l) = existing {
        names.stands_as(LAYOUT, page.id, l.id);
    }
    let tabs = desired_tabs(page, existing, names, views, report, &label);
    let input = set_tab_ids(json!({
        "name": page.name,
        "type": "RECORD_PAGE",
        "objectMetadataId": object,
        "tabs": tabs,
    }));
    let tabs = input["tabs"].as_array().cloned().unwrap_or_default();
    let replace = existing.is_none_or(|l| !same_layout(l, &page.name, &tabs, true));
    let icons_twice = replace && icons_left_on_new_tabs(existing, &tabs);
    Some(Decision {
        existing,
        object,
        input,
        replace,
        icons_twice,
        label,
    })
}

/// The target's layout for `page`: the one an earlier run matched or made, else the standard
/// one with its universal identifier, else the object's one of the same name (the server's, or
/// one a run cut short right after `createPageLayout` left), else (for one the server made)
/// the object's own, else one holding our tabs (a run cut short later).
fn find_layout<'a>(
    page: &PageLayout,
    layouts: &'a [TargetPageLayout],
    object: Uuid,
    taken: &[Uuid],
    names: &Names<'_>,
) -> Option<&'a TargetPageLayout> {
    let free = || layouts.iter().filter(|l| !taken.contains(&l.id));
    let mine = |l: &&TargetPageLayout| l.object_metadata_id == Some(object);
    let known = names.matched(LAYOUT, page.id);
    free()
        .find(|l| Some(l.id) == known)
        .or_else(|| {
            let standard = page.universal_identifier.filter(|_| page.is_standard)?;
            free().find(|l| l.universal_identifier == Some(standard))
        })
        // The object's layout of the same name: the server's own (a version before
        // `isSystemSideEffect` does not say so), or one a run cut short left.
        .or_else(|| free().filter(mine).find(|l| l.name == page.name))
        .or_else(|| {
            (page.is_standard || page.side_effect)
                .then(|| free().find(mine))
                .flatten()
        })
        .or_else(|| {
            free().filter(mine).find(|l| {
                l.tabs
                    .iter()
                    .any(|t| page.tabs.iter().any(|s| names.is_id_of(s.id, t.id)))
            })
        })
}

/// Whether the target's `have` (a tab or widget title) is the server's copy of a source part
/// titled `title`, `base` before the source's overrides.
fn same_title(have: &str, title: &str, base: Option<&str>) -> bool {
    have == title || base == Some(have)
}

/// The target's tab standing for `tab`: by the ledger or our id, else (for one the server
/// made) by title.
fn match_tab<'a>(
    tab: &PageLayoutTab,
    existing: Option<&'a TargetPageLayout>,
    taken: &HashSet<Uuid>,
    names: &Names<'_>,
) -> Option<&'a TargetPageLayoutTab> {
    let tabs = || existing.into_iter().flat_map(|l| &l.tabs);
    let known = names.matched(TAB, tab.id);
    let free = |t: &&TargetPageLayoutTab| !taken.contains(&t.id);
    tabs()
        .filter(free)
        .find(|t| Some(t.id) == known || names.is_id_of(tab.id, t.id))
        .or_else(|| {
            let base = tab.part.base_title.as_deref();
            tab.part.standard.then(|| {
                tabs()
                    .filter(free)
                    .find(|t| same_title(&t.title, &tab.title, base))
            })?
        })
}

/// The target's widget standing for `w`: by the ledger or our id anywhere in the layout, else
/// (one the server made) by type and title in the tab matched to its tab.
fn match_widget<'a>(
    w: &PageLayoutWidget,
    existing: Option<&'a TargetPageLayout>,
    tab: Option<&'a TargetPageLayoutTab>,
    taken: &HashSet<Uuid>,
    names: &Names<'_>,
) -> Option<&'a TargetPageLayoutWidget> {
    let known = names.matched(WIDGET, w.id);
    let free = |x: &&TargetPageLayoutWidget| !taken.contains(&x.id);
    existing
        .into_iter()
        .flat_map(|l| &l.tabs)
        .flat_map(|t| &t.widgets)
        .filter(free)
        .find(|x| Some(x.id) == known || names.is_id_of(w.id, x.id))
        .or_else(|| {
            let base = w.part.base_title.as_deref();
            w.part.standard.then(|| {
                tab.into_iter()
                    .flat_map(|t| &t.widgets)
                    .filter(free)
                    .find(|x| x.kind == w.kind && same_title(&x.title, &w.title, base))
            })?
        })
}

/// The `tabs` of `UpdatePageLayoutWithTabsInput`: the source's shown tabs and widgets, under
/// the target's ids where it has them and ours elsewhere; the target's tabs and widgets the
/// source's layout never had, as the target has them.
fn desired_tabs(
    page: &PageLayout,
    existing: Option<&TargetPageLayout>,
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
    label: &str,
) -> Vec<Value> {
    let mut taken_tabs = HashSet::new();
    let mut taken_widgets = HashSet::new();
    let mut out = Vec::new();
    // Every source tab and widget, shown or not, is matched, so the target's copy of one the
    // source removed is left out (and so deactivated) rather than kept as "never had".
    let mut matched: Vec<(&PageLayoutTab, Option<&TargetPageLayoutTab>)> = Vec::new();
    for tab in &page.tabs {
        let have = match_tab(tab, existing, &taken_tabs, names);
        if let Some(h) = have {
            taken_tabs.insert(h.id);
            names.stands_as(TAB, tab.id, h.id);
        }
        matched.push((tab, have));
    }
    for (tab, have) in matched {
        let tab_id = have.map_or_else(|| names.config_id(tab.id), |h| h.id);
        let mut widgets = Vec::new();
        for w in &tab.widgets {
            let hw = match_widget(w, existing, have, &taken_widgets, names);
            if let Some(x) = hw {
                taken_widgets.insert(x.id);
                names.stands_as(WIDGET, w.id, x.id);
            }
            if !(tab.part.is_active && w.part.is_active) {
                continue;
            }
            let id = hw.map_or_else(|| names.config_id(w.id), |x| x.id);
            match widget_input(w, id, tab_id, names, views) {
                Ok(v) => widgets.push(v),
                Err(missing) => report.notes.push(format!(
                    "record page {label}: widget {} ({}) not moved: the target has no {missing}",
                    w.title, w.id
                )),
            }
        }
        if !tab.part.is_active {
            continue;
        }
        if let Some(h) = have {
            let never_had = h.widgets.iter().filter(|x| x.is_active).filter(|x| {
                !taken_widgets.contains(&x.id)
                    && !tab.widgets.iter().any(|w| {
                        w.kind == x.kind
                            && same_title(&x.title, &w.title, w.part.base_title.as_deref())
                    })
            });
            widgets.extend(never_had.map(as_read));
        }
        out.push(json!({
            "id": tab_id,
            "title": tab.title,
            "position": tab.position,
            "icon": tab.icon,
            "layoutMode": tab.layout_mode.as_deref().unwrap_or("GRID"),
            "widgets": widgets,
        }));
    }
    // The target's own tabs the source's layout never had.
    for t in existing.into_iter().flat_map(|l| &l.tabs) {
        let never_had = t.is_active
            && !taken_tabs.contains(&t.id)
            && !page
                .tabs
                .iter()
                .any(|s| same_title(&t.title, &s.title, s.part.base_title.as_deref()));
        if never_had {
            out.push(json!({
                "id": t.id,
                "title": t.title,
                "position": t.position,
                "icon": t.icon,
                "layoutMode": t.layout_mode.as_deref().unwrap_or("GRID"),
                "widgets": t.widgets.iter().filter(|x| x.is_active).map(as_read).collect::<Vec<_>>(),
            }));
        }
    }
    out
}

/// A widget of the target's, sent back as it reads (unset fields left out).
fn as_read(x: &TargetPageLayoutWidget) -> Value {
    let set = |v: &Value| match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    json!({
        "id": x.id,
        "pageLayoutTabId": Value::Null,
        "title": x.title,
        "type": x.kind,
        "objectMetadataId": x.object_metadata_id,
        "gridPosition": x.grid_position,
        "position": set(&x.position),
        "configuration": set(&x.configuration),
    })
}

/// What [`sync`] would do (for `plan`): per layout created (the target has none), updated or
/// unchanged, and the requests.
pub(crate) fn plan(
    pages: &[PageLayout],
    layouts: &[TargetPageLayout],
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) {
    let mut taken = Vec::new();
    for page in pages {
        let Some(d) = decide(page, layouts, &taken, names, views, report) else {
            continue;
        };
        d.count(report);
        if let Some(l) = d.existing {
            taken.push(l.id);
        }
        report.requests +=
            u64::from(d.existing.is_none()) + u64::from(d.replace) * (1 + u64::from(d.icons_twice));
    }
}

/// Moves the record page layouts; a refusal is noted and the next layout goes on.
pub(super) async fn sync<D: Destination>(
    pages: &[PageLayout],
    target: &D,
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) -> Result<(), TargetError> {
    let Some(layouts) = read_target(pages, target, report).await? else {
        return Ok(());
    };
    let mut taken = Vec::new();
    for page in pages {
        let Some(d) = decide(page, &layouts, &taken, names, views, report) else {
            continue;
        };
        let layout_id = match d.existing {
            Some(l) => l.id,
            None => {
                let name = &page.name;
                match deliver(target, || {
                    page_layout::create_record_page_layout(target, name, d.object)
                })
                .await?
                {
                    Ok(id) => {
                        names.stands_as(LAYOUT, page.id, id);
                        id
                    }
                    Err(err) => {
                        report.notes.push(format!(
                            "the target refused to create the record page {}: {err}",
                            d.label
                        ));
                        continue;
                    }
                }
            }
        };
        taken.push(layout_id);
        if d.replace {
            let times = 1 + usize::from(d.icons_twice);
            let mut refused = None;
            for _ in 0..times {
                if let Err(err) = deliver(target, || {
                    page_layout::replace_tabs(target, layout_id, d.input.clone())
                })
                .await?
                {
                    refused = Some(err);
                    break;
                }
            }
            if let Some(err) = refused {
                report.notes.push(format!(
                    "the target refused the tabs and widgets of record page {}: {err}",
                    d.label
                ));
                continue;
            }
        }
        d.count(report);
    }
    Ok(())
}

/// Every widget's `pageLayoutTabId` set to its tab's id (the target's widgets kept as read
/// carry none).
fn set_tab_ids(mut input: Value) -> Value {
    for tab in input["tabs"].as_array_mut().into_iter().flatten() {
        let id = tab["id"].clone();
        for w in tab["widgets"].as_array_mut().into_iter().flatten() {
            w["pageLayoutTabId"] = id.clone();
        }
    }
    input
}
