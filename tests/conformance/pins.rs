//! Tests that pin the twin's current behaviour where it knowingly differs from the recorded
//! Twenty 2.21 server; each is named by an entry of `known-differences.json`. When the twin is
//! fixed, the pin fails together with the replay's "no longer occurs" check, and both go.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::twin::{start, Env};

/// The id of `object`'s metadata.
async fn object_id(env: &Env, object: &str) -> String {
    let data = env
        .gql(
            "{ objects(paging: {first: 1000}) { edges { node { id nameSingular } } } }",
            json!({}),
        )
        .await;
    data["data"]["objects"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["node"]["nameSingular"] == object)
        .and_then(|e| e["node"]["id"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The field names of `object`.
async fn field_names(env: &Env, object: &str) -> Vec<String> {
    let data = env
        .gql(
            "{ objects(paging: {first: 1000}) { edges { node { nameSingular fieldsList { name } } } } }",
            json!({}),
        )
        .await;
    data["data"]["objects"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["node"]["nameSingular"] == object)
        .and_then(|e| e["node"]["fieldsList"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_twin_company_has_only_the_standard_fields_not_the_apple_seeds() {
    let env = start().await;
    let names = field_names(&env, "company").await;
    assert!(names.iter().any(|n| n == "domainName"), "{names:?}");
    for seeded in [
        "tagline",
        "employees",
        "introVideo",
        "visaSponsorship",
        "workPolicy",
    ] {
        assert!(!names.iter().any(|n| n == seeded), "{seeded} in {names:?}");
    }
}

// 2.21 answers a FILES value with a signed download url on /file/files-field/<id>
// (`files-value-write-and-read-back.json`); the extension comes from the stored file, so a
// file the twin never stored has none.
#[tokio::test]
async fn the_twin_answers_files_values_with_a_download_url() {
    let env = start().await;
    let file_id = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f70";
    let (status, body) = env
        .post(
            "/rest/batch/attachments",
            json!([{"name": "a", "file": [{"fileId": file_id, "label": "a.png"}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let file = &body["data"]["createAttachments"][0]["file"][0];
    assert_eq!(
        (&file["fileId"], &file["label"]),
        (&json!(file_id), &json!("a.png"))
    );
    assert!(file["url"]
        .as_str()
        .is_some_and(|u| u.contains(&format!("/file/files-field/{file_id}?token="))));
}

#[tokio::test]
async fn the_twin_serves_no_core_graphql_endpoint_on_files_v2() {
    let env = start().await;
    let (status, _) = env
        .post(
            "/graphql",
            json!({"query": "{ companies { edges { node { id } } } }"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_twin_refuses_a_taken_field_name_with_bad_user_input_not_a_validation_report() {
    let env = start().await;
    let company = object_id(&env, "company").await;
    let body = env
        .gql(
            "mutation($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) { id } }",
            json!({"input": {"field": {"objectMetadataId": company, "type": "TEXT", "name": "name", "label": "Name"}}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

#[tokio::test]
async fn the_twin_creates_numeric_files_without_settings_and_rich_text_v2_fields() {
    let env = start().await;
    let company = object_id(&env, "company").await;
    let create = |field: Value| {
        let env = &env;
        async move {
            env.gql(
                "mutation($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) { id } }",
                json!({"input": {"field": field}}),
            )
            .await
        }
    };
    for (kind, name) in [
        ("NUMERIC", "pinNumeric"),
        ("FILES", "pinFiles"),
        ("RICH_TEXT_V2", "pinRich"),
    ] {
        let body =
            create(json!({"objectMetadataId": company, "type": kind, "name": name, "label": name}))
                .await;
        assert!(body["errors"].is_null(), "{kind}: {body}");
    }
}

#[tokio::test]
async fn the_twin_answers_depth_one_like_depth_zero() {
    let env = start().await;
    let company = env.create("companies", json!([{"name": "C"}])).await;
    let person = env
        .create("people", json!([{"companyId": company[0]["id"]}]))
        .await;
    let (status, body) = env
        .get(&format!(
            "/rest/people/{}?depth=1",
            person[0]["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["person"].get("company").is_none(), "{body}");
}

#[tokio::test]
async fn the_twin_does_not_derive_blocknote_from_markdown() {
    let env = start().await;
    let notes = env
        .create(
            "notes",
            json!([{"bodyV2": {"markdown": "**hi**", "blocknote": null}}]),
        )
        .await;
    assert_eq!(notes[0]["bodyV2"]["blocknote"], Value::Null);
}

#[tokio::test]
async fn the_twin_formats_a_files_refusal_on_one_line() {
    let env = start().await;
    let (status, body) = env
        .post(
            "/rest/batch/attachments",
            json!([{"file": [{"fileId": "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f70", "label": "x", "url": "u"}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["messages"][0].as_str().unwrap_or("");
    assert!(
        !message.contains('\n') && message.ends_with("Unrecognized key: \"url\""),
        "{message}"
    );
}

#[tokio::test]
async fn the_twin_answers_an_upload_path_without_a_folder() {
    let env =
        crate::twin::start_with(|c| c.upload_offer(twenty_migrate::twin::UploadOffer::Both)).await;
    let company = object_id(&env, "attachment").await;
    assert!(!company.is_empty());
    let data = env
        .gql(
            "{ objects(paging: {first: 1000}) { edges { node { nameSingular fieldsList { id name } } } } }",
            json!({}),
        )
        .await;
    let field = data["data"]["objects"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["node"]["nameSingular"] == "attachment")
        .and_then(|e| e["node"]["fieldsList"].as_array())
        .into_iter()
        .flatten()
        .find(|f| f["name"] == "file")
        .and_then(|f| f["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let body = env
        .gql(
            "mutation($f: String!) { createFileUpload(filename: \"a.txt\", size: 1, fileFolder: FilesField, fieldMetadataId: $f) { fileId uploadUrl } }",
            json!({"f": field}),
        )
        .await;
    let id = body["data"]["createFileUpload"]["fileId"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let url = body["data"]["createFileUpload"]["uploadUrl"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let put = env.http.put(&url).body("x").send().await.expect("put");
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let body = env
        .gql(
            "mutation($id: String!) { completeFileUpload(fileId: $id) { path } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        body["data"]["completeFileUpload"]["path"],
        format!("{id}.txt")
    );
}

#[tokio::test]
async fn the_twin_lists_metadata_default_values_unquoted() {
    let env = start().await;
    let data = env
        .gql(
            "{ objects(paging: {first: 1000}) { edges { node { nameSingular fieldsList { name defaultValue } } } } }",
            json!({}),
        )
        .await;
    let created_by = data["data"]["objects"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["node"]["nameSingular"] == "company")
        .and_then(|e| e["node"]["fieldsList"].as_array())
        .into_iter()
        .flatten()
        .find(|f| f["name"] == "createdBy")
        .map(|f| f["defaultValue"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(created_by["source"], "MANUAL", "{created_by}");
}

#[tokio::test]
async fn the_twin_gives_select_options_no_id() {
    let env = start().await;
    let company = object_id(&env, "company").await;
    let body = env
        .gql(
            "mutation($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) { options } }",
            json!({"input": {"field": {"objectMetadataId": company, "type": "SELECT", "name": "pinTier", "label": "Tier",
                "options": [{"value": "GOLD", "label": "Gold", "position": 0, "color": "green"}]}}}),
        )
        .await;
    let option = &body["data"]["createOneField"]["options"][0];
    assert_eq!(option["value"], "GOLD", "{body}");
    assert!(option.get("id").is_none(), "{body}");
}

#[tokio::test]
async fn the_twin_gives_company_and_new_objects_a_favorites_relation() {
    let env = start().await;
    let names = field_names(&env, "company").await;
    assert!(names.iter().any(|n| n == "favorites"), "{names:?}");
}

#[tokio::test]
async fn the_twin_words_a_bad_select_value_without_the_valid_values() {
    let env = start().await;
    let (status, body) = env
        .post("/rest/batch/opportunities", json!([{"stage": "NOPE"}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["messages"][0],
        "Invalid value 'NOPE' for field \"stage\""
    );
}

#[tokio::test]
async fn the_twin_lists_the_task_target_morph_field_with_on_delete_cascade() {
    let env = start().await;
    let data = env
        .gql(
            "{ objects(paging: {first: 1000}) { edges { node { nameSingular fieldsList { name type settings } } } } }",
            json!({}),
        )
        .await;
    let settings = data["data"]["objects"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["node"]["nameSingular"] == "taskTarget")
        .and_then(|e| e["node"]["fieldsList"].as_array())
        .into_iter()
        .flatten()
        .find(|f| f["type"] == "MORPH_RELATION")
        .map(|f| f["settings"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(settings["onDelete"], "CASCADE", "{settings}");
}
