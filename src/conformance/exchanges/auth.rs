//! Authentication exchanges: missing, wrong and garbage tokens on each API, and what answers
//! without a token.

use serde_json::{json, Value};

use super::ex;
use crate::conformance::{Auth, Exchange, Step};

fn client_config(body: &Value) -> Value {
    json!({ "api": body.get("api") })
}

pub(super) fn auth() -> Vec<Exchange> {
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
