//! Custom AI agents: created on the target with the API key (the server makes their ids),
//! found again by the ledger or their name on a rerun, updated in place, and a refused one
//! kept in the runbook with the target's reason.

use serde_json::{json, Value};
use twenty_migrate::fixture::config::config_id;
use twenty_migrate::fixture::config_agents::PROVIDER_MODEL;
use twenty_migrate::pipeline::{self, config::runbook::Runbook};
use twenty_migrate::twin::{Agent, Twin};

use super::{target, twin, world};

/// The twin's live custom agents, by name.
fn custom(twin: &Twin) -> Vec<Agent> {
    let mut agents: Vec<Agent> = twin.agents().into_iter().filter(|a| a.is_custom).collect();
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    agents
}

fn json_of(v: &Option<async_graphql::Json<Value>>) -> Value {
    v.as_ref().map_or(Value::Null, |j| j.0.clone())
}

#[tokio::test]
async fn a_custom_agent_lands_equal_with_its_role_and_one_on_a_model_the_target_lacks_is_refused_into_the_runbook(
) {
    let w = world(30).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();

    let report = pipeline::migrate(&opts, &t).await.expect("migrate");
    let config = report.config.expect("configuration");
    let c = &config.kinds["agents"];
    assert_eq!((c.created, c.updated, c.unchanged, c.runbook), (1, 0, 0, 1));

    // The deal helper, field by field, its role the target's Sales role.
    let agents = custom(&twin);
    assert_eq!(
        agents.len(),
        1,
        "only the agent the target accepts: {agents:#?}"
    );
    let deal = &agents[0];
    let sales = twin
        .roles()
        .into_iter()
        .find(|r| r.label == "Sales")
        .expect("Sales on the target");
    assert_eq!(
        (
            deal.name.as_str(),
            deal.label.as_str(),
            deal.icon.as_deref(),
            deal.description.as_deref(),
            deal.prompt.as_str(),
            deal.model_id.as_str(),
            deal.role_id.map(|r| r.0),
            &deal.evaluation_inputs,
        ),
        (
            "dealHelper",
            "Deal helper",
            Some("IconRobot"),
            Some("Summarises a company's open deals"),
            "You summarise the open deals of a company in three bullet points.",
            "default-smart-model",
            Some(sales.id.0),
            &vec!["Summarise the deals of Acme".to_owned()],
        )
    );
    assert_eq!(
        json_of(&deal.response_format),
        json!({"type": "json", "schema": {"type": "object", "properties": {"summary": {"type": "string"}, "risk": {"type": "string"}}, "required": ["summary"]}})
    );
    assert_eq!(
        json_of(&deal.model_configuration),
        json!({"webSearch": {"enabled": false}})
    );
    assert_ne!(
        deal.id.0,
        config_id(w.spec.id, "agent/deal-helper"),
        "the server makes the id"
    );
    // The standard helper is the target's own, not a second one.
    let helpers = twin.agents().iter().filter(|a| a.name == "helper").count();
    assert_eq!(helpers, 1);

    // The churn watcher's model is not offered: refused, noted with the reason, in the runbook.
    let reason = "The selected model is not available in this workspace.";
    assert!(
        config
            .notes
            .iter()
            .any(|n| n.contains("Churn watcher") && n.contains(reason)),
        "{:#?}",
        config.notes
    );
    let book = Runbook::read(opts.runbook_dir())
        .unwrap()
        .expect("runbook.json");
    let steps: Vec<_> = book
        .steps
        .iter()
        .filter(|s| s.key.starts_with("agent:"))
        .collect();
    assert_eq!(steps.len(), 1, "{steps:#?}");
    let churn = config_id(w.spec.id, "agent/churn-watcher");
    assert_eq!(steps[0].key, format!("agent:{churn}"));
    assert!(
        steps[0].title.contains("\"Churn watcher\"") && steps[0].title.contains(reason),
        "{}",
        steps[0].title
    );
    assert_eq!(steps[0].details["modelId"], PROVIDER_MODEL);
}

#[tokio::test]
async fn a_rerun_writes_no_agent_it_moved_and_tries_the_refused_one_again() {
    let w = world(30).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");
    let before = custom(&twin);

    let again = pipeline::migrate(&opts, &t).await.expect("rerun");
    let config = again.config.expect("configuration");
    let c = &config.kinds["agents"];
    assert_eq!((c.created, c.updated, c.unchanged, c.runbook), (0, 0, 1, 1));
    let after = custom(&twin);
    assert_eq!(after.len(), 1);
    // Not written again: same id, same update time.
    assert_eq!(
        (after[0].id, &after[0].updated_at),
        (before[0].id, &before[0].updated_at)
    );
    assert!(
        config.notes.iter().any(|n| n.contains("Churn watcher")),
        "the refused one is tried again and refused again: {:#?}",
        config.notes
    );
}

