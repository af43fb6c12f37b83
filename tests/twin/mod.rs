//! Contract tests of the twin: real HTTP against an in-process twin, one rule per test, each
//! naming the Twenty source file the rule mirrors.

mod agents;
mod config;
mod limits_and_faults;
mod metadata;
mod records;
mod row_level;
mod rules;
mod validation;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use twenty_migrate::twin::{Member, Twin, TwinConfig};

/// The key every test twin accepts.
pub const KEY: &str = "twin-test-key";

/// A running twin and a client for it.
pub struct Env {
    /// The twin.
    pub twin: Twin,
    /// HTTP client.
    pub http: Client,
}

/// Starts a twin with two members and the given tweaks.
pub async fn start_with(tweak: impl FnOnce(TwinConfig) -> TwinConfig) -> Env {
    let members = vec![
        Member::parse("ada@example.com,Ada,Lovelace").expect("member"),
        Member::parse("alan@example.com,Alan,Turing").expect("member"),
    ];
    let twin = tweak(TwinConfig::new(KEY).members(members))
        .start()
        .await
        .expect("twin starts");
    Env {
        twin,
        http: Client::new(),
    }
}

/// Starts a twin with defaults.
pub async fn start() -> Env {
    start_with(|c| c).await
}

impl Env {
    /// Sends a request with the key; returns status and JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.twin.base_url()))
            .bearer_auth(KEY);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST with the key.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// GET with the key.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// PATCH with the key.
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// DELETE with the key.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates records in a batch and expects 201; returns the created records.
    pub async fn create(&self, plural: &str, records: Value) -> Vec<Value> {
        let (status, body) = self.post(&format!("/rest/batch/{plural}"), records).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let key = format!("create{}{}", plural[..1].to_uppercase(), &plural[1..]);
        body["data"][key.as_str()]
            .as_array()
            .cloned()
            .expect("created list")
    }
}

/// Asserts Twenty's error envelope: status, `messages: [message]`, and `code` when given.
pub fn assert_error(
    status: StatusCode,
    body: &Value,
    want_status: u16,
    error: &str,
    message: &str,
    code: Option<&str>,
) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["statusCode"], want_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["messages"], serde_json::json!([message]), "{body}");
    match code {
        Some(code) => assert_eq!(body["code"], code, "{body}"),
        None => assert!(body.get("code").is_none(), "{body}"),
    }
}

impl Env {
    /// Runs a `/metadata` GraphQL document with the key.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(
                "/metadata",
                serde_json::json!({"query": query, "variables": variables}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// The metadata id of an object.
    pub async fn object_id(&self, singular: &str) -> String {
        let body = self
            .gql(
                "{ objects(paging: {first: 1000}) { edges { node { id nameSingular } } } }",
                Value::Null,
            )
            .await;
        body["data"]["objects"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["node"]["nameSingular"] == singular)
            .and_then(|e| e["node"]["id"].as_str())
            .expect("object listed")
            .to_owned()
    }

    /// Creates a custom field and returns the `createOneField` answer.
    pub async fn add_field(&self, singular: &str, field: Value) -> Value {
        let mut field = field;
        field["objectMetadataId"] = Value::String(self.object_id(singular).await);
        self.gql(
            "mutation($f: CreateFieldInput!) { createOneField(input: {field: $f}) { id name type isUnique relation { type targetObjectMetadata { nameSingular } targetFieldMetadata { name } } } }",
            serde_json::json!({"f": field}),
        )
        .await
    }
}
