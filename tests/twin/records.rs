//! REST record routes: shapes, statuses, paging, soft delete, auth, client-config, admin.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{assert_error, start, start_with, KEY};

// rest-api-create-many.handler.ts: 201, `create{Plural}`, input order kept.
#[tokio::test]
async fn batch_create_answers_201_with_the_records_in_input_order() {
    let env = start().await;
    let created = env
        .create(
            "companies",
            json!([{"name": "Acme"}, {"name": "Beta"}, {"name": "Gamma"}]),
        )
        .await;
    let names: Vec<&str> = created
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["Acme", "Beta", "Gamma"]);
    for c in &created {
        assert!(c["id"].as_str().is_some_and(|id| id.len() == 36));
        assert!(c.get("createdAt").is_some() && c.get("position").is_some());
        assert!(
            c.get("accountOwnerId").is_some(),
            "join columns are returned at depth 0"
        );
        assert!(c.get("people").is_none(), "no relation objects at depth 0");
    }
}

// rest-api-create-one.handler.ts: 201 under `create{Singular}`.
#[tokio::test]
async fn create_one_answers_201_under_the_singular_key() {
    let env = start().await;
    let (status, body) = env
        .post("/rest/people", json!({"name": {"firstName": "Ada"}}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["createPerson"]["name"]["firstName"], "Ada");
    // A text sub-field left out reads back as its column default '' (2.21 recording).
    assert_eq!(body["data"]["createPerson"]["name"]["lastName"], "");
}

// rest-core.middleware.ts / middleware.service.ts: missing token → 403, code in `error`.
#[tokio::test]
async fn a_request_without_a_token_is_403_forbidden_exception() {
    let env = start().await;
    let resp = env
        .http
        .get(format!("{}/rest/companies", env.twin.base_url()))
        .send()
        .await
        .expect("sent");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_error(
        status,
        &body,
        403,
        "FORBIDDEN_EXCEPTION",
        "Missing authentication token",
        None,
    );
}

// access-token.service.ts (validateTokenByRequest): wrong key → 401 `Token invalid.`.
#[tokio::test]
async fn a_request_with_a_wrong_token_is_401_token_invalid() {
    let env = start().await;
    let resp = env
        .http
        .get(format!("{}/rest/companies", env.twin.base_url()))
        .bearer_auth("not-the-key")
        .send()
        .await
        .expect("sent");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_error(
        status,
        &body,
        401,
        "UNAUTHENTICATED",
        "Token invalid.",
        None,
    );
}

/// Pages through `path` (which has no query string beyond `limit`) and returns every record.
async fn page_all(env: &super::Env, plural: &str, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/rest/{plural}?{query}&starting_after={c}"),
            None => format!("/rest/{plural}?{query}"),
        };
        let (status, page) = env.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        // 2.21: false on every forward page (pagination-limit-cursor-total-count.json).
        assert_eq!(page["pageInfo"]["hasPreviousPage"], false);
        all.extend(page["data"][plural].as_array().cloned().unwrap_or_default());
        if page["pageInfo"]["hasNextPage"] != true {
            return all;
        }
        cursor = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

// rest-api-find-many.handler.ts + common-find-many-query-runner.service.ts: limit,
// starting_after, totalCount, pageInfo; with no order_by the order is by id.
#[tokio::test]
async fn find_many_pages_by_id_with_limit_and_starting_after_and_counts_the_total() {
    let env = start().await;
    let records: Vec<Value> = (0..7).map(|i| json!({"name": format!("c{i}")})).collect();
    let created = env.create("companies", Value::Array(records)).await;
    let (status, first) = env.get("/rest/companies?limit=3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["totalCount"], 7);
    assert_eq!(first["data"]["companies"].as_array().map(Vec::len), Some(3));
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let ids: Vec<String> = page_all(&env, "companies", "limit=3")
        .await
        .iter()
        .map(|c| c["id"].as_str().unwrap_or("").to_owned())
        .collect();
    let mut want: Vec<String> = created
        .iter()
        .map(|c| c["id"].as_str().unwrap_or("").to_owned())
        .collect();
    want.sort();
    assert_eq!(ids, want);
}

// parse-order-by-rest-request-common.util.ts: order_by with directions, id tie-break.
#[tokio::test]
async fn order_by_sorts_and_pages_in_that_order() {
    let env = start().await;
    let records: Vec<Value> = ["b", "d", "a", "c", "e"]
        .iter()
        .map(|n| json!({"name": n}))
        .chain(std::iter::once(json!({"name": null})))
        .collect();
    env.create("companies", Value::Array(records)).await;
    let names: Vec<Value> = page_all(&env, "companies", "limit=2&order_by=name[DescNullsLast]")
        .await
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("e"),
            json!("d"),
            json!("c"),
            json!("b"),
            json!("a"),
            Value::Null
        ]
    );
    let (status, body) = env.get("/rest/companies?order_by=name[Down]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // 2.21 rewraps it as a plain BadRequestException: no `code` (conformance goldens).
    assert!(body.get("code").is_none(), "{body}");
    assert!(body["messages"][0]
        .as_str()
        .unwrap_or("")
        .starts_with("'order_by' direction 'Down' invalid."));
}

// parse-limit-rest-request.util.ts: a non-integer limit is refused; a large one is capped.
#[tokio::test]
async fn limit_must_be_an_integer_and_is_capped_at_the_max() {
    let env = start_with(|c| c.max_batch(5)).await;
    let (status, body) = env.get("/rest/companies?limit=abc").await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "limit 'abc' is invalid. Should be an integer",
        None,
    );
    let (status, body) = env.get("/rest/companies?limit=-1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // parse-depth-rest-request.util.ts: depth is 0 or 1.
    let (status, body) = env.get("/rest/companies?depth=2").await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "'depth=2' parameter invalid. Allowed values are 0, 1",
        None,
    );
    let records: Vec<Value> = (0..8).map(|i| json!({"name": format!("c{i}")})).collect();
    env.create("companies", Value::Array(records[..5].to_vec()))
        .await;
    env.create("companies", Value::Array(records[5..].to_vec()))
        .await;
    let (_, body) = env.get("/rest/companies?limit=1000").await;
    assert_eq!(body["data"]["companies"].as_array().map(Vec::len), Some(5));
}

