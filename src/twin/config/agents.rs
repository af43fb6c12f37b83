//! AI agents (`MM/ai/ai-agent/agent.resolver.ts`: `WorkspaceAuthGuard` +
//! `SettingsPermissionGuard(AI)`, writes `AI_SETTINGS`, both of which an Admin key has), as a
//! real 2.21 answered them (golden `config-agents`). Rules, each from the file named (under
//! `MM/ai/ai-agent/` unless a path says otherwise; `VAL/` as in [`super`]):
//! - `createOneAgent` takes no id: the server makes one (`dtos/create-agent.input.ts`,
//!   `utils/from-create-agent-input-to-flat-agent.util.ts:41`), forces `isCustom: true`
//!   (`agent.resolver.ts:71-74`), trims and collapses the whitespace of `name`, `label`, `icon`,
//!   `description`, `prompt` and `modelId` (`from-create-agent-input-to-flat-agent.util.ts:34-38`,
//!   `twenty-shared/src/utils/trim-and-remove-duplicated-whitespaces-from-string.ts`: `\s+` →
//!   one space, line breaks included), derives a missing `name` from the label (`:45-47`),
//!   defaults `responseFormat` to `{type: text}`, `modelConfiguration` to null and
//!   `evaluationInputs` to `[]` (`:53-60`), and gives a `roleId` a role target (`:65-88`);
//! - a `modelId` the workspace does not offer is refused before anything
//!   (`agent.resolver.ts:65-70`, `MM/ai/ai-models/services/ai-model-registry.service.ts:295-323`):
//!   `INTERNAL_SERVER_ERROR`, subCode `AGENT_EXECUTION_FAILED`
//!   (`MM/ai/utils/ai-graphql-api-exception-handler.util.ts`). The twin's workspace offers the
//!   auto-select ids only ([`AVAILABLE_MODELS`]): it has no AI provider, and a concrete model
//!   must be in the provider's recommended set or the workspace's enabled list
//!   (`MM/ai/ai-models/utils/is-model-allowed.util.ts`);
//! - validation (`VAL/flat-agent-validator.service.ts`): label, prompt and model not empty
//!   (`INVALID_AGENT_INPUT`, `VAL/../utils/validate-agent-required-properties.util.ts`), `name`
//!   unique among live agents (`AGENT_ALREADY_EXISTS`, `validate-agent-name-uniqueness.util.ts`),
//!   the response format's type and schema (`validate-agent-response-format.util.ts`), standard
//!   agents neither updated nor deleted (`AGENT_IS_STANDARD`); the role must exist and be
//!   assignable to agents (`VAL/flat-role-target-validator.service.ts`,
//!   `validate-flat-role-target-assignation-availability.util.ts`); all under
//!   `METADATA_VALIDATION_FAILED` (`agent.service.ts:143-147`);
//! - `updateOneAgent` merges what is sent (null included, `src/utils/merge-update-in-existing-record.util.ts`)
//!   after collapsing the whitespace of every string in it, nested ones too
//!   (`twenty-shared/src/utils/extractAndSanitizeObjectStringFields.ts`), and **a `label` sent
//!   without `name` renames the agent** (`utils/from-update-agent-input-to-flat-agent-to-update.util.ts:152-159`,
//!   [`name_from_label`]); `roleId` left out keeps the role, null removes it, an id replaces it
//!   (`:45-104`);
//! - `deleteOneAgent` soft-deletes (`entities/agent.entity.ts`, `DeleteDateColumn`) and answers
//!   the agent; an unknown id → `NOT_FOUND` (`AGENT_NOT_FOUND`).
//!
//! A fresh workspace has the standard `helper` agent
//! (`engine/workspace-manager/twenty-standard-application/utils/agent-metadata/create-standard-flat-agent-metadata.util.ts`).

use async_graphql::{
    Context, Error, ErrorExtensions, InputObject, Json, MaybeUndefined, Object, SimpleObject,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    custom_application, now, reason, shared, validation_failed_as, Id, Reason, Refused, State,
};
use crate::twin::lock;
use crate::twin::schema::stable_id;

/// The models the twin's workspace offers: `AUTO_SELECT_SMART_MODEL_ID` and
/// `AUTO_SELECT_FAST_MODEL_ID` (`twenty-shared/src/constants/AutoSelect*ModelId.ts`), available
/// while the workspace has any model (`workspace-has-enabled-models.util.ts`), as the recorded
/// server's had.
pub const AVAILABLE_MODELS: [&str; 2] = ["default-smart-model", "default-fast-model"];

