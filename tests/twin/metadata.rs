//! `/metadata` GraphQL: object listing (front METADATA_QUERY), createOneObject, createOneField
//! (create-field.input.ts) and Files v2 uploads (files-field.resolver.ts).

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{start, start_with, Env, KEY};

const LIST: &str = "{ objects(paging: {first: 1000}) { edges { node { id nameSingular namePlural applicationId isSystem labelIdentifierFieldMetadataId
  indexMetadataList { name isUnique indexWhereClause indexFieldMetadataList { fieldMetadataId order } }
  fieldsList { id name type isNullable isUnique applicationId options settings
    relation { type targetObjectMetadata { id nameSingular } targetFieldMetadata { id name } }
    morphRelations { type targetObjectMetadata { nameSingular } } } } }
  pageInfo { hasNextPage } } }";

fn node<'a>(list: &'a Value, singular: &str) -> &'a Value {
    list["data"]["objects"]["edges"]
        .as_array()
        .and_then(|edges| edges.iter().find(|e| e["node"]["nameSingular"] == singular))
        .map(|e| &e["node"])
        .expect("object listed")
}

fn field<'a>(object: &'a Value, name: &str) -> &'a Value {
    object["fieldsList"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .expect("field listed")
}

// Front METADATA_QUERY (H1): standard objects with fields, options, uniqueness and relations.
#[tokio::test]
async fn objects_list_the_standard_model_with_fields_options_and_relations() {
    let env = start().await;
    let list = env.gql(LIST, Value::Null).await;
    assert!(list.get("errors").is_none(), "{list}");
    let person = node(&list, "person");
    assert_eq!(person["namePlural"], "people");
    assert!(person["applicationId"].is_string());
    let emails = field(person, "emails");
    assert_eq!(
        (emails["type"].clone(), emails["isUnique"].clone()),
        (json!("EMAILS"), json!(true))
    );
    assert_eq!(
        person["indexMetadataList"][0]["indexFieldMetadataList"][0]["fieldMetadataId"],
        emails["id"]
    );
    let company = field(person, "company");
    assert_eq!(company["relation"]["type"], "MANY_TO_ONE");
    assert_eq!(
        company["relation"]["targetObjectMetadata"]["nameSingular"],
        "company"
    );
    assert_eq!(company["relation"]["targetFieldMetadata"]["name"], "people");
    let stage = field(node(&list, "opportunity"), "stage");
    assert!(stage["options"]
        .as_array()
        .is_some_and(|o| o.iter().any(|x| x["value"] == "MEETING")));
    // As a real 2.21 lists them: one `target` field per morph group, every target in
    // `morphRelations`, no per-target field.
    let attachment = node(&list, "attachment");
    let target = field(attachment, "target");
    assert_eq!(target["type"], "MORPH_RELATION");
    assert!(target["relation"].is_null());
    let targets: Vec<&str> = target["morphRelations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["targetObjectMetadata"]["nameSingular"].as_str())
        .collect();
    assert!(
        targets.contains(&"company") && targets.contains(&"person") && targets.len() >= 7,
        "{targets:?}"
    );
    assert!(attachment["fieldsList"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["name"] != "targetCompany"));
    assert_eq!(list["data"]["objects"]["pageInfo"]["hasNextPage"], false);
}

// Twenty 2.21 has no `isCustom` on `Object` or `Field` (`object-metadata.dto.ts`,
// `field-metadata.dto.ts`); a real 2.21 server refuses the selection, so the twin does too.
#[tokio::test]
async fn objects_and_fields_have_no_is_custom_as_on_twenty_2_21() {
    let env = start().await;
    for query in [
        "{ objects(paging: {first: 1}) { edges { node { isCustom } } } }",
        "{ objects(paging: {first: 1}) { edges { node { fieldsList { isCustom } } } } }",
    ] {
        let body = env.gql(query, Value::Null).await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("\"isCustom\"") && body["data"].is_null(),
            "{query}: {body}"
        );
    }
}

// Older clients read `fields(paging) { edges { node } }`.
#[tokio::test]
async fn objects_also_serve_fields_as_a_connection() {
    let env = start().await;
    let body = env
        .gql("{ objects(paging: {first: 2}) { edges { node { nameSingular fields(paging: {first: 1000}) { edges { node { name type } } } } } pageInfo { hasNextPage endCursor } } }", Value::Null)
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let edges = body["data"]["objects"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 2);
    assert!(edges[0]["node"]["fields"]["edges"]
        .as_array()
        .is_some_and(|f| f.iter().any(|e| e["node"]["name"] == "id")));
    assert_eq!(body["data"]["objects"]["pageInfo"]["hasNextPage"], true);
}

