//! Issue 17 §5: `verify --checklist` after a migration into the twin: what it measures marked
//! done, what waits on a person listed by name, and a file missing in the target's storage
//! found by downloading it.

use std::collections::BTreeSet;

use twenty_migrate::destination::FindMany;
use twenty_migrate::fixture::config::custom_domain;
use twenty_migrate::pipeline::{self, verify::checklist::Status, verify::Checklist};
use twenty_migrate::twin::{Twin, TwinConfig};

use super::{cli, target, twin, world, World, KEY};

/// The item with `key`, which every checklist has.
fn item<'a>(list: &'a Checklist, key: &str) -> &'a pipeline::verify::checklist::Item {
    list.item(key)
        .unwrap_or_else(|| panic!("no item {key}: {}", list.render_text()))
}

/// Source values read straight from SQL, not through the tool's readers.
async fn strings(w: &World, sql: &str) -> BTreeSet<String> {
    w.client
        .query(sql, &[&w.spec.id])
        .await
        .expect("query")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

#[tokio::test]
async fn the_checklist_marks_counts_relations_and_attachments_done_after_a_clean_migration() {
    let w = world(150).await;
    let twin = twin(w.members(), 200).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");

    let (report, list) = pipeline::verify::verify_with_checklist(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(report.is_clean(), "{}", report.render_text());
    let text = list.render_text();
    for key in ["record_counts", "relations", "assignments", "attachments"] {
        assert_eq!(item(&list, key).status, Status::Done, "{key}: {text}");
        assert!(item(&list, key).measured, "{key}");
    }
    let files = item(&list, "attachments");
    assert!(
        files.evidence.contains("with the size uploaded"),
        "{}",
        files.evidence
    );
    let relations = item(&list, "relations");
    assert!(!relations.evidence.starts_with("0 relation"), "{text}");

    // What the runbook leaves to a person keeps its items open, and the command failing.
    let workflows = item(&list, "workflows_webhooks");
    assert_eq!(workflows.status, Status::Open, "{text}");
    assert!(
        workflows
            .todo
            .iter()
            .any(|t| t.starts_with("Recreate the workflow")),
        "{text}"
    );
    let roles = item(&list, "roles_members");
    assert_eq!(roles.status, Status::Open, "{text}");
    assert!(
        roles.todo.iter().any(|t| t.starts_with("Invite ")),
        "{text}"
    );
    assert!(list.blocking());
    // Views moved; only the personal ones are left, which nothing can check.
    let views = item(&list, "views");
    assert_eq!(views.status, Status::Open, "{text}");
    assert!(!views.measured, "{text}");
}

#[tokio::test]
async fn the_checklist_lists_connected_accounts_to_reconnect_and_integrations_to_repoint() {
    let w = world(60).await;
    let twin = twin(w.members(), 200).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");

    let (_, list) = pipeline::verify::verify_with_checklist(&opts, &t, 100)
        .await
        .expect("verify");
    let text = list.render_text();
    let s = w.schema();

    // Every live connected account, with its owner, to reconnect; never measured as done.
    let accounts = strings(
        &w,
        &format!(
            "SELECT a.handle || ' ' || m.\"userEmail\" FROM \"{s}\".\"connectedAccount\" a \
             JOIN \"{s}\".\"workspaceMember\" m ON m.id = a.\"accountOwnerId\" \
             WHERE a.\"deletedAt\" IS NULL AND $1::uuid IS NOT NULL"
        ),
    )
    .await;
    assert!(!accounts.is_empty(), "the fixture connects accounts");
    let mail = item(&list, "email_calendar");
    assert_eq!(mail.status, Status::Open);
    assert!(!mail.measured);
    assert_eq!(mail.todo.len(), accounts.len(), "{text}");
    for a in &accounts {
        let (handle, owner) = a.split_once(' ').unwrap();
        assert!(
            mail.todo
                .iter()
                .any(|t| t.contains(handle) && t.starts_with(owner)),
            "{a} not listed: {text}"
        );
    }

    // Each live API key and webhook, with the new URL to point at.
    let keys = strings(
        &w,
        "SELECT name FROM core.\"apiKey\" WHERE \"workspaceId\" = $1 AND \"revokedAt\" IS NULL",
    )
    .await;
    let hooks = strings(
        &w,
        "SELECT \"targetUrl\" FROM core.webhook WHERE \"workspaceId\" = $1 AND \"deletedAt\" IS NULL",
    )
    .await;
    assert!(
        !keys.is_empty() && !hooks.is_empty(),
        "the fixture has both"
    );
    let api = item(&list, "api_integrations");
    assert_eq!(api.status, Status::Open);
    assert!(api.evidence.contains(twin.base_url()), "{}", api.evidence);
    for name in keys.iter().chain(&hooks) {
        assert!(
            api.todo
                .iter()
                .any(|t| t.contains(name.as_str()) && t.contains(twin.base_url())),
            "{name} not listed: {text}"
        );
    }

    // The source's custom domain, to repoint.
    let domain = item(&list, "custom_domain");
    assert_eq!(domain.status, Status::Open);
    assert!(domain.todo[0].contains(&custom_domain(w.spec.id)), "{text}");
    // None of these fails the command on its own.
    assert!(!list
        .items
        .iter()
        .filter(|i| i.status == Status::Open && i.measured)
        .any(|i| ["email_calendar", "api_integrations", "custom_domain"].contains(&i.key)));
}

/// A twin that keeps uploaded files on disk, so a test can take one away.
async fn twin_with_files(w: &World, dir: &std::path::Path) -> Twin {
    TwinConfig::new(KEY)
        .members(w.members())
        .max_batch(200)
        .files_dir(dir)
        .start()
        .await
        .expect("twin")
}

#[tokio::test]
async fn an_attachment_whose_file_is_missing_in_the_target_leaves_its_item_open() {
    let w = world(150).await;
    let files = tempfile::tempdir().unwrap();
    let twin = twin_with_files(&w, files.path()).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");

    // The first attachments the target lists (the checklist's sample) and their stored files.
    let page = t
        .find_many(
            "attachments",
            &FindMany {
                limit: Some(20),
                ..FindMany::default()
            },
        )
        .await
        .expect("attachments");
    let with_file: Vec<(String, String)> = page
        .records
        .iter()
        .filter_map(|r| {
            let f = r["file"].as_array()?.first()?;
            Some((
                f["fileId"].as_str()?.to_owned(),
                f["label"].as_str().unwrap_or("").to_owned(),
            ))
        })
        .collect();
    assert!(with_file.len() >= 2, "the sample holds files");
    let stored = |id: &str| {
        std::fs::read_dir(files.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(id))
            .expect("the twin keeps the file")
    };
    // One file gone, another cut short.
    std::fs::remove_file(stored(&with_file[0].0)).unwrap();
    let short = stored(&with_file[1].0);
    let bytes = std::fs::read(&short).unwrap();
    std::fs::write(&short, &bytes[..bytes.len() / 2]).unwrap();

    let (_, list) = pipeline::verify::verify_with_checklist(&opts, &t, 100)
        .await
        .expect("verify");
    let text = list.render_text();
    let files_item = item(&list, "attachments");
    assert_eq!(files_item.status, Status::Open, "{text}");
    assert!(files_item.measured);
    assert!(list.blocking());
    let tried: Vec<&str> = files_item.evidence.split(' ').collect();
    assert_eq!(
        tried[0].parse::<usize>().unwrap() + 2,
        tried[2].parse::<usize>().unwrap(),
        "two of the sampled files fail: {text}"
    );
    let missing = format!("\"{}\"", with_file[0].1);
    assert!(
        files_item
            .todo
            .iter()
            .any(|t| t.contains(&missing) && t.contains("404")),
        "{text}"
    );
    assert!(
        files_item
            .todo
            .iter()
            .any(|t| t.contains(&format!("\"{}\"", with_file[1].1)) && t.contains("bytes where")),
        "{text}"
    );
    // The other items do not move: the records are all there.
    assert_eq!(item(&list, "record_counts").status, Status::Done, "{text}");
}

#[tokio::test]
async fn connected_accounts_copied_to_core_are_read_from_there_with_their_owner_and_channels() {
    let w = world(20).await;
    // Twenty 2.21's tables (metadata-modules/connected-account, message-channel and
    // calendar-channel entities), with the columns the reader uses.
    w.client
        .batch_execute(
            r#"CREATE TABLE core."connectedAccount" (id uuid PRIMARY KEY, handle varchar NOT NULL,
                 provider varchar NOT NULL, "userWorkspaceId" uuid NOT NULL, "workspaceId" uuid NOT NULL,
                 "archivedAt" timestamptz);
               CREATE TABLE core."messageChannel" (id uuid PRIMARY KEY, handle varchar NOT NULL,
                 "connectedAccountId" uuid NOT NULL, "workspaceId" uuid NOT NULL);
               CREATE TABLE core."calendarChannel" (id uuid PRIMARY KEY, handle varchar NOT NULL,
                 "connectedAccountId" uuid NOT NULL, "workspaceId" uuid NOT NULL);"#,
        )
        .await
        .expect("2.21 tables");
    let owner = w
        .client
        .query_one(
            r#"SELECT uw.id, u.email::text FROM core."userWorkspace" uw JOIN core."user" u ON u.id = uw."userId"
               WHERE uw."workspaceId" = $1 ORDER BY u.email LIMIT 1"#,
            &[&w.spec.id],
        )
        .await
        .expect("a member's user");
    let (uw, email): (uuid::Uuid, String) = (owner.get(0), owner.get(1));
    let (live, archived) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let sql = format!(
        r#"INSERT INTO core."connectedAccount" VALUES
             ('{live}', 'sales@acme.example', 'microsoft', '{uw}', '{ws}', NULL),
             ('{archived}', 'old@acme.example', 'google', '{uw}', '{ws}', now());
           INSERT INTO core."messageChannel" VALUES
             (gen_random_uuid(), 'sales@acme.example', '{live}', '{ws}'),
             (gen_random_uuid(), 'sales+alias@acme.example', '{live}', '{ws}');
           INSERT INTO core."calendarChannel" VALUES (gen_random_uuid(), 'sales@acme.example', '{live}', '{ws}');"#,
        ws = w.spec.id
    );
    w.client.batch_execute(&sql).await.expect("accounts");

    let source = twenty_migrate::source::Source::connect(&w.db.url)
        .await
        .expect("source");
    let info = source.choose_workspace(None).await.expect("workspace");
    let accounts = twenty_migrate::source::go_live::connected_accounts(source.client(), &info)
        .await
        .expect("read");
    // The core copy wins over the workspace table's (the fixture's three), archived left out.
    assert_eq!(accounts.len(), 1, "{accounts:#?}");
    let a = &accounts[0];
    assert_eq!(a.handle, "sales@acme.example");
    assert_eq!(a.provider, "microsoft");
    assert_eq!(a.owner_email.as_deref(), Some(email.as_str()));
    assert_eq!((a.message_channels, a.calendar_channels), (2, 1));
}

#[tokio::test]
async fn the_cli_prints_the_checklist_as_text_and_json_and_exits_1_while_a_measured_item_is_open() {
    let w = world(60).await;
    let twin = twin(w.members(), 200).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    pipeline::migrate(&opts, &t).await.expect("migrate");
    let storage = w.dir.path().join("storage");
    let base = [
        "verify",
        "--checklist",
        "--source",
        w.db.url.as_str(),
        "--target",
        twin.base_url(),
        "--rate-limit",
        "100000/min",
        "--storage-dir",
        storage.to_str().unwrap(),
        "--state",
        opts.state_path.to_str().unwrap(),
    ];

    // The runbook's steps (members to invite, workflows to recreate) are open: exit 1.
    let (code, stdout, stderr) = cli(&base, KEY).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("[done] All data imported successfully"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[open] Email/calendar sync reconnected"),
        "{stdout}"
    );
    let (code, stdout, stderr) = cli(&[&base[..], &["--json"][..]].concat(), KEY).await;
    assert_eq!(code, 1, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert!(json["verify"]["objects"]
        .as_array()
        .is_some_and(|o| !o.is_empty()));
    let items = json["checklist"]["items"].as_array().expect("items");
    let files = items
        .iter()
        .find(|i| i["key"] == "attachments")
        .expect("attachments item");
    assert_eq!(files["status"], "done", "{files}");
    assert!(
        files["evidence"]
            .as_str()
            .unwrap()
            .contains("with the size uploaded"),
        "the sizes come from --state: {files}"
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(KEY), "the API key leaked");
    }
}

#[tokio::test]
async fn a_source_member_the_target_lacks_leaves_the_assignments_open_naming_them() {
    let w = world(120).await;
    // The twin knows every member but the first; the run nulls the references to them.
    let mut members = w.members();
    let missing = members.remove(0);
    let twin = twin(members, 200).await;
    let t = target(&twin, 1_000_000);
    let mut opts = w.options();
    opts.unmatched = twenty_migrate::plan::UnmatchedMembers::Null;
    pipeline::migrate(&opts, &t).await.expect("migrate");

    let (report, list) = pipeline::verify::verify_with_checklist(&opts, &t, 100)
        .await
        .expect("verify");
    // The comparison is clean (null is what the policy writes), the assignment is not.
    assert!(report.is_clean(), "{}", report.render_text());
    let text = list.render_text();
    let assignments = item(&list, "assignments");
    assert_eq!(assignments.status, Status::Open, "{text}");
    assert!(assignments.measured);
    assert!(
        assignments
            .todo
            .iter()
            .any(|t| t.to_lowercase().contains(&missing.email.to_lowercase())),
        "{text}"
    );
    assert!(list.blocking());
}
