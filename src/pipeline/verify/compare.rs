//! Field-by-field comparison of a source record and the target's, under the target's
//! normalisations (emails lower-cased, empty values as null, link origins, rich-text halves).

use serde_json::Value;
use uuid::Uuid;

use super::Difference;
use crate::model::FieldType;
use crate::record::ApiRecord;

/// On a target before Files v2 a file's path is the target's own after the upload (a new
/// name under `attachment/` or `person-picture/`), and migrate fills a missing
/// `fileCategory` from the name: those values are not the source's to compare.
pub(super) fn uploaded_paths(object: &str, expected: &mut ApiRecord) {
    match object {
        "attachment" => {
            expected.remove("fullPath");
            if expected.get("fileCategory").is_none_or(Value::is_null) {
                expected.remove("fileCategory");
            }
        }
        "person" => {
            let stored = expected
                .get("avatarUrl")
                .and_then(Value::as_str)
                .is_some_and(|u| !u.contains("://") || u.contains("/files/"));
            if stored {
                expected.remove("avatarUrl");
            }
        }
        _ => {}
    }
}

/// Deterministic sampling by id: the same records are checked on every run.
pub(super) fn sampled(id: Uuid, percent: u8) -> bool {
    percent >= 100 || (id.as_u128() % 100) < u128::from(percent)
}

/// Compares one expected record (as `migrate` sends it) with the target's copy and appends
/// the differences. `types` gives each key's field type.
pub fn compare_record(
    object: &str,
    expected: &ApiRecord,
    actual: &Value,
    types: &dyn Fn(&str) -> Option<FieldType>,
    out: &mut Vec<Difference>,
) -> bool {
    let id = expected.id();
    let mut same = true;
    for (key, want) in expected.iter() {
        let ty = types(key);
        let got = actual.get(key).unwrap_or(&Value::Null);
        if !equal(ty.as_ref(), want, got) {
            same = false;
            out.push(Difference {
                object: object.to_owned(),
                id,
                field: key.to_owned(),
                source: want.clone(),
                target: got.clone(),
            });
        }
    }
    same
}

/// Whether a value the source maps to and the target's value are the same datum.
pub fn equal(ty: Option<&FieldType>, want: &Value, got: &Value) -> bool {
    let want = normalize(ty, want);
    let mut got = normalize(ty, got);
    // The target derives the half of a rich text the source lacks, blocknote from markdown and
    // markdown from blocknote (`transformRichTextValue`,
    // `core-modules/record-transformer/utils/transform-rich-text.util.ts`).
    if let (Some(FieldType::RichText), Value::Object(w), Value::Object(g)) = (ty, &want, &mut got) {
        for half in ["blocknote", "markdown"] {
            if w.get(half).is_none_or(Value::is_null) {
                g.remove(half);
            }
        }
    }
    loose_equal(&want, &got)
}

