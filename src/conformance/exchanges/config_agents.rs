//! Custom AI agents (`MM/ai/ai-agent/agent.resolver.ts`) as an Admin key writes them.

use serde_json::json;

use super::{ex, md};
use crate::conformance::Exchange;

pub(super) fn agents() -> Vec<Exchange> {
    vec![
        // Custom AI agents (`MM/ai/ai-agent/agent.resolver.ts`, `SettingsPermissionGuard(AI)`
        // and `AI_SETTINGS` for writes, which an Admin key has): no id in the input (the
        // server makes one), `name` unique per workspace, a model the workspace lacks refused.
        ex(
            "config-agents",
            vec![
                md(format!("query {{ findManyAgents {{ {AGENT} }} }}"), json!({})),
                md(
                    format!("mutation C($i: CreateAgentInput!) {{ createOneAgent(input: $i) {{ {AGENT} }} }}"),
                    json!({ "i": { "name": "cf-${Run}-agent", "label": "Deal helper",
                                   "description": "Summarises deals", "icon": "IconRobot",
                                   "prompt": "You summarise the deals of a company.",
                                   "modelId": "default-smart-model" } }),
                )
                .capture("agentId", "/data/createOneAgent/id"),
                md(
                    "mutation C($i: CreateAgentInput!) { createOneAgent(input: $i) { id } }",
                    json!({ "i": { "name": "cf-${Run}-agent", "label": "Again",
                                   "prompt": "x", "modelId": "default-smart-model" } }),
                ),
                md(
                    "mutation C($i: CreateAgentInput!) { createOneAgent(input: $i) { id } }",
                    json!({ "i": { "name": "cf-${Run}-other", "label": "Other",
                                   "prompt": "x", "modelId": "no-such-model" } }),
                ),
                md(
                    format!("mutation U($i: UpdateAgentInput!) {{ updateOneAgent(input: $i) {{ {AGENT} }} }}"),
                    json!({ "i": { "id": "${agentId}", "label": "Deal summariser",
                                   "prompt": "You summarise deals." } }),
                ),
                md(
                    "mutation D($i: AgentIdInput!) { deleteOneAgent(input: $i) { id } }",
                    json!({ "i": { "id": "${agentId}" } }),
                ),
            ],
        ),
    ]
}

/// An agent as `findManyAgents` answers it (`MM/ai/ai-agent/dtos/agent.dto.ts`).
const AGENT: &str = "id name label icon description prompt modelId responseFormat roleId isCustom modelConfiguration evaluationInputs";
