//! Custom AI agents (`MM/ai/ai-agent/agent.resolver.ts`, `MM/` being
//! `packages/twenty-server/src/engine/metadata-modules/`; golden `config-agents`). The server
//! makes an agent's id (`CreateAgentInput` has none), so a source agent is found on the target
//! by the ledger's match first, else by `name` (unique per workspace among live agents:
//! `IDX_AGENT_NAME_WORKSPACE_ID_UNIQUE`, `agent.entity.ts`), and is created at most once. One
//! found is compared field by field and updated in one `updateOneAgent` with what differs;
//! `name` is always sent, because 2.21 renames an agent after a `label` sent without one
//! (`utils/from-update-agent-input-to-flat-agent-to-update.util.ts`). The role goes as `roleId`
//! (the target role of the same label), which the server turns into the agent's role target.
//!
//! A refused create (a model the target does not offer: `The selected model is not available
//! in this workspace.`) is noted with the target's reason and kept for the runbook
//! ([`ConfigReport::refused_agents`]); the run goes on, and a rerun tries it again (the target
//! may offer the model since).

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::dashboards::deliver;
use super::{ConfigReport, Names, RefusedAgent};
use crate::destination::agents::{self, TargetAgent};
use crate::destination::{Destination, TargetError, TargetRole};
use crate::model::config::{Agent, WorkspaceConfig};

/// The kind the counts are under.
const KIND: &str = "agents";
/// The ledger kind of an agent matched or created.
const LEDGER: &str = "agent";

/// Reads the target's agents (one request); `None` when there is nothing to move, or when the
/// target cannot answer (a Twenty without `findManyAgents`): then noted, every agent kept for
/// the runbook with the target's answer.
pub(crate) async fn read_target<D: Destination>(
    agents: &[Agent],
    target: &D,
    report: &mut ConfigReport,
) -> Result<Option<Vec<TargetAgent>>, TargetError> {
    if agents.is_empty() {
        return Ok(None);
    }
    let e = match deliver(target, || agents::agents(target)).await {
        Ok(Ok(have)) => return Ok(Some(have)),
        Ok(Err(e)) => e,
        Err(e) if e.is_graphql_validation() => e,
        Err(e) => return Err(e),
    };
    report.notes.push(format!(
        "agents: the target does not list its AI agents ({e}); {} custom agents not moved, they are in the runbook",
        agents.len()
    ));
    let reason = format!("it does not list AI agents: {}", reason(&e));
    report
        .refused_agents
        .extend(agents.iter().map(|a| RefusedAgent {
            id: a.id,
            label: a.label.clone(),
            reason: reason.clone(),
        }));
    Ok(None)
}

/// The roles an agent's role is looked up in: the target's, and (for `plan`, before the roles
/// stage ran) the source's, which that stage creates with [`Names::config_id`].
pub(crate) struct Roles<'a> {
    /// The target's roles.
    pub(crate) target: &'a [TargetRole],
    /// The source's configuration, when the roles may not be created yet.
    pub(crate) planned: Option<&'a WorkspaceConfig>,
}

impl Roles<'_> {
    fn id(&self, label: &str, names: &Names<'_>) -> Option<Uuid> {
        self.target
            .iter()
            .find(|r| r.label == label)
            .map(|r| r.id)
            .or_else(|| {
                let role = self.planned?.roles.iter().find(|r| r.label == label)?;
                Some(names.config_id(role.id))
            })
    }
}

/// What one agent needs.
#[derive(Debug, PartialEq)]
enum Decision {
    /// Create it with this `CreateAgentInput`.
    Create(Value),
    /// Update it with this `UpdateAgentInput` (`id`, `name` and what differs).
    Update(Value),
    /// The target's agent equals it.
    Unchanged,
}

/// The fields an agent is compared on and sent with, `roleId` the target's role.
fn desired(agent: &Agent, role_id: Option<Uuid>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(agent.name));
    m.insert("label".into(), json!(agent.label));
    m.insert("icon".into(), json!(agent.icon));
    m.insert("description".into(), json!(agent.description));
    m.insert("prompt".into(), json!(agent.prompt));
    m.insert("modelId".into(), json!(agent.model_id));
    m.insert("roleId".into(), json!(role_id));
    m.insert("responseFormat".into(), agent.response_format.clone());
    m.insert(
        "modelConfiguration".into(),
        agent.model_configuration.clone(),
    );
    m.insert("evaluationInputs".into(), json!(agent.evaluation_inputs));
    m
}

