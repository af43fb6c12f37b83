//! The exchanges, in the order they run. The GraphQL documents the tool sends come from the
//! tool's own builders (`destination::metadata`, `destination::direct_upload`, `schema_sync::apply`), so a
//! golden shows exactly what the tool sends and what the server answers to it.
//!
//! The custom object `cf<Run>Thing` and its fields (`cfText`, `cfNumber`, …) are created by the
//! first exchanges and used by later ones; every record id is a fresh `${id…}`.

use serde_json::{json, Value};

use super::{Auth, Body, Exchange, Step};
use crate::destination::client::{id_in_filter, UPLOAD_FILES_FIELD_FILE};
use crate::destination::direct_upload::{COMPLETE, CREATE, MUTATION_NAMES};
use crate::destination::metadata::{
    create_field_mutation, create_object_mutation, objects_query, ObjectsQuery,
};

const THINGS: &str = "/rest/cf${Run}Things";

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn md(query: impl Into<String>, variables: Value) -> Step {
    Step::graphql("/metadata", query, variables)
}

fn ex(name: &'static str, steps: Vec<Step>) -> Exchange {
    Exchange { name, steps }
}

/// The tool's `objects` query (newest variant, first page).
fn objects() -> Step {
    md(objects_query(ObjectsQuery::NEWEST, None), json!({}))
}

/// The tool's `createOneField` with `field` (plus the custom object's id).
fn create_field(mut field: Value) -> Step {
    field["objectMetadataId"] = json!("${thingObjectId}");
    md(
        create_field_mutation(),
        json!({ "input": { "field": field } }),
    )
}

fn field(kind: &str, name: &str) -> Value {
    json!({ "type": kind, "name": name, "label": name, "isNullable": true })
}

fn options(values: &[&str]) -> Value {
    Value::Array(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({ "value": v, "label": v, "position": i, "color": "green" }))
            .collect(),
    )
}

/// The batch upsert the tool sends (`Target::upsert_batch`).
fn upsert(plural: &str, records: Value) -> Step {
    Step::post(format!("/rest/batch/{plural}?upsert=true"), records)
}

/// `GET /rest/{plural}?filter=id[in]:[…]` as `Target::find_by_ids` builds it.
fn find_ids(plural: &str, ids: &[&str], extra: &str) -> Step {
    let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    let filter = format!("id[in]:[{}]", list.join(","));
    Step::get(format!(
        "/rest/{plural}?limit={}&filter={}{extra}",
        ids.len(),
        urlencode(&filter)
    ))
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                out.push(b as char)
            }
            // Keep `${name}` templates intact; they are filled before sending.
            b'$' | b'{' | b'}' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Objects of the listing whose `nameSingular` passes `keep`, keyed by name, their fields
/// keyed by name (a morph relation's several `target` fields by name and join column), so a
/// difference names the field rather than a list index.
fn objects_where(body: &Value, keep: fn(&str) -> bool) -> Value {
    let mut objects = serde_json::Map::new();
    let edges = body
        .pointer("/data/objects/edges")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for node in edges.iter().filter_map(|e| e.get("node")) {
        let Some(name) = node.get("nameSingular").and_then(Value::as_str) else {
            continue;
        };
        if !keep(name) {
            continue;
        }
        let mut node = node.clone();
        if node.get("id").is_some() {
            node["id"] = json!("<object id>");
        }
        if let Some(Value::Array(list)) = node.get_mut("fieldsList").map(Value::take) {
            let mut fields = serde_json::Map::new();
            for mut f in list {
                // Field and option ids say nothing by themselves, and numbering them by first
                // appearance would shift every id after a field one side lacks.
                if f.get("id").is_some() {
                    f["id"] = json!("<field id>");
                }
                if let Some(options) = f.get_mut("options").and_then(Value::as_array_mut) {
                    for o in options.iter_mut().filter(|o| o.get("id").is_some()) {
                        o["id"] = json!("<option id>");
                    }
                }
                let key = f["name"].as_str().unwrap_or("").to_owned();
                // 2.21 lists a morph relation as one field whose label, join column and
                // target order come from whichever target the server reads first.
                if f["type"] == "MORPH_RELATION" {
                    if f.get("label").is_some() {
                        f["label"] = json!("<morph label>");
                    }
                    if let Some(join) = f.pointer_mut("/settings/joinColumnName") {
                        *join = json!("<morph join column>");
                    }
                    if let Some(list) = f.get_mut("morphRelations").and_then(Value::as_array_mut) {
                        list.sort_by_key(|r| {
                            r.pointer("/targetObjectMetadata/nameSingular")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned()
                        });
                    }
                }
                fields.insert(key, f);
            }
            node["fieldsList"] = Value::Object(fields);
        }
        objects.insert(name.to_owned(), node);
    }
    json!({ "objects": objects, "errors": body.get("errors") })
}

fn standard_objects(body: &Value) -> Value {
    objects_where(body, |n| {
        matches!(n, "noteTarget" | "taskTarget" | "attachment" | "company")
    })
}

fn custom_objects(body: &Value) -> Value {
    objects_where(body, |n| n.starts_with("cfZq"))
}

