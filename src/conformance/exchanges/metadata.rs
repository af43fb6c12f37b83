//! Metadata API exchanges: listing objects, creating the custom object and a field of each
//! type, updating options, and what the server refuses.

use serde_json::{json, Value};

use super::{ex, md};
use crate::conformance::{Exchange, Step};
use crate::destination::direct_upload::MUTATION_NAMES;
use crate::destination::metadata::{
    create_field_mutation, create_object_mutation, objects_query, ObjectsQuery,
};

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

pub(super) fn metadata() -> Vec<Exchange> {
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