/// An agent (`dtos/agent.dto.ts`, `entities/agent.entity.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct Agent {
    pub id: Id,
    pub name: String,
    pub label: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub prompt: String,
    pub model_id: String,
    pub response_format: Option<Json<Value>>,
    /// The role its role target gives it (`agent.service.ts` `findManyAgents`).
    pub role_id: Option<Id>,
    pub is_custom: bool,
    pub application_id: Option<Id>,
    pub created_at: String,
    pub updated_at: String,
    pub model_configuration: Option<Json<Value>>,
    pub evaluation_inputs: Vec<String>,
    /// Soft-deleted.
    #[graphql(skip)]
    pub deleted_at: Option<String>,
}

/// The standard `helper` agent (recorded: golden `config-agents`, first step).
pub(super) fn helper() -> Agent {
    let at = now();
    Agent {
        id: Id(stable_id("agent", "helper")),
        name: "helper".into(),
        label: "Helper".into(),
        icon: Some("IconHelp".into()),
        description: Some(
            "AI agent specialized in helping users learn how to use Twenty CRM".into(),
        ),
        prompt: HELPER_PROMPT.into(),
        model_id: AVAILABLE_MODELS[0].into(),
        response_format: Some(Json(json!({"type": "text"}))),
        role_id: None,
        is_custom: false,
        application_id: Some(Id(stable_id("application", "standard"))),
        created_at: at.clone(),
        updated_at: at,
        model_configuration: Some(Json(json!({}))),
        evaluation_inputs: Vec::new(),
        deleted_at: None,
    }
}

const HELPER_PROMPT: &str = "You are a Helper Agent for Twenty. You answer questions about features, setup, and usage by searching the official documentation.\n\nCore workflow:\n1. Use search_help_center tool to find relevant documentation\n2. If the first search doesn't yield complete results, try different search terms\n3. Synthesize information from multiple articles when needed\n4. Provide clear, step-by-step answers based on the documentation\n5. Be honest if the docs don't cover the topic\n\nWhen to search:\n- \"How to\" questions\n- Feature explanations\n- Setup and configuration help\n- Troubleshooting issues\n- Best practices\n\nResponse format:\n- Summarize key information from the documentation\n- Break down complex topics into clear steps\n- Include important notes or prerequisites\n- Use markdown for readability\n\nAlways base answers on official Twenty documentation. Be patient and helpful.";

/// `CreateAgentInput` (`dtos/create-agent.input.ts`).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateAgentInput {
    pub name: Option<String>,
    pub label: String,
    pub icon: Option<String>,
    pub description: Option<String>,
    pub prompt: String,
    pub model_id: String,
    pub role_id: Option<Id>,
    pub response_format: Option<Json<Value>>,
    pub model_configuration: Option<Json<Value>>,
    pub evaluation_inputs: Option<Vec<String>>,
}

/// `UpdateAgentInput` (`dtos/update-agent.input.ts`): absent and null differ.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateAgentInput {
    pub id: Id,
    pub name: MaybeUndefined<String>,
    pub label: MaybeUndefined<String>,
    pub icon: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub prompt: MaybeUndefined<String>,
    pub model_id: MaybeUndefined<String>,
    pub role_id: MaybeUndefined<Id>,
    pub response_format: MaybeUndefined<Json<Value>>,
    pub model_configuration: MaybeUndefined<Json<Value>>,
    pub evaluation_inputs: MaybeUndefined<Vec<String>>,
}

/// `AgentIdInput` (`dtos/agent-id.input.ts`).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct AgentIdInput {
    pub id: Id,
}

/// `trimAndRemoveDuplicatedWhitespacesFromString`: trimmed, every run of whitespace one space.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every string in `v` collapsed, to the depth `extractAndSanitizeObjectStringFields` goes (10).
fn collapse_json(v: Value, depth: usize) -> Value {
    match v {
        Value::String(s) if depth < 10 => Value::String(collapse(&s)),
        Value::Array(a) if depth < 10 => {
            Value::Array(a.into_iter().map(|x| collapse_json(x, depth)).collect())
        }
        Value::Object(m) if depth < 10 => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k, collapse_json(x, depth + 1)))
                .collect(),
        ),
        other => other,
    }
}

