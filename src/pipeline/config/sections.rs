//! A record page's field sections (`viewFieldGroup`, 2.x): the groups a FIELDS_WIDGET view
//! shows its fields in (`view-field-group/entities/view-field-group.entity.ts`).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{Action, Names};
use crate::destination::{TargetView, TargetViewFieldGroup};
use crate::model::config::View;

/// The kind record-page sections are matched under in the ledger.
const SECTION: &str = "view_field_group";

/// A record page's field sections, matched by id, by the ledger, else by name (a standard
/// view's sections exist on the target under their standard names; 2.21 stores an edit of one
/// as an override and reads it back: LIVE). Returns source section id → target section id, or
/// `None` when the source view has no sections (a version without them): the target's are then
/// left as they are.
pub(super) fn diff(
    view: &View,
    tv: &TargetView,
    names: &Names<'_>,
    out: &mut Vec<Action>,
) -> Option<HashMap<Uuid, Uuid>> {
    if view.field_groups.is_empty() {
        return None;
    }
    let mut ids = HashMap::new();
    let mut create = Vec::new();
    let mut taken: HashSet<Uuid> = HashSet::new();
    for g in &view.field_groups {
        let want = TargetViewFieldGroup {
            id: names.config_id(g.id),
            view_id: Some(tv.id),
            name: g.name.clone(),
            position: g.position,
            is_visible: g.is_visible,
        };
        let free = |t: &&TargetViewFieldGroup| !taken.contains(&t.id);
        let known = names.matched(SECTION, g.id);
        let found = tv
            .view_field_groups
            .iter()
            .filter(free)
            .find(|t| names.is_id_of(g.id, t.id) || Some(t.id) == known)
            .or_else(|| {
                let named = |name: &str| {
                    tv.view_field_groups
                        .iter()
                        .filter(free)
                        .find(|t| t.name == name)
                };
                g.standard_name
                    .as_deref()
                    .and_then(named)
                    .or_else(|| named(&g.name))
            });
        match found {
            Some(have) => {
                taken.insert(have.id);
                names.stands_as(SECTION, g.id, have.id);
                ids.insert(g.id, have.id);
                let mut update = Map::new();
                if have.name != want.name {
                    update.insert("name".into(), json!(want.name));
                }
                if have.position != want.position {
                    update.insert("position".into(), json!(want.position));
                }
                if have.is_visible != want.is_visible {
                    update.insert("isVisible".into(), json!(want.is_visible));
                }
                if !update.is_empty() {
                    out.push(Action::UpdateFieldGroup(have.id, Value::Object(update)));
                }
            }
            None => {
                ids.insert(g.id, want.id);
                create.push(want);
            }
        }
    }
    // Sections the target has and the source view does not: hidden, not deleted.
    for have in &tv.view_field_groups {
        if have.is_visible && !taken.contains(&have.id) {
            out.push(Action::UpdateFieldGroup(
                have.id,
                json!({ "isVisible": false }),
            ));
        }
    }
    if !create.is_empty() {
        out.push(Action::CreateFieldGroups(create));
    }
    Some(ids)
}