#[tokio::test]
async fn an_agent_relabelled_in_the_source_is_updated_in_place_and_keeps_its_name() {
    let w = world(30).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");
    let before = custom(&twin);

    w.client
        .execute(
            "UPDATE core.agent SET label = 'Deal summariser' WHERE name = 'dealHelper'",
            &[],
        )
        .await
        .expect("relabel");
    let again = pipeline::migrate(&opts, &t).await.expect("rerun");
    let c = &again.config.expect("configuration").kinds["agents"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 1, 0));
    let after = custom(&twin);
    assert_eq!(after.len(), 1, "updated, not doubled: {after:#?}");
    assert_eq!(after[0].id, before[0].id);
    // 2.21 would rename it `dealSummariser` from the label; the name sent keeps it.
    assert_eq!(
        (after[0].label.as_str(), after[0].name.as_str()),
        ("Deal summariser", "dealHelper")
    );
}

#[tokio::test]
async fn an_agent_renamed_in_the_target_is_found_again_by_the_ledger_and_named_back_not_doubled() {
    let w = world(30).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");
    let before = custom(&twin);
    let matches = twenty_migrate::state::Ledger::read_config_matches(&opts.state_path);
    let source = config_id(w.spec.id, "agent/deal-helper");
    assert_eq!(
        matches.get(&("agent".to_owned(), source)),
        Some(&before[0].id.0),
        "the ledger keeps the server's id"
    );

    // Someone renames it on the target: its name no longer finds it.
    super::config::metadata(
        &twin,
        "mutation($i: UpdateAgentInput!) { updateOneAgent(input: $i) { id } }",
        json!({"i": {"id": before[0].id.0, "name": "renamedOnTheTarget"}}),
    )
    .await;
    // Resumed on the same ledger (`--restart` forgets the matches).
    let opts = twenty_migrate::pipeline::MigrateOptions {
        restart: false,
        ..opts
    };
    let again = pipeline::migrate(&opts, &t).await.expect("rerun");
    let c = &again.config.expect("configuration").kinds["agents"];
    assert_eq!((c.created, c.updated), (0, 1));
    let after = custom(&twin);
    assert_eq!(after.len(), 1, "not doubled: {after:#?}");
    assert_eq!(
        (after[0].id, after[0].name.as_str()),
        (before[0].id, "dealHelper")
    );
}

#[tokio::test]
async fn verify_lists_an_agent_changed_on_the_target_and_keeps_the_refused_one_an_open_step_until_it_is_there(
) {
    let w = world(30).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(
        check.config_pending.is_empty(),
        "{:#?}",
        check.config_pending
    );
    assert!(
        check
            .runbook_open
            .iter()
            .any(|s| s.contains("\"Churn watcher\"")),
        "{:#?}",
        check.runbook_open
    );

    let deal = custom(&twin).remove(0);
    super::config::metadata(
        &twin,
        "mutation($i: UpdateAgentInput!) { updateOneAgent(input: $i) { id } }",
        json!({"i": {"id": deal.id.0, "name": "dealHelper", "prompt": "Something else."}}),
    )
    .await;
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert_eq!(
        check.config_pending,
        ["the AI agent \"Deal helper\" (dealHelper) differs on the target: prompt"]
    );

    // A person recreates the refused one by hand, on a model the target offers: the step is
    // done, and the model it differs in is listed.
    super::config::metadata(
        &twin,
        "mutation($i: CreateAgentInput!) { createOneAgent(input: $i) { id } }",
        json!({"i": {"name": "churnWatcher", "label": "Churn watcher", "icon": "IconAlertTriangle",
                     "description": "Flags companies likely to churn",
                     "prompt": "You read a company's notes and tasks and say how likely it is to churn.",
                     "modelId": "default-smart-model"}}),
    )
    .await;
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(
        !check
            .runbook_open
            .iter()
            .any(|s| s.contains("Churn watcher")),
        "{:#?}",
        check.runbook_open
    );
    assert!(
        check.config_pending.contains(
            &"the AI agent \"Churn watcher\" (churnWatcher) differs on the target: modelId"
                .to_owned()
        ),
        "{:#?}",
        check.config_pending
    );
}

#[tokio::test]
async fn a_target_without_agents_in_its_api_gets_the_rest_of_the_configuration_and_the_agents_in_the_runbook(
) {
    let w = world(30).await;
    let twin = twin(w.members(), 60).await;
    let older = super::destination::FailsOneBatch::new(
        target(&twin, 1_000_000),
        "none",
        usize::MAX,
        super::destination::refused_for_its_content,
    )
    .without_field("findManyAgents");

    let report = pipeline::migrate(&w.options(), &older)
        .await
        .expect("migrate");
    let config = report.config.expect("configuration");
    assert!(
        config
            .notes
            .iter()
            .any(|n| n.contains("does not list its AI agents")
                && n.contains("2 custom agents not moved")),
        "{:#?}",
        config.notes
    );
    assert_eq!(config.kinds["agents"].runbook, 2, "{:#?}", config.kinds);
    assert!(config.kinds["views"].created > 0, "the rest moved");
    assert!(custom(&twin).is_empty());
    let book = Runbook::read(w.options().runbook_dir())
        .unwrap()
        .expect("runbook.json");
    let titles: Vec<&str> = book
        .steps
        .iter()
        .filter(|s| s.key.starts_with("agent:"))
        .map(|s| s.title.as_str())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:#?}");
    assert!(
        titles[0].contains("it does not list AI agents: Cannot query field \"findManyAgents\""),
        "{}",
        titles[0]
    );
}
