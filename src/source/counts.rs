//! Row counts and member-reference counts, read through the metadata model.

use std::collections::HashMap;

use tokio_postgres::Client;
use uuid::Uuid;

use super::{during, SnapshotPool, SourceError};
use crate::model::{quote_ident, FieldType, Object};

/// [`count_rows`] of every object, keyed by `name_singular`, counted by the read jobs in
/// parallel (each a full scan on the server, so they overlap well).
pub async fn count_all(
    pool: &SnapshotPool,
    schema: &str,
    objects: &[Object],
) -> Result<HashMap<String, (u64, u64)>, SourceError> {
    let with_table: Vec<&Object> = objects.iter().filter(|o| o.table_exists).collect();
    let counted = pool
        .map(&with_table, async |client, object| {
            count_rows(client, schema, object).await
        })
        .await?;
    let mut out: HashMap<String, (u64, u64)> = objects
        .iter()
        .map(|o| (o.name_singular.clone(), (0, 0)))
        .collect();
    for (object, count) in with_table.iter().zip(counted) {
        out.insert(object.name_singular.clone(), count);
    }
    Ok(out)
}

/// (live, soft-deleted) rows of one object; (0, 0) when its table does not exist.
pub async fn count_rows(
    client: &Client,
    schema: &str,
    object: &Object,
) -> Result<(u64, u64), SourceError> {
    if !object.table_exists {
        return Ok((0, 0));
    }
    let has_deleted_at = object
        .field("deletedAt")
        .is_some_and(|f| !f.columns.is_empty());
    let table = format!("{}.{}", quote_ident(schema), quote_ident(&object.table));
    let sql = if has_deleted_at {
        format!(
            "SELECT count(*) FILTER (WHERE \"deletedAt\" IS NULL), \
             count(*) FILTER (WHERE \"deletedAt\" IS NOT NULL) FROM {table}"
        )
    } else {
        format!("SELECT count(*), 0::bigint FROM {table}")
    };
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(during(format!("counting {}", object.name_singular)))?;
    Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
}

/// The planner's estimate of each table's rows (`pg_class.reltuples`, as of the last
/// `ANALYZE`), keyed by `name_singular`; 0 when unknown. Cheap, for ordering work (largest
/// first), never for reporting.
pub async fn estimated_rows(
    client: &Client,
    schema: &str,
    objects: &[&Object],
) -> Result<HashMap<String, u64>, SourceError> {
    let tables: Vec<&str> = objects.iter().map(|o| o.table.as_str()).collect();
    let rows = client
        .query(
            "SELECT c.relname::text, greatest(c.reltuples, 0)::float8 FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = ANY($2)",
            &[&schema, &tables],
        )
        .await
        .map_err(during("estimating table sizes"))?;
    let by_table: HashMap<String, u64> = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, f64>(1) as u64))
        .collect();
    Ok(objects
        .iter()
        .map(|o| {
            let n = by_table.get(&o.table).copied().unwrap_or(0);
            (o.name_singular.clone(), n)
        })
        .collect())
}

/// How many rows of `objects` reference each workspace member, through relations to
/// `workspaceMember` and the member id of ACTOR fields (createdBy, updatedBy). Soft-deleted rows
/// count only when `include_deleted`.
pub async fn member_references(
    client: &Client,
    schema: &str,
    objects: &[&Object],
    include_deleted: bool,
) -> Result<HashMap<Uuid, u64>, SourceError> {
    let mut out: HashMap<Uuid, u64> = HashMap::new();
    for object in objects.iter().filter(|o| o.table_exists) {
        let mut columns = Vec::new();
        for field in &object.fields {
            match (&field.field_type, &field.relation) {
                (FieldType::Actor, _) => columns.extend(
                    field
                        .columns
                        .iter()
                        .filter(|c| c.sub_field.as_deref() == Some("workspaceMemberId")),
                ),
                (_, Some(rel)) if rel.target_object == "workspaceMember" => {
                    columns.extend(field.columns.iter())
                }
                _ => {}
            }
        }
        if columns.is_empty() {
            continue;
        }
        let has_deleted_at = object
            .field("deletedAt")
            .is_some_and(|f| !f.columns.is_empty());
        let filter = if has_deleted_at && !include_deleted {
            "AND \"deletedAt\" IS NULL"
        } else {
            ""
        };
        // One row per record and member, so a record that names a member twice counts once.
        let unions = columns
            .iter()
            .map(|c| {
                format!(
                    "SELECT id, {col} AS m FROM {s}.{t} WHERE {col} IS NOT NULL {filter}",
                    col = c
                        .read_expr
                        .as_ref()
                        .map(|e| format!("({e})"))
                        .unwrap_or_else(|| quote_ident(&c.name)),
                    s = quote_ident(schema),
                    t = quote_ident(&object.table)
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ");
        let sql = format!("SELECT m, count(*) FROM ({unions}) refs GROUP BY m");
        let rows = client.query(&sql, &[]).await.map_err(during(format!(
            "counting member references of {}",
            object.name_singular
        )))?;
        for r in rows {
            *out.entry(r.get::<_, Uuid>(0)).or_default() += r.get::<_, i64>(1) as u64;
        }
    }
    Ok(out)
}

/// The ids among `ids` that the object's table holds (live or soft-deleted): the pre-flight's
/// id collision check asks this of the ids the target already has.
pub async fn existing_ids(
    client: &Client,
    schema: &str,
    object: &Object,
    ids: &[Uuid],
) -> Result<Vec<Uuid>, SourceError> {
    if !object.table_exists || ids.is_empty() {
        return Ok(Vec::new());
    }
    let table = format!("{}.{}", quote_ident(schema), quote_ident(&object.table));
    let sql = format!("select id from {table} where id = any($1)");
    let rows = client.query(&sql, &[&ids]).await.map_err(during(format!(
        "reading the ids of {}",
        object.name_singular
    )))?;
    Ok(rows.iter().map(|r| r.get::<_, Uuid>(0)).collect())
}