async fn create_object(env: &Env, singular: &str, plural: &str) -> Value {
    env.gql(
        "mutation($o: CreateObjectInput!) { createOneObject(input: {object: $o}) { id nameSingular namePlural applicationId fieldsList { name type } } }",
        json!({"o": {"nameSingular": singular, "namePlural": plural, "labelSingular": "Pet", "labelPlural": "Pets"}}),
    )
    .await
}

// createOneObject (H2): the new object is writable through REST, with system fields and a
// morph target on the activity objects.
#[tokio::test]
async fn a_created_object_is_usable_by_the_records_api_and_as_a_note_target() {
    let env = start().await;
    let body = create_object(&env, "pet", "pets").await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_ne!(
        body["data"]["createOneObject"]["applicationId"],
        node(&env.gql(LIST, Value::Null).await, "person")["applicationId"],
        "a custom object belongs to the custom application, not the standard one"
    );
    let pets = env.create("pets", json!([{"name": "Rex"}])).await;
    assert_eq!(pets[0]["name"], "Rex");
    assert_eq!(pets[0]["createdBy"]["source"], "API");
    let note = env.create("notes", json!([{"title": "Vet"}])).await;
    let target = env
        .create(
            "noteTargets",
            json!([{"noteId": note[0]["id"], "targetPetId": pets[0]["id"]}]),
        )
        .await;
    assert_eq!(target[0]["targetPetId"], pets[0]["id"]);
    let again = create_object(&env, "pet", "pets").await;
    assert!(again["errors"][0]["message"].is_string(), "{again}");
    let bad = create_object(&env, "Pet", "Pets").await;
    assert!(bad["errors"][0]["message"].is_string(), "{bad}");
}