/// The same fields as the target has them.
fn held(have: &TargetAgent) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(have.name));
    m.insert("label".into(), json!(have.label));
    m.insert("icon".into(), json!(have.icon));
    m.insert("description".into(), json!(have.description));
    m.insert("prompt".into(), json!(have.prompt));
    m.insert("modelId".into(), json!(have.model_id));
    m.insert("roleId".into(), json!(have.role_id));
    m.insert("responseFormat".into(), have.response_format.clone());
    m.insert(
        "modelConfiguration".into(),
        have.model_configuration.clone(),
    );
    m.insert("evaluationInputs".into(), json!(have.evaluation_inputs));
    m
}

/// Whitespace as 2.21 stores a string it is sent: trimmed, each run one space, line breaks
/// included (`twenty-shared/src/utils/trim-and-remove-duplicated-whitespaces-from-string.ts`;
/// on create for the text fields, on update for every string, nested ones too).
fn stored(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.split_whitespace().collect::<Vec<_>>().join(" ")),
        Value::Array(a) => Value::Array(a.iter().map(stored).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), stored(x))).collect()),
        other => other.clone(),
    }
}

/// Compares a source agent with the target's (if any). A create leaves out what is null (every
/// nullable input is optional, `dtos/create-agent.input.ts`); an update sends `id`, `name` and
/// the fields that differ, `null` included (a `roleId: null` removes the role,
/// `computeAgentFlatRoleTargetToUpdate`).
fn decide(agent: &Agent, existing: Option<&TargetAgent>, role_id: Option<Uuid>) -> Decision {
    let want = desired(agent, role_id);
    let Some(have) = existing else {
        let input: Map<String, Value> = want.into_iter().filter(|(_, v)| !v.is_null()).collect();
        return Decision::Create(Value::Object(input));
    };
    let held = held(have);
    let mut input = Map::new();
    for (k, v) in &want {
        // Compared as the target stores them, so a prompt on several lines is not sent again
        // on every run.
        if held.get(k).map(stored) != Some(stored(v)) {
            input.insert(k.clone(), v.clone());
        }
    }
    if input.is_empty() {
        return Decision::Unchanged;
    }
    input.insert("id".into(), json!(have.id));
    input.insert("name".into(), json!(agent.name));
    Decision::Update(Value::Object(input))
}

/// The target's agent standing for `agent`: the one the ledger matched, else a custom one of
/// the same name; none of `taken`.
fn find<'a>(
    agent: &Agent,
    have: &'a [TargetAgent],
    taken: &[Uuid],
    names: &Names<'_>,
) -> Option<&'a TargetAgent> {
    let free = || {
        have.iter()
            .filter(|a| a.is_custom && !taken.contains(&a.id))
    };
    let known = names.matched(LEDGER, agent.id);
    free()
        .find(|a| Some(a.id) == known)
        .or_else(|| free().find(|a| a.name == agent.name))
}