fn upload_mutations(body: &Value) -> Value {
    let names: Vec<&str> = body
        .pointer("/data/__schema/mutationType/fields")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    let has = |n: &str| json!(names.contains(&n));
    json!({
        "createFileUpload": has("createFileUpload"),
        "completeFileUpload": has("completeFileUpload"),
        "uploadFilesFieldFile": has("uploadFilesFieldFile"),
        "uploadFilesFieldFileByUniversalIdentifier": has("uploadFilesFieldFileByUniversalIdentifier"),
        "createOneObject": has("createOneObject"),
        "createOneField": has("createOneField"),
        "updateOneField": has("updateOneField"),
    })
}

/// A batch answer reduced to its key, length and first record.
fn batch_summary(body: &Value) -> Value {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return body.clone();
    };
    let summary: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            let list = v.as_array().cloned().unwrap_or_default();
            (
                k.clone(),
                json!({ "count": list.len(), "first": list.first() }),
            )
        })
        .collect();
    json!({ "data": summary })
}

fn client_config(body: &Value) -> Value {
    json!({ "api": body.get("api") })
}

fn companies(n: usize, prefix: &str) -> Value {
    Value::Array(
        (0..n)
            .map(
                |i| json!({ "id": format!("${{id{prefix}{i}}}"), "name": format!("{prefix} {i}") }),
            )
            .collect(),
    )
}

/// Every exchange, in run order.
pub fn exchanges() -> Vec<Exchange> {
    let mut all = Vec::new();
    all.extend(metadata());
    all.extend(auth());
    all.extend(records());
    all.extend(actors());
    all.extend(activities());
    all.extend(listing());
    all.extend(files());
    all
}