/// `computeMetadataNameFromLabel` (`twenty-shared/src/metadata/utils/compute-metadata-name-from-label.util.ts`):
/// `n` before a leading digit, the label slugified to ASCII letters and digits, lodash's
/// `camelCase`, `Custom` after a reserved name. The twin drops non-ASCII letters where
/// `transliteration`'s `slugify` would transliterate them, and splits words at separators and
/// before a capital only (lodash also splits `XMLHttp` and letters from digits).
pub fn name_from_label(label: &str) -> String {
    let label = if label.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{label}")
    } else {
        label.to_owned()
    };
    // lodash splits words on separators and on a lower-case letter or digit before a capital.
    let mut words: Vec<String> = Vec::new();
    for part in label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut word = String::new();
        let mut prev: Option<char> = None;
        for c in part.chars() {
            if c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase()) {
                words.push(std::mem::take(&mut word));
            }
            word.push(c);
            prev = Some(c);
        }
        words.push(word);
    }
    let mut name = String::new();
    for (i, w) in words.iter().enumerate() {
        let lower = w.to_ascii_lowercase();
        if i == 0 {
            name.push_str(&lower);
        } else {
            let mut cs = lower.chars();
            if let Some(f) = cs.next() {
                name.push(f.to_ascii_uppercase());
                name.push_str(cs.as_str());
            }
        }
    }
    if crate::model::names::RESERVED_METADATA_NAMES.contains(&name.as_str()) {
        name.push_str("Custom");
    }
    name
}

/// An `AiException` through the AI exception handler.
fn ai_error(message: &str, code: &'static str, sub_code: &'static str, friendly: &str) -> Error {
    let friendly = friendly.to_owned();
    Error::new(message).extend_with(move |_, e| {
        e.set("code", code);
        e.set("subCode", sub_code);
        e.set("userFriendlyMessage", friendly.clone());
    })
}

/// `validateModelAvailability` (`ai-model-registry.service.ts:295-323`).
fn check_model(model_id: &str) -> async_graphql::Result<()> {
    if model_id.is_empty() || AVAILABLE_MODELS.contains(&model_id) {
        return Ok(());
    }
    Err(ai_error(
        "The selected model is not available in this workspace.",
        "INTERNAL_SERVER_ERROR",
        "AGENT_EXECUTION_FAILED",
        "Agent execution failed.",
    ))
}

/// `Agent not found` (`from-update-agent-input-to-flat-agent-to-update.util.ts:138-141`,
/// `agent.service.ts` `findOneAgentById`): `NOT_FOUND`.
fn agent_not_found(friendly: &str) -> Error {
    ai_error("Agent not found", "NOT_FOUND", "AGENT_NOT_FOUND", friendly)
}

/// The agent's own validation reasons (`validate-agent-required-properties.util.ts`,
/// `validate-agent-name-uniqueness.util.ts`, `validate-agent-response-format.util.ts`); for an
/// update only the properties it changes.
fn agent_reasons(state: &State, a: &Agent, changed: Option<&[&str]>) -> Vec<Reason> {
    let checks = |p: &str| changed.is_none_or(|c| c.contains(&p));
    let mut out = Vec::new();
    for (prop, value, what) in [
        ("label", &a.label, "Label"),
        ("prompt", &a.prompt, "Prompt"),
        ("modelId", &a.model_id, "Model ID"),
    ] {
        if checks(prop) && value.is_empty() {
            let m = format!("{what} cannot be empty");
            out.push(reason("INVALID_AGENT_INPUT", m.clone(), Some(&m)));
        }
    }
    let taken = state
        .agents
        .iter()
        .any(|x| x.deleted_at.is_none() && x.id != a.id && x.name == a.name);
    if checks("name") && taken {
        out.push(reason(
            "AGENT_ALREADY_EXISTS",
            format!("Agent with name \"{}\" already exists", a.name),
            Some("An agent with this name already exists"),
        ));
    }
    if checks("responseFormat") {
        if let Some(Json(f)) = &a.response_format {
            let kind = f.get("type").and_then(Value::as_str).unwrap_or("");
            let schema = f.get("schema").is_some_and(|s| !s.is_null());
            if kind != "text" && kind != "json" {
                out.push(reason(
                    "INVALID_AGENT_INPUT",
                    "Response format type must be either \"text\" or \"json\"",
                    Some("Invalid response format type"),
                ));
            }
            if kind == "json" && !schema {
                out.push(reason(
                    "INVALID_AGENT_INPUT",
                    "Response format with type \"json\" must include a schema",
                    Some("JSON response format requires a schema"),
                ));
            }
            if kind == "text" && schema {
                out.push(reason(
                    "INVALID_AGENT_INPUT",
                    "Response format with type \"text\" should not include a schema",
                    Some("Text response format should not have a schema"),
                ));
            }
        }
    }
    out
}

