//! The configuration part of `verify`: what the configuration stage would still change (a
//! difference), and the runbook's steps the target does not show done yet (open, not a
//! difference: they wait for a person).

use serde_json::Value;

use crate::destination::{Destination, FindMany, TargetError};
use crate::model::config::WorkspaceConfig;
use crate::pipeline::config::runbook::{Runbook, Step, TargetFacts};
use crate::pipeline::config::{
    agents, plan_actions_matched, read, read_target, row_level_in_place, Action, ConfigReport,
    Names,
};
use crate::pipeline::{MigrateError, MigrateOptions, Prepared};
use crate::state::Ledger;

/// What the configuration check found.
#[derive(Debug)]
pub(super) struct ConfigCheck {
    /// The source's configuration.
    pub config: WorkspaceConfig,
    /// What the configuration stage would still change; `None` when the target does not
    /// answer 2.x's configuration queries (nothing could move).
    pub pending: Option<Vec<Action>>,
    /// The runbook's steps the target does not show done.
    pub open: Vec<Step>,
    /// Custom AI agents missing from the target or differing there.
    pub agents: Vec<String>,
}

impl ConfigCheck {
    /// The differences and open steps as `verify` lists them.
    pub fn lines(&self) -> (Vec<String>, Vec<String>) {
        (
            self.pending
                .iter()
                .flatten()
                .map(Action::describe)
                .chain(self.agents.iter().cloned())
                .collect(),
            self.open.iter().map(|s| s.title.clone()).collect(),
        )
    }
}

/// The configuration's differences and the runbook's open steps.
pub(super) async fn check<D: Destination>(
    opts: &MigrateOptions,
    prepared: &Prepared,
    target: &D,
) -> Result<ConfigCheck, MigrateError> {
    let err = |context: &str| {
        let context = context.to_owned();
        move |source: TargetError| MigrateError::Target { context, source }
    };
    let config = read(prepared).await?;
    let mut notes = ConfigReport::default();
    let have = read_target(target, &mut notes)
        .await
        .map_err(err("reading the target's workspace configuration"))?;
    let Some(have) = have else {
        // An older target: nothing was moved, every step is open.
        let open = Runbook::build(&config).steps;
        return Ok(ConfigCheck {
            config,
            pending: None,
            open,
            agents: Vec::new(),
        });
    };
    let members = prepared
        .plan
        .member_map(&opts.unmatched, &prepared.target_members);
    // Entities a run matched by natural key are compared with what they were matched to.
    let known = Ledger::read_config_matches(&opts.state_path);
    let (actions, _) =
        plan_actions_matched(&config, &have, &prepared.target_read, &members, &known);
    // A row-level permission set the target lacks is an open runbook step (the target may not
    // have the Enterprise feature), not a difference.
    let row_level = row_level_in_place(&config, &have, &prepared.target_read, &members, &known);
    let actions: Vec<Action> = actions
        .into_iter()
        .filter(|a| !matches!(a, Action::SetRowLevelPermissions(_)))
        .collect();

    let workflows = if config.workflows.is_empty() {
        Vec::new()
    } else {
        let query = FindMany {
            limit: Some(200),
            ..FindMany::default()
        };
        target
            .find_many("workflows", &query)
            .await
            .map_err(err("reading the target's workflows"))?
            .records
            .iter()
            .map(|w| {
                let name = w
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let active = w
                    .get("statuses")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|s| s == "ACTIVE"));
                (name, active)
            })
            .collect()
    };
    let names = Names::new(&prepared.target_read, &members).with_matches(&known);
    names.within(&have);
    let seen = agents::differences(&config.agents, target, &have.roles, &names)
        .await
        .map_err(err("reading the target's AI agents"))?;
    let facts = TargetFacts {
        roles: have.roles,
        api_keys: have.api_keys,
        workflows,
        agents: seen.names,
    };
    // A missing agent is a runbook step: the run's own, with the target's reason, when its
    // runbook is at hand.
    let earlier = Runbook::read(opts.runbook_dir()).ok().flatten();
    let book = Runbook::build_with(&config, &row_level)
        .with_agents_of(earlier)
        .with_missing_agents(&config, &seen.missing);
    let open = book.open_steps(&facts).into_iter().cloned().collect();
    Ok(ConfigCheck {
        config,
        pending: Some(actions),
        open,
        agents: seen.differing,
    })
}
