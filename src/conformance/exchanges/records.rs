//! Records API exchanges: creating, finding and batch-upserting records, what the server refuses,
//! and the actor fields it fills.

use serde_json::{json, Value};

use super::{ex, find_ids, id_in_filter_template, upsert, urlencode, THINGS};
use crate::conformance::{Exchange, Step};

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

fn companies(n: usize, prefix: &str) -> Value {
    Value::Array(
        (0..n)
            .map(
                |i| json!({ "id": format!("${{id{prefix}{i}}}"), "name": format!("{prefix} {i}") }),
            )
            .collect(),
    )
}

/// A records answer reduced to each record's id, name and `updatedAt` (and the rest of the
/// answer as it is): what the delta exchange compares.
fn delta_view(body: &Value) -> Value {
    let reduce = |r: &Value| json!({ "id": r.get("id"), "name": r.get("name"), "updatedAt": r.get("updatedAt") });
    let mut out = body.clone();
    if let Some(data) = out.get_mut("data").and_then(Value::as_object_mut) {
        for v in data.values_mut() {
            let reduced = match &*v {
                Value::Array(list) => Value::Array(list.iter().map(reduce).collect()),
                one @ Value::Object(_) => reduce(one),
                other => other.clone(),
            };
            *v = reduced;
        }
    }
    out
}

/// What a delta pass relies on: the `updatedAt` a client sends is kept (a 2001 date is not
/// masked), any other write stamps the server's clock, a filter on `updatedAt` finds the
/// records written since, and a filtered delete with `soft_delete=false` destroys live records.
fn delta_updated_at_and_destroy() -> Exchange {
    let changed_since = format!(
        "/rest/companies?filter={}",
        urlencode("and(id[in]:[\"${idDelta}\"],updatedAt[gt]:2001-06-01T00:00:00.000Z)")
    );
    ex(
        "delta-updated-at-kept-stamped-and-destroy",
        vec![
            upsert(
                "companies",
                json!([{ "id": "${idDelta}", "name": "Delta", "updatedAt": "2001-02-03T04:05:06.000Z" }]),
            )
            .select(delta_view),
            Step::patch("/rest/companies/${idDelta}", json!({ "name": "Edited in the target" }))
                .select(delta_view),
            Step::get(changed_since.clone()).select(delta_view),
            upsert(
                "companies",
                json!([{ "id": "${idDelta}", "name": "Delta again", "updatedAt": "2001-02-03T04:05:06.000Z" }]),
            )
            .select(delta_view),
            Step::get(changed_since).select(delta_view),
            Step::delete(format!(
                "/rest/companies?filter={}&soft_delete=false",
                urlencode(&id_in_filter_template(&["${idDelta}"]))
            )),
            Step::get("/rest/companies/${idDelta}"),
        ],
    )
}

pub(super) fn records() -> Vec<Exchange> {
    vec![
        delta_updated_at_and_destroy(),
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

pub(super) fn actors() -> Vec<Exchange> {
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