fn metadata() -> Vec<Exchange> {
    let mut out = vec![
        ex(
            "metadata-objects-listing-standard",
            vec![objects()
                .capture("companyObjectId", "/data/objects/edges/[node.nameSingular=company]/node/id")
                .capture(
                    "attachmentFileFieldId",
                    "/data/objects/edges/[node.nameSingular=attachment]/node/fieldsList/[name=file]/id",
                )
                .select(standard_objects)],
        ),
        ex(
            "metadata-create-object",
            vec![md(
                create_object_mutation(),
                json!({ "input": { "object": {
                    "nameSingular": "cf${Run}Thing",
                    "namePlural": "cf${Run}Things",
                    "labelSingular": "Cf ${Run} Thing",
                    "labelPlural": "Cf ${Run} Things",
                    "description": "conformance",
                    "icon": "IconBox",
                } } }),
            )
            .capture("thingObjectId", "/data/createOneObject/id")],
        ),
    ];
    let simple: &[(&'static str, &str, &str)] = &[
        ("metadata-create-field-text", "TEXT", "cfText"),
        ("metadata-create-field-number", "NUMBER", "cfNumber"),
        ("metadata-create-field-numeric", "NUMERIC", "cfNumeric"),
        ("metadata-create-field-boolean", "BOOLEAN", "cfBoolean"),
        ("metadata-create-field-date-time", "DATE_TIME", "cfDateTime"),
        ("metadata-create-field-date", "DATE", "cfDate"),
        ("metadata-create-field-rating", "RATING", "cfRating"),
        ("metadata-create-field-currency", "CURRENCY", "cfCurrency"),
        ("metadata-create-field-full-name", "FULL_NAME", "cfFullName"),
        ("metadata-create-field-links", "LINKS", "cfLinks"),
        ("metadata-create-field-emails", "EMAILS", "cfEmails"),
        ("metadata-create-field-phones", "PHONES", "cfPhones"),
        ("metadata-create-field-address", "ADDRESS", "cfAddress"),
        ("metadata-create-field-raw-json", "RAW_JSON", "cfRawJson"),
        ("metadata-create-field-rich-text", "RICH_TEXT", "cfRichText"),
        (
            "metadata-create-field-rich-text-v2",
            "RICH_TEXT_V2",
            "cfRichTextV2",
        ),
        ("metadata-create-field-array", "ARRAY", "cfArray"),
        ("metadata-create-field-files", "FILES", "cfFiles"),
        ("metadata-create-field-uuid", "UUID", "cfUuid"),
    ];
    for (name, kind, field_name) in simple {
        let mut input = field(kind, field_name);
        if *kind == "FILES" {
            // 2.21 requires `settings.maxNumberOfValues` (1–60).
            input["settings"] = json!({ "maxNumberOfValues": 10 });
        }
        let mut step = create_field(input);
        if *kind == "FILES" {
            step = step.capture("filesFieldId", "/data/createOneField/id");
        }
        out.push(ex(name, vec![step]));
    }
    let mut select = field("SELECT", "cfSelect");
    select["options"] = options(&["RED", "BLUE"]);
    let mut multi = field("MULTI_SELECT", "cfMulti");
    multi["options"] = options(&["ONE", "TWO"]);
    let mut unique = field("TEXT", "cfCode");
    unique["isUnique"] = json!(true);
    let mut relation = field("RELATION", "cfCompany");
    relation["relationCreationPayload"] = json!({
        "type": "MANY_TO_ONE",
        "targetObjectMetadataId": "${companyObjectId}",
        "targetFieldLabel": "Cf ${Run} Things",
        "targetFieldName": "cf${Run}Things",
    });
    // What the tool sends when the source field has no inverse icon.
    let mut relation_no_icon = relation.clone();
    relation_no_icon["name"] = json!("cfOtherCompany");
    relation_no_icon["relationCreationPayload"]["targetFieldName"] = json!("cf${Run}Others");
    relation["relationCreationPayload"]["targetFieldIcon"] = json!("IconBox");
    let mut lower_option = field("SELECT", "cfBadOption");
    lower_option["options"] = options(&["lower case"]);
    out.extend([
        ex(
            "metadata-create-field-select",
            vec![create_field(select).capture("selectFieldId", "/data/createOneField/id")],
        ),
        ex("metadata-create-field-multi-select", vec![create_field(multi)]),
        ex("metadata-create-field-unique-text", vec![create_field(unique)]),
        ex("metadata-create-field-relation-many-to-one", vec![create_field(relation)]),
        ex(
            "metadata-create-field-relation-without-target-icon",
            vec![create_field(relation_no_icon)],
        ),
        ex(
            "metadata-create-field-files-without-settings",
            vec![create_field(field("FILES", "cfFilesBare"))],
        ),
        ex("metadata-create-field-select-bad-option-value", vec![create_field(lower_option)]),
        ex(
            "metadata-update-field-options",
            vec![md(
                crate::schema_sync::apply::UPDATE_FIELD,
                json!({ "input": { "id": "${selectFieldId}", "update": { "options": [
                    { "value": "RED", "label": "RED", "position": 0, "color": "green" },
                    { "value": "BLUE", "label": "BLUE", "position": 1, "color": "green" },
                    { "value": "GREEN", "label": "GREEN", "position": 2, "color": "green" },
                ] } } }),
            )],
        ),
        ex(
            "metadata-objects-listing-custom",
            vec![objects().select(custom_objects)],
        ),
        ex(
            "metadata-morph-relations-of-note-target",
            vec![md(
                "query { objects(paging: { first: 1000 }) { edges { node { nameSingular fieldsList { name type settings morphId relation { type targetObjectMetadata { nameSingular } } morphRelations { type targetObjectMetadata { nameSingular } targetFieldMetadata { name } } } } } } }",
                json!({}),
            )
            .select(|body| {
                let mut v = objects_where(body, |n| n == "noteTarget");
                // The morph fields towards standard objects and this run's object only.
                if let Some(fields) = v
                    .pointer_mut("/objects/noteTarget/fieldsList")
                    .and_then(Value::as_object_mut)
                {
                    // Morph targets: the standard ones and this run's object (not the seed's).
                    let standard = |r: &Value| {
                        r.pointer("/targetObjectMetadata/nameSingular")
                            .and_then(Value::as_str)
                            .is_some_and(|n| {
                                matches!(n, "company" | "person" | "opportunity")
                                    || n.starts_with("cfZq")
                            })
                    };
                    for f in fields.values_mut() {
                        if let Some(list) =
                            f.get_mut("morphRelations").and_then(Value::as_array_mut)
                        {
                            list.retain(standard);
                        }
                    }
                    let wanted = |f: &Value| {
                        f["name"] == "note"
                            || f["type"] == "MORPH_RELATION"
                            || f["name"].as_str().is_some_and(|n| {
                                matches!(n, "targetCompany" | "targetPerson" | "targetOpportunity")
                                    || n.starts_with("targetCfZq")
                            })
                    };
                    fields.retain(|_, f| wanted(f));
                }
                v
            })],
        ),
        ex(
            "metadata-query-unknown-field-is-custom",
            vec![md(
                "query TargetModel { objects(paging: { first: 1 }) { edges { node { id nameSingular isCustom } } } }",
                json!({}),
            )],
        ),
        ex(
            "metadata-introspection-upload-mutations",
            vec![md(MUTATION_NAMES, json!({})).select(upload_mutations)],
        ),
        ex(
            "metadata-create-field-unknown-type",
            vec![create_field(field("NOT_A_TYPE", "cfNope"))],
        ),
        ex(
            "metadata-create-field-duplicate-name",
            vec![create_field(field("TEXT", "cfText"))],
        ),
    ]);
    out
}

fn auth() -> Vec<Exchange> {
    let gql = json!({ "query": "{ companies(first: 1) { edges { node { id } } } }" });
    let meta = json!({ "query": "{ objects(paging: { first: 1 }) { edges { node { id } } } }" });
    vec![
        ex(
            "rest-missing-token",
            vec![Step::get("/rest/companies?limit=1").auth(Auth::None)],
        ),
        ex(
            "rest-wrong-token",
            vec![Step::get("/rest/companies?limit=1").auth(Auth::Wrong)],
        ),
        ex(
            "rest-garbage-token",
            vec![Step::get("/rest/companies?limit=1").auth(Auth::Garbage)],
        ),
        ex(
            "rest-batch-missing-token",
            vec![Step::post("/rest/batch/companies?upsert=true", json!([])).auth(Auth::None)],
        ),
        ex(
            "graphql-missing-token",
            vec![Step::post("/graphql", gql.clone()).auth(Auth::None)],
        ),
        ex(
            "graphql-wrong-token",
            vec![Step::post("/graphql", gql.clone()).auth(Auth::Wrong)],
        ),
        ex(
            "graphql-garbage-token",
            vec![Step::post("/graphql", gql).auth(Auth::Garbage)],
        ),
        ex(
            "metadata-missing-token",
            vec![Step::post("/metadata", meta.clone()).auth(Auth::None)],
        ),
        ex(
            "metadata-wrong-token",
            vec![Step::post("/metadata", meta.clone()).auth(Auth::Wrong)],
        ),
        ex(
            "metadata-garbage-token",
            vec![Step::post("/metadata", meta).auth(Auth::Garbage)],
        ),
        ex(
            "client-config",
            vec![Step::get("/client-config")
                .auth(Auth::None)
                .select(client_config)],
        ),
        ex(
            "rest-unknown-object",
            vec![Step::get("/rest/compagnies?limit=1")],
        ),
    ]
}

fn records() -> Vec<Exchange> {
    vec![
        ex(
            "company-create-one",
            vec![Step::post(
                "/rest/companies",
                json!({ "id": "${idAcme}", "name": "Acme ${Run}",
                        "domainName": { "primaryLinkUrl": "https://ACME-${run}.example.com/" } }),
            )],
        ),
        ex(
            "company-find-one",
            vec![Step::get("/rest/companies/${idAcme}")],
        ),
        ex(
            "company-find-one-unknown-id",
            vec![Step::get("/rest/companies/${idNobody}")],
        ),
        ex(
            "company-batch-upsert-create",
            vec![upsert(
                "companies",
                json!([{ "id": "${idB1}", "name": "B1" }, { "id": "${idB2}", "name": "B2" }]),
            )],
        ),
        ex(
            "company-batch-upsert-update",
            vec![upsert(
                "companies",
                json!([{ "id": "${idB1}", "name": "B1 renamed" }, { "id": "${idB3}", "name": "B3" }]),
            )],
        ),
        ex(
            "company-batch-upsert-at-cap-200",
            vec![upsert("companies", companies(200, "Cap")).select(batch_summary)],
        ),
        ex(
            "company-batch-upsert-above-cap-201",
            vec![upsert("companies", companies(201, "Over"))],
        ),
        ex(
            "company-batch-create-above-cap-201",
            vec![Step::post("/rest/batch/companies", companies(201, "Plain"))],
        ),
        ex(
            "company-batch-upsert-duplicate-ids",
            vec![
                upsert(
                    "companies",
                    json!([{ "id": "${idDup}", "name": "Dup 1" }, { "id": "${idDup}", "name": "Dup 2" }]),
                ),
                find_ids("companies", &["${idDup}"], ""),
            ],
        ),
        ex(
            "company-batch-create-duplicate-ids",
            vec![Step::post(
                "/rest/batch/companies",
                json!([{ "id": "${idDupC}", "name": "Dup 1" }, { "id": "${idDupC}", "name": "Dup 2" }]),
            )],
        ),
        ex(
            "company-unknown-field",
            vec![upsert(
                "companies",
                json!([{ "id": "${idUnknown}", "name": "U", "notAField": 1 }]),
            )],
        ),
        ex(
            "company-id-not-uuid-v1-to-v5",
            vec![upsert(
                "companies",
                json!([{ "id": "20202020-c98d-49b7-1019-4b2f1b0e3a6d", "name": "Seed-style id" }]),
            )],
        ),
        ex(
            "company-tagline-empty-string",
            vec![
                upsert(
                    "companies",
                    json!([{ "id": "${idTag}", "name": "Tag", "tagline": "" }]),
                ),
                find_ids("companies", &["${idTag}"], ""),
            ],
        ),
        ex(
            "company-upsert-soft-deleted-id",
            vec![
                upsert("companies", json!([{ "id": "${idSoft}", "name": "Soft" }])).quiet(),
                Step::delete("/rest/companies/${idSoft}?soft_delete=true"),
                upsert(
                    "companies",
                    json!([{ "id": "${idSoft}", "name": "Soft again" }]),
                ),
                find_ids("companies", &["${idSoft}"], ""),
            ],
        ),
        ex(
            "opportunity-bad-enum-value",
            vec![upsert(
                "opportunities",
                json!([{ "id": "${idOpp}", "name": "Opp", "stage": "NOT_A_STAGE" }]),
            )],
        ),
        ex(
            "custom-record-every-type",
            vec![
                upsert(
                    &THINGS[6..],
                    json!([{
                        "id": "${idThing}",
                        "name": "Thing",
                        "cfText": "text",
                        "cfNumber": 42,
                        "cfBoolean": true,
                        "cfDateTime": "2001-02-03T04:05:06Z",
                        "cfDate": "2001-02-03",
                        "cfRating": "RATING_3",
                        "cfCurrency": { "amountMicros": 1500000, "currencyCode": "EUR" },
                        "cfFullName": { "firstName": "Ada", "lastName": "Lovelace" },
                        "cfLinks": { "primaryLinkUrl": "https://Example.com/", "primaryLinkLabel": "", "secondaryLinks": [] },
                        "cfEmails": { "primaryEmail": "Ada@Example.com", "additionalEmails": ["B@Example.com"] },
                        "cfPhones": { "primaryPhoneNumber": "612345678", "primaryPhoneCountryCode": "FR", "primaryPhoneCallingCode": "+33", "additionalPhones": [] },
                        "cfAddress": { "addressStreet1": "1 Main St", "addressCity": "Paris", "addressCountry": "France" },
                        "cfRawJson": { "a": [1, 2] },
                        "cfRichText": { "markdown": "**hi**", "blocknote": null },
                        "cfArray": ["x", "y"],
                        "cfUuid": "${idSomeUuid}",
                        "cfSelect": "GREEN",
                        "cfMulti": ["ONE", "TWO"],
                        "cfCode": "code-1",
                        "cfCompanyId": "${idAcme}",
                    }]),
                ),
                find_ids(&THINGS[6..], &["${idThing}"], ""),
            ],
        ),
        ex(
            "custom-record-bad-select-value",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idBadSel}", "cfSelect": "PURPLE" }]),
            )],
        ),
        ex(
            "custom-record-bad-multi-select-value",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idBadMulti}", "cfMulti": ["ONE", "NINE"] }]),
            )],
        ),
        ex(
            "custom-record-number-as-string",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idBadNum}", "cfNumber": "42" }]),
            )],
        ),
        ex(
            "custom-record-bad-date-time",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idBadDate}", "cfDateTime": "yesterday" }]),
            )],
        ),
        ex(
            "custom-record-unique-violation",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idUniq}", "cfCode": "code-1" }]),
            )],
        ),
        ex(
            "custom-record-foreign-key-to-missing-company",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idFk}", "cfCompanyId": "${idMissingCompany}" }]),
            )],
        ),
        ex(
            "custom-record-rich-text-legacy-type",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idRich}", "cfRichText": "plain text" }]),
            )],
        ),
    ]
}

