//! Data model sync against an in-process twin that starts with only the standard model: the
//! custom model arrives whole, values read back equal, a rerun creates nothing, an
//! incompatible field stops `plan`, and an option the target refuses turns into rejects.

mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Value};
use twenty_migrate::destination::{ApiKey, Target, TargetConfig, TargetModel};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::model::{FieldType, Model, RelationKind};
use twenty_migrate::pipeline::{self, MigrateError, MigrateOptions};
use twenty_migrate::schema_sync::{self, names, SchemaOptions};
use twenty_migrate::twin::{Member, Twin, TwinConfig};

const KEY: &str = "schema-sync-key";

/// A generated source workspace.
struct Source {
    db: TestDatabase,
    client: tokio_postgres::Client,
    spec: WorkspaceSpec,
    members: Vec<Member>,
}

async fn source(records: usize) -> Source {
    let db = test_database().await.expect("test database");
    let client = db.connect().await.expect("connect");
    let spec = WorkspaceSpec::sample(1);
    fixture::load_instance(&client).await.expect("instance");
    fixture::load_workspace(&client, &spec)
        .await
        .expect("workspace");
    let generated = fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: 11,
            records,
            storage_dir: None,
            missing_files: 0,
        },
    )
    .await
    .expect("generate");
    let members = generated.twin_members();
    Source {
        db,
        client,
        spec,
        members,
    }
}

/// A twin with only the standard model and the source's members, and a client for it.
async fn twin(members: &[Member]) -> (Twin, Target) {
    let twin = TwinConfig::new(KEY)
        .members(members.to_vec())
        .start()
        .await
        .expect("twin starts");
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(KEY));
    config.requests_per_minute = 1_000_000;
    let target = Target::new(config).expect("client");
    (twin, target)
}

fn options(url: &str, rejects: &Path) -> MigrateOptions {
    MigrateOptions {
        rejects_path: rejects.to_path_buf(),
        page_size: 500,
        requests_per_minute: 1_000_000,
        state_path: rejects.with_extension("state.sqlite"),
        // Schema tests generate no file bytes.
        files: twenty_migrate::pipeline::files::FileOptions {
            skip_missing_files: true,
            ..Default::default()
        },
        ..MigrateOptions::new(url, rejects.parent().expect("a folder"))
    }
}