/// The role target's reasons: the role exists and may be given to agents.
fn role_reasons(state: &State, role: Id) -> Vec<Reason> {
    match state.roles.iter().find(|r| r.id == role) {
        None => vec![reason(
            "INVALID_ROLE_TARGET_DATA",
            "Role not found",
            Some("Role not found"),
        )],
        Some(r) if !r.can_be_assigned_to_agents => {
            let m = format!("Role \"{}\" cannot be assigned to agents", r.label);
            vec![reason(
                "ROLE_CANNOT_BE_ASSIGNED_TO_ENTITY",
                m.clone(),
                Some(&m),
            )]
        }
        Some(_) => Vec::new(),
    }
}

/// Refuses with every reason found, the agent's and its role target's.
fn refuse(
    operation: &str,
    a: &Agent,
    agent: Vec<Reason>,
    role: Vec<Reason>,
) -> async_graphql::Result<()> {
    let mut refused = Vec::new();
    let verb = if operation == "create" {
        "creating"
    } else {
        "updating"
    };
    if !agent.is_empty() {
        let minimal = if operation == "create" {
            json!({"name": a.name, "universalIdentifier": Uuid::new_v4()})
        } else {
            json!({"universalIdentifier": Uuid::new_v4()})
        };
        refused.push(Refused {
            metadata_name: "agent",
            minimal,
            reasons: agent,
        });
    }
    if !role.is_empty() {
        refused.push(Refused {
            metadata_name: "roleTarget",
            minimal: json!({"universalIdentifier": Uuid::new_v4()}),
            reasons: role,
        });
    }
    if refused.is_empty() {
        return Ok(());
    }
    let message = format!("Multiple validation errors occurred while {verb} agent");
    Err(validation_failed_as(&message, operation, refused))
}

/// The agents' queries.
#[derive(Default)]
pub struct AgentQuery;

#[allow(clippy::unused_async)]
#[Object]
impl AgentQuery {
    /// Every live agent, the standard ones included (`agent.service.ts` `findManyAgents`).
    async fn find_many_agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agent>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(state
            .agents
            .iter()
            .filter(|a| a.deleted_at.is_none())
            .cloned()
            .collect())
    }

    /// One live agent.
    async fn find_one_agent(
        &self,
        ctx: &Context<'_>,
        input: AgentIdInput,
    ) -> async_graphql::Result<Agent> {
        let state = lock(&shared(ctx)?.config_state);
        state
            .agents
            .iter()
            .find(|a| a.id == input.id && a.deleted_at.is_none())
            .cloned()
            .ok_or_else(|| agent_not_found("Agent not found."))
    }
}

/// The agents' mutations.
#[derive(Default)]
pub struct AgentMutation;