// createOneField (H3): SELECT options are enforced on records; option values are UPPER_CASE.
#[tokio::test]
async fn a_created_select_field_validates_records_against_its_options() {
    let env = start().await;
    let body = env
        .add_field(
            "company",
            json!({"type": "SELECT", "name": "tier", "label": "Tier", "options": [
            {"label": "Gold", "value": "GOLD", "color": "yellow", "position": 0}]}),
        )
        .await;
    assert_eq!(body["data"]["createOneField"]["type"], "SELECT");
    env.create("companies", json!([{"tier": "GOLD"}])).await;
    let (status, body) = env
        .post("/rest/batch/companies", json!([{"tier": "SILVER"}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["messages"][0],
        "Invalid value 'SILVER' for field \"tier\""
    );
    let bad = env
        .add_field(
            "company",
            json!({"type": "SELECT", "name": "kind", "label": "Kind", "options": [
            {"label": "x", "value": "vendorPurchaseOrder", "color": "red", "position": 0}]}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["message"],
        "Value must be in UPPER_CASE and follow snake_case \"vendorPurchaseOrder\""
    );
}

// A custom unique field joins the duplicate check and upsert matching (get-conflicting-fields.util.ts).
#[tokio::test]
async fn a_created_unique_field_is_a_unique_index_and_an_upsert_key() {
    let env = start().await;
    env.create("companies", json!([{"name": "before"}])).await;
    let body = env
        .add_field(
            "company",
            json!({"type": "TEXT", "name": "externalId", "label": "External id", "isUnique": true}),
        )
        .await;
    assert_eq!(body["data"]["createOneField"]["isUnique"], true);
    let first = env
        .create("companies", json!([{"externalId": "E-1", "name": "one"}]))
        .await;
    let (status, body) = env
        .post("/rest/batch/companies", json!([{"externalId": "E-1"}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = env
        .post(
            "/rest/batch/companies?upsert=true",
            json!([{"externalId": "E-1", "name": "renamed"}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["createCompanies"][0]["id"], first[0]["id"]);
    assert_eq!(body["data"]["createCompanies"][0]["name"], "renamed");
}

// createOneField RELATION with relationCreationPayload creates the inverse field too.
#[tokio::test]
async fn a_created_relation_gets_its_inverse_and_a_checked_join_column() {
    let env = start().await;
    create_object(&env, "pet", "pets").await;
    let person_object = env.object_id("person").await;
    let body = env
        .add_field("pet", json!({"type": "RELATION", "name": "owner", "label": "Owner",
            "relationCreationPayload": {"type": "MANY_TO_ONE", "targetObjectMetadataId": person_object,
                "targetFieldLabel": "Pets", "targetFieldIcon": "IconDog"}}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let created = &body["data"]["createOneField"];
    assert_eq!(created["relation"]["type"], "MANY_TO_ONE");
    assert_eq!(
        created["relation"]["targetObjectMetadata"]["nameSingular"],
        "person"
    );
    assert_eq!(created["relation"]["targetFieldMetadata"]["name"], "pets");
    let list = env.gql(LIST, Value::Null).await;
    assert_eq!(
        field(node(&list, "person"), "pets")["relation"]["type"],
        "ONE_TO_MANY"
    );
    let person = env
        .create("people", json!([{"name": {"firstName": "Ada"}}]))
        .await;
    let pets = env
        .create("pets", json!([{"ownerId": person[0]["id"]}]))
        .await;
    assert_eq!(pets[0]["ownerId"], person[0]["id"]);
    let (status, _) = env
        .post(
            "/rest/batch/pets",
            json!([{"ownerId": "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f66"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn upload(env: &Env, field_id: &str, bytes: Vec<u8>) -> Value {
    let operations = json!({
        "query": "mutation($file: Upload!, $fieldMetadataId: String!) { uploadFilesFieldFile(file: $file, fieldMetadataId: $fieldMetadataId) { id path size createdAt url } }",
        "variables": {"file": null, "fieldMetadataId": field_id}
    });
    let form = Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part(
            "0",
            Part::bytes(bytes)
                .file_name("report.pdf")
                .mime_str("application/pdf")
                .expect("mime"),
        );
    env.http
        .post(format!("{}/metadata", env.twin.base_url()))
        .bearer_auth(KEY)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json")
}

async fn attachment_file_field(env: &Env) -> String {
    let list = env.gql(LIST, Value::Null).await;
    field(node(&list, "attachment"), "file")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

// files-field.resolver.ts: multipart upload, then the record references the file id.
#[tokio::test]
async fn an_uploaded_file_is_downloadable_byte_for_byte_and_attachable() {
    for on_disk in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_owned();
        let env = start_with(move |c| if on_disk { c.files_dir(path) } else { c }).await;
        let field_id = attachment_file_field(&env).await;
        // A real PDF header: Twenty sniffs the content of a `.pdf` (twin/sniff.rs).
        let bytes: Vec<u8> = b"%PDF-1.4\n"
            .iter()
            .copied()
            .chain((0..5000u32).map(|i| (i % 251) as u8))
            .collect();
        let body = upload(&env, &field_id, bytes.clone()).await;
        assert!(body.get("errors").is_none(), "{body}");
        let file = &body["data"]["uploadFilesFieldFile"];
        assert_eq!(file["size"], 5009.0);
        assert!(file["path"].as_str().is_some_and(|p| p.ends_with(".pdf")));
        let url = file["url"].as_str().expect("url");
        let downloaded = env
            .http
            .get(url)
            .send()
            .await
            .expect("sent")
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(downloaded.to_vec(), bytes);
        let attachment = env
            .create("attachments", json!([{"name": "report.pdf", "file": [{"fileId": file["id"], "label": "report.pdf"}]}]))
            .await;
        assert_eq!(attachment[0]["file"][0]["fileId"], file["id"]);
        // As 2.21 answers it: the stored file's extension and a url that downloads it.
        assert_eq!(attachment[0]["file"][0]["extension"], ".pdf");
        let (_, read) = env
            .get(&format!(
                "/rest/attachments/{}",
                attachment[0]["id"].as_str().unwrap()
            ))
            .await;
        let url = read["data"]["attachment"]["file"][0]["url"]
            .as_str()
            .expect("a download url")
            .to_owned();
        let again = env.http.get(url).send().await.expect("sent");
        assert_eq!(again.bytes().await.expect("bytes").to_vec(), bytes);
    }
}

// files-field.resolver.ts: the field must be a FILES field.
#[tokio::test]
async fn an_upload_for_a_field_that_is_not_files_is_refused() {
    let env = start().await;
    let list = env.gql(LIST, Value::Null).await;
    let name_field = field(node(&list, "company"), "name")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let body = upload(&env, &name_field, vec![1, 2, 3]).await;
    assert!(body["errors"][0]["message"].is_string(), "{body}");
}

// The metadata endpoint takes the same key.
#[tokio::test]
async fn metadata_without_a_valid_key_answers_a_graphql_error() {
    let env = start().await;
    let body: Value = env
        .http
        .post(format!("{}/metadata", env.twin.base_url()))
        .bearer_auth("wrong")
        .json(&json!({"query": "{ objects { edges { node { id } } } }"}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["message"], "Token invalid.");
}

// Links settings `type` (FIELD_LINKS_VARIANTS): `domain` reduces URLs to bare domains;
// other variants are refused.
#[tokio::test]
async fn a_domain_links_field_stores_bare_domains() {
    let env = start().await;
    let body = env
        .add_field("company", json!({"type": "LINKS", "name": "website", "label": "Website", "settings": {"type": "domain"}}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let created = env
        .create(
            "companies",
            json!([{"website": {"primaryLinkUrl": "https://www.Acme.com/about"}}]),
        )
        .await;
    assert_eq!(created[0]["website"]["primaryLinkUrl"], "acme.com");
    let bad = env
        .add_field("company", json!({"type": "LINKS", "name": "other", "label": "Other", "settings": {"type": "email"}}))
        .await;
    assert_eq!(
        bad["errors"][0]["message"],
        "Links field type must be one of url, domain"
    );
}

// files-field.resolver.ts (variant): the upload can name the field by universal identifier.
#[tokio::test]
async fn an_upload_can_name_the_field_by_universal_identifier() {
    let env = start().await;
    let list = env
        .gql("{ objects(paging: {first: 1000}) { edges { node { nameSingular fieldsList { name universalIdentifier } } } } }", Value::Null)
        .await;
    let uid = field(node(&list, "attachment"), "file")["universalIdentifier"]
        .as_str()
        .expect("uid")
        .to_owned();
    let operations = json!({
        "query": "mutation($file: Upload!, $uid: String!) { uploadFilesFieldFileByUniversalIdentifier(file: $file, fieldMetadataUniversalIdentifier: $uid) { id size url } }",
        "variables": {"file": null, "uid": uid}
    });
    let form = Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let body: Value = env
        .http
        .post(format!("{}/metadata", env.twin.base_url()))
        .bearer_auth(KEY)
        .multipart(form)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let file = &body["data"]["uploadFilesFieldFileByUniversalIdentifier"];
    assert_eq!(file["size"], 5.0, "{body}");
    let url = file["url"].as_str().expect("url");
    let bytes = env
        .http
        .get(url)
        .send()
        .await
        .expect("sent")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(bytes.as_ref(), b"hello");
}

// validate-relation-creation-payload-or-throw.util.ts: the icon of the other side is a
// required string; a real 2.21 refuses the field with METADATA_VALIDATION_FAILED and the
// reason nested in `extensions.errors`.
#[tokio::test]
async fn a_relation_without_the_other_sides_icon_is_refused_with_the_reason_nested() {
    let env = start().await;
    let pets = create_object(&env, "pet", "pets").await;
    let pet_id = pets["data"]["createOneObject"]["id"].clone();
    let person_id = env.object_id("person").await;
    let create = |icon: Option<&str>| {
        let mut payload = json!({"targetObjectMetadataId": person_id, "targetFieldLabel": "Pets",
                                 "type": "MANY_TO_ONE"});
        if let Some(icon) = icon {
            payload["targetFieldIcon"] = json!(icon);
        }
        json!({"input": {"field": {"objectMetadataId": pet_id, "type": "RELATION", "name": "owner",
                                   "label": "Owner", "relationCreationPayload": payload}}})
    };
    let doc = "mutation($input: CreateOneFieldMetadataInput!) { createOneField(input: $input) { id name } }";
    let body = env.gql(doc, create(None)).await;
    assert_eq!(
        body["errors"][0]["message"], "Multiple validation errors occurred while creating field",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "METADATA_VALIDATION_FAILED"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["errors"]["fieldMetadata"][0]["errors"][0]["message"],
        "Relation creation payload is invalid: targetFieldIcon must be a string"
    );
    let body = env.gql(doc, create(Some("IconCat"))).await;
    assert_eq!(body["data"]["createOneField"]["name"], "owner", "{body}");
}