/// A field to add: name, type, and its columns with their SQL types.
type NewColumns = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Adds to the source's `pet` one custom field of every creatable type the fixture lacks
/// (and one with a reserved name), then fills them, leaving every fourth row empty.
async fn add_every_creatable_type(src: &Source) {
    let schema = src.spec.schema();
    let ws = src.spec.id;
    let fields: &[NewColumns] = &[
        ("type", "TEXT", &[("type", "text")]),
        ("height", "NUMERIC", &[("height", "numeric")]),
        ("lastSeenAt", "DATE_TIME", &[("lastSeenAt", "timestamptz")]),
        (
            "vetName",
            "FULL_NAME",
            &[("vetNameFirstName", "text"), ("vetNameLastName", "text")],
        ),
        (
            "phones",
            "PHONES",
            &[
                ("phonesPrimaryPhoneNumber", "text"),
                ("phonesPrimaryPhoneCountryCode", "text"),
                ("phonesPrimaryPhoneCallingCode", "text"),
                ("phonesAdditionalPhones", "jsonb"),
            ],
        ),
        (
            "home",
            "ADDRESS",
            &[
                ("homeAddressStreet1", "text"),
                ("homeAddressStreet2", "text"),
                ("homeAddressCity", "text"),
                ("homeAddressPostcode", "text"),
                ("homeAddressState", "text"),
                ("homeAddressCountry", "text"),
                ("homeAddressLat", "numeric"),
                ("homeAddressLng", "numeric"),
            ],
        ),
        ("extra", "RAW_JSON", &[("extra", "jsonb")]),
        ("nicknames", "ARRAY", &[("nicknames", "text[]")]),
        (
            "notes",
            "RICH_TEXT",
            &[("notesBlocknote", "text"), ("notesMarkdown", "text")],
        ),
        ("externalId", "UUID", &[("externalId", "uuid")]),
    ];
    for (name, ty, columns) in fields {
        for (column, sql_type) in *columns {
            src.client
                .batch_execute(&format!(
                    "ALTER TABLE \"{schema}\".\"_pet\" ADD COLUMN \"{column}\" {sql_type}"
                ))
                .await
                .expect("add column");
        }
        src.client
            .execute(
                "INSERT INTO core.\"fieldMetadata\" (\"objectMetadataId\", type, name, label, description, icon, \
                 \"isCustom\", \"isActive\", \"isSystem\", \"isNullable\", \"isUnique\", \"workspaceId\", \"applicationId\") \
                 VALUES (md5($1 || '/object/pet')::uuid, $2, $3, $4, $5, 'IconBox', true, true, false, true, false, \
                 $6, md5($1 || '/application/custom')::uuid)",
                &[
                    &ws.to_string(),
                    ty,
                    name,
                    &names::capitalize(name),
                    &format!("The pet's {name}"),
                    &ws,
                ],
            )
            .await
            .expect("field metadata");
    }
    src.client
        .batch_execute(&format!(
            "UPDATE \"{schema}\".\"_pet\" SET \
               \"type\" = 'kind-' || left(id::text, 4), \
               height = (abs(hashtext(id::text)) % 10000) / 100.0, \
               \"lastSeenAt\" = '2024-03-01T10:00:00Z'::timestamptz + (abs(hashtext(id::text)) % 1000) * interval '1 hour', \
               \"vetNameFirstName\" = 'Doc', \"vetNameLastName\" = 'V' || left(id::text, 5), \
               \"phonesPrimaryPhoneNumber\" = '6' || lpad((abs(hashtext(id::text)) % 100000000)::text, 8, '0'), \
               \"phonesPrimaryPhoneCountryCode\" = 'FR', \"phonesPrimaryPhoneCallingCode\" = '+33', \
               \"phonesAdditionalPhones\" = '[]'::jsonb, \
               \"homeAddressStreet1\" = '1 rue ' || left(id::text, 3), \"homeAddressCity\" = 'Paris', \
               \"homeAddressPostcode\" = '75001', \"homeAddressCountry\" = 'France', \
               \"homeAddressLat\" = 48.85, \"homeAddressLng\" = 2.35, \
               extra = jsonb_build_object('k', left(id::text, 8), 'n', 1), \
               nicknames = ARRAY['n' || left(id::text, 2), 'buddy'], \
               \"notesMarkdown\" = 'Note ' || left(id::text, 4), \
               \"externalId\" = public.uuid_generate_v4(); \
             UPDATE \"{schema}\".\"_pet\" SET \"type\" = NULL, height = NULL, \"lastSeenAt\" = NULL, \
               \"vetNameFirstName\" = NULL, \"vetNameLastName\" = NULL, \"phonesPrimaryPhoneNumber\" = NULL, \
               \"phonesPrimaryPhoneCountryCode\" = NULL, \"phonesPrimaryPhoneCallingCode\" = NULL, \
               \"phonesAdditionalPhones\" = NULL, \"homeAddressStreet1\" = NULL, \"homeAddressCity\" = NULL, \
               \"homeAddressPostcode\" = NULL, \"homeAddressCountry\" = NULL, \"homeAddressLat\" = NULL, \
               \"homeAddressLng\" = NULL, extra = NULL, nicknames = NULL, \"notesMarkdown\" = NULL, \
               \"externalId\" = NULL \
             WHERE abs(hashtext(id::text)) % 4 = 0;"
        ))
        .await
        .expect("fill values");
}