/// The agent's role on the target, noted when the target has none of that label.
fn role_id(
    agent: &Agent,
    roles: &Roles<'_>,
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Option<Uuid> {
    let label = agent.role.as_deref()?;
    let id = roles.id(label, names);
    if id.is_none() {
        report.notes.push(format!(
            "agent \"{}\": the target has no role \"{label}\"; moved without a role",
            agent.label
        ));
    }
    id
}

/// What [`sync`] would do (for `plan`): per agent created, updated or unchanged, and the
/// requests (the reading of the target's agents, one per write).
pub(crate) fn plan(
    agents: &[Agent],
    have: &[TargetAgent],
    roles: &Roles<'_>,
    names: &Names<'_>,
    report: &mut ConfigReport,
) {
    report.requests += 1;
    let mut taken = Vec::new();
    for agent in agents {
        let existing = find(agent, have, &taken, names);
        taken.extend(existing.map(|a| a.id));
        let role = role_id(agent, roles, names, report);
        let decision = decide(agent, existing, role);
        report.requests += u64::from(decision != Decision::Unchanged);
        let counts = report.kind(KIND);
        match decision {
            Decision::Create(_) => counts.created += 1,
            Decision::Update(_) => counts.updated += 1,
            Decision::Unchanged => counts.unchanged += 1,
        }
    }
}

/// Moves the custom agents: reads the target's once, then creates or updates each that
/// differs. A refusal is noted (a refused create kept for the runbook) and the next agent goes
/// on; the target being down or the key refused stops the stage (the disposition decides).
pub(super) async fn sync<D: Destination>(
    agents: &[Agent],
    target: &D,
    roles: &[TargetRole],
    names: &Names<'_>,
    report: &mut ConfigReport,
) -> Result<(), TargetError> {
    let Some(have) = read_target(agents, target, report).await? else {
        return Ok(());
    };
    let roles = Roles {
        target: roles,
        planned: None,
    };
    let mut taken = Vec::new();
    for agent in agents {
        let existing = find(agent, &have, &taken, names);
        if let Some(a) = existing {
            taken.push(a.id);
            names.stands_as(LEDGER, agent.id, a.id);
        }
        let role = role_id(agent, &roles, names, report);
        let decision = decide(agent, existing, role);
        if let Decision::Create(input) | Decision::Update(input) = &decision {
            note_collapsed(agent, input, report);
        }
        match decision {
            Decision::Unchanged => report.kind(KIND).unchanged += 1,
            Decision::Update(input) => {
                match deliver(target, || agents::update_agent(target, input.clone())).await? {
                    Ok(_) => report.kind(KIND).updated += 1,
                    Err(e) => report.notes.push(format!(
                        "the target refused to update the AI agent \"{}\": {e}",
                        agent.label
                    )),
                }
            }
            Decision::Create(input) => {
                match deliver(target, || agents::create_agent(target, input.clone())).await? {
                    Ok(created) => {
                        names.stands_as(LEDGER, agent.id, created.id);
                        taken.push(created.id);
                        report.kind(KIND).created += 1;
                    }
                    Err(e) => {
                        // A create sent again after its answer was lost is refused as a
                        // duplicate name: done, if the target now holds a custom agent of
                        // that name.
                        let again = deliver(target, || agents::agents(target)).await?;
                        let made = again.ok().and_then(|all| {
                            all.into_iter().find(|a| {
                                a.is_custom && a.name == agent.name && !taken.contains(&a.id)
                            })
                        });
                        if let Some(made) = made {
                            names.stands_as(LEDGER, agent.id, made.id);
                            taken.push(made.id);
                            report.kind(KIND).created += 1;
                            continue;
                        }
                        refused(agent, &e, report);
                    }
                }
            }
        }
    }
    Ok(())
}

/// What `verify` finds of the custom agents on the target.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// One line per agent the target holds with other values (the fields named).
    pub(crate) differing: Vec<String>,
    /// The source agents the target lacks: `migrate` created them or noted the target's
    /// refusal, so they are runbook steps, not differences.
    pub(crate) missing: Vec<Uuid>,
    /// The names of every agent the target has.
    pub(crate) names: Vec<String>,
}

/// Compares the custom agents with the target's, as [`sync`] would, sending nothing.
pub(crate) async fn differences<D: Destination>(
    agents: &[Agent],
    target: &D,
    roles: &[TargetRole],
    names: &Names<'_>,
) -> Result<Seen, TargetError> {
    let mut scratch = ConfigReport::default();
    let Some(have) = read_target(agents, target, &mut scratch).await? else {
        return Ok(Seen::default());
    };
    let roles = Roles {
        target: roles,
        planned: None,
    };
    let mut taken = Vec::new();
    let mut out = Seen {
        names: have.iter().map(|a| a.name.clone()).collect(),
        ..Seen::default()
    };
    for agent in agents {
        let existing = find(agent, &have, &taken, names);
        taken.extend(existing.map(|a| a.id));
        let role = role_id(agent, &roles, names, &mut scratch);
        match decide(agent, existing, role) {
            Decision::Unchanged => {}
            Decision::Create(_) => out.missing.push(agent.id),
            Decision::Update(input) => {
                // `name` goes with every update; it differs only when the target's does.
                let renamed = existing.is_some_and(|e| e.name != agent.name);
                let fields: Vec<&str> = input
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .map(String::as_str)
                    .filter(|k| *k != "id" && (*k != "name" || renamed))
                    .collect();
                out.differing.push(format!(
                    "the AI agent \"{}\" ({}) differs on the target: {}",
                    agent.label,
                    agent.name,
                    fields.join(", ")
                ));
            }
        }
    }
    Ok(out)
}

