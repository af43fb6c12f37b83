//! Reads every live source record's custom values with plain SQL (`to_jsonb` per column,
//! independent of the tool's reader and transform) and compares them with what the target
//! returns through its REST API.

use std::collections::HashMap;

use serde_json::{Map, Value};
use twenty_migrate::destination::Target;
use twenty_migrate::model::{quote_ident, table_name, FieldType, Model, RelationKind};
use twenty_migrate::schema_sync::names;
use twenty_migrate::transform::target_id;
use uuid::Uuid;

use super::Source;

/// How a value may legitimately differ after the target stored it.
#[derive(Clone, Copy, PartialEq)]
enum Norm {
    Exact,
    /// Twenty lower-cases e-mails and URL origins and cuts a trailing slash.
    CaseInsensitive,
}

/// Compares every custom field of every live record of the objects the target has; returns
/// how many values were compared. Panics with the first differences.
pub async fn compare_custom_values(src: &Source, model: &Model, target: &Target) -> usize {
    let schema = src.spec.schema();
    let tmodel = target.model().await.expect("target model");
    let mut compared = 0;
    let mut differences = Vec::new();
    for object in &model.objects {
        let fields: Vec<_> = object
            .fields
            .iter()
            .filter(|f| f.is_custom && !f.is_system && !f.columns.is_empty())
            .filter(|f| {
                f.relation
                    .as_ref()
                    .is_none_or(|r| r.kind == RelationKind::ManyToOne)
            })
            .collect();
        let Some(tobject) = tmodel.object(&object.name_singular) else {
            continue;
        };
        if fields.is_empty() {
            continue;
        }
        // One JSON object per row: column → to_jsonb(value); references to rows that do not
        // move (soft-deleted) are expected as null.
        let mut select = Vec::new();
        for f in &fields {
            for c in &f.columns {
                let expr = match &f.relation {
                    Some(rel) => {
                        let to = model.object(&rel.target_object).expect("relation target");
                        format!(
                            "(SELECT to_jsonb(r.id) FROM {}.{} r WHERE r.id = t.{} AND r.\"deletedAt\" IS NULL)",
                            quote_ident(&schema),
                            quote_ident(&table_name(&to.name_singular, to.is_custom)),
                            quote_ident(&c.name)
                        )
                    }
                    None => format!("to_jsonb(t.{})", quote_ident(&c.name)),
                };
                select.push(format!("'{}', {expr}", c.name.replace('\'', "''")));
            }
        }
        let sql = format!(
            "SELECT t.id, jsonb_build_object({}) FROM {}.{} t WHERE t.\"deletedAt\" IS NULL",
            select.join(", "),
            quote_ident(&schema),
            quote_ident(&object.table)
        );
        let rows = src.client.query(&sql, &[]).await.expect("source values");
        let ids: Vec<Uuid> = rows.iter().map(|r| target_id(r.get(0))).collect();
        let records: HashMap<Uuid, Value> = target
            .find_by_ids(&tobject.name_plural, &ids)
            .await
            .expect("target records")
            .into_iter()
            .filter_map(|r| Some((r["id"].as_str()?.parse().ok()?, r)))
            .collect();
        for row in &rows {
            let id: Uuid = row.get(0);
            let cells: Value = row.get(1);
            let record = records
                .get(&target_id(id))
                .unwrap_or_else(|| panic!("{} {id} is in the target", object.name_singular));
            for f in &fields {
                let name = names::target_name(&f.name);
                let (expected, actual) = match (&f.relation, f.field_type.sub_fields()) {
                    (Some(rel), _) => {
                        let column = &f.columns[0].name;
                        let key = rel
                            .join_column
                            .clone()
                            .unwrap_or_else(|| format!("{name}Id"));
                        let expected = cells[column.as_str()]
                            .as_str()
                            .and_then(|s| s.parse::<Uuid>().ok())
                            .map(|u| Value::String(target_id(u).to_string()))
                            .unwrap_or(Value::Null);
                        (expected, record[key.as_str()].clone())
                    }
                    (None, Some(subs)) => {
                        let mut expected = Map::new();
                        for s in subs {
                            let v = cells[s.column(&f.name).as_str()].clone();
                            expected.insert(s.name.to_owned(), v);
                        }
                        (Value::Object(expected), record[name.as_str()].clone())
                    }
                    (None, None) => (
                        cells[f.columns[0].name.as_str()].clone(),
                        record[name.as_str()].clone(),
                    ),
                };
                let norm = match f.field_type {
                    FieldType::Emails | FieldType::Links => Norm::CaseInsensitive,
                    _ => Norm::Exact,
                };
                compared += 1;
                if !same(&expected, &actual, norm) {
                    differences.push(format!(
                        "{}.{} of {id}: source {expected} target {actual}",
                        object.name_singular, f.name
                    ));
                }
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences, first: {:#?}",
        differences.len(),
        &differences[..differences.len().min(10)]
    );
    compared
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(blank),
        _ => false,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn same(expected: &Value, actual: &Value, norm: Norm) -> bool {
    if blank(expected) && blank(actual) {
        return true;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.keys().chain(a.keys()).all(|k| {
            same(
                e.get(k).unwrap_or(&Value::Null),
                a.get(k).unwrap_or(&Value::Null),
                norm,
            )
        }),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len()
                && (e.iter().zip(a).all(|(x, y)| same(x, y, norm)) || {
                    let mut es: Vec<String> = e.iter().map(Value::to_string).collect();
                    let mut as_: Vec<String> = a.iter().map(Value::to_string).collect();
                    es.sort();
                    as_.sort();
                    es == as_
                })
        }
        (Value::String(e), Value::String(a)) => {
            if e == a {
                return true;
            }
            if let (Ok(x), Ok(y)) = (
                chrono::DateTime::parse_from_rfc3339(e),
                chrono::DateTime::parse_from_rfc3339(a),
            ) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (number(expected), number(actual)) {
                return (x - y).abs() <= 1e-6 * x.abs().max(1.0);
            }
            norm == Norm::CaseInsensitive
                && e.trim_end_matches('/').to_lowercase() == a.trim_end_matches('/').to_lowercase()
        }
        _ => match (number(expected), number(actual)) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * x.abs().max(1.0),
            _ => expected == actual,
        },
    }
}
