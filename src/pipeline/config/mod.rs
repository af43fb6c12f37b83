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
//! Order: roles (then their row-level permissions, [`row_level`]), views (then their children, once the target has created a kanban's own
//! groups), navigation (which points at views), dashboards (page layout, then the record;
//! [`dashboards`]), record page layouts ([`record_pages`]), custom AI agents ([`agents`], after
//! the roles they hold), and webhooks last, after every record (the references to the dashboards,
//! written in a run between the two, included), so the migration does not call the user's
//! endpoints once per migrated record.

mod actions;
pub(crate) mod agents;
mod dashboards;
mod layout_compare;
mod navigation;
mod record_pages;
mod roles;
pub mod row_level;
pub mod runbook;
mod sections;
#[cfg(test)]
mod tests;
mod views;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use uuid::Uuid;

use crate::destination::{Destination, TargetConfiguration, TargetError, TargetModel};
use crate::model::config::{FieldRef, WorkspaceConfig};
pub use crate::report::{ConfigReport, KindCounts, RefusedAgent};
use crate::state::{ConfigMatches, Ledger};
use crate::transform::{target_id, MemberMap};

use super::{MigrateError, MigrateOptions, Prepared};

pub use crate::destination::ConfigChange as Action;

/// Names resolved against the target's model: object and field names to the target's
/// metadata ids.
pub(crate) struct Names<'a> {
    model: &'a TargetModel,
    members: &'a MemberMap,
    /// Target entities earlier runs matched to source ones by natural key (the ledger's).
    known: Option<&'a ConfigMatches>,
    /// Those this run matched: (kind, source id, target id).
    found: RefCell<Vec<(String, Uuid, Uuid)>>,
    /// The target workspace, once read: configuration ids are derived within it.
    scope: Cell<Option<Uuid>>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(model: &'a TargetModel, members: &'a MemberMap) -> Self {
        Self {
            model,
            members,
            known: None,
            found: RefCell::new(Vec::new()),
            scope: Cell::new(None),
        }
    }

    /// Scopes configuration ids to the target workspace read from the target (`None` for a
    /// target that does not say: the source's ids are kept).
    pub(crate) fn within(&self, target: &TargetConfiguration) {
        self.scope.set(target.workspace_id);
    }

    /// The id the source configuration entity `source` gets on the target.
    fn config_id(&self, source: Uuid) -> Uuid {
        crate::transform::config_id(self.scope.get(), source)
    }

    /// Whether `target` is the id this tool gives the source entity `source`: scoped to the
    /// workspace, or the source's own as versions before the scoping gave it.
    fn is_id_of(&self, source: Uuid, target: Uuid) -> bool {
        target == self.config_id(source) || target == target_id(source)
    }

    /// With the matches earlier runs kept: a matched entity is found again by them before
    /// any natural key, so one renamed in the target since is updated, not doubled.
    pub(crate) fn with_matches(mut self, known: &'a ConfigMatches) -> Self {
        self.known = Some(known);
        self
    }

    /// The target id an earlier run matched the source entity `id` of `kind` to.
    fn matched(&self, kind: &str, id: Uuid) -> Option<Uuid> {
        self.known?.get(&(kind.to_owned(), id)).copied()
    }

    /// Notes that the source entity `id` of `kind` stands as `target` on the target; kept
    /// when the ids differ (a match by natural key) and it is not known already.
    fn stands_as(&self, kind: &str, id: Uuid, target: Uuid) {
        if !self.is_id_of(id, target) && self.matched(kind, id) != Some(target) {
            self.found.borrow_mut().push((kind.to_owned(), id, target));
        }
    }

    /// The matches this run made that the ledger should keep.
    pub(crate) fn take_found(&self) -> Vec<(String, Uuid, Uuid)> {
        std::mem::take(&mut self.found.borrow_mut())
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

/// Derives what the target needs, without sending anything (for `plan`, and for tests). The
/// dashboards, which need their own reading of the target, are counted by [`preview`].
pub fn plan_actions(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    model: &TargetModel,
    members: &MemberMap,
) -> (Vec<Action>, ConfigReport) {
    plan_actions_matched(config, target, model, members, &ConfigMatches::new())
}

/// [`plan_actions`] with the matches a ledger kept ([`Ledger::read_config_matches`]).
pub fn plan_actions_matched(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    model: &TargetModel,
    members: &MemberMap,
    known: &ConfigMatches,
) -> (Vec<Action>, ConfigReport) {
    let (actions, report, _) = plan_with_views(config, target, model, members, known);
    (actions, report)
}

/// [`plan_actions_matched`], with the source view id → target view id map the dashboards'
/// widgets use.
fn plan_with_views(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    model: &TargetModel,
    members: &MemberMap,
    known: &ConfigMatches,
) -> (Vec<Action>, ConfigReport, ViewIds) {
    let names = Names::new(model, members).with_matches(known);
    names.within(target);
    let mut report = ConfigReport::default();
    let mut actions = roles::diff(config, target, &names, &mut report);
    let (row_level, unchanged) = row_level::diff(config, target, &names, &mut report);
    if !unchanged.is_empty() {
        report.kind(row_level::KIND).unchanged += unchanged.len();
    }
    row_level.iter().for_each(|c| c.count(&mut report));
    let expected = row_level::anticipated(&row_level, &unchanged);
    actions.extend(row_level.iter().map(|c| c.action().clone()));
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
    actions.extend(roles::diff_webhooks(config, target, &names, &mut report));
    runbook::count(config, &expected, &mut report);
    // One request per change, the two readings of the target's configuration `sync` makes, and
    // the dashboards' reading (layouts, records); the dashboards' own changes are added by
    // `dashboards::plan`.
    let dashboard_reads = if config.dashboards.is_empty() { 0 } else { 2 };
    report.requests = actions.len() as u64 + 2 * READS + dashboard_reads;
    (actions, report, index.ids)
}

/// The row-level permission sets the target holds as the source has them, for `verify`: the
/// runbook's steps for the others stay open.
pub(crate) fn row_level_in_place(
    config: &WorkspaceConfig,
    target: &TargetConfiguration,
    model: &TargetModel,
    members: &MemberMap,
    known: &ConfigMatches,
) -> row_level::RowLevelOutcome {
    let names = Names::new(model, members).with_matches(known);
    names.within(target);
    let (_, moved) = row_level::diff(config, target, &names, &mut ConfigReport::default());
    row_level::RowLevelOutcome {
        moved,
        ..Default::default()
    }
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
    let names = Names::new(model, members);
    let before = sync_but_webhooks(config, target, &names).await?;
    sync_webhooks(config, target, &names, before).await
}

/// The configuration moved but for the webhooks, which [`sync_webhooks`] sends: in a run, the
/// references to the dashboards are written in between, so that no webhook fires for them.
pub(crate) struct BeforeWebhooks {
    /// The counts so far.
    report: ConfigReport,
    /// The target's configuration as read after the views, `None` for a target that does not
    /// answer the configuration queries.
    after_views: Option<TargetConfiguration>,
    /// What became of the row-level permissions: the runbook drops the sets moved.
    row_level: row_level::RowLevelOutcome,
}

/// [`sync`] up to the webhooks: roles, views, navigation and dashboards.
async fn sync_but_webhooks<D: Destination>(
    config: &WorkspaceConfig,
    target: &D,
    names: &Names<'_>,
) -> Result<BeforeWebhooks, TargetError> {
    let mut report = ConfigReport::default();
    let started = target.stats().requests;
    let Some(before) = read_target(target, &mut report).await? else {
        return Ok(BeforeWebhooks {
            report,
            after_views: None,
            row_level: row_level::RowLevelOutcome::default(),
        });
    };
    names.within(&before);

    let roles = roles::diff(config, &before, names, &mut report);
    actions::apply(target, roles, &mut report).await?;
    // After the roles they belong to; never stops the run.
    let (changes, unchanged) = row_level::diff(config, &before, names, &mut report);
    let row_level = row_level::apply(target, changes, unchanged, &mut report).await?;

    let (view_actions, index) = views::diff_views(config, &before, names, &mut report);
    actions::apply(target, view_actions, &mut report).await?;
    // A kanban created just now has the groups the target made for it: read them back.
    let after_views = target.configuration().await?;
    let children = views::diff_children(config, &after_views.views, &index, names, &mut report);
    actions::apply(target, children, &mut report).await?;

    let navigation = navigation::diff(config, &after_views, names, &index.ids, &mut report);
    actions::apply(target, navigation, &mut report).await?;

    // Dashboards after the views their widgets may show, before the webhooks.
    dashboards::sync(&config.dashboards, target, names, &index.ids, &mut report).await?;
    // Record pages after the views their fields widgets show.
    record_pages::sync(&config.record_pages, target, names, &index.ids, &mut report).await?;
    // Agents after the roles they are given.
    agents::sync(
        &config.agents,
        target,
        &after_views.roles,
        names,
        &mut report,
    )
    .await?;
    report.requests = target.stats().requests - started;
    Ok(BeforeWebhooks {
        report,
        after_views: Some(after_views),
        row_level,
    })
}

/// The rest of [`sync`]: the webhooks, last of all, so the migration does not call the user's
/// endpoints once per migrated record; then the runbook's counts.
async fn sync_webhooks<D: Destination>(
    config: &WorkspaceConfig,
    target: &D,
    names: &Names<'_>,
    before: BeforeWebhooks,
) -> Result<ConfigReport, TargetError> {
    let BeforeWebhooks {
        mut report,
        after_views,
        row_level,
    } = before;
    if let Some(after_views) = after_views {
        names.within(&after_views);
        let started = target.stats().requests;
        let webhooks = roles::diff_webhooks(config, &after_views, names, &mut report);
        actions::apply(target, webhooks, &mut report).await?;
        report.requests += target.stats().requests - started;
    }
    runbook::count(config, &row_level, &mut report);
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
const READS: u64 = 6;

/// Source view id → target view id, for navigation items that show a view.
pub(crate) type ViewIds = HashMap<Uuid, Uuid>;

/// Reads the source's configuration in the run's snapshot.
pub(crate) async fn read(prepared: &Prepared) -> Result<WorkspaceConfig, MigrateError> {
    Ok(crate::source::config::read_config(prepared.source.client(), &prepared.workspace).await?)
}

fn stage_err(source: TargetError) -> MigrateError {
    MigrateError::Target {
        context: "moving the workspace configuration".into(),
        source,
    }
}

/// The stage in a run, up to the webhooks: syncs the configuration against the target's model
/// as the run read it after the data model sync, finding first the target entities the ledger
/// matched in earlier runs, and keeping the matches this run makes (also when it fails: the
/// entities were found on the target). [`finish`] sends the webhooks.
pub(super) async fn run<D: Destination>(
    target: &D,
    model: &TargetModel,
    config: &WorkspaceConfig,
    members: &MemberMap,
    ledger: &Ledger,
) -> Result<BeforeWebhooks, MigrateError> {
    let known = ledger.config_matches()?;
    let names = Names::new(model, members).with_matches(&known);
    let before = sync_but_webhooks(config, target, &names).await;
    ledger.save_config_matches(&names.take_found())?;
    before.map_err(stage_err)
}

/// The end of the stage in a run: the webhooks, then the runbook beside the ledger.
pub(super) async fn finish<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
    model: &TargetModel,
    config: &WorkspaceConfig,
    members: &MemberMap,
    ledger: &Ledger,
    before: BeforeWebhooks,
) -> Result<ConfigReport, MigrateError> {
    let known = ledger.config_matches()?;
    let names = Names::new(model, members).with_matches(&known);
    let row_level = before.row_level.clone();
    let report = sync_webhooks(config, target, &names, before).await;
    ledger.save_config_matches(&names.take_found())?;
    let report = report.map_err(stage_err)?;
    let dir = opts.runbook_dir();
    runbook::Runbook::build_with(config, &row_level)
        .with_refused(config, &report.refused_agents)
        .write(dir)
        .map_err(|source| MigrateError::Runbook {
            path: dir.to_owned(),
            source,
        })?;
    Ok(report)
}

/// What `migrate` would do to the configuration, for `plan`: reads the source's and the
/// target's (the dashboards' records and layouts too), sends nothing. Views of objects the data
/// model sync has yet to create show as notes here; `migrate` creates them.
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
    let model = &prepared.target_read;
    let known = Ledger::read_config_matches(&opts.state_path);
    let (_, mut report, views) = plan_with_views(&config, &have, model, &members, &known);
    let names = Names::new(model, &members).with_matches(&known);
    names.within(&have);
    let dashboards = dashboards::read_target(&config.dashboards, target, &names, &mut report)
        .await
        .map_err(|source| MigrateError::Target {
            context: "reading the target's dashboards".into(),
            source,
        })?;
    if let Some(dashboards) = dashboards {
        dashboards::plan(&config.dashboards, &dashboards, &names, &views, &mut report);
    }
    let pages = record_pages::read_target(&config.record_pages, target, &mut report)
        .await
        .map_err(|source| MigrateError::Target {
            context: "reading the target's record page layouts".into(),
            source,
        })?;
    if let Some(pages) = pages {
        report.requests += 1;
        record_pages::plan(&config.record_pages, &pages, &names, &views, &mut report);
    }
    let agents = agents::read_target(&config.agents, target, &mut report)
        .await
        .map_err(|source| MigrateError::Target {
            context: "reading the target's AI agents".into(),
            source,
        })?;
    if let Some(agents) = agents {
        let roles = agents::Roles {
            target: &have.roles,
            planned: Some(&config),
        };
        agents::plan(&config.agents, &agents, &roles, &names, &mut report);
    }
    Ok(report)
}
