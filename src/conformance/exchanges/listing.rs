//! Find-many and delete-many exchanges: pagination, limits, order, filters, and members by
//! email.

use serde_json::{json, Value};

use super::{ex, id_in_filter_template, upsert, urlencode, THINGS};
use crate::conformance::{Exchange, Step};

pub(super) fn listing() -> Vec<Exchange> {
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

pub(super) fn member_view(body: &Value) -> Value {
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
