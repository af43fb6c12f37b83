//! The `/metadata` calls that move custom AI agents (`MM/ai/ai-agent/agent.resolver.ts`, `MM/`
//! being `packages/twenty-server/src/engine/metadata-modules/`), sent through
//! [`Destination::metadata_graphql`]: list the target's agents, create one (the server makes
//! its id: `CreateAgentInput` has none), update one.

use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Destination, TargetError};

/// An agent's fields as `Agent` answers them (`MM/ai/ai-agent/dtos/agent.dto.ts`).
const FIELDS: &str = "id name label icon description prompt modelId responseFormat roleId isCustom modelConfiguration evaluationInputs";

/// An agent on the target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetAgent {
    /// The target's id.
    pub id: Uuid,
    /// `name`, unique per workspace.
    pub name: String,
    /// `label`.
    pub label: String,
    /// `icon`.
    pub icon: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `prompt`.
    pub prompt: String,
    /// `modelId`.
    pub model_id: String,
    /// `responseFormat`.
    #[serde(default)]
    pub response_format: Value,
    /// The role its role target gives it.
    pub role_id: Option<Uuid>,
    /// `isCustom`: false for Twenty's standard agents.
    pub is_custom: bool,
    /// `modelConfiguration`.
    #[serde(default)]
    pub model_configuration: Value,
    /// `evaluationInputs`.
    #[serde(default)]
    pub evaluation_inputs: Vec<String>,
}

/// `findManyAgents`: every agent of the workspace, the standard ones included.
pub async fn agents<D: Destination>(target: &D) -> Result<Vec<TargetAgent>, TargetError> {
    let data = target
        .metadata_graphql(
            &format!("query {{ findManyAgents {{ {FIELDS} }} }}"),
            json!({}),
        )
        .await?;
    read(&data, "findManyAgents")
}

/// `createOneAgent(input: CreateAgentInput!)`; answers the agent as created.
pub async fn create_agent<D: Destination>(
    target: &D,
    input: Value,
) -> Result<TargetAgent, TargetError> {
    let query = format!(
        "mutation($input: CreateAgentInput!) {{ createOneAgent(input: $input) {{ {FIELDS} }} }}"
    );
    let data = target
        .metadata_graphql(&query, json!({ "input": input }))
        .await?;
    read(&data, "createOneAgent")
}

/// `updateOneAgent(input: UpdateAgentInput!)` (`input.id` names the agent; what is left out
/// stays, but for `name`: 2.21 derives it from a `label` sent without one).
pub async fn update_agent<D: Destination>(
    target: &D,
    input: Value,
) -> Result<TargetAgent, TargetError> {
    let query = format!(
        "mutation($input: UpdateAgentInput!) {{ updateOneAgent(input: $input) {{ {FIELDS} }} }}"
    );
    let data = target
        .metadata_graphql(&query, json!({ "input": input }))
        .await?;
    read(&data, "updateOneAgent")
}

fn read<T: serde::de::DeserializeOwned>(data: &Value, root: &str) -> Result<T, TargetError> {
    serde_json::from_value(data.get(root).cloned().unwrap_or(Value::Null))
        .map_err(|e| TargetError::Protocol(format!("{root} answered an unexpected shape: {e}")))
}