fn normalize(ty: Option<&FieldType>, v: &Value) -> Value {
    match (ty, v) {
        (_, Value::String(s)) if s.is_empty() => Value::Null,
        (_, Value::Array(a)) if a.is_empty() => Value::Null,
        // File ids are the target's own after an upload; the labels must match.
        (Some(FieldType::Files), Value::Array(a)) => Value::Array(
            a.iter()
                .map(|f| f.get("label").cloned().unwrap_or(Value::Null))
                .collect(),
        ),
        (Some(FieldType::RawJson), Value::Object(o)) if o.is_empty() => Value::Null,
        // Embedded files are re-pointed at the target's copies (`files/rich_text.rs`): their
        // URLs and file ids are compared as markers, the text around them as it is.
        (Some(FieldType::RichText), Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("blocknote", Value::String(s)) => {
                            let text = match serde_json::from_str::<Value>(s) {
                                Ok(mut blocks) => {
                                    drop_file_ids(&mut blocks);
                                    blocks.to_string()
                                }
                                Err(_) => s.clone(),
                            };
                            Value::String(crate::pipeline::files::mask_file_urls(&text))
                        }
                        ("markdown", Value::String(s)) => {
                            Value::String(crate::pipeline::files::mask_file_urls(s))
                        }
                        _ => normalize(None, v),
                    };
                    (k.clone(), normalize(None, &v))
                })
                .collect(),
        ),
        (Some(FieldType::Emails), Value::Object(o)) => {
            let mut o = o.clone();
            if let Some(Value::String(p)) = o.get("primaryEmail") {
                let lower = p.to_lowercase();
                o.insert("primaryEmail".into(), Value::String(lower));
            }
            if let Some(Value::Array(items)) = o.get("additionalEmails") {
                let lower = items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => Value::String(s.to_lowercase()),
                        other => other.clone(),
                    })
                    .collect();
                o.insert("additionalEmails".into(), Value::Array(lower));
            }
            Value::Object(
                o.into_iter()
                    .map(|(k, v)| (k, normalize(None, &v)))
                    .collect(),
            )
        }
        (Some(FieldType::Links), Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        // An empty link is stored as "" by a real 2.21 (a null sent reads back
                        // as ""), and equals null.
                        ("primaryLinkUrl", Value::String(u)) if !u.is_empty() => {
                            Value::String(normalize_url(u))
                        }
                        _ => normalize(None, v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        (_, Value::Object(o)) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), normalize(None, v)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// Removes every block's `props.attachmentFileId` (the source's and the target's ids differ).
fn drop_file_ids(blocks: &mut Value) {
    let Value::Array(items) = blocks else {
        return;
    };
    for block in items {
        if let Some(props) = block.get_mut("props").and_then(Value::as_object_mut) {
            props.remove("attachmentFileId");
        }
        if let Some(children) = block.get_mut("children") {
            drop_file_ids(children);
        }
    }
}

/// Twenty keeps a link's path and query but lower-cases the scheme and host and drops one
/// trailing slash (`packages/twenty-shared/src/utils/url/normalizeUrlOrigin.ts`).
pub(crate) fn normalize_url(url: &str) -> String {
    let trimmed = url.trim();
    match trimmed.find("://") {
        Some(i) => {
            let rest = &trimmed[i + 3..];
            let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let mut out = format!(
                "{}://{}{}",
                trimmed[..i].to_lowercase(),
                rest[..host_end].to_lowercase(),
                &rest[host_end..]
            );
            if out.ends_with('/') {
                out.pop();
            }
            out
        }
        None => trimmed.to_owned(),
    }
}

/// Structural equality where numbers compare by value, timestamps by instant, and a key
/// missing on one side equals null on the other.
fn loose_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x.as_f64(), y.as_f64()),
        (Value::Number(x), Value::String(s)) | (Value::String(s), Value::Number(x)) => {
            num_eq(x.as_f64(), s.parse().ok())
        }
        (Value::String(x), Value::String(y)) => x == y || same_instant(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loose_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().all(|k| {
                loose_equal(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
        }
        (Value::Object(x), Value::Null) | (Value::Null, Value::Object(x)) => {
            x.values().all(|v| loose_equal(v, &Value::Null))
        }
        _ => a == b,
    }
}

fn num_eq(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
        _ => false,
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_targets_normalisations_are_not_differences() {
        assert!(equal(
            Some(&FieldType::Emails),
            &json!({"primaryEmail": "Ada@Example.COM", "additionalEmails": []}),
            &json!({"primaryEmail": "ada@example.com", "additionalEmails": null})
        ));
        assert!(equal(
            Some(&FieldType::Links),
            &json!({"primaryLinkUrl": "HTTPS://Acme.com/", "primaryLinkLabel": ""}),
            &json!({"primaryLinkUrl": "https://acme.com", "primaryLinkLabel": null})
        ));
        // A real 2.21 derives the blocknote of a body sent as markdown only.
        assert!(equal(
            Some(&FieldType::RichText),
            &json!({"blocknote": null, "markdown": "## Hi"}),
            &json!({"blocknote": "[{\"type\":\"heading\"}]", "markdown": "## Hi"})
        ));
        assert!(!equal(
            Some(&FieldType::RichText),
            &json!({"blocknote": null, "markdown": "## Hi"}),
            &json!({"blocknote": "[]", "markdown": "## Bye"})
        ));
        // A real 2.21 reads an empty link back as "" and [] (company.introVideo of its seed).
        assert!(equal(
            Some(&FieldType::Links),
            &json!({"primaryLinkUrl": null, "primaryLinkLabel": null, "secondaryLinks": null}),
            &json!({"primaryLinkUrl": "", "primaryLinkLabel": "", "secondaryLinks": []})
        ));
        assert!(equal(
            Some(&FieldType::DateTime),
            &json!("2025-01-13T10:30:00.000Z"),
            &json!("2025-01-13T10:30:00Z")
        ));
        assert!(equal(
            Some(&FieldType::Currency),
            &json!({"amountMicros": 1500000, "currencyCode": "EUR"}),
            &json!({"amountMicros": "1500000", "currencyCode": "EUR"})
        ));
    }

    #[test]
    fn real_differences_are_reported_with_both_values() {
        let mut expected = ApiRecord::new(Uuid::nil());
        expected.insert("name", json!("Acme"));
        expected.insert("employees", json!(10));
        let actual = json!({"id": Uuid::nil().to_string(), "name": "Acme Inc", "employees": 10});
        let mut out = Vec::new();
        let same = compare_record("company", &expected, &actual, &|_| None, &mut out);
        assert!(!same);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].field, "name");
        assert_eq!(out[0].target, json!("Acme Inc"));
    }
}
