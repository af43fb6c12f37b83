//! References to dashboards (issue 16): the configuration stage creates the dashboards after
//! the records, so an attachment's `targetDashboardId` is written after it, not dropped; a
//! rerun sends nothing for it, and a delta sends a changed one.

use std::collections::BTreeMap;

use serde_json::Value;
use twenty_migrate::destination::TargetError;
use twenty_migrate::pipeline::{self, MigrateOptions};
use twenty_migrate::twin::Twin;
use uuid::Uuid;

use super::destination::{quick_target, refused_for_its_content, FailsOneBatch};
use super::{read_back, target, twin, world, World};

/// The live source attachments that name a dashboard, with its id.
async fn attachments_on_dashboards(w: &World) -> BTreeMap<Uuid, Uuid> {
    let sql = format!(
        "SELECT id, \"targetDashboardId\" FROM \"{}\".attachment \
         WHERE \"targetDashboardId\" IS NOT NULL AND \"deletedAt\" IS NULL",
        w.schema()
    );
    w.client
        .query(&sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Batch upserts the twin received.
fn batches(twin: &Twin) -> u64 {
    twin.stats()
        .by_route
        .get("create_many")
        .copied()
        .unwrap_or(0)
}

/// Each source attachment's dashboard is the one its target record names.
async fn assert_links_kept(t: &twenty_migrate::destination::Target, want: &BTreeMap<Uuid, Uuid>) {
    let back = read_back(t, "attachments").await;
    for (id, dashboard) in want {
        let got = &back
            .get(&id.to_string())
            .unwrap_or_else(|| panic!("attachment {id} in the target"))["targetDashboardId"];
        assert_eq!(
            got,
            &Value::String(dashboard.to_string()),
            "attachment {id}: its dashboard"
        );
    }
}

/// The source's live dashboards, and its live attachments on one (the fixture puts one there;
/// this puts a second on the last dashboard).
async fn link_two_attachments(w: &World) -> (Vec<Uuid>, BTreeMap<Uuid, Uuid>) {
    let dashboards: Vec<Uuid> = w
        .client
        .query(
            &format!(
                "SELECT id FROM \"{}\".dashboard WHERE \"deletedAt\" IS NULL ORDER BY id",
                w.schema()
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(dashboards.len() >= 2, "the fixture has two dashboards");
    // The fixture puts one attachment on a dashboard: one more, on the last one.
    w.client
        .batch_execute(&format!(
            "UPDATE \"{s}\".attachment SET \"targetDashboardId\" = '{last}' WHERE id = \
             (SELECT id FROM \"{s}\".attachment WHERE \"targetDashboardId\" IS NULL \
              AND \"deletedAt\" IS NULL ORDER BY id LIMIT 1)",
            s = w.schema(),
            last = dashboards[dashboards.len() - 1]
        ))
        .await
        .unwrap();
    let linked = attachments_on_dashboards(w).await;
    assert!(linked.len() >= 2, "attachments on dashboards: {linked:?}");

    (dashboards, linked)
}

#[tokio::test]
async fn attachments_on_a_dashboard_keep_their_link_after_the_dashboards_are_created() {
    let w = world(150).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    // One ledger across the runs, so the later ones are delta passes.
    let opts = MigrateOptions {
        restart: false,
        ..w.options()
    };
    let (dashboards, linked) = link_two_attachments(&w).await;

    let report = pipeline::migrate(&opts, &t).await.expect("migrate");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    let dropped = report.dropped_fields.get("attachment");
    assert!(
        dropped.is_none_or(|d| d.iter().all(|f| f.field != "targetDashboard")),
        "{dropped:?}"
    );
    assert!(
        !report
            .not_kept
            .iter()
            .any(|n| n.contains("targetDashboard")),
        "{:#?}",
        report.not_kept
    );
    assert_links_kept(&t, &linked).await;
    let attachments = report
        .objects
        .iter()
        .find(|o| o.object == "attachment")
        .expect("attachments moved");
    assert_eq!(
        attachments.deferred_links,
        linked.len() as u64,
        "one link written per attachment on a dashboard"
    );

    // `verify` compares the field (no longer a loss it announces) and finds it equal.
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(check.is_clean(), "{}", check.render_text());
    assert!(
        !check
            .not_migrated
            .iter()
            .any(|n| n.field == "targetDashboard"),
        "{}",
        check.render_text()
    );

    // A rerun: no record batch at all (nothing changed, no reference left to write).
    let before = batches(&twin);
    let again = pipeline::migrate(&opts, &t).await.expect("rerun");
    assert_eq!(again.pass.number, 2);
    assert_eq!(batches(&twin), before, "{}", again.render_text());

    // A delta: one attachment moved to another dashboard, one taken off its dashboard.
    let mut ids = linked.keys().copied();
    let (moved, cleared) = (ids.next().unwrap(), ids.next().unwrap());
    let other = *dashboards
        .iter()
        .find(|d| **d != linked[&moved])
        .expect("a second dashboard");
    w.client
        .batch_execute(&format!(
            "UPDATE \"{s}\".attachment SET \"targetDashboardId\" = '{other}', \"updatedAt\" = now() WHERE id = '{moved}';
             UPDATE \"{s}\".attachment SET \"targetDashboardId\" = NULL, \"updatedAt\" = now() WHERE id = '{cleared}';",
            s = w.schema()
        ))
        .await
        .unwrap();
    let before = batches(&twin);
    let delta = pipeline::migrate(&opts, &t).await.expect("delta");
    assert_eq!(delta.rejected(), 0, "{}", delta.render_text());
    let attachments = delta
        .objects
        .iter()
        .find(|o| o.object == "attachment")
        .expect("attachments");
    assert_eq!(attachments.updated, 2, "{}", delta.render_text());
    assert_eq!(attachments.deferred_links, 1, "{}", delta.render_text());
    // The two records, then the one reference.
    assert_eq!(batches(&twin) - before, 2, "{}", delta.render_text());
    let mut want = linked.clone();
    want.insert(moved, other);
    want.remove(&cleared);
    assert_links_kept(&t, &want).await;
    let back = read_back(&t, "attachments").await;
    assert_eq!(back[&cleared.to_string()]["targetDashboardId"], Value::Null);
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify after the delta");
    assert!(check.is_clean(), "{}", check.render_text());
}

#[tokio::test]
async fn a_run_stopped_before_the_dashboards_exist_writes_their_links_on_the_next_run() {
    let w = world(150).await;
    let (_, linked) = link_two_attachments(&w).await;
    let twin = twin(w.members(), 60).await;
    let t = quick_target(twin.base_url());
    let opts = MigrateOptions {
        restart: false,
        ..w.options()
    };
    // The run stops at the dashboard records: after every other record, before the links.
    let stopping = FailsOneBatch::new(t.clone(), "dashboards", 1, || {
        TargetError::Protocol("the connection was lost".into())
    })
    .limit(1);
    let err = pipeline::migrate(&opts, &stopping)
        .await
        .expect_err("the run stops");
    assert!(err.to_string().contains("connection was lost"), "{err}");
    let back = read_back(&t, "attachments").await;
    assert!(linked
        .keys()
        .all(|id| back[&id.to_string()]["targetDashboardId"].is_null()));

    // The same command again finishes the pass: the dashboards, then their links, and no
    // record sent twice.
    let before = batches(&twin);
    let report = pipeline::migrate(&opts, &t).await.expect("the rerun");
    assert_eq!(report.pass.number, 1, "the same pass, resumed");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    assert_eq!(
        batches(&twin) - before,
        2,
        "the dashboard records and the links: {}",
        report.render_text()
    );
    assert_links_kept(&t, &linked).await;
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(check.is_clean(), "{}", check.render_text());
}

#[tokio::test]
async fn links_to_a_dashboard_the_target_refuses_are_named_and_written_once_it_exists() {
    let w = world(150).await;
    let (_, linked) = link_two_attachments(&w).await;
    let twin = twin(w.members(), 60).await;
    let t = quick_target(twin.base_url());
    let opts = MigrateOptions {
        restart: false,
        ..w.options()
    };
    // Every send of the dashboard records is refused.
    let refusing = FailsOneBatch::new(t.clone(), "dashboards", 1, refused_for_its_content);
    let report = pipeline::migrate(&opts, &refusing)
        .await
        .expect("a refused dashboard does not stop the run");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    let notes = &report.config.as_ref().expect("configuration").notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("refused the dashboard record")),
        "{notes:#?}"
    );
    // Each dashboard's links are named with the reason, none sent (the target would refuse
    // them for the missing dashboard).
    for dashboard in linked.values() {
        assert!(
            report
                .not_kept
                .iter()
                .any(|n| n.contains("targetDashboardId")
                    && n.contains(&dashboard.to_string())
                    && n.contains("does not hold that dashboard")),
            "{:#?}",
            report.not_kept
        );
    }
    let back = read_back(&t, "attachments").await;
    assert!(linked
        .keys()
        .all(|id| back[&id.to_string()]["targetDashboardId"].is_null()));
    // `verify` sees the links missing.
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(!check.is_clean());
    let differing: BTreeMap<Uuid, &str> = check
        .differences
        .iter()
        .map(|d| (d.id, d.field.as_str()))
        .collect();
    for id in linked.keys() {
        assert_eq!(differing.get(id), Some(&"targetDashboardId"), "{id}");
    }

    // Once the target takes the dashboards, the next run writes the links left pending.
    let report = pipeline::migrate(&opts, &t).await.expect("the next run");
    assert!(
        !report
            .not_kept
            .iter()
            .any(|n| n.contains("targetDashboardId")),
        "{:#?}",
        report.not_kept
    );
    assert_links_kept(&t, &linked).await;
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(check.is_clean(), "{}", check.render_text());
}

#[tokio::test]
async fn a_link_to_a_soft_deleted_dashboard_is_left_out_with_a_note_and_the_attachment_kept() {
    let w = world(150).await;
    let (dashboards, linked) = link_two_attachments(&w).await;
    // The configuration stage moves live dashboards only.
    let gone = dashboards[dashboards.len() - 1];
    w.client
        .batch_execute(&format!(
            "UPDATE \"{}\".dashboard SET \"deletedAt\" = now() WHERE id = '{gone}'",
            w.schema()
        ))
        .await
        .unwrap();
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = MigrateOptions {
        restart: false,
        ..w.options()
    };
    let report = pipeline::migrate(&opts, &t).await.expect("migrate");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    assert!(
        report.not_kept.iter().any(|n| n
            .contains("attachment.targetDashboardId references to soft-deleted dashboard rows")),
        "{:#?}",
        report.not_kept
    );
    let back = read_back(&t, "attachments").await;
    for (id, dashboard) in &linked {
        let got = &back
            .get(&id.to_string())
            .unwrap_or_else(|| panic!("attachment {id} kept"))["targetDashboardId"];
        match *dashboard == gone {
            true => assert!(got.is_null(), "{id}: {got}"),
            false => assert_eq!(got, &Value::String(dashboard.to_string()), "{id}"),
        }
    }
    assert!(linked.values().any(|d| *d == gone));
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(check.is_clean(), "{}", check.render_text());
    // Nothing is left pending: a rerun sends no batch.
    let before = batches(&twin);
    pipeline::migrate(&opts, &t).await.expect("rerun");
    assert_eq!(batches(&twin), before);
}

#[tokio::test]
async fn the_plan_writes_dashboard_links_after_the_configuration_and_drops_them_without_it() {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();

    let prepared = pipeline::prepare(&opts, &t).await.expect("plan");
    let plan = &prepared.plan;
    let attachment = plan
        .objects
        .iter()
        .find(|o| o.object == "attachment")
        .expect("attachments planned");
    let late: Vec<&str> = attachment
        .fields
        .iter()
        .filter(|f| f.after_config)
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(late, ["targetDashboardId"]);
    assert!(attachment
        .dropped
        .iter()
        .all(|d| d.field != "targetDashboard"));
    assert_eq!(plan.estimate.after_config_requests, attachment.requests);
    let text = plan.render_text();
    assert!(
        text.contains("targetDashboardId (after the configuration)"),
        "{text}"
    );

    // Without the configuration stage no dashboard reaches the target: the field is dropped,
    // and says why.
    let without = MigrateOptions {
        config: false,
        ..opts.clone()
    };
    let prepared = pipeline::prepare(&without, &t).await.expect("plan");
    let attachment = prepared
        .plan
        .objects
        .iter()
        .find(|o| o.object == "attachment")
        .unwrap();
    assert!(attachment.fields.iter().all(|f| !f.after_config));
    let dropped = attachment
        .dropped
        .iter()
        .find(|d| d.field == "targetDashboard")
        .expect("dropped");
    assert!(dropped.reason.contains("--no-config"), "{}", dropped.reason);
    assert_eq!(prepared.plan.estimate.after_config_requests, 0);
}
