//! Workspace-level navigation menu items: folders, views, objects, records and links.
//!
//! An item is found on the target by id, else by what it shows (type + object, view, link, or a
//! folder's name): a fresh workspace has an OBJECT item per standard object and the schema sync
//! gave each custom object one (`object-metadata.service.ts`), so those are updated rather than
//! doubled. Personal items (the former favorites) only their member may create
//! (`navigation-menu-item-access.service.ts`: "User-level navigation menu items can only be
//! created by authenticated users"): the runbook lists them. Items showing a page layout wait
//! for dashboards to move.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::Action;
use super::{ConfigReport, Names, ViewIds};
use crate::destination::{TargetConfiguration, TargetNavigationItem};
use crate::model::config::{NavigationItem, WorkspaceConfig};
use crate::transform::target_id;

/// The kind navigation items are matched under in the ledger.
const KIND: &str = "navigation";

/// Whether an API key may create the item.
pub(super) fn movable(item: &NavigationItem) -> bool {
    item.owner_email.is_none() && item.kind != "PAGE_LAYOUT"
}

pub(super) fn diff(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    names: &Names<'_>,
    views: &ViewIds,
    report: &mut ConfigReport,
) -> Vec<Action> {
    let mut create = Vec::new();
    let mut updates = Vec::new();
    // Source item id → target item id, for the folder of each item.
    let mut ids: HashMap<Uuid, Uuid> = HashMap::new();
    let mut taken: HashSet<Uuid> = HashSet::new();
    let mut wanted = Vec::new();
    // Folders first, so that an item's folder is known when it is placed.
    let mut items: Vec<&NavigationItem> = config.navigation.iter().filter(|i| movable(i)).collect();
    items.sort_by_key(|i| i.kind != "FOLDER");
    for item in items {
        let want = TargetNavigationItem {
            id: names.config_id(item.id),
            kind: item.kind.clone(),
            target_record_id: item.target_record.map(target_id),
            target_object_metadata_id: item.target_object.as_deref().and_then(|o| names.object(o)),
            view_id: item.view.and_then(|v| views.get(&v).copied()),
            folder_id: None,
            name: item.name.clone(),
            link: item.link.clone(),
            icon: item.icon.clone(),
            color: item.color.clone(),
            position: item.position,
        };
        let unresolved = (item.target_object.is_some() && want.target_object_metadata_id.is_none())
            || (item.view.is_some() && want.view_id.is_none());
        if unresolved {
            report.notes.push(format!(
                "navigation item {} ({}): what it shows is not on the target; not moved",
                item.name.as_deref().unwrap_or(&item.kind),
                item.id
            ));
            continue;
        }
        let found = target
            .navigation
            .iter()
            .filter(|t| !taken.contains(&t.id))
            .find(|t| names.is_id_of(item.id, t.id))
            .or_else(|| {
                let matched = names.matched(KIND, item.id)?;
                target
                    .navigation
                    .iter()
                    .filter(|t| !taken.contains(&t.id))
                    .find(|t| t.id == matched)
            })
            .or_else(|| {
                target
                    .navigation
                    .iter()
                    .filter(|t| !taken.contains(&t.id))
                    .find(|t| same_thing(t, &want))
            });
        let id = found.map_or(want.id, |t| t.id);
        if let Some(t) = found {
            taken.insert(t.id);
            names.stands_as(KIND, item.id, t.id);
        }
        ids.insert(item.id, id);
        wanted.push((item, want, found.cloned()));
    }
    for (item, mut want, found) in wanted {
        want.folder_id = item.folder.and_then(|f| ids.get(&f).copied());
        let counts = report.kind("navigation");
        match found {
            None => {
                counts.created += 1;
                create.push(want);
            }
            Some(have) => {
                let mut update = Map::new();
                if have.folder_id != want.folder_id {
                    update.insert("folderId".into(), json!(want.folder_id));
                }
                if have.position != want.position {
                    update.insert("position".into(), json!(want.position));
                }
                for (key, a, b) in [
                    ("name", &want.name, &have.name),
                    ("link", &want.link, &have.link),
                    ("icon", &want.icon, &have.icon),
                    ("color", &want.color, &have.color),
                ] {
                    if a.is_some() && a != b {
                        update.insert(key.into(), json!(a));
                    }
                }
                if update.is_empty() {
                    counts.unchanged += 1;
                } else {
                    counts.updated += 1;
                    updates.push(Action::UpdateNavigation(have.id, Value::Object(update)));
                }
            }
        }
    }
    let mut actions = Vec::new();
    if !create.is_empty() {
        actions.push(Action::CreateNavigation(create));
    }
    actions.extend(updates);
    actions
}

/// The same entry in the menu: same type and same thing shown.
fn same_thing(a: &TargetNavigationItem, b: &TargetNavigationItem) -> bool {
    if a.kind != b.kind {
        return false;
    }
    match b.kind.as_str() {
        "OBJECT" => a.target_object_metadata_id == b.target_object_metadata_id,
        "VIEW" => a.view_id == b.view_id,
        "RECORD" => a.target_record_id == b.target_record_id,
        "LINK" => a.link == b.link,
        "FOLDER" => a.name == b.name,
        _ => false,
    }
}
