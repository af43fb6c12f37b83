//! Row-level permission predicates (Enterprise): what a server without the feature answers.

use serde_json::{json, Value};

use super::config::ids;
use super::{ex, md};
use crate::conformance::Exchange;

pub(super) fn row_level() -> Vec<Exchange> {
    vec![
    // Row-level permission predicates are an Enterprise feature: without a valid
    // enterprise key and the RLS entitlement, the upsert is refused and nothing is written
    // (`MM/row-level-permission-predicate/services/row-level-permission-predicate.service.ts`,
    // `hasRowLevelPermissionFeatureOrThrow`).
    ex(
        "config-row-level-permission-predicates-without-the-enterprise-feature",
        vec![
            ids(),
            md("query { getRoles { id label } }", json!({}))
                .quiet()
                .capture("memberRoleId", "/data/getRoles/[label=Member]/id"),
            md(
                "mutation U($input: UpsertRowLevelPermissionPredicatesInput!) { upsertRowLevelPermissionPredicates(input: $input) { predicates { id fieldMetadataId operand value roleId } predicateGroups { id logicalOperator } } }",
                json!({ "input": {
                    "roleId": "${memberRoleId}",
                    "objectMetadataId": "${companyObjectId}",
                    "predicates": [{
                        "id": "${idPredicate}",
                        "fieldMetadataId": "${companyNameFieldId}",
                        "operand": "CONTAINS",
                        "value": "Acme",
                        "rowLevelPermissionPredicateGroupId": "${idPredicateGroup}",
                        "positionInRowLevelPermissionPredicateGroup": 0
                    }],
                    "predicateGroups": [{
                        "id": "${idPredicateGroup}",
                        "objectMetadataId": "${companyObjectId}",
                        "logicalOperator": "AND"
                    }]
                } }),
            ),
            md(
                "query { getRoles { label rowLevelPermissionPredicates { id } rowLevelPermissionPredicateGroups { id } } }",
                json!({}),
            )
            .select(|body| {
                let roles = body.pointer("/data/getRoles").and_then(Value::as_array);
                json!(roles.into_iter().flatten().find(|r| r["label"] == "Member"))
            }),
        ],
    ),
    ]
}
