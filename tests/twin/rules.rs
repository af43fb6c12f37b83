//! Write rules: batch cap, atomicity, ids, unique indexes, upsert, foreign keys, createdBy,
//! members, activity targets.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{assert_error, start, start_with};

// common-create-many-query-runner.service.ts: TOO_MANY_RECORDS_TO_UPDATE.
#[tokio::test]
async fn batch_over_the_cap_is_refused_with_twentys_message() {
    let env = start_with(|c| c.max_batch(3)).await;
    let records: Vec<Value> = (0..4).map(|i| json!({"name": format!("c{i}")})).collect();
    let (status, body) = env
        .post("/rest/batch/companies", Value::Array(records.clone()))
        .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "Maximum number of records to upsert is 3.",
        None,
    );
    let (status, body) = env
        .post(
            "/rest/batch/companies?upsert=true",
            Value::Array(records.clone()),
        )
        .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "Maximum number of records to upsert is 3.",
        None,
    );
    env.create("companies", Value::Array(records[..3].to_vec()))
        .await;
}

// One INSERT per batch (common-create-many-query-runner.service.ts): all or nothing.
#[tokio::test]
async fn one_bad_record_fails_the_whole_batch_and_writes_nothing() {
    let env = start().await;
    let (status, body) = env
        .post(
            "/rest/batch/companies",
            json!([{"name": "Fine"}, {"name": 42}, {"name": "Also fine"}]),
        )
        .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "Invalid string value 42 for text field \"name\"",
        None,
    );
    let (_, body) = env.get("/rest/companies").await;
    assert_eq!(body["totalCount"], 0);
    // A late constraint failure rolls back the earlier records too.
    let (status, _) = env
        .post(
            "/rest/batch/people",
            json!([
                {"emails": {"primaryEmail": "a@x.com"}},
                {"emails": {"primaryEmail": "a@x.com"}}
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = env.get("/rest/people").await;
    assert_eq!(body["totalCount"], 0);
}

// B2: a batch body must be an array.
#[tokio::test]
async fn a_batch_body_that_is_not_an_array_is_refused() {
    let env = start().await;
    let (status, body) = env
        .post("/rest/batch/companies", json!({"name": "x"}))
        .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "Body must be an array",
        None,
    );
}

// validate-uuid-field-or-throw.util.ts (id is a UUID field, checked with isValidUuid.ts before
// assert-is-valid-uuid.util.ts is reached): ids must be UUID v1–v5.
#[tokio::test]
async fn a_client_id_must_be_a_uuid_of_version_one_to_five() {
    let env = start().await;
    let v4 = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f60";
    let created = env
        .create("companies", json!([{"id": v4, "name": "Kept id"}]))
        .await;
    assert_eq!(created[0]["id"], v4);
    let v7 = "01890a5d-ac96-774b-bcce-b302099a8057";
    let (status, body) = env.post("/rest/batch/companies", json!([{"id": v7}])).await;
    // assert-is-valid-uuid.util.ts; 2.21 renders it with `error: "Error"` and its code
    // (company-id-not-uuid-v1-to-v5.json).
    assert_error(
        status,
        &body,
        400,
        "Error",
        &format!("Value \"{v7}\" is not a valid UUID"),
        Some("INVALID_QUERY_INPUT"),
    );
}

// compute-twenty-orm-exception.util.ts: duplicate primary key on a plain create.
#[tokio::test]
async fn creating_an_existing_id_again_is_a_duplicate_even_when_soft_deleted() {
    let env = start().await;
    let id = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f61";
    env.create("companies", json!([{"id": id}])).await;
    env.delete(&format!("/rest/companies/{id}?soft_delete=true"))
        .await;
    let (status, body) = env.post("/rest/batch/companies", json!([{"id": id}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // 2.21 names no constraint for a repeated id (company-batch-create-duplicate-ids.json).
    assert_eq!(
        body["messages"][0], "A duplicate entry was detected",
        "{body}"
    );
}

// D2 + C4 (transform-emails-value.util.ts): emails are lower-cased, so case variants collide.
#[tokio::test]
async fn a_duplicate_person_email_is_refused_with_the_duplicate_message() {
    let env = start().await;
    let created = env
        .create(
            "people",
            json!([{"emails": {"primaryEmail": "Ada@Example.COM"}}]),
        )
        .await;
    assert_eq!(created[0]["emails"]["primaryEmail"], "ada@example.com");
    let (status, body) = env
        .post(
            "/rest/batch/people",
            json!([{"emails": {"primaryEmail": "ada@example.com"}}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "BadRequestException");
    let message = body["messages"][0].as_str().unwrap_or("");
    assert!(
        message.starts_with("A duplicate entry was detected: unique constraint person.IDX_UNIQUE_"),
        "{message}"
    );
    // 2.21 rewraps it as a plain BadRequestException: no `code` (conformance goldens).
    assert!(body.get("code").is_none(), "{body}");
}

// D3/D4: company domain unique on the normalised URL; soft-deleted rows free it (2.42 partial index).
#[tokio::test]
async fn company_domains_collide_after_normalisation_and_soft_deleted_rows_free_them() {
    let env = start().await;
    let created = env
        .create(
            "companies",
            json!([{"domainName": {"primaryLinkUrl": "https://ACME.com/"}}]),
        )
        .await;
    assert_eq!(
        created[0]["domainName"]["primaryLinkUrl"],
        "https://acme.com"
    );
    let (status, _) = env
        .post(
            "/rest/batch/companies",
            json!([{"domainName": {"primaryLinkUrl": "https://acme.com"}}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Scheme-less URLs are kept as they are, so they do not collide with the https one.
    env.create(
        "companies",
        json!([{"domainName": {"primaryLinkUrl": "acme.com"}}]),
    )
    .await;
    let id = created[0]["id"].as_str().unwrap_or("");
    env.delete(&format!("/rest/companies/{id}?soft_delete=true"))
        .await;
    env.create(
        "companies",
        json!([{"domainName": {"primaryLinkUrl": "https://acme.com"}}]),
    )
    .await;
}

// §E: upsert on id updates, keeps createdBy, answers in input order.
#[tokio::test]
async fn upsert_updates_a_match_on_id_and_never_overwrites_created_by() {
    let env = start().await;
    let id = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f62";
    let first = env
        .create(
            "companies",
            json!([{"id": id, "name": "Old", "createdBy": {"source": "IMPORT", "name": "Jane"}}]),
        )
        .await;
    assert_eq!(first[0]["createdBy"]["source"], "IMPORT");
    let (status, body) = env
        .post(
            "/rest/batch/companies?upsert=true",
            json!([{"name": "New one"}, {"id": id, "name": "Renamed", "createdBy": {"source": "API", "name": "Other"}}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let list = body["data"]["createCompanies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "New one");
    assert_eq!(list[1]["id"], id);
    assert_eq!(list[1]["name"], "Renamed");
    assert_eq!(list[1]["createdBy"]["name"], "Jane");
    let (_, all) = env.get("/rest/companies").await;
    assert_eq!(all["totalCount"], 2);
    let stats = env.twin.stats();
    assert_eq!((stats.records_created, stats.records_updated), (2, 1));
}

// §E: upsert matches unique fields across soft-deleted rows and restores them.
#[tokio::test]
async fn upsert_matches_a_soft_deleted_row_by_email_and_restores_it() {
    let env = start().await;
    let created = env
        .create(
            "people",
            json!([{"emails": {"primaryEmail": "ada@example.com"}, "jobTitle": "A"}]),
        )
        .await;
    let id = created[0]["id"].as_str().unwrap_or("").to_owned();
    env.delete(&format!("/rest/people/{id}?soft_delete=true"))
        .await;
    let (status, body) = env
        .post(
            "/rest/batch/people?upsert=true",
            json!([{"emails": {"primaryEmail": "ADA@example.com"}, "jobTitle": "B"}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = &body["data"]["createPeople"][0];
    assert_eq!(person["id"], id.as_str());
    assert_eq!(person["deletedAt"], Value::Null);
    assert_eq!(person["jobTitle"], "B");
    let (_, all) = env.get("/rest/people").await;
    assert_eq!(all["totalCount"], 1);
}

// §E3: an input matching two rows is UPSERT_MULTIPLE_MATCHING_RECORDS_CONFLICT.
#[tokio::test]
async fn upsert_matching_two_records_is_a_conflict() {
    let env = start().await;
    let created = env
        .create("people", json!([{"emails": {"primaryEmail": "a@x.com"}}, {"emails": {"primaryEmail": "b@x.com"}}]))
        .await;
    let first = created[0]["id"].as_str().unwrap_or("");
    let (status, body) = env
        .post(
            "/rest/batch/people?upsert=true",
            json!([{"id": first, "emails": {"primaryEmail": "b@x.com"}}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // 2.21 rewraps it as a plain BadRequestException: no `code` (conformance goldens).
    assert!(body.get("code").is_none(), "{body}");
    let message = body["messages"][0].as_str().unwrap_or("");
    assert!(
        message.starts_with("Multiple records found with the same unique field values"),
        "{message}"
    );
    assert!(
        message.ends_with("Cannot determine which record to update."),
        "{message}"
    );
}

// §E3: matching sees only rows that existed before the call.
#[tokio::test]
async fn two_inputs_with_the_same_new_email_in_one_upsert_are_a_duplicate() {
    let env = start().await;
    let (status, body) = env
        .post("/rest/batch/people?upsert=true", json!([{"emails": {"primaryEmail": "a@x.com"}}, {"emails": {"primaryEmail": "a@x.com"}}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["messages"][0]
        .as_str()
        .unwrap_or("")
        .starts_with("A duplicate entry was detected"));
}

// compute-twenty-orm-exception.util.ts: FOREIGN_KEY_VIOLATION → 400 with Postgres's text.
#[tokio::test]
async fn a_join_column_must_point_at_an_existing_record() {
    let env = start().await;
    let missing = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f63";
    let (status, body) = env
        .post("/rest/batch/people", json!([{"companyId": missing}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["messages"][0].as_str().unwrap_or("");
    assert!(
        message.starts_with(
            "insert or update on table \"person\" violates foreign key constraint \"FK_"
        ),
        "{message}"
    );
    // 2.21 rewraps it as a plain BadRequestException: no `code` (conformance goldens).
    assert!(body.get("code").is_none(), "{body}");
    let company = env.create("companies", json!([{"name": "Acme"}])).await;
    let people = env
        .create("people", json!([{"companyId": company[0]["id"]}]))
        .await;
    assert_eq!(people[0]["companyId"], company[0]["id"]);
}

// accountOwnerId points at workspaceMember: members from the members list are valid targets.
#[tokio::test]
async fn account_owner_must_be_an_existing_workspace_member() {
    let env = start().await;
    let ada = env.twin.member_id("ada@example.com");
    let created = env
        .create("companies", json!([{"accountOwnerId": ada}]))
        .await;
    assert_eq!(created[0]["accountOwnerId"], ada.to_string());
    let stranger = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f64";
    let (status, _) = env
        .post(
            "/rest/batch/companies",
            json!([{"accountOwnerId": stranger}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

// created-by-from-auth-context.service.ts: filled from the key when absent or without a name.
#[tokio::test]
async fn created_by_is_filled_from_the_api_key_unless_a_name_is_given() {
    let env = start().await;
    let created = env
        .create(
            "companies",
            json!([
                {"name": "none"},
                {"name": "named", "createdBy": {"source": "IMPORT", "name": "Jane Doe"}},
                {"name": "source only", "createdBy": {"source": "MANUAL"}}
            ]),
        )
        .await;
    assert_eq!(created[0]["createdBy"]["source"], "API");
    assert_eq!(created[0]["createdBy"]["name"], "twenty-migrate");
    assert_eq!(created[0]["createdBy"]["workspaceMemberId"], Value::Null);
    assert_eq!(created[1]["createdBy"]["name"], "Jane Doe");
    assert_eq!(created[1]["createdBy"]["source"], "IMPORT");
    assert_eq!(created[2]["createdBy"]["source"], "MANUAL");
    assert_eq!(created[2]["createdBy"]["name"], "twenty-migrate");
}

// workspace-member-create-one.pre-query.hook.ts: members cannot be created with an API key.
#[tokio::test]
async fn creating_a_workspace_member_is_permission_denied() {
    let env = start().await;
    let (status, body) = env
        .post(
            "/rest/batch/workspaceMembers",
            json!([{"userEmail": "x@y.z"}]),
        )
        .await;
    assert_error(
        status,
        &body,
        403,
        "ForbiddenException",
        "Entity performing the request does not have permission",
        Some("PERMISSION_DENIED"),
    );
    let (_, members) = env.get("/rest/workspaceMembers").await;
    assert_eq!(members["totalCount"], 2);
    let emails: Vec<&str> = members["data"]["workspaceMembers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["userEmail"].as_str())
        .collect();
    assert!(emails.contains(&"ada@example.com") && emails.contains(&"alan@example.com"));
    let ada = env.twin.member_id("ada@example.com").to_string();
    let (_, one) = env.get(&format!("/rest/workspaceMembers/{ada}")).await;
    assert_eq!(one["data"]["workspaceMember"]["name"]["firstName"], "Ada");
}

// standard-object.constant.ts (noteTarget/attachment blocks): morph join columns target*Id.
#[tokio::test]
async fn note_targets_and_attachments_take_target_join_columns_only() {
    let env = start().await;
    let company = env.create("companies", json!([{"name": "Acme"}])).await;
    let note = env.create("notes", json!([{"title": "Call"}])).await;
    let targets = env
        .create(
            "noteTargets",
            json!([{"noteId": note[0]["id"], "targetCompanyId": company[0]["id"]}]),
        )
        .await;
    assert_eq!(targets[0]["targetCompanyId"], company[0]["id"]);
    let (status, body) = env
        .post(
            "/rest/batch/attachments",
            json!([{"companyId": company[0]["id"]}]),
        )
        .await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "Object attachment doesn't have any \"companyId\" field.",
        None,
    );
    env.create(
        "attachments",
        json!([{"name": "a.pdf", "targetCompanyId": company[0]["id"]}]),
    )
    .await;
}

// workflow-run-create-many.pre-query.hook.ts / workflow-version-create-many.pre-query.hook.ts.
#[tokio::test]
async fn workflow_runs_and_versions_cannot_be_created() {
    let env = start().await;
    for plural in ["workflowRuns", "workflowVersions"] {
        let (status, body) = env
            .post(&format!("/rest/batch/{plural}"), json!([{}]))
            .await;
        assert_error(
            status,
            &body,
            403,
            "ForbiddenException",
            "Method not allowed.",
            Some("FORBIDDEN"),
        );
    }
    env.create("workflows", json!([{"name": "Onboarding"}]))
        .await;
}
