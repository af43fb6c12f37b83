//! The configuration stage: views, roles, navigation and webhooks move with the API key's
//! `/metadata` mutations; what no API key may do goes into the runbook ([`runbook`]).
//!
//! The stage compares the source's configuration with what the target has (read in one request
//! per kind) and derives the [`Action`]s that make the target equal, so it is idempotent: a rerun,
//! or a run resumed after a crash, finds its earlier work on the target and sends nothing for
//! it. Entities keep their source ids (rewritten like record ids where Twenty would refuse
//! them); the target's own standard entities (views, roles, navigation items a fresh workspace
//! has) are matched by natural key and updated, never duplicated.
//!
//! Order: roles, views (then their children, once the target has created a kanban's own
//! groups), navigation (which points at views), dashboards (page layout, then the record;
//! [`dashboards`]), and webhooks last, after every record (the references to the dashboards,
//! written in a run between the two, included), so the migration does not call the user's
//! endpoints once per migrated record.

mod actions;
mod dashboards;
mod navigation;
mod roles;
pub mod runbook;
#[cfg(test)]
mod tests;
mod views;

use std::collections::HashMap;

use uuid::Uuid;

use crate::destination::{Destination, TargetConfiguration, TargetError, TargetModel};
use crate::model::config::{FieldRef, WorkspaceConfig};
pub use crate::report::{ConfigReport, KindCounts};
use crate::transform::MemberMap;

use super::{MigrateError, MigrateOptions, Prepared};

pub use crate::destination::ConfigChange as Action;

/// Names resolved against the target's model: object and field names to the target's
/// metadata ids.
pub(crate) struct Names<'a> {
    model: &'a TargetModel,
    members: &'a MemberMap,
}

impl<'a> Names<'a> {
    pub(crate) fn new(model: &'a TargetModel, members: &'a MemberMap) -> Self {
        Self { model, members }
    }

    fn object(&self, name: &str) -> Option<Uuid> {
        self.model.object(name).map(|o| o.id)
    }

    fn field(&self, object: &str, field: &str) -> Option<Uuid> {
        self.model
            .object(object)?
            .fields
            .iter()
            .find(|f| f.name == field)
            .map(|f| f.id)
    }

    fn field_ref(&self, r: &FieldRef) -> Option<Uuid> {
        self.field(&r.object, &r.field)
    }

    /// The object a relation field points at, where the field is a relation.
    fn relation_target(&self, object: &str, field: &str) -> Option<&str> {
        let f = self
            .model
            .object(object)?
            .fields
            .iter()
            .find(|f| f.name == field)?;
        f.relation
            .as_ref()?
            .target_object_metadata
            .as_ref()
            .map(|t| t.name_singular.as_str())
    }
}

/// Derives what the target needs, without sending anything (for `plan`, and for tests).
pub fn plan_actions(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    model: &TargetModel,
    members: &MemberMap,
) -> (Vec<Action>, ConfigReport) {
    let names = Names::new(model, members);
    let mut report = ConfigReport::default();
    let mut actions = roles::diff(config, target, &names, &mut report);
    let (view_actions, index) = views::diff_views(config, target, &names, &mut report);
    actions.extend(view_actions);
    actions.extend(views::diff_children(
        config,
        &target.views,
        &index,
        &names,
        &mut report,
    ));
    actions.extend(navigation::diff(
        config,
        target,
        &names,
        &index.ids,
        &mut report,
    ));
    actions.extend(roles::diff_webhooks(config, target, &mut report));
    runbook::count(config, &mut report);
    // One request per change, the two readings of the target's configuration `sync` makes, and
    // the dashboards' reading (layouts, records); the dashboards' own changes are not counted.
    let dashboard_reads = if config.dashboards.is_empty() { 0 } else { 2 };
    report.requests = actions.len() as u64 + 2 * READS + dashboard_reads;
    (actions, report)
}

/// Moves the configuration: reads the target's, sends what differs, kind by kind, and returns
/// the counts. A refused action is noted and the stage goes on; the target being down or the
/// key refused stops it (the disposition decides).
pub async fn sync<D: Destination>(
    config: &WorkspaceConfig,
    target: &D,
    model: &TargetModel,
    members: &MemberMap,
) -> Result<ConfigReport, TargetError> {
    let before = sync_but_webhooks(config, target, model, members).await?;
    sync_webhooks(config, target, before).await
}

/// The configuration moved but for the webhooks, which [`sync_webhooks`] sends: in a run, the
/// references to the dashboards are written in between, so that no webhook fires for them.
pub(crate) struct BeforeWebhooks {
    /// The counts so far.
    report: ConfigReport,
    /// The target's configuration as read after the views, `None` for a target that does not
    /// answer the configuration queries.
    after_views: Option<TargetConfiguration>,
}

