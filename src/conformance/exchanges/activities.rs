//! Activity exchanges: note and task targets (morph keys), relation depth, and soft-deletes that
//! cascade to targets.

use serde_json::{json, Value};

use super::{ex, find_ids, id_in_filter_template, upsert, urlencode};
use crate::conformance::{Exchange, Step};

pub(super) fn activities() -> Vec<Exchange> {
    vec![
        ex(
            "note-target-morph-keys",
            vec![
                upsert("companies", json!([{ "id": "${idNtCompany}", "name": "NT company" }])).quiet(),
                upsert("people", json!([{ "id": "${idNtPerson}", "name": { "firstName": "Nt", "lastName": "Person" } }])).quiet(),
                upsert("notes", json!([{ "id": "${idNote}", "title": "Note", "bodyV2": { "markdown": "body", "blocknote": null } }])),
                upsert(
                    "noteTargets",
                    json!([
                        { "id": "${idNt1}", "noteId": "${idNote}", "targetCompanyId": "${idNtCompany}" },
                        { "id": "${idNt2}", "noteId": "${idNote}", "targetPersonId": "${idNtPerson}" },
                        { "id": "${idNt3}", "noteId": "${idNote}", "targetCf${Run}ThingId": "${idThing}" },
                    ]),
                ),
            ],
        ),
        ex(
            "note-target-old-company-id-refused",
            vec![upsert(
                "noteTargets",
                json!([{ "id": "${idNtOld}", "noteId": "${idNote}", "companyId": "${idNtCompany}" }]),
            )],
        ),
        ex(
            "task-target-morph-keys",
            vec![
                upsert("tasks", json!([{ "id": "${idTask}", "title": "Task", "status": "TODO" }])),
                upsert(
                    "taskTargets",
                    json!([{ "id": "${idTt1}", "taskId": "${idTask}", "targetCompanyId": "${idNtCompany}" }]),
                ),
            ],
        ),
        ex(
            "task-target-old-person-id-refused",
            vec![upsert(
                "taskTargets",
                json!([{ "id": "${idTtOld}", "taskId": "${idTask}", "personId": "${idNtPerson}" }]),
            )],
        ),
        ex(
            "depth-0-1-2-on-note-targets",
            vec![
                find_ids("noteTargets", &["${idNt1}"], "&depth=0"),
                find_ids("noteTargets", &["${idNt1}"], "&depth=1").select(depth_view),
                find_ids("noteTargets", &["${idNt1}"], "&depth=2").select(depth_view),
                find_ids("noteTargets", &["${idNt1}"], "&depth=3"),
            ],
        ),
        ex(
            "note-soft-delete-cascades-to-note-targets-and-restore",
            vec![
                Step::delete("/rest/notes/${idNote}?soft_delete=true"),
                Step::get(format!(
                    "/rest/noteTargets?filter={}",
                    urlencode("and(noteId[eq]:\"${idNote}\",deletedAt[is]:NOT_NULL)")
                ))
                .select(ids_and_deleted),
                Step::get(format!(
                    "/rest/noteTargets?filter={}",
                    urlencode("noteId[eq]:\"${idNote}\"")
                ))
                .select(ids_and_deleted),
                Step::patch("/rest/restore/notes/${idNote}", json!({})),
                // How the tool restores: an upsert of the id with `deletedAt: null`.
                upsert("notes", json!([{ "id": "${idNote}", "deletedAt": null }])).quiet(),
                find_ids("notes", &["${idNote}"], "").select(ids_and_deleted),
                Step::get(format!(
                    "/rest/noteTargets?filter={}",
                    urlencode("noteId[eq]:\"${idNote}\"")
                ))
                .select(ids_and_deleted),
            ],
        ),
        ex(
            "task-soft-delete-many-cascades-to-task-targets",
            vec![
                Step::delete(format!(
                    "/rest/tasks?filter={}&soft_delete=true",
                    urlencode(&id_in_filter_template(&["${idTask}"]))
                )),
                Step::get(format!(
                    "/rest/taskTargets?filter={}",
                    urlencode("and(taskId[eq]:\"${idTask}\",deletedAt[is]:NOT_NULL)")
                ))
                .select(ids_and_deleted),
            ],
        ),
    ]
}

/// Records reduced to id and whether they are deleted, and the count.
fn ids_and_deleted(body: &Value) -> Value {
    let Some(data) = body.get("data").and_then(Value::as_object) else {
        return body.clone();
    };
    let rows: Vec<Value> = data
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .map(|r| json!({ "id": r["id"], "deleted": !r["deletedAt"].is_null() }))
        .collect();
    json!({ "unordered": rows, "totalCount": body.get("totalCount") })
}

/// A depth answer reduced to the keys of each record and of its related records.
fn depth_view(body: &Value) -> Value {
    let Some(rows) = body
        .get("data")
        .and_then(Value::as_object)
        .and_then(|d| d.values().next())
        .and_then(Value::as_array)
    else {
        return body.clone();
    };
    let shape = |v: &Value| -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                json!({ "id": m.get("id"), "keys": keys })
            }
            other => json!(if other.is_null() { "null" } else { "value" }),
        }
    };
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            let relations: serde_json::Map<String, Value> = r
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| {
                            matches!(k.as_str(), "note" | "targetCompany" | "targetPerson")
                                && (v.is_object() || v.is_null())
                        })
                        .map(|(k, v)| {
                            let mut s = shape(v);
                            // Depth 2: the relation's own relations (the note's noteTargets).
                            if let Some(targets) = v.get("noteTargets") {
                                s["noteTargets"] =
                                    json!(targets.as_array().map(|a| a.len()).or_else(|| targets
                                        .pointer("/edges")
                                        .and_then(Value::as_array)
                                        .map(|a| a.len())));
                            }
                            (k.clone(), s)
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({ "record": shape(r), "relations": relations })
        })
        .collect();
    json!({ "records": out })
}