fn actors() -> Vec<Exchange> {
    let client_actor = json!({ "source": "IMPORT", "name": "Jane Client", "workspaceMemberId": null, "context": {} });
    vec![
        ex(
            "company-actor-on-create-default",
            vec![upsert(
                "companies",
                json!([{ "id": "${idAct1}", "name": "Actor default" }]),
            )],
        ),
        ex(
            "company-actor-on-create-client-given",
            vec![upsert(
                "companies",
                json!([{ "id": "${idAct2}", "name": "Actor given", "createdBy": client_actor, "updatedBy": client_actor }]),
            )],
        ),
        ex(
            "company-actor-on-update-patch",
            vec![
                Step::patch(
                    "/rest/companies/${idAct2}",
                    json!({ "name": "Actor patched" }),
                ),
                Step::patch(
                    "/rest/companies/${idAct2}",
                    json!({ "name": "Actor patched 2", "updatedBy": { "source": "IMPORT", "name": "Joe Client" } }),
                ),
            ],
        ),
        ex(
            "company-actor-on-update-upsert",
            vec![upsert(
                "companies",
                json!([{ "id": "${idAct1}", "name": "Actor upserted", "createdBy": { "source": "IMPORT", "name": "Late" }, "updatedBy": { "source": "IMPORT", "name": "Late" } }]),
            )],
        ),
        ex(
            "custom-actor-on-create-client-given",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idAct3}", "name": "Custom actor", "createdBy": client_actor, "updatedBy": client_actor }]),
            )],
        ),
        ex(
            "custom-actor-on-update-upsert",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idAct3}", "name": "Custom actor 2", "updatedBy": { "source": "IMPORT", "name": "Joe Client" } }]),
            )],
        ),
    ]
}

