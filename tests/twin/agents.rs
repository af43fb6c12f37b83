//! AI agents on `/metadata` (`MM/ai/ai-agent/agent.resolver.ts`): the rules the recorded golden
//! `config-agents` does not show, each from the Twenty file named.

use serde_json::{json, Value};

use super::{start, Env};

const AGENT: &str = "id name label prompt roleId isCustom";

async fn create(env: &Env, input: Value) -> Value {
    env.gql(
        &format!("mutation($i: CreateAgentInput!) {{ createOneAgent(input: $i) {{ {AGENT} }} }}"),
        json!({ "i": input }),
    )
    .await
}

async fn update(env: &Env, input: Value) -> Value {
    env.gql(
        &format!("mutation($i: UpdateAgentInput!) {{ updateOneAgent(input: $i) {{ {AGENT} }} }}"),
        json!({ "i": input }),
    )
    .await
}

fn role_id(env: &Env, label: &str) -> String {
    env.twin
        .roles()
        .iter()
        .find(|r| r.label == label)
        .map(|r| r.id.0.to_string())
        .expect("role")
}

// validators/utils/validate-flat-role-target-assignation-availability.util.ts
#[tokio::test]
async fn an_agent_given_a_role_not_assignable_to_agents_is_refused_and_not_created() {
    let env = start().await;
    let member = role_id(&env, "Member");
    let body = create(
        &env,
        json!({"label": "Deal helper", "prompt": "x", "modelId": "default-smart-model", "roleId": member}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "METADATA_VALIDATION_FAILED",
        "{body}"
    );
    let reason = &body["errors"][0]["extensions"]["errors"]["roleTarget"][0]["errors"][0];
    assert_eq!(reason["code"], "ROLE_CANNOT_BE_ASSIGNED_TO_ENTITY");
    assert_eq!(
        reason["message"],
        "Role \"Member\" cannot be assigned to agents"
    );
    assert!(env.twin.agents().iter().all(|a| a.name != "dealHelper"));
}

// utils/from-create-agent-input-to-flat-agent.util.ts (name from the label, whitespace
// collapsed); utils/from-update-agent-input-to-flat-agent-to-update.util.ts (roleId null
// removes the role target, a label with its name keeps the name)
#[tokio::test]
async fn a_created_agent_is_named_from_its_label_keeps_its_name_when_sent_and_loses_its_role_on_null(
) {
    let env = start().await;
    let body = create(
        &env,
        json!({"label": "  Deal   helper ", "prompt": "Line one.\n\nLine two.", "modelId": "default-fast-model"}),
    )
    .await;
    let agent = &body["data"]["createOneAgent"];
    assert_eq!(
        (
            &agent["name"],
            &agent["label"],
            &agent["prompt"],
            &agent["isCustom"]
        ),
        (
            &json!("dealHelper"),
            &json!("Deal helper"),
            &json!("Line one. Line two."),
            &json!(true)
        ),
        "{body}"
    );
    let id = agent["id"].clone();
    // The role is a custom one that may be given to agents.
    let role = env
        .gql(
            "mutation($i: CreateRoleInput!) { createOneRole(createRoleInput: $i) { id } }",
            json!({"i": {"id": "8a0b5f3c-2d5e-4f7a-9b1c-3d4e5f6a7b8c", "label": "Analyst", "canBeAssignedToAgents": true}}),
        )
        .await;
    assert!(role.get("errors").is_none(), "{role}");
    let with_role = update(
        &env,
        json!({"id": id, "name": "dealHelper", "label": "Deal summariser", "roleId": "8a0b5f3c-2d5e-4f7a-9b1c-3d4e5f6a7b8c"}),
    )
    .await;
    let agent = &with_role["data"]["updateOneAgent"];
    assert_eq!(
        (&agent["name"], &agent["roleId"]),
        (
            &json!("dealHelper"),
            &json!("8a0b5f3c-2d5e-4f7a-9b1c-3d4e5f6a7b8c")
        ),
        "{with_role}"
    );
    let without = update(&env, json!({"id": id, "roleId": null})).await;
    assert_eq!(
        without["data"]["updateOneAgent"]["roleId"],
        Value::Null,
        "{without}"
    );
}

// validators/services/flat-agent-validator.service.ts (AGENT_IS_STANDARD)
#[tokio::test]
async fn the_standard_helper_agent_is_neither_updated_nor_deleted() {
    let env = start().await;
    let helper = env
        .twin
        .agents()
        .into_iter()
        .find(|a| a.name == "helper")
        .expect("the standard helper");
    let id = helper.id.0.to_string();
    let body = update(&env, json!({"id": id, "label": "Mine"})).await;
    let reason = &body["errors"][0]["extensions"]["errors"]["agent"][0]["errors"][0];
    assert_eq!(reason["code"], "AGENT_IS_STANDARD", "{body}");
    let body = env
        .gql(
            "mutation($i: AgentIdInput!) { deleteOneAgent(input: $i) { id } }",
            json!({"i": {"id": id}}),
        )
        .await;
    let reason = &body["errors"][0]["extensions"]["errors"]["agent"][0]["errors"][0];
    assert_eq!(reason["message"], "Cannot delete standard agent", "{body}");
    assert!(env
        .twin
        .agents()
        .iter()
        .any(|a| a.name == "helper" && a.label == "Helper"));
}