/// Adds a MANY_TO_ONE relation from a standard object to a custom one, `person.favoritePet`,
/// with its inverse `pet.fans`, and points half of the people at a pet. With `pet.owner` it
/// makes a cycle between person and pet (the migrate tests use it for a deferred reference).
pub(crate) async fn add_standard_to_custom_relation(
    client: &tokio_postgres::Client,
    spec: &WorkspaceSpec,
) {
    let schema = spec.schema();
    let ws = spec.id.to_string();
    let insert = "INSERT INTO core.\"fieldMetadata\" (id, \"objectMetadataId\", type, name, label, settings, \
         \"relationTargetObjectMetadataId\", \"relationTargetFieldMetadataId\", \"isCustom\", \"isActive\", \
         \"isSystem\", \"isNullable\", \"isUnique\", \"workspaceId\", \"applicationId\") \
         VALUES (md5($1 || '/field/' || $2)::uuid, md5($1 || '/object/' || $3)::uuid, 'RELATION', $4, $5, $6, \
         md5($1 || '/object/' || $7)::uuid, $8, true, true, false, true, false, $1::uuid, md5($1 || '/application/custom')::uuid)";
    client
        .execute(
            insert,
            &[
                &ws,
                &"pet.fans",
                &"pet",
                &"fans",
                &"Fans",
                &json!({"relationType": "ONE_TO_MANY"}),
                &"person",
                &None::<uuid::Uuid>,
            ],
        )
        .await
        .expect("pet.fans");
    let fans: uuid::Uuid = client
        .query_one("SELECT md5($1 || '/field/pet.fans')::uuid", &[&ws])
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            insert,
            &[
                &ws,
                &"person.favoritePet",
                &"person",
                &"favoritePet",
                &"Favorite pet",
                &json!({"relationType": "MANY_TO_ONE", "onDelete": "SET_NULL", "joinColumnName": "favoritePetId"}),
                &"pet",
                &Some(fans),
            ],
        )
        .await
        .expect("person.favoritePet");
    client
        .execute(
            "UPDATE core.\"fieldMetadata\" SET \"relationTargetFieldMetadataId\" = md5($1 || '/field/person.favoritePet')::uuid \
             WHERE id = $2",
            &[&ws, &fans],
        )
        .await
        .unwrap();
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{schema}\".person ADD COLUMN \"favoritePetId\" uuid; \
             UPDATE \"{schema}\".person p SET \"favoritePetId\" = \
               (SELECT id FROM \"{schema}\".\"_pet\" ORDER BY md5(p.id::text || id::text) LIMIT 1) \
             WHERE abs(hashtext(p.id::text)) % 2 = 0;"
        ))
        .await
        .expect("favoritePetId values");
}

/// The source model, read the way the tool reads it.
async fn source_model(src: &Source) -> Model {
    let s = twenty_migrate::source::Source::connect(&src.db.url)
        .await
        .expect("source");
    let ws = s.choose_workspace(None).await.expect("workspace");
    twenty_migrate::source::metadata::read_model(s.client(), &ws)
        .await
        .expect("model")
}

/// `object.field` → metadata id, for every field of the target.
fn field_ids(model: &TargetModel) -> BTreeMap<String, uuid::Uuid> {
    model
        .objects
        .iter()
        .flat_map(|o| {
            o.fields
                .iter()
                .map(move |f| (format!("{}.{}", o.name_singular, f.name), f.id))
        })
        .collect()
}