/// Notes a prompt the target will keep on one line (it collapses whitespace, [`stored`]).
fn note_collapsed(agent: &Agent, input: &Value, report: &mut ConfigReport) {
    if input.get("prompt").is_some_and(|p| stored(p) != *p) {
        report.notes.push(format!(
            "agent \"{}\": the target keeps its prompt with each run of spaces and line breaks as one space (Twenty 2.21 trims and collapses it)",
            agent.label
        ));
    }
}

/// The target's own words for a refusal.
fn reason(e: &TargetError) -> String {
    match e {
        TargetError::Rejected { messages, .. } => messages.join("; "),
        other => other.to_string(),
    }
}

/// Notes a refused create and keeps it for the runbook, with the target's own words.
fn refused(agent: &Agent, e: &TargetError, report: &mut ConfigReport) {
    let reason = reason(e);
    report.notes.push(format!(
        "the target refused to create the AI agent \"{}\" ({}), which the runbook lists: {reason}",
        agent.label, agent.name
    ));
    report.refused_agents.push(RefusedAgent {
        id: agent.id,
        label: agent.label.clone(),
        reason,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Agent {
        Agent {
            id: Uuid::from_u128(1),
            name: "dealHelper".into(),
            label: "Deal helper".into(),
            icon: Some("IconRobot".into()),
            description: None,
            prompt: "Summarise\n\nthe deals.".into(),
            model_id: "default-smart-model".into(),
            response_format: json!({"type": "text"}),
            model_configuration: Value::Null,
            evaluation_inputs: vec!["Acme".into()],
            role: Some("Sales".into()),
        }
    }

    /// The target's copy of [`agent`] as a real 2.21 answers it after the create.
    fn held(role: Option<Uuid>) -> TargetAgent {
        TargetAgent {
            id: Uuid::from_u128(9),
            name: "dealHelper".into(),
            label: "Deal helper".into(),
            icon: Some("IconRobot".into()),
            description: None,
            prompt: "Summarise the deals.".into(),
            model_id: "default-smart-model".into(),
            response_format: json!({"type": "text"}),
            role_id: role,
            is_custom: true,
            model_configuration: Value::Null,
            evaluation_inputs: vec!["Acme".into()],
        }
    }

    #[test]
    fn an_agent_the_target_lacks_is_created_without_its_null_fields_and_with_its_role() {
        let role = Uuid::from_u128(5);
        let Decision::Create(input) = decide(&agent(), None, Some(role)) else {
            panic!("a create");
        };
        assert_eq!(
            input,
            json!({"name": "dealHelper", "label": "Deal helper", "icon": "IconRobot",
                   "prompt": "Summarise\n\nthe deals.", "modelId": "default-smart-model",
                   "roleId": role, "responseFormat": {"type": "text"},
                   "evaluationInputs": ["Acme"]})
        );
    }

    #[test]
    fn an_agent_equal_but_for_the_whitespace_the_target_collapses_is_unchanged() {
        let role = Uuid::from_u128(5);
        assert_eq!(
            decide(&agent(), Some(&held(Some(role))), Some(role)),
            Decision::Unchanged
        );
    }

    #[test]
    fn a_relabelled_agent_is_updated_with_its_name_and_only_what_differs() {
        let (role, other) = (Uuid::from_u128(5), Uuid::from_u128(6));
        let mut a = agent();
        a.label = "Deal summariser".into();
        a.model_configuration = json!({"webSearch": {"enabled": true}});
        let Decision::Update(input) = decide(&a, Some(&held(Some(other))), Some(role)) else {
            panic!("an update");
        };
        assert_eq!(
            input,
            json!({"id": Uuid::from_u128(9), "name": "dealHelper", "label": "Deal summariser",
                   "roleId": role, "modelConfiguration": {"webSearch": {"enabled": true}}})
        );
    }

    #[test]
    fn a_role_the_source_agent_no_longer_has_is_removed_with_a_null() {
        let Decision::Update(input) = decide(&agent(), Some(&held(Some(Uuid::from_u128(6)))), None)
        else {
            panic!("an update");
        };
        assert_eq!(
            input,
            json!({"id": Uuid::from_u128(9), "name": "dealHelper", "roleId": null})
        );
    }
}