fn activities() -> Vec<Exchange> {
    vec![
        ex(
            "note-target-morph-keys",
            vec![
                upsert("companies", json!([{ "id": "${idNtCompany}", "name": "NT company" }])).quiet(),
                upsert("people", json!([{ "id": "${idNtPerson}", "name": { "firstName": "Nt", "lastName": "Person" } }])).quiet(),
                upsert("notes", json!([{ "id": "${idNote}", "title": "Note", "bodyV2": { "markdown": "body", "blocknote": null } }])),
                upsert(
                    "noteTargets",
                    json!([
                        { "id": "${idNt1}", "noteId": "${idNote}", "targetCompanyId": "${idNtCompany}" },
                        { "id": "${idNt2}", "noteId": "${idNote}", "targetPersonId": "${idNtPerson}" },
                        { "id": "${idNt3}", "noteId": "${idNote}", "targetCf${Run}ThingId": "${idThing}" },
                    ]),
                ),
            ],
        ),
        ex(
            "note-target-old-company-id-refused",
            vec![upsert(
                "noteTargets",
                json!([{ "id": "${idNtOld}", "noteId": "${idNote}", "companyId": "${idNtCompany}" }]),
            )],
        ),
        ex(
            "task-target-morph-keys",
            vec![
                upsert("tasks", json!([{ "id": "${idTask}", "title": "Task", "status": "TODO" }])),
                upsert(
                    "taskTargets",
                    json!([{ "id": "${idTt1}", "taskId": "${idTask}", "targetCompanyId": "${idNtCompany}" }]),
                ),
            ],
        ),
        ex(
            "task-target-old-person-id-refused",
            vec![upsert(
                "taskTargets",
                json!([{ "id": "${idTtOld}", "taskId": "${idTask}", "personId": "${idNtPerson}" }]),
            )],
        ),
        ex(
            "depth-0-1-2-on-note-targets",
            vec![
                find_ids("noteTargets", &["${idNt1}"], "&depth=0"),
                find_ids("noteTargets", &["${idNt1}"], "&depth=1").select(depth_view),
                find_ids("noteTargets", &["${idNt1}"], "&depth=2").select(depth_view),
                find_ids("noteTargets", &["${idNt1}"], "&depth=3"),
            ],
        ),
        ex(
            "note-soft-delete-cascades-to-note-targets-and-restore",
            vec![
                Step::delete("/rest/notes/${idNote}?soft_delete=true"),
                Step::get(format!(
                    "/rest/noteTargets?filter={}",
                    urlencode("and(noteId[eq]:\"${idNote}\",deletedAt[is]:NOT_NULL)")
                ))
                .select(ids_and_deleted),
                Step::get(format!(
                    "/rest/noteTargets?filter={}",
                    urlencode("noteId[eq]:\"${idNote}\"")
                ))
                .select(ids_and_deleted),
                Step::patch("/rest/restore/notes/${idNote}", json!({})),
                // How the tool restores: an upsert of the id with `deletedAt: null`.
                upsert("notes", json!([{ "id": "${idNote}", "deletedAt": null }])).quiet(),
                find_ids("notes", &["${idNote}"], "").select(ids_and_deleted),
                Step::get(format!(
                    "/rest/noteTargets?filter={}",
                    urlencode("noteId[eq]:\"${idNote}\"")
                ))
                .select(ids_and_deleted),
            ],
        ),
        ex(
            "task-soft-delete-many-cascades-to-task-targets",
            vec![
                Step::delete(format!(
                    "/rest/tasks?filter={}&soft_delete=true",
                    urlencode(&id_in_filter_template(&["${idTask}"]))
                )),
                Step::get(format!(
                    "/rest/taskTargets?filter={}",
                    urlencode("and(taskId[eq]:\"${idTask}\",deletedAt[is]:NOT_NULL)")
                ))
                .select(ids_and_deleted),
            ],
        ),
    ]
}