fn option_values(options: Option<&Value>) -> BTreeSet<String> {
    options
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|o| o["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_generated_workspace_migrated_into_a_standard_twin_ends_with_the_same_custom_model_and_values(
) {
    let src = source(1000).await;
    add_every_creatable_type(&src).await;
    add_standard_to_custom_relation(&src.client, &src.spec).await;
    let (twin, target) = twin(&src.members).await;
    assert!(
        target.model().await.unwrap().object("pet").is_none(),
        "the twin starts with the standard model only"
    );
    let dir = tempfile::tempdir().unwrap();
    let report = pipeline::migrate(
        &options(&src.db.url, &dir.path().join("rejects.jsonl")),
        &target,
    )
    .await
    .expect("migrate");
    assert_eq!(
        report.rejected(),
        0,
        "rejects: {}",
        std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap_or_default()
    );

    // The model: every custom object and field, with its type, options, uniqueness and relation.
    let model = source_model(&src).await;
    let tmodel = target.model().await.unwrap();
    let mut checked = 0;
    for object in ["pet", "vetVisit"] {
        let s = model.object(object).unwrap();
        let t = tmodel
            .object(object)
            .unwrap_or_else(|| panic!("{object} created"));
        assert_eq!(t.name_plural, s.name_plural);
        assert_eq!(t.label_singular.as_deref(), Some(s.label_singular.as_str()));
    }
    for s in &model.objects {
        let Some(t) = tmodel.object(&s.name_singular) else {
            continue;
        };
        for f in s.fields.iter().filter(|f| f.is_custom && !f.is_system) {
            let name = names::target_name(&f.name);
            let tf = t
                .field(&name)
                .unwrap_or_else(|| panic!("{}.{name} exists in the target", s.name_singular));
            // NUMERIC is created as NUMBER: 2.21 creates no NUMERIC field
            // (`tests/conformance/twenty-2.21/metadata-create-field-numeric.json`).
            let expected = match f.field_type {
                FieldType::Numeric => FieldType::Number,
                ref other => other.clone(),
            };
            assert_eq!(
                FieldType::from_metadata(&tf.field_type),
                expected,
                "{}.{name}",
                s.name_singular
            );
            assert_eq!(
                tf.is_unique,
                Some(f.is_unique),
                "{}.{name}",
                s.name_singular
            );
            assert_eq!(
                tf.is_nullable,
                Some(f.is_nullable),
                "{}.{name}",
                s.name_singular
            );
            assert_eq!(
                tf.label.as_deref(),
                Some(f.label.as_str()),
                "{}.{name}",
                s.name_singular
            );
            if f.relation.is_none() {
                assert_eq!(
                    tf.default_value, f.default_value,
                    "{}.{name} default",
                    s.name_singular
                );
            }
            if matches!(f.field_type, FieldType::Select | FieldType::MultiSelect) {
                assert_eq!(
                    option_values(tf.options.as_ref()),
                    option_values(f.options.as_ref()),
                    "{}.{name} options",
                    s.name_singular
                );
            }
            if let Some(rel) = &f.relation {
                let trel = tf.relation.as_ref().expect("relation");
                let kind = match rel.kind {
                    RelationKind::ManyToOne => "MANY_TO_ONE",
                    RelationKind::OneToMany => "ONE_TO_MANY",
                };
                assert_eq!(trel.relation_type, kind, "{}.{name}", s.name_singular);
                assert_eq!(
                    trel.target_object_metadata.as_ref().unwrap().name_singular,
                    rel.target_object
                );
            }
            checked += 1;
        }
    }
    // pet: 11 fixture fields + 10 added + vetVisits + fans; vetVisit: 4; company.tier;
    // person.pets and person.favoritePet.
    assert!(checked >= 28, "only {checked} custom fields compared");
    assert!(tmodel
        .object("noteTarget")
        .and_then(|o| o.field("targetPet"))
        .is_some());

    // Descriptions and icons, read with the front's fields (the tool's model query skips them).
    let data = target
        .metadata_graphql(
            "{ objects(paging: {first: 1000}) { edges { node { nameSingular icon description \
             fieldsList { name icon description } } } } }",
            json!({}),
        )
        .await
        .expect("metadata query");
    let node = |name: &str| {
        data["objects"]["edges"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["node"]["nameSingular"] == name))
            .map(|e| e["node"].clone())
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert_eq!(node("pet")["icon"], "IconPet", "the fixture's object icon");
    let pet_fields = node("pet")["fieldsList"].clone();
    let pet_field = |name: &str| {
        pet_fields
            .as_array()
            .and_then(|l| l.iter().find(|f| f["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("pet.{name} listed"))
    };
    for (name, source_name) in [
        ("height", "height"),
        ("typeCustom", "type"),
        ("notes", "notes"),
    ] {
        let f = pet_field(name);
        assert_eq!(f["icon"], "IconBox", "pet.{name}");
        assert_eq!(
            f["description"],
            format!("The pet's {source_name}"),
            "pet.{name}"
        );
    }

    // Notes linked to pets keep their link through the morph field Twenty added to noteTarget.
    let schema = src.spec.schema();
    let linked: i64 = src
        .client
        .query_one(
            &format!(
                "SELECT count(*) FROM \"{schema}\".\"noteTarget\" n JOIN \"{schema}\".\"_pet\" p \
                 ON p.id = n.\"targetPetId\" WHERE n.\"deletedAt\" IS NULL AND p.\"deletedAt\" IS NULL"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(linked > 0, "the fixture links notes to pets");
    let in_target = target
        .find_all(
            "noteTargets",
            &twenty_migrate::destination::FindMany {
                filter: Some("targetPetId[is]:NOT_NULL".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(in_target.len() as i64, linked);

    // The values: every live record's custom fields read back through the API.
    let compared = values::compare_custom_values(&src, &model, &target).await;
    assert!(compared > 600, "only {compared} values compared");
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_rerun_creates_no_object_or_field_twice() {
    let src = source(60).await;
    let (twin, target) = twin(&src.members).await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&src.db.url, &dir.path().join("rejects.jsonl"));

    let first = pipeline::prepare(&opts, &target).await.expect("prepare");
    let diff = first.schema.clone();
    first.source.end_snapshot().await.unwrap();
    assert_eq!(
        diff.objects
            .iter()
            .map(|o| o.name_singular.as_str())
            .collect::<Vec<_>>(),
        ["pet", "vetVisit"]
    );
    assert!(!diff.fields.is_empty());

    pipeline::migrate(&opts, &target).await.expect("first run");
    let after_first = field_ids(&target.model().await.unwrap());
    let created_first = twin.stats().records_created;

    // The same diff again: everything is there already.
    let again = schema_sync::apply(&diff, &target)
        .await
        .expect("apply again");
    assert!(again.created_objects.is_empty(), "{again:?}");
    assert!(again.created_fields.is_empty(), "{again:?}");
    assert_eq!(
        again.already_present,
        diff.objects.len() + diff.fields.len() + diff.options.len()
    );

    // A whole second run: same fields with the same ids, no new record.
    let second = pipeline::prepare(&opts, &target)
        .await
        .expect("prepare again");
    assert!(!second.schema.has_changes(), "{:?}", second.schema);
    second.source.end_snapshot().await.unwrap();
    pipeline::migrate(&opts, &target).await.expect("second run");
    assert_eq!(field_ids(&target.model().await.unwrap()), after_first);
    assert_eq!(twin.stats().records_created, created_first);
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_target_field_of_another_type_stops_plan_with_one_sentence_and_nothing_is_written() {
    let src = source(40).await;
    let (twin, target) = twin(&src.members).await;
    let company = target.model().await.unwrap().object("company").unwrap().id;
    target
        .create_field(
            json!({"objectMetadataId": company, "type": "TEXT", "name": "tier", "label": "Tier"}),
        )
        .await
        .expect("pre-existing field");
    let before = field_ids(&target.model().await.unwrap());
    let sentence =
        "company.tier is SELECT in the source but the target already has a field tier of type TEXT";

    // `plan` through the binary: exit 1 and the sentence.
    // The binary runs off the runtime thread so that the in-process twin can answer it.
    let args: Vec<String> = [
        "plan",
        "--source",
        &src.db.url,
        "--target",
        twin.base_url(),
        "--api-key",
        KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::inspect::run_cli(&args)
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains(sentence), "{stdout}");
    assert!(stdout.contains("Settings → Data model"), "{stdout}");

    // `migrate` refuses before writing anything.
    let dir = tempfile::tempdir().unwrap();
    let err = pipeline::migrate(&options(&src.db.url, &dir.path().join("r.jsonl")), &target)
        .await
        .expect_err("blocked");
    match err {
        MigrateError::Blocked(blockers) => {
            assert!(
                blockers.iter().any(|b| b.contains(sentence)),
                "{blockers:?}"
            )
        }
        other => panic!("expected a blocker, got {other}"),
    }
    assert_eq!(twin.stats().records_created, 0);
    assert_eq!(field_ids(&target.model().await.unwrap()), before);
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_select_value_whose_option_cannot_be_created_is_rejected_not_dropped() {
    let src = source(80).await;
    let schema = src.spec.schema();
    let ws = src.spec.id.to_string();
    // An option an older Twenty let through but the target refuses (not UPPER_SNAKE_CASE).
    src.client
        .batch_execute(&format!(
            "ALTER TYPE \"{schema}\".\"company_tier_enum\" ADD VALUE 'mid-market'"
        ))
        .await
        .unwrap();
    src.client
        .execute(
            "UPDATE core.\"fieldMetadata\" SET options = options || \
             '[{\"id\":\"0b6f2a9e-3a43-4c8e-9f5e-6f9f1f0c2a11\",\"value\":\"mid-market\",\"label\":\"Mid market\",\"color\":\"blue\",\"position\":3}]'::jsonb \
             WHERE id = md5($1 || '/field/company.tier')::uuid",
            &[&ws],
        )
        .await
        .unwrap();
    let marked = src
        .client
        .query(
            &format!(
                "UPDATE \"{schema}\".company SET tier = 'mid-market' \
                 WHERE \"deletedAt\" IS NULL AND abs(hashtext(id::text)) % 3 = 0 RETURNING id"
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(!marked.is_empty());
    let marked: BTreeSet<uuid::Uuid> = marked.iter().map(|r| r.get(0)).collect();

    let (twin, target) = twin(&src.members).await;
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let opts = options(&src.db.url, &rejects);
    let prepared = pipeline::prepare(&opts, &target).await.unwrap();
    assert!(
        prepared
            .schema
            .warnings
            .iter()
            .any(|w| w.contains("company.tier") && w.contains("\"mid-market\"")),
        "{:?}",
        prepared.schema.warnings
    );
    prepared.source.end_snapshot().await.unwrap();
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");

    let tier = target
        .model()
        .await
        .unwrap()
        .object("company")
        .and_then(|o| o.field("tier").cloned())
        .expect("tier created");
    assert_eq!(
        option_values(tier.options.as_ref()),
        ["ENTERPRISE", "SMB", "STARTUP"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let company = report
        .objects
        .iter()
        .find(|o| o.object == "company")
        .unwrap();
    assert_eq!(company.rejected, marked.len() as u64);
    let rejected: BTreeSet<uuid::Uuid> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["object"] == "company")
        .inspect(|r| assert_eq!(r["field"], "tier", "{r}"))
        .map(|r| r["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(rejected, marked);
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn lost_answers_and_server_errors_during_the_sync_still_create_each_thing_once() {
    let src = source(40).await;
    // A third of the requests are applied but their answer is lost; some fail outright.
    let faults = twenty_migrate::twin::FaultSpec {
        seed: 5,
        shares: vec![
            (0.3, twenty_migrate::twin::Fault::ResetAfterApply),
            (0.1, twenty_migrate::twin::Fault::Status(503)),
        ],
        windows: Vec::new(),
    };
    let twin = TwinConfig::new(KEY)
        .members(src.members.clone())
        .faults(faults)
        .start()
        .await
        .expect("twin starts");
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(KEY));
    config.requests_per_minute = 1_000_000;
    config.max_attempts = 12;
    config.backoff.base = std::time::Duration::from_millis(5);
    config.backoff.max = std::time::Duration::from_millis(50);
    let target = Target::new(config).expect("client");

    let model = source_model(&src).await;
    let tmodel = target.model().await.expect("read").to_model();
    let s = twenty_migrate::source::Source::connect(&src.db.url)
        .await
        .unwrap();
    let ws = s.choose_workspace(None).await.unwrap();
    let details = twenty_migrate::source::details::read_details(s.client(), &ws)
        .await
        .unwrap();
    let diff = schema_sync::diff(&model, &tmodel, &details, &SchemaOptions::default());
    assert!(diff.fields.len() > 10);

    let report = schema_sync::apply(&diff, &target).await.expect("apply");
    assert!(
        twin.stats().faults > 0,
        "the twin injected faults: {:?}",
        twin.stats()
    );
    assert_eq!(report.created_objects, ["pet", "vetVisit"]);
    assert_eq!(report.created_fields.len(), diff.fields.len(), "{report:?}");

    let after = target.model().await.expect("read");
    for f in &diff.fields {
        let object = after.object(&f.object).expect("object");
        let same_name = object.fields.iter().filter(|x| x.name == f.name).count();
        assert_eq!(same_name, 1, "{}.{}", f.object, f.name);
    }
    let again = after.to_model();
    let rest = schema_sync::diff(&model, &again, &details, &SchemaOptions::default());
    assert!(!rest.has_changes(), "{rest:?}");
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn settings_the_target_refuses_are_dropped_with_a_note_and_the_field_still_created() {
    let (twin, target) = twin(&[]).await;
    let standard = target.model().await.unwrap().to_model();
    // A source with one more custom field on person: LINKS with a variant Twenty does not know.
    let mut source = standard.clone();
    let person = source
        .objects
        .iter_mut()
        .find(|o| o.name_singular == "person")
        .unwrap();
    let mut site = person
        .field("linkedinLink")
        .cloned()
        .expect("a LINKS field");
    site.name = "site".into();
    site.label = "Site".into();
    site.is_custom = true;
    site.is_system = false;
    site.settings = Some(json!({"type": "email"}));
    person.fields.push(site);
    let diff = schema_sync::diff(
        &source,
        &standard,
        &schema_sync::SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert_eq!(diff.fields.len(), 1, "{diff:?}");

    let report = schema_sync::apply(&diff, &target).await.expect("apply");
    assert_eq!(report.created_fields, ["person.site"]);
    assert_eq!(report.notes.len(), 1, "{report:?}");
    assert!(
        report.notes[0].contains("refused the source's settings"),
        "{report:?}"
    );
    let site = target
        .model()
        .await
        .unwrap()
        .object("person")
        .and_then(|o| o.field("site").cloned())
        .expect("created");
    assert_eq!(site.field_type, "LINKS");
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn with_no_schema_the_target_model_is_left_alone_and_custom_data_is_not_written() {
    let src = source(40).await;
    let (twin, target) = twin(&src.members).await;
    let before = field_ids(&target.model().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&src.db.url, &dir.path().join("rejects.jsonl"));
    opts.schema.sync = false;
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert_eq!(field_ids(&target.model().await.unwrap()), before);
    let skipped: Vec<(&str, &str)> = report
        .skipped_objects
        .iter()
        .map(|s| (s.object.as_str(), s.rule))
        .filter(|(o, _)| *o == "pet" || *o == "vetVisit")
        .collect();
    assert_eq!(
        skipped,
        [
            ("pet", "missing-in-target"),
            ("vetVisit", "missing-in-target")
        ]
    );
    assert!(report.dropped_fields["company"]
        .iter()
        .any(|d| d.field == "tier"));

    // What was not written is compared too: the links to pets and the company tiers that did
    // not move are "not migrated", by rule, and the comparison fails.
    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .expect("verify");
    assert!(!check.is_clean(), "{}", check.render_text());
    let lost: Vec<(&str, &str, &str)> = check
        .not_migrated
        .iter()
        .map(|n| (n.object.as_str(), n.field.as_str(), n.rule.as_str()))
        .collect();
    assert!(
        lost.contains(&("noteTarget", "targetVetVisit", "missing-in-target")),
        "{lost:?}"
    );
    assert!(
        lost.contains(&("company", "tier", "missing-in-target")),
        "{lost:?}"
    );
    assert!(check
        .not_migrated
        .iter()
        .all(|n| n.records > 0 && n.object_rule.is_none() && !n.first_ids.is_empty()));
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn plan_json_carries_the_data_model_diff_and_plans_the_objects_it_creates() {
    let src = source(40).await;
    let (twin, target) = twin(&src.members).await;
    let args: Vec<String> = [
        "plan",
        "--json",
        "--source",
        &src.db.url,
        "--target",
        twin.base_url(),
        "--api-key",
        KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::inspect::run_cli(&args)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).expect("JSON");
    let created: Vec<&str> = plan["schema"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name_singular"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["pet", "vetVisit"]);
    let planned: Vec<&str> = plan["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["object"].as_str().unwrap())
        .collect();
    assert!(
        planned.contains(&"pet") && planned.contains(&"vetVisit"),
        "{planned:?}"
    );
    // `plan` wrote nothing.
    assert!(target.model().await.unwrap().object("pet").is_none());
    twin.shutdown().await.unwrap();
}

#[tokio::test]
async fn standard_fields_the_target_no_longer_has_arrive_as_custom_fields_with_their_values() {
    let src = source(400).await;
    let (_twin, target) = twin(&src.members).await;
    let before = target.model().await.unwrap();
    let company = before.object("company").unwrap();
    assert!(
        company.field("employees").is_none() && company.field("idealCustomerProfile").is_none(),
        "the twin's 2.x standard company has neither field"
    );
    let dir = tempfile::tempdir().unwrap();
    let report = pipeline::migrate(
        &options(&src.db.url, &dir.path().join("rejects.jsonl")),
        &target,
    )
    .await
    .expect("migrate");
    assert_eq!(report.rejected(), 0);

    let after = target.model().await.unwrap();
    for (object, field) in [
        ("company", "employees"),
        ("company", "idealCustomerProfile"),
        ("company", "annualRecurringRevenue"),
        ("company", "xLink"),
        ("person", "city"),
        ("person", "xLink"),
    ] {
        // Twenty's standard model no longer has it, so its presence shows it was created.
        after
            .object(object)
            .and_then(|o| o.field(field))
            .unwrap_or_else(|| panic!("{object}.{field} recreated"));
    }

    // Every live company's values read back equal to the source's columns.
    let rows = src
        .client
        .query(
            &format!(
                r#"select id, employees, "idealCustomerProfile", "annualRecurringRevenueAmountMicros"::text
                   from "{}".company where "deletedAt" is null"#,
                src.spec.schema()
            ),
            &[],
        )
        .await
        .unwrap();
    let records = target
        .find_all(
            "companies",
            &twenty_migrate::destination::FindMany::default(),
        )
        .await
        .unwrap();
    let by_id: BTreeMap<String, &Value> = records
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r))
        .collect();
    assert_eq!(by_id.len(), rows.len());
    let mut with_employees = 0;
    for row in &rows {
        let id: uuid::Uuid = row.get(0);
        let record = by_id[&id.to_string()];
        // `employees` is a double precision column (sql/layout_c/workspace.sql).
        let employees: Option<f64> = row.get(1);
        assert_eq!(record["employees"].as_f64(), employees, "company {id}");
        with_employees += usize::from(employees.is_some());
        let icp: Option<bool> = row.get(2);
        assert_eq!(
            record["idealCustomerProfile"].as_bool(),
            icp,
            "company {id}"
        );
        let micros: Option<String> = row.get(3);
        let sent = &record["annualRecurringRevenue"]["amountMicros"];
        assert_eq!(
            micros.as_deref().map(|m| m.parse::<f64>().unwrap()),
            sent.as_f64()
                .or_else(|| sent.as_str().map(|s| s.parse().unwrap())),
            "company {id}"
        );
    }
    assert!(with_employees > 0, "the fixture fills employees");

    // Turned off, the fields are not created and the plan lists them as not written.
    let src = source(50).await;
    let (_twin, target) = twin(&src.members).await;
    let mut opts = options(&src.db.url, &dir.path().join("off.jsonl"));
    opts.schema.standard_fields = false;
    pipeline::migrate(&opts, &target).await.expect("migrate");
    let model = target.model().await.unwrap();
    assert!(model
        .object("company")
        .unwrap()
        .field("employees")
        .is_none());
}

// Twenty's own seed has `company.tagline`: TEXT, NOT NULL, default '' and empty on every
// company. A real 2.21 refuses "" there (it becomes null, then the column refuses it); the
// run leaves the empty value out so that the default applies, and every company lands.
#[tokio::test]
async fn empty_values_of_a_not_null_text_field_land_as_the_default() {
    let src = source(40).await;
    let schema = src.spec.schema();
    let ws = src.spec.id;
    src.client
        .batch_execute(&format!(
            "ALTER TABLE \"{schema}\".company ADD COLUMN tagline text NOT NULL DEFAULT ''; \
             UPDATE \"{schema}\".company SET tagline = CASE WHEN abs(hashtext(id::text)) % 3 = 0 \
               THEN 'Think different' ELSE '' END"
        ))
        .await
        .expect("tagline column");
    src.client
        .execute(
            "INSERT INTO core.\"fieldMetadata\" (\"objectMetadataId\", type, name, label, \"defaultValue\", \
             \"isCustom\", \"isActive\", \"isSystem\", \"isNullable\", \"isUnique\", \"workspaceId\", \"applicationId\") \
             VALUES (md5($1 || '/object/company')::uuid, 'TEXT', 'tagline', 'Tagline', '\"''''\"'::jsonb, \
             true, true, false, false, false, $2, md5($1 || '/application/custom')::uuid)",
            &[&ws.to_string(), &ws],
        )
        .await
        .expect("field metadata");
    let (twin, target) = twin(&src.members).await;
    let dir = tempfile::tempdir().unwrap();
    let opts = options(&src.db.url, &dir.path().join("rejects.jsonl"));
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    let tagline = target
        .model()
        .await
        .unwrap()
        .object("company")
        .and_then(|c| c.field("tagline").cloned())
        .expect("tagline created");
    assert_eq!(tagline.is_nullable, Some(false));
    // (This harness moves no file bytes, so only the companies are checked here.)
    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .expect("verify");
    let company = check
        .objects
        .iter()
        .find(|o| o.object == "company")
        .unwrap();
    assert!(
        company.compared > 0 && company.differing == 0,
        "{}",
        check.render_text()
    );
    assert_eq!(company.target_count, Some(company.source_count));
    assert!(!check.not_migrated.iter().any(|n| n.object == "company"));
    twin.shutdown().await.unwrap();
}