/// [`sync`] up to the webhooks: roles, views, navigation and dashboards.
pub(crate) async fn sync_but_webhooks<D: Destination>(
    config: &WorkspaceConfig,
    target: &D,
    model: &TargetModel,
    members: &MemberMap,
) -> Result<BeforeWebhooks, TargetError> {
    let names = Names::new(model, members);
    let mut report = ConfigReport::default();
    let started = target.stats().requests;
    let Some(before) = read_target(target, &mut report).await? else {
        return Ok(BeforeWebhooks {
            report,
            after_views: None,
        });
    };

    let roles = roles::diff(config, &before, &names, &mut report);
    actions::apply(target, roles, &mut report).await?;

    let (view_actions, index) = views::diff_views(config, &before, &names, &mut report);
    actions::apply(target, view_actions, &mut report).await?;
    // A kanban created just now has the groups the target made for it: read them back.
    let after_views = target.configuration().await?;
    let children = views::diff_children(config, &after_views.views, &index, &names, &mut report);
    actions::apply(target, children, &mut report).await?;

    let navigation = navigation::diff(config, &after_views, &names, &index.ids, &mut report);
    actions::apply(target, navigation, &mut report).await?;

    // Dashboards after the views their widgets may show, before the webhooks.
    dashboards::sync(&config.dashboards, target, &names, &index.ids, &mut report).await?;
    report.requests = target.stats().requests - started;
    Ok(BeforeWebhooks {
        report,
        after_views: Some(after_views),
    })
}

/// The rest of [`sync`]: the webhooks, last of all, so the migration does not call the user's
/// endpoints once per migrated record; then the runbook's counts.
pub(crate) async fn sync_webhooks<D: Destination>(
    config: &WorkspaceConfig,
    target: &D,
    before: BeforeWebhooks,
) -> Result<ConfigReport, TargetError> {
    let BeforeWebhooks {
        mut report,
        after_views,
    } = before;
    if let Some(after_views) = after_views {
        let started = target.stats().requests;
        let webhooks = roles::diff_webhooks(config, &after_views, &mut report);
        actions::apply(target, webhooks, &mut report).await?;
        report.requests += target.stats().requests - started;
    }
    runbook::count(config, &mut report);
    Ok(report)
}

/// What the target has, or `None` (with a note) for a target whose `/metadata` does not know
/// 2.x's configuration queries (an older Twenty: views were records before 1.5 and the names
/// changed since, `view/resolvers/view.resolver.ts`).
pub(crate) async fn read_target<D: Destination>(
    target: &D,
    report: &mut ConfigReport,
) -> Result<Option<TargetConfiguration>, TargetError> {
    match target.configuration().await {
        Ok(have) => Ok(Some(have)),
        Err(e) if e.is_graphql_validation() => {
            report.notes.push(format!(
                "the target does not answer Twenty 2.x's configuration queries ({e}); views, roles, navigation and webhooks are not moved: recreate them by hand"
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Requests one reading of the target's configuration takes ([`Destination::configuration`]).
const READS: u64 = 5;

/// Source view id → target view id, for navigation items that show a view.
pub(crate) type ViewIds = HashMap<Uuid, Uuid>;

/// Reads the source's configuration in the run's snapshot.
pub(crate) async fn read(prepared: &Prepared) -> Result<WorkspaceConfig, MigrateError> {
    Ok(crate::source::config::read_config(prepared.source.client(), &prepared.workspace).await?)
}

/// The stage in a run, up to the webhooks: syncs the configuration against the target's model
/// as the run read it after the data model sync. [`finish`] sends the webhooks.
pub(super) async fn run<D: Destination>(
    target: &D,
    model: &TargetModel,
    config: &WorkspaceConfig,
    members: &MemberMap,
) -> Result<BeforeWebhooks, MigrateError> {
    sync_but_webhooks(config, target, model, members)
        .await
        .map_err(|source| MigrateError::Target {
            context: "moving the workspace configuration".into(),
            source,
        })
}

/// The end of the stage in a run: the webhooks, then the runbook beside the ledger.
pub(super) async fn finish<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
    config: &WorkspaceConfig,
    before: BeforeWebhooks,
) -> Result<ConfigReport, MigrateError> {
    let report = sync_webhooks(config, target, before)
        .await
        .map_err(|source| MigrateError::Target {
            context: "moving the workspace configuration".into(),
            source,
        })?;
    let dir = opts.runbook_dir();
    runbook::Runbook::build(config)
        .write(dir)
        .map_err(|source| MigrateError::Runbook {
            path: dir.to_owned(),
            source,
        })?;
    Ok(report)
}

/// What `migrate` would do to the configuration, for `plan`: reads the source's and the
/// target's, sends nothing. Views of objects the data model sync has yet to create show as
/// notes here; `migrate` creates them.
pub async fn preview<D: Destination>(
    opts: &MigrateOptions,
    prepared: &Prepared,
    target: &D,
) -> Result<ConfigReport, MigrateError> {
    let config = read(prepared).await?;
    let mut report = ConfigReport::default();
    let have = read_target(target, &mut report)
        .await
        .map_err(|source| MigrateError::Target {
            context: "reading the target's workspace configuration".into(),
            source,
        })?;
    let Some(have) = have else {
        return Ok(report);
    };
    let members = super::members::member_map(opts, prepared);
    Ok(plan_actions(&config, &have, &prepared.target_read, &members).1)
}