/// The same text as the tool's `id_in_filter`, for template ids.
fn id_in_filter_template(ids: &[&str]) -> String {
    let probe = id_in_filter(&[uuid::Uuid::nil()]);
    let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    probe.replace(&format!("\"{}\"", uuid::Uuid::nil()), &list.join(","))
}

/// Records reduced to id and whether they are deleted, and the count.
fn ids_and_deleted(body: &Value) -> Value {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return body.clone();
    };
    let rows: Vec<Value> = data
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .map(|r| json!({ "id": r["id"], "deleted": !r["deletedAt"].is_null() }))
        .collect();
    json!({ "unordered": rows, "totalCount": body.get("totalCount") })
}

/// A depth answer reduced to the keys of each record and of its related records.
fn depth_view(body: &Value) -> Value {
    let Some(rows) = body
        .get("data")
        .and_then(Value::as_object)
        .and_then(|d| d.values().next())
        .and_then(Value::as_array)
    else {
        return body.clone();
    };
    let shape = |v: &Value| -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                json!({ "id": m.get("id"), "keys": keys })
            }
            other => json!(if other.is_null() { "null" } else { "value" }),
        }
    };
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            let relations: serde_json::Map<String, Value> = r
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| {
                            matches!(k.as_str(), "note" | "targetCompany" | "targetPerson")
                                && (v.is_object() || v.is_null())
                        })
                        .map(|(k, v)| {
                            let mut s = shape(v);
                            // Depth 2: the relation's own relations (the note's noteTargets).
                            if let Some(targets) = v.get("noteTargets") {
                                s["noteTargets"] =
                                    json!(targets.as_array().map(|a| a.len()).or_else(|| targets
                                        .pointer("/edges")
                                        .and_then(Value::as_array)
                                        .map(|a| a.len())));
                            }
                            (k.clone(), s)
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({ "record": shape(r), "relations": relations })
        })
        .collect();
    json!({ "records": out })
}