#[allow(clippy::unused_async)]
#[Object]
impl AgentMutation {
    /// Creates a custom agent with an id of the server's.
    async fn create_one_agent(
        &self,
        ctx: &Context<'_>,
        input: CreateAgentInput,
    ) -> async_graphql::Result<Agent> {
        check_model(&input.model_id)?;
        let mut state = lock(&shared(ctx)?.config_state);
        let label = collapse(&input.label);
        let name = input
            .name
            .map(|n| collapse(&n))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| name_from_label(&label));
        let at = now();
        let agent = Agent {
            id: Id(Uuid::new_v4()),
            name,
            label,
            icon: input.icon.map(|s| collapse(&s)),
            description: input.description.map(|s| collapse(&s)),
            prompt: collapse(&input.prompt),
            model_id: collapse(&input.model_id),
            response_format: Some(
                input
                    .response_format
                    .unwrap_or(Json(json!({"type": "text"}))),
            ),
            role_id: input.role_id,
            is_custom: true,
            application_id: Some(Id(custom_application())),
            created_at: at.clone(),
            updated_at: at,
            model_configuration: input.model_configuration,
            evaluation_inputs: input.evaluation_inputs.unwrap_or_default(),
            deleted_at: None,
        };
        let role = input
            .role_id
            .map(|r| role_reasons(&state, r))
            .unwrap_or_default();
        refuse("create", &agent, agent_reasons(&state, &agent, None), role)?;
        state.agents.push(agent.clone());
        Ok(agent)
    }

    /// Updates an agent: what is sent replaces what it has; a label without a name renames it.
    async fn update_one_agent(
        &self,
        ctx: &Context<'_>,
        input: UpdateAgentInput,
    ) -> async_graphql::Result<Agent> {
        if let MaybeUndefined::Value(m) = &input.model_id {
            check_model(m)?;
        }
        let mut state = lock(&shared(ctx)?.config_state);
        let Some(at) = state
            .agents
            .iter()
            .position(|a| a.id == input.id && a.deleted_at.is_none())
        else {
            return Err(agent_not_found(
                "The agent you are looking for could not be found. It may have been deleted or you may not have access to it.",
            ));
        };
        let mut a = state.agents[at].clone();
        let mut changed: Vec<&str> = Vec::new();
        let text = |v: MaybeUndefined<String>| match v {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(s) => Some(Some(collapse(&s))),
        };
        let json = |v: MaybeUndefined<Json<Value>>| match v {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(Json(v)) => Some(Some(Json(collapse_json(v, 0)))),
        };
        let mut name = text(input.name);
        let label = text(input.label);
        if let (Some(Some(l)), None | Some(None)) = (&label, &name) {
            name = Some(Some(name_from_label(l)));
        }
        // A null where the entity has a NOT NULL column: the twin keeps "" (the real one fails).
        if let Some(v) = name {
            a.name = v.unwrap_or_default();
            changed.push("name");
        }
        if let Some(v) = label {
            a.label = v.unwrap_or_default();
            changed.push("label");
        }
        if let Some(v) = text(input.icon) {
            a.icon = v;
        }
        if let Some(v) = text(input.description) {
            a.description = v;
        }
        if let Some(v) = text(input.prompt) {
            a.prompt = v.unwrap_or_default();
            changed.push("prompt");
        }
        if let Some(v) = text(input.model_id) {
            a.model_id = v.unwrap_or_default();
            changed.push("modelId");
        }
        if let Some(v) = json(input.response_format) {
            a.response_format = v;
            changed.push("responseFormat");
        }
        if let Some(v) = json(input.model_configuration) {
            a.model_configuration = v;
        }
        match input.evaluation_inputs {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => a.evaluation_inputs = Vec::new(),
            MaybeUndefined::Value(v) => {
                a.evaluation_inputs = v.iter().map(|s| collapse(s)).collect();
            }
        }
        let mut role = Vec::new();
        match input.role_id {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => a.role_id = None,
            MaybeUndefined::Value(r) => {
                role = role_reasons(&state, r);
                a.role_id = Some(r);
            }
        }
        let mut reasons = agent_reasons(&state, &a, Some(&changed));
        if !a.is_custom {
            reasons.insert(
                0,
                reason(
                    "AGENT_IS_STANDARD",
                    "Cannot update standard agent",
                    Some("Cannot update standard agent"),
                ),
            );
        }
        refuse("update", &a, reasons, role)?;
        a.updated_at = now();
        state.agents[at] = a.clone();
        Ok(a)
    }

    /// Soft-deletes a custom agent and answers it.
    async fn delete_one_agent(
        &self,
        ctx: &Context<'_>,
        input: AgentIdInput,
    ) -> async_graphql::Result<Agent> {
        let mut state = lock(&shared(ctx)?.config_state);
        let Some(a) = state
            .agents
            .iter_mut()
            .find(|a| a.id == input.id && a.deleted_at.is_none())
        else {
            return Err(agent_not_found("Agent not found."));
        };
        if !a.is_custom {
            let standard = reason(
                "AGENT_IS_STANDARD",
                "Cannot delete standard agent",
                Some("Cannot delete standard agent"),
            );
            let refused = vec![Refused {
                metadata_name: "agent",
                minimal: json!({"name": a.name, "universalIdentifier": Uuid::new_v4()}),
                reasons: vec![standard],
            }];
            return Err(validation_failed_as(
                "Multiple validation errors occurred while deleting agent",
                "delete",
                refused,
            ));
        }
        a.deleted_at = Some(now());
        Ok(a.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_becomes_the_camel_case_name_twenty_derives() {
        assert_eq!(name_from_label("Deal summariser"), "dealSummariser");
        assert_eq!(name_from_label("  DEAL helper "), "dealHelper");
        assert_eq!(name_from_label("dealHelper"), "dealHelper");
        assert_eq!(name_from_label("2 cents"), "n2Cents");
        assert_eq!(name_from_label("Event"), "eventCustom");
    }

    #[test]
    fn whitespace_runs_collapse_to_one_space_line_breaks_included() {
        assert_eq!(collapse("  a\n\n b\tc "), "a b c");
        assert_eq!(
            collapse_json(json!({"k": ["x  y"]}), 0),
            json!({"k": ["x y"]})
        );
    }
}
