//! The workspace's custom AI agents (`core.agent`, 2.x; `MM/ai/ai-agent/entities/agent.entity.ts`)
//! with the role their `core."roleTarget"` row (`agentId`) gives them, by label. The standard
//! agents (`isCustom` false: Twenty's own `helper`) are the target's already and are left out.

use std::collections::HashMap;

use serde_json::{json, Value};
use uuid::Uuid;

use super::config::{boolean, text, uuid, Reader, Row};
use super::SourceError;
use crate::model::config::Agent;

/// `AUTO_SELECT_SMART_MODEL_ID`, the column's default (`twenty-shared/src/constants/AutoSelectSmartModelId.ts`).
const DEFAULT_MODEL: &str = "default-smart-model";

/// The live custom agents, by name; `targets` are the role target rows, `labels` role id →
/// label.
pub(crate) async fn read_agents(
    r: &Reader<'_>,
    targets: &[Row],
    labels: &HashMap<Uuid, String>,
) -> Result<Vec<Agent>, SourceError> {
    let roles: HashMap<Uuid, String> = targets
        .iter()
        .filter_map(|t| {
            Some((
                uuid(t, "agentId")?,
                labels.get(&uuid(t, "roleId")?)?.clone(),
            ))
        })
        .collect();
    let mut agents: Vec<Agent> = r
        .rows("core", "agent")
        .await?
        .iter()
        .filter(|a| boolean(a, "isCustom") == Some(true))
        .filter_map(|a| agent(a, &roles))
        .collect();
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(agents)
}

fn agent(a: &Row, roles: &HashMap<Uuid, String>) -> Option<Agent> {
    let id = uuid(a, "id")?;
    let name = text(a, "name")?;
    let label = text(a, "label").unwrap_or_else(|| name.clone());
    let json_or = |key: &str, default: Value| match a.get(key) {
        Some(v) if !v.is_null() => v.clone(),
        _ => default,
    };
    Some(Agent {
        id,
        label,
        icon: text(a, "icon"),
        description: text(a, "description"),
        prompt: text(a, "prompt").unwrap_or_default(),
        model_id: text(a, "modelId")
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        // The column's default; an older row may hold null (`1763622159656-update-agent-response-format.ts`).
        response_format: json_or("responseFormat", json!({"type": "text"})),
        model_configuration: json_or("modelConfiguration", Value::Null),
        evaluation_inputs: a
            .get("evaluationInputs")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        role: roles.get(&id).cloned(),
        name,
    })
}