fn listing() -> Vec<Exchange> {
    let page = |ids: &[&str], extra: &str| {
        let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
        Step::get(format!(
            "{THINGS}?filter={}{extra}",
            urlencode(&format!("id[in]:[{}]", list.join(",")))
        ))
    };
    let ids = ["${idP1}", "${idP2}", "${idP3}", "${idP4}", "${idP5}"];
    let records: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({ "id": id, "name": format!("P{i}"), "cfNumber": 5 - i }))
        .collect();
    vec![
        ex(
            "pagination-limit-cursor-total-count",
            vec![
                upsert(&THINGS[6..], Value::Array(records)).quiet(),
                page(&ids, "&limit=2&order_by=cfNumber")
                    .capture("cursor1", "/pageInfo/endCursor")
                    .select(page_view),
                page(&ids, "&limit=2&order_by=cfNumber&starting_after=${cursor1}")
                    .capture("cursor2", "/pageInfo/endCursor")
                    .select(page_view),
                page(&ids, "&limit=2&order_by=cfNumber&starting_after=${cursor2}")
                    .select(page_view),
            ],
        ),
        ex(
            "find-many-count-with-limit-1",
            vec![page(&ids, "&limit=1").select(count_view)],
        ),
        ex(
            "find-many-limit-above-max",
            vec![page(&ids, "&limit=201").select(unordered_page_view)],
        ),
        ex(
            "find-many-limit-not-a-number",
            vec![page(&ids, "&limit=abc")],
        ),
        ex(
            "find-many-order-by-created-at-asc-nulls-first",
            vec![page(&ids, "&order_by=createdAt%5BAscNullsFirst%5D").select(unordered_page_view)],
        ),
        ex(
            "find-many-order-by-desc",
            vec![page(&ids, "&order_by=cfNumber%5BDescNullsLast%5D").select(page_view)],
        ),
        ex(
            "find-many-bad-filter",
            vec![Step::get(format!("{THINGS}?filter=cfNumber%5Bnope%5D:1"))],
        ),
        ex(
            "find-many-filter-unknown-field",
            vec![Step::get(format!("{THINGS}?filter=notAField%5Beq%5D:1"))],
        ),
        ex(
            "delete-many-soft-and-deleted-at-filter",
            vec![
                Step::delete(format!(
                    "{THINGS}?filter={}&soft_delete=true",
                    urlencode(&id_in_filter_template(&["${idP4}", "${idP5}"]))
                ))
                .select(unordered_lists),
                page(&ids, "").select(unordered_page_view),
                Step::get(format!(
                    "{THINGS}?filter={}",
                    urlencode("and(id[in]:[\"${idP4}\",\"${idP5}\"],deletedAt[is]:NOT_NULL)")
                ))
                .select(unordered_page_view),
                Step::delete(format!(
                    "{THINGS}?filter={}&soft_delete=true",
                    urlencode(&id_in_filter_template(&["${idP4}"]))
                )),
            ],
        ),
        ex(
            "delete-one-soft-and-destroy",
            vec![
                Step::delete(format!("{THINGS}/${{idP3}}?soft_delete=true")),
                Step::delete(format!("{THINGS}/${{idP3}}")),
                Step::get(format!("{THINGS}/${{idP3}}")),
            ],
        ),
        ex(
            "delete-many-without-filter",
            vec![Step::delete(format!("{THINGS}?soft_delete=true"))],
        ),
        ex(
            "workspace-members-by-email",
            vec![Step::get(format!(
                "/rest/workspaceMembers?filter={}",
                urlencode("userEmail[eq]:\"tim@apple.dev\"")
            ))
            .select(member_view)],
        ),
    ]
}

/// A find-many page reduced to ids, names and numbers, with `totalCount` and `pageInfo`.
fn page_view(body: &Value) -> Value {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return body.clone();
    };
    let rows: Vec<Value> = data
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .map(|r| json!({ "id": r["id"], "name": r["name"], "cfNumber": r["cfNumber"] }))
        .collect();
    json!({
        "data": { "keys": data.keys().collect::<Vec<_>>(), "records": rows },
        "totalCount": body.get("totalCount"),
        "pageInfo": body.get("pageInfo"),
    })
}

/// [`page_view`] for a query without an order: records under `unordered`.
fn unordered_page_view(body: &Value) -> Value {
    let mut v = page_view(body);
    if let Some(records) = v.pointer_mut("/data/records").map(Value::take) {
        v["data"]["unordered"] = records;
        if let Some(data) = v["data"].as_object_mut() {
            data.remove("records");
        }
    }
    v
}

/// Only how many records a page has, `totalCount` and `pageInfo` (which record comes first
/// depends on random ids).
fn count_view(body: &Value) -> Value {
    let mut v = page_view(body);
    let n = v
        .pointer("/data/records")
        .and_then(Value::as_array)
        .map(Vec::len);
    v["data"]["records"] = json!(n);
    v
}

/// Every list under `data` renamed `unordered` (a bulk answer's order is not specified).
fn unordered_lists(body: &Value) -> Value {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return body.clone();
    };
    let lists: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.clone(), json!({ "unordered": v })))
        .collect();
    json!({ "data": lists })
}

fn member_view(body: &Value) -> Value {
    let Some(rows) = body
        .pointer("/data/workspaceMembers")
        .and_then(Value::as_array)
    else {
        return body.clone();
    };
    let out: Vec<Value> = rows
        .iter()
        .map(|r| json!({ "id": r["id"], "userEmail": r["userEmail"], "name": r["name"] }))
        .collect();
    json!({ "workspaceMembers": out, "totalCount": body.get("totalCount") })
}

