//! `inspect` names each layout and version, a half-finished upgrade included; what predates
//! layout A or is unknown is refused with the version found; extra columns are ignored by name.

use serde_json::Value;
use twenty_migrate::source::records::{Cell, RecordReader, RowFilter};
use twenty_migrate::source::Source;
use uuid::Uuid;

use super::{run_cli, twin_and_target, world, Fixture};

fn object<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["workspace"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name_singular"] == name)
        .unwrap_or_else(|| panic!("object {name}"))
}

fn field<'a>(report: &'a Value, object_name: &str, name: &str) -> Option<&'a Value> {
    object(report, object_name)["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
}

#[tokio::test]
async fn inspect_names_the_layout_and_version_of_each_fixture_and_counts_every_row() {
    for (kind, layout, versions, recorded) in [
        (Fixture::A, "A", "0.4x – 0.52", "0.43.0"),
        (Fixture::B, "B", "1.10 – 1.16", "1.16.0"),
        (Fixture::C, "C", "1.20 – 2.x", "2.0.3"),
    ] {
        let w = world(kind, 120).await;
        let report = w.inspect();
        let ws = &report["workspace"];
        assert_eq!(ws["layout"]["layout"], layout, "{kind:?}");
        assert_eq!(ws["layout"]["versions"], versions, "{kind:?}");
        assert_eq!(ws["layout"]["half_upgraded"], false, "{kind:?}");
        assert_eq!(report["workspaces"][0]["version"], recorded, "{kind:?}");
        for o in report["workspace"]["objects"].as_array().unwrap() {
            assert_eq!(
                o["unmapped_columns"].as_array().map(Vec::len),
                Some(0),
                "{kind:?}: every column is accounted for: {}",
                o["unmapped_columns"]
            );
        }
        for (name, counts) in &w.generated.objects {
            let o = object(&report, name);
            assert_eq!(
                (o["live"].as_u64(), o["deleted"].as_u64()),
                (Some(counts.live), Some(counts.deleted)),
                "{kind:?} {name}"
            );
        }
        // Every layout shows the current fields, on the columns the layout really has.
        let company = field(&report, "noteTarget", "targetCompany").expect("targetCompany");
        assert_eq!(company["type"], "MORPH_RELATION", "{kind:?}");
        assert_eq!(company["relation_target"], "company", "{kind:?}");
        assert_eq!(
            company["columns"][0],
            kind.note_company_column(),
            "{kind:?}"
        );
        assert!(
            field(&report, "noteTarget", "company").is_none(),
            "{kind:?}"
        );
        assert!(
            field(&report, "person", "companyId").is_none(),
            "{kind:?}: foreign-key row"
        );
        let employer = field(&report, "person", "company").expect("person.company");
        assert_eq!(employer["relation"], "MANY_TO_ONE", "{kind:?}");
        assert_eq!(employer["columns"][0], "companyId", "{kind:?}");
        assert_eq!(
            field(&report, "note", "bodyV2").unwrap()["type"],
            "RICH_TEXT"
        );
        assert!(
            field(&report, "attachment", "fileCategory").is_some(),
            "{kind:?}"
        );
        assert!(field(&report, "attachment", "type").is_none(), "{kind:?}");
        assert!(field(&report, "attachment", "author").is_none(), "{kind:?}");
        // Attachment bytes are found under the key each layout uses.
        let files = &ws["attachments"];
        assert_eq!(
            files["files_found"].as_u64(),
            Some(w.generated.attachments.files_present),
            "{kind:?}: {files}"
        );
        assert_eq!(
            files["missing"].as_array().map(Vec::len),
            Some(0),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_legacy_single_column_rich_text_body_is_read_as_text() {
    let w = world(Fixture::A, 60).await;
    let report = w.inspect();
    let body = field(&report, "note", "body").expect("note.body");
    assert_eq!(body["metadata_type"], "RICH_TEXT");
    assert_eq!(body["type"], "TEXT");
    assert_eq!(body["columns"], serde_json::json!(["body"]));
}

#[tokio::test]
async fn inspect_names_a_half_upgraded_workspace_and_which_tables_are_behind() {
    let w = world(Fixture::HalfUpgraded, 120).await;
    let report = w.inspect();
    let layout = &report["workspace"]["layout"];
    assert_eq!(layout["layout"], "C");
    assert_eq!(layout["half_upgraded"], true);
    assert!(
        layout["versions"].as_str().unwrap().contains("half-way"),
        "{layout}"
    );
    let stage = |t: &str| {
        layout["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["table"] == t)
            .map(|s| s["morph_columns"].clone())
    };
    assert_eq!(stage("noteTarget"), Some(Value::Bool(true)));
    assert_eq!(stage("taskTarget"), Some(Value::Bool(false)));
    assert_eq!(stage("attachment"), Some(Value::Bool(false)));
    assert_eq!(layout["migration_flags"]["IS_NOTE_TARGET_MIGRATED"], true);
    assert!(layout["migration_flags"]["IS_TASK_TARGET_MIGRATED"].is_null());
    // Each table is mapped by its own stage.
    let note = field(&report, "noteTarget", "targetPerson").unwrap();
    assert_eq!(note["columns"][0], "targetPersonId");
    let task = field(&report, "taskTarget", "targetPerson").unwrap();
    assert_eq!(task["columns"][0], "personId");
    let text = run_cli(&["inspect", "--source", &w.db.url]).1;
    assert!(text.contains("half-upgraded"), "{text}");
}

#[tokio::test]
async fn pre_1_10_attachments_read_with_their_file_category_and_their_author_as_creator() {
    let w = world(Fixture::A, 200).await;
    let s = w.spec.schema();
    // What the 1.10 commands would have written, computed here in SQL.
    let expected: std::collections::HashMap<Uuid, (String, Option<Uuid>)> = w
        .client
        .query(
            &format!(
                "SELECT id, type, coalesce(\"createdByWorkspaceMemberId\", \"authorId\") \
                 FROM \"{s}\".attachment"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let label: String = r.get(1);
            let category = match label.as_str() {
                "TextDocument" => "TEXT_DOCUMENT".to_owned(),
                other => other.to_uppercase(),
            };
            (r.get(0), (category, r.get(2)))
        })
        .collect();
    assert!(expected.values().any(|(_, m)| m.is_some()));

    let source = Source::connect(&w.db.url).await.unwrap();
    let ws = source.choose_workspace(None).await.unwrap();
    let model = twenty_migrate::source::metadata::read_model(source.client(), &ws)
        .await
        .unwrap();
    let attachment = model.object("attachment").unwrap();
    let mut reader = RecordReader::new(source.client(), &ws.schema, attachment, RowFilter::All, 50)
        .await
        .unwrap();
    let at = |name: &str| {
        reader
            .columns()
            .iter()
            .position(|c| c.name == name)
            .unwrap()
    };
    let (category_at, member_at) = (at("type"), at("createdByWorkspaceMemberId"));
    let mut seen = 0;
    loop {
        let rows = reader.next_page(source.client()).await.unwrap();
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let (category, member) = &expected[&row.id];
            assert_eq!(
                row.cells[category_at],
                Cell::Text(category.clone()),
                "{}",
                row.id
            );
            let got = match &row.cells[member_at] {
                Cell::Uuid(id) => Some(*id),
                _ => None,
            };
            assert_eq!(&got, member, "{}", row.id);
            seen += 1;
        }
    }
    assert_eq!(seen, expected.len());
}

#[tokio::test]
async fn a_workspace_older_than_layout_a_is_refused_with_the_version_found() {
    let w = world(Fixture::A, 30).await;
    w.client
        .batch_execute(
            "UPDATE metadata.\"fieldMetadata\" SET type = 'LINK' WHERE name = 'linkedinLink'",
        )
        .await
        .unwrap();
    let (code, _, stderr) = run_cli(&["inspect", "--source", &w.db.url]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("older than 0.30") || stderr.contains("predate"),
        "{stderr}"
    );
    assert!(
        stderr.contains("0.43.0"),
        "names the recorded version: {stderr}"
    );

    let (_twin, target) = twin_and_target(w.members()).await;
    let err = twenty_migrate::pipeline::migrate(&w.options(), &target)
        .await
        .expect_err("refused at plan time");
    let message = err.to_string();
    assert!(
        message.contains("0.43.0") && message.contains("LINK"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unknown_field_type_is_refused_but_extra_columns_are_ignored_by_name() {
    let w = world(Fixture::B, 60).await;
    let s = w.spec.schema();
    // A column no field describes: read around, and named.
    w.client
        .batch_execute(&format!(
            "ALTER TABLE \"{s}\".company ADD COLUMN \"legacyScore\" integer DEFAULT 3"
        ))
        .await
        .unwrap();
    let (code, stdout, stderr) = run_cli(&["inspect", "--source", &w.db.url]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("ignored columns") && stdout.contains("legacyScore"),
        "{stdout}"
    );
    let (_twin, target) = twin_and_target(w.members()).await;
    let report = twenty_migrate::pipeline::migrate(&w.options(), &target)
        .await
        .expect("extra columns do not stop the run");
    assert!(report.unbalanced().is_empty());

    // A field of a type this tool does not know, with a column: refused, naming it and the version.
    w.client
        .batch_execute(&format!(
            "ALTER TABLE \"{s}\".company ADD COLUMN \"hologram\" jsonb; \
             INSERT INTO core.\"fieldMetadata\" (\"objectMetadataId\", type, name, label, \
               \"isActive\", \"workspaceId\") \
             SELECT \"objectMetadataId\", 'HOLOGRAM', 'hologram', 'Hologram', true, \"workspaceId\" \
             FROM core.\"fieldMetadata\" WHERE name = 'name' AND \"objectMetadataId\" = \
               (SELECT id FROM core.\"objectMetadata\" WHERE \"nameSingular\" = 'company')"
        ))
        .await
        .unwrap();
    let (code, _, stderr) = run_cli(&["inspect", "--source", &w.db.url]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("company.hologram")
            && stderr.contains("HOLOGRAM")
            && stderr.contains("1.16.0"),
        "{stderr}"
    );
    let err = twenty_migrate::pipeline::migrate(&w.options(), &target)
        .await
        .expect_err("refused at plan time");
    assert!(err.to_string().contains("HOLOGRAM"), "{err}");
}
