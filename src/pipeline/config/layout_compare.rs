//! Whether a page layout on the target is the one wanted: its name and shown tabs and
//! widgets, each compared by what the target answers of it (dashboards and record pages).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::destination::page_layout::{self, TargetPageLayout};

/// A configuration the target answered, with `null` wherever the one sent has `null` (the
/// field left unset): a real 2.21 answers its DTO's default there (`dateGranularity: DAY`,
/// `timezone: UTC`, `displayLegend: true`…, `MM/page-layout-widget/dtos/*-configuration.dto.ts`;
/// seen live, rehearsal r18), which is no difference. A field the source sets is compared.
fn unset_where_unsent(mut answered: Value, sent: &Value) -> Value {
    if let (Value::Object(answered), Value::Object(sent)) = (&mut answered, sent) {
        for (key, value) in sent {
            if value.is_null() {
                answered.insert(key.clone(), Value::Null);
            }
        }
    }
    answered
}

/// The target layout has the name, shown tabs and widgets wanted (each compared by what the
/// target answers of it; unless `in_full`, a widget's grid position, position and
/// configuration are not read).
pub(super) fn same_layout(
    have: &TargetPageLayout,
    name: &str,
    desired: &[Value],
    in_full: bool,
) -> bool {
    let tab_key = |id: &str, title: &str, position: f64, icon: Option<&str>, mode: Option<&str>| {
        format!("{id}|{title}|{position}|{icon:?}|{mode:?}")
    };
    // Grid position, position and configuration as the target answers them, so what was sent
    // and what is read compare equal.
    let widget_key = |id: &str,
                      title: &str,
                      kind: &str,
                      object: Option<&str>,
                      grid: &Value,
                      position: &Value,
                      configuration: &Value| {
        let head = format!("{id}|{title}|{kind}|{object:?}");
        if !in_full {
            return head;
        }
        let grid = ["row", "column", "rowSpan", "columnSpan"].map(|k| grid[k].as_f64());
        let configuration = page_layout::answered_configuration(configuration);
        format!(
            "{head}|{grid:?}|{}|{configuration}",
            answered_position(position)
        )
    };
    let mut want: Vec<(String, Vec<String>)> = desired
        .iter()
        .map(|t| {
            let mut widgets: Vec<String> = t["widgets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| {
                    widget_key(
                        w["id"].as_str().unwrap_or_default(),
                        w["title"].as_str().unwrap_or_default(),
                        w["type"].as_str().unwrap_or_default(),
                        w["objectMetadataId"].as_str(),
                        &w["gridPosition"],
                        &w["position"],
                        &w["configuration"],
                    )
                })
                .collect();
            widgets.sort();
            let key = tab_key(
                t["id"].as_str().unwrap_or_default(),
                t["title"].as_str().unwrap_or_default(),
                t["position"].as_f64().unwrap_or_default(),
                t["icon"].as_str(),
                t["layoutMode"].as_str(),
            );
            (key, widgets)
        })
        .collect();
    // What the source sets, by widget: where it leaves a field (or the position) unset, the
    // target answers its default, which is no difference.
    let sent: HashMap<&str, (Value, bool)> = desired
        .iter()
        .flat_map(|t| t["widgets"].as_array().into_iter().flatten())
        .filter_map(|w| {
            Some((
                w["id"].as_str()?,
                (
                    page_layout::answered_configuration(&w["configuration"]),
                    w["position"].is_null(),
                ),
            ))
        })
        .collect();
    // Deactivated tabs and widgets are not shown: as good as absent.
    let mut got: Vec<(String, Vec<String>)> = have
        .tabs
        .iter()
        .filter(|t| t.is_active)
        .map(|t| {
            let mut widgets: Vec<String> = t
                .widgets
                .iter()
                .filter(|w| w.is_active)
                .map(|w| {
                    let object = w.object_metadata_id.map(|o| o.to_string());
                    let id = w.id.to_string();
                    let (configuration, position) = match sent.get(id.as_str()) {
                        Some((sent, no_position)) => (
                            unset_where_unsent(
                                page_layout::answered_configuration(&w.configuration),
                                sent,
                            ),
                            if *no_position {
                                Value::Null
                            } else {
                                w.position.clone()
                            },
                        ),
                        None => (w.configuration.clone(), w.position.clone()),
                    };
                    widget_key(
                        &id,
                        &w.title,
                        &w.kind,
                        object.as_deref(),
                        &w.grid_position,
                        &position,
                        &configuration,
                    )
                })
                .collect();
            widgets.sort();
            let id = t.id.to_string();
            let key = tab_key(
                &id,
                &t.title,
                t.position,
                t.icon.as_deref(),
                t.layout_mode.as_deref(),
            );
            (key, widgets)
        })
        .collect();
    want.sort();
    got.sort();
    let same = have.name == name && want == got;
    if !same {
        tracing::debug!(?want, ?got, have = %have.name, name, "page layout differs");
    }
    same
}

/// A widget `position` as the `PageLayoutWidgetPosition` union answers it: its member's fields
/// (`layoutMode` and, per mode, `row column rowSpan columnSpan` or `index`), numbers as
/// floats; `null` for none.
fn answered_position(position: &Value) -> Value {
    let Some(mode) = position.get("layoutMode").and_then(Value::as_str) else {
        return Value::Null;
    };
    let keys: &[&str] = match mode {
        "GRID" => &["row", "column", "rowSpan", "columnSpan"],
        "VERTICAL_LIST" => &["index"],
        _ => &[],
    };
    let mut out = Map::new();
    out.insert("layoutMode".into(), json!(mode));
    for k in keys {
        out.insert((*k).into(), json!(position[*k].as_f64()));
    }
    Value::Object(out)
}