fn files() -> Vec<Exchange> {
    let upload = |field_var: &str| Step {
        body: Body::Upload {
            operations: json!({
                "query": UPLOAD_FILES_FIELD_FILE,
                "variables": { "file": null, "fieldMetadataId": format!("${{{field_var}}}") },
            }),
            file_name: "pixel.png".into(),
            mime: "image/png".into(),
            bytes: PNG.to_vec(),
        },
        ..Step::new(reqwest::Method::POST, "/metadata")
    };
    vec![
        ex(
            "upload-multipart-files-field",
            vec![upload("filesFieldId").capture("multipartFileId", "/data/uploadFilesFieldFile/id")],
        ),
        ex(
            "upload-multipart-files-field-full-answer",
            vec![Step {
                body: Body::Upload {
                    operations: json!({
                        "query": "mutation UploadFilesFieldFile($file: Upload!, $fieldMetadataId: String!) { uploadFilesFieldFile(file: $file, fieldMetadataId: $fieldMetadataId) { id path size createdAt url } }",
                        "variables": { "file": null, "fieldMetadataId": "${filesFieldId}" },
                    }),
                    file_name: "pixel.png".into(),
                    mime: "image/png".into(),
                    bytes: PNG.to_vec(),
                },
                ..Step::new(reqwest::Method::POST, "/metadata")
            }],
        ),
        ex(
            "upload-direct-create-put-complete",
            vec![
                md(
                    CREATE,
                    json!({ "filename": "pixel.png", "size": PNG.len(), "fieldMetadataId": "${filesFieldId}" }),
                )
                .capture("directFileId", "/data/createFileUpload/fileId")
                .capture("uploadUrl", "/data/createFileUpload/uploadUrl"),
                Step {
                    body: Body::Raw { bytes: PNG.to_vec(), content_type: "application/octet-stream".into() },
                    auth: Auth::None,
                    ..Step::new(reqwest::Method::PUT, "${uploadUrl}")
                },
                md(COMPLETE, json!({ "fileId": "${directFileId}" })),
                md(COMPLETE, json!({ "fileId": "${directFileId}" })),
            ],
        ),
        ex(
            "upload-direct-complete-unknown-file",
            vec![md(COMPLETE, json!({ "fileId": uuid::Uuid::nil().to_string() }))],
        ),
        ex(
            "upload-direct-size-mismatch",
            vec![
                md(
                    CREATE,
                    json!({ "filename": "pixel.png", "size": PNG.len() + 5, "fieldMetadataId": "${filesFieldId}" }),
                )
                .capture("uploadUrl2", "/data/createFileUpload/uploadUrl"),
                Step {
                    body: Body::Raw { bytes: PNG.to_vec(), content_type: "application/octet-stream".into() },
                    auth: Auth::None,
                    ..Step::new(reqwest::Method::PUT, "${uploadUrl2}")
                },
            ],
        ),
        ex(
            "upload-direct-not-a-files-field",
            vec![md(
                CREATE,
                json!({ "filename": "pixel.png", "size": PNG.len(), "fieldMetadataId": "${selectFieldId}" }),
            )],
        ),
        ex(
            "files-value-write-and-read-back",
            vec![
                upsert(
                    &THINGS[6..],
                    json!([{ "id": "${idFiles}", "name": "With files", "cfFiles": [
                        { "fileId": "${directFileId}", "label": "pixel.png" },
                        { "fileId": "${multipartFileId}", "label": "other.png" },
                    ] }]),
                ),
                find_ids(&THINGS[6..], &["${idFiles}"], "").select(files_view),
            ],
        ),
        ex(
            "files-value-extra-key-refused",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idFiles2}", "cfFiles": [{ "fileId": "${directFileId}", "label": "x", "url": "http://x" }] }]),
            )],
        ),
        ex(
            "attachment-with-file-on-company",
            vec![
                upload("attachmentFileFieldId").capture("attachmentFileId", "/data/uploadFilesFieldFile/id"),
                upsert(
                    "attachments",
                    json!([{ "id": "${idAtt}", "name": "pixel.png", "targetCompanyId": "${idAcme}",
                             "file": [{ "fileId": "${attachmentFileId}", "label": "pixel.png" }] }]),
                ),
                find_ids("attachments", &["${idAtt}"], "").select(files_view),
            ],
        ),
        ex(
            "legacy-upload-file-on-graphql",
            vec![Step {
                body: Body::Upload {
                    // The tool's `upload_legacy_file` document, for targets before Files v2.
                    operations: json!({
                        "query": "mutation UploadFile($file: Upload!, $fileFolder: FileFolder) { uploadFile(file: $file, fileFolder: $fileFolder) { path token } }",
                        "variables": { "file": null, "fileFolder": "Attachment" },
                    }),
                    file_name: "pixel.png".into(),
                    mime: "image/png".into(),
                    bytes: PNG.to_vec(),
                },
                ..Step::new(reqwest::Method::POST, "/graphql")
            }],
        ),
    ]
}

/// A record list reduced to the FILES values (`cfFiles`, `file`) and their shapes.
fn files_view(body: &Value) -> Value {
    let Some(rows) = body
        .get("data")
        .and_then(Value::as_object)
        .and_then(|d| d.values().next())
        .and_then(Value::as_array)
    else {
        return body.clone();
    };
    let out: Vec<Value> = rows
        .iter()
        .map(|r| json!({ "id": r["id"], "cfFiles": r.get("cfFiles"), "file": r.get("file") }))
        .collect();
    json!({ "records": out })
}