// filter-parser-utils: id[in] and id[eq].
#[tokio::test]
async fn find_many_filters_on_id_in_and_id_eq() {
    let env = start().await;
    let created = env
        .create(
            "companies",
            json!([{"name": "A"}, {"name": "B"}, {"name": "C"}]),
        )
        .await;
    let (a, c) = (
        created[0]["id"].as_str().unwrap_or(""),
        created[2]["id"].as_str().unwrap_or(""),
    );
    let (_, body) = env
        .get(&format!("/rest/companies?filter=id[in]:[\"{a}\",\"{c}\"]"))
        .await;
    assert_eq!(body["totalCount"], 2);
    let (_, body) = env.get(&format!("/rest/companies?filter=id[eq]:{c}")).await;
    assert_eq!(body["data"]["companies"][0]["name"], "C");
    assert_eq!(body["totalCount"], 1);
    let (status, body) = env.get("/rest/companies?filter=id[eq]:nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

// F3 (target-api.md): soft-deleted rows are hidden unless the filter mentions deletedAt;
// rest-api-delete-one.handler.ts + parse-soft-delete-rest-request.util.ts.
#[tokio::test]
async fn soft_deleted_records_are_hidden_unless_the_filter_names_deleted_at() {
    let env = start().await;
    let created = env
        .create("companies", json!([{"name": "Keep"}, {"name": "Gone"}]))
        .await;
    let gone = created[1]["id"].as_str().unwrap_or("").to_owned();
    let (status, body) = env
        .delete(&format!("/rest/companies/{gone}?soft_delete=true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // No `softDelete` member in 2.21 (delete-one-soft-and-destroy.json).
    assert!(body.get("softDelete").is_none(), "{body}");
    assert_eq!(body["data"]["deleteCompany"]["name"], "Gone");
    assert!(body["data"]["deleteCompany"]["deletedAt"].is_string());
    let (_, body) = env.get("/rest/companies").await;
    assert_eq!(body["totalCount"], 1);
    let (_, body) = env
        .get("/rest/companies?filter=deletedAt[is]:NOT_NULL")
        .await;
    assert_eq!(body["totalCount"], 1);
    assert_eq!(body["data"]["companies"][0]["id"], gone.as_str());
    let (status, _) = env.get(&format!("/rest/companies/{gone}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// rest-api-destroy-one.handler.ts: without soft_delete the record is destroyed and only its
// id answered (recorded: tests/conformance/twenty-2.21/delete-one-soft-and-destroy.json).
#[tokio::test]
async fn delete_without_soft_delete_destroys_the_record() {
    let env = start().await;
    let created = env.create("companies", json!([{"name": "Gone"}])).await;
    let id = created[0]["id"].as_str().unwrap_or("").to_owned();
    let (status, body) = env.delete(&format!("/rest/companies/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["deleteCompany"], json!({"id": id}));
    assert!(body.get("softDelete").is_none());
    let (_, body) = env
        .get("/rest/companies?filter=deletedAt[is]:NOT_NULL")
        .await;
    assert_eq!(body["totalCount"], 0);
    let (status, body) = env.get(&format!("/rest/companies/{id}")).await;
    assert_error(
        status,
        &body,
        404,
        "NotFoundException",
        "Record not found",
        None,
    );
}

// rest-api-update-one.handler.ts: PATCH sets the given fields, keeps the rest.
#[tokio::test]
async fn patch_updates_the_given_fields_and_keeps_the_rest() {
    let env = start().await;
    let created = env
        .create(
            "people",
            json!([{"name": {"firstName": "Ada", "lastName": "Byron"}, "jobTitle": "Countess"}]),
        )
        .await;
    let id = created[0]["id"].as_str().unwrap_or("").to_owned();
    let (status, body) = env
        .patch(
            &format!("/rest/people/{id}"),
            json!({"name": {"lastName": "Lovelace"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let person = &body["data"]["updatePerson"];
    assert_eq!(
        person["name"],
        json!({"firstName": "Ada", "lastName": "Lovelace"})
    );
    assert_eq!(person["jobTitle"], "Countess");
}

// client-config.controller.ts: public, with appVersion and the mutation limit.
#[tokio::test]
async fn client_config_needs_no_key_and_reports_the_app_version() {
    let env = start_with(|c| c.app_version("9.9.9")).await;
    let body: Value = env
        .http
        .get(format!("{}/client-config", env.twin.base_url()))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(body["appVersion"], "9.9.9");
    assert_eq!(body["api"]["mutationMaximumAffectedRecords"], 100);
}

// Twin-only admin route: on when configured, absent otherwise.
#[tokio::test]
async fn the_admin_dump_lists_soft_deleted_records_only_when_enabled() {
    let env = start().await;
    let created = env.create("companies", json!([{"name": "Gone"}])).await;
    let id = created[0]["id"].as_str().unwrap_or("").to_owned();
    env.delete(&format!("/rest/companies/{id}?soft_delete=true"))
        .await;
    let (status, body) = env.get("/__twin/dump").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["objects"]["companies"][0]["id"], id.as_str());
    assert_eq!(
        body["objects"]["workspaceMembers"].as_array().map(Vec::len),
        Some(2)
    );
    let off = start_with(|c| c.admin(false)).await;
    let (status, _) = off.get("/__twin/dump").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// Twin-only counters.
#[tokio::test]
async fn stats_count_requests_per_route_and_records_written() {
    let env = start().await;
    env.create("companies", json!([{"name": "A"}, {"name": "B"}]))
        .await;
    env.get("/rest/companies").await;
    env.call(Method::GET, "/rest/companies", None).await;
    let stats = env.twin.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.by_route.get("create_many"), Some(&1));
    assert_eq!(stats.by_route.get("find_many"), Some(&2));
    assert_eq!(stats.records_created, 2);
    let _ = KEY;
}

// rest-api-base.handler.ts: an unknown plural is a BadRequestException with a hint.
#[tokio::test]
async fn an_unknown_object_is_refused_with_a_hint() {
    let env = start().await;
    let (status, body) = env.get("/rest/company").await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "object 'company' not found. Did you mean 'companies'?",
        None,
    );
    let (status, body) = env.post("/rest/batch/widgets", json!([])).await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "object 'widgets' not found. eg: companies",
        None,
    );
}

// parse-base-filter.util.ts / check-filter-query.util.ts: malformed filters.
#[tokio::test]
async fn a_malformed_filter_is_refused_with_twentys_message() {
    let env = start().await;
    let (status, body) = env.get("/rest/companies?filter=name:Acme").await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "'filter' invalid for 'name:Acme'. eg: price[gte]:10",
        None,
    );
    let (status, body) = env.get("/rest/companies?filter=name[has]:Acme").await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "'filter' invalid for 'name[has]:Acme', comparator has not in eq, neq, in, containsAny, is, gt, gte, lt, lte, startsWith, endsWith, like, ilike",
        None,
    );
    let (status, body) = env.get("/rest/companies?filter=or(name[eq]:A").await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "'filter' invalid. 1 close bracket is missing in the query",
        None,
    );
}

// Nest's default answer for a route that does not exist.
#[tokio::test]
async fn an_unknown_route_gets_nests_404_body() {
    let env = start().await;
    let (status, body) = env.get("/rest/companies/a/b").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "Cannot GET /rest/companies/a/b");
    assert_eq!(body["error"], "Not Found");
}

// rest-api-delete-many.handler.ts / rest-api-destroy-many.handler.ts: bulk delete by filter.
#[tokio::test]
async fn bulk_delete_by_filter_soft_deletes_or_destroys_and_needs_a_filter() {
    let env = start().await;
    let created = env
        .create(
            "companies",
            json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]),
        )
        .await;
    let (a, b) = (
        created[0]["id"].as_str().unwrap_or("").to_owned(),
        created[1]["id"].as_str().unwrap_or("").to_owned(),
    );
    let (status, body) = env
        .delete(&format!(
            "/rest/companies?soft_delete=true&filter=id[in]:[\"{a}\",\"{b}\"]"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["deleteCompanies"].as_array().map(Vec::len),
        Some(2)
    );
    let (_, live) = env.get("/rest/companies").await;
    assert_eq!(live["totalCount"], 1);
    let (_, gone) = env
        .get("/rest/companies?filter=deletedAt[is]:NOT_NULL")
        .await;
    assert_eq!(gone["totalCount"], 2);
    let (status, body) = env
        .delete(&format!(
            "/rest/companies?filter=and(id[eq]:{a},deletedAt[is]:NOT_NULL)"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, dump) = env.get("/__twin/dump").await;
    assert_eq!(
        dump["objects"]["companies"].as_array().map(Vec::len),
        Some(2)
    );
    let (status, body) = env.delete("/rest/companies?soft_delete=true").await;
    assert_error(
        status,
        &body,
        400,
        "BadRequestException",
        "Filters are mandatory for bulk delete operations. Please provide at least one filter to prevent accidental deletion of all records.",
        None,
    );
}
