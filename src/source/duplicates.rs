//! Rows whose unique value may repeat another row's, found in SQL before an object streams.
//!
//! The target's unique indexes compare values as Twenty stores them (emails lower-cased, link
//! origins lower-cased and one trailing slash cut), so two source rows can collide in the
//! target although they differ in the source. Holding every value seen in memory grows with the
//! table; instead one query per unique field groups the rows by a key that is *coarser* than
//! the pipeline's exact normalisation (whole value lower-cased and trimmed, one trailing slash
//! cut) and returns only the rows of groups with more than one member. The pipeline then
//! applies its exact rule to those rows alone, in read order, so memory is proportional to the
//! duplicates and the "first holder" is the same row as when every value was hashed.

use std::collections::HashSet;

use tokio_postgres::Client;
use uuid::Uuid;

use super::{during, SourceError};
use crate::model::{quote_ident, Column, Field, FieldType, Object};

/// The SQL key of one unique field: the value expression and how it is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    /// The value as stored (the column, or its read expression).
    pub value: String,
    /// The grouping key computed from `value`.
    pub key: String,
}

/// The SQL key of `field`, or `None` when the pipeline never compares its values (composites
/// other than emails and links compare as a whole object, which the pipeline skips).
pub fn unique_key(field: &Field, icu: bool) -> Option<UniqueKey> {
    let column: &Column = match field.field_type {
        // The pipeline compares `primaryEmail` and `primaryLinkUrl` of these composites.
        FieldType::Emails => sub_column(field, "primaryEmail")?,
        FieldType::Links => sub_column(field, "primaryLinkUrl")?,
        _ if field.field_type.sub_fields().is_some() => return None,
        _ => field.columns.first()?,
    };
    let value = match &column.read_expr {
        Some(expr) => format!("({expr})"),
        None => quote_ident(&column.name),
    };
    let textual = matches!(field.field_type, FieldType::Emails | FieldType::Links)
        || matches!(
            column.udt_name.as_str(),
            "text" | "varchar" | "bpchar" | "citext" | "name"
        );
    let key = if textual {
        coarse_text_key(&format!("{value}::text"), icu)
    } else {
        match column.udt_name.as_str() {
            // The API carries milliseconds: two instants within one compare equal there.
            "timestamptz" | "timestamp" => format!("date_trunc('milliseconds', {value})"),
            // `json` has no equality operator; jsonb compares by content as serde_json does.
            "json" => format!("{value}::jsonb"),
            // Numbers, uuids, booleans, enums, dates and arrays compare by value.
            _ => value.clone(),
        }
    };
    Some(UniqueKey { value, key })
}

/// Lower-cased, trimmed of white space and of one trailing slash: every pair of values the
/// pipeline's exact rule finds equal is equal here too (a link's path lower-cased, or a plain
/// text compared without case, only puts more rows in the candidate groups).
fn coarse_text_key(text: &str, icu: bool) -> String {
    let trimmed = format!("regexp_replace({text}, '^[[:space:]]+|[[:space:]]+$', '', 'g')");
    // Postgres' `lower` follows the database's collation (ASCII only under `C`); the ICU root
    // collation lower-cases every letter as Rust's `to_lowercase` does.
    let lowered = if icu {
        format!("lower({trimmed} COLLATE \"und-x-icu\")")
    } else {
        format!("lower({trimmed})")
    };
    format!("regexp_replace({lowered}, '/$', '')")
}

fn sub_column<'f>(field: &'f Field, sub: &str) -> Option<&'f Column> {
    let name = crate::model::composite_column(&field.name, sub);
    field.columns.iter().find(|c| c.name == name)
}

/// Whether the server has the ICU root collation (PostgreSQL built with ICU).
pub async fn has_icu(client: &Client) -> Result<bool, SourceError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')",
            &[],
        )
        .await
        .map_err(during("looking for the ICU collation"))?;
    Ok(row.get(0))
}

/// Ids of the rows of `object` (live ones only when `live_only`) that share the coarse key of
/// one of `fields` with another row: the only rows whose unique value can repeat. One query
/// per field; rows whose value is null or empty are never candidates (the pipeline skips them).
pub async fn candidates(
    client: &Client,
    schema: &str,
    object: &Object,
    fields: &[&Field],
    live_only: bool,
) -> Result<HashSet<Uuid>, SourceError> {
    let mut out = HashSet::new();
    if fields.is_empty() {
        return Ok(out);
    }
    let icu = has_icu(client).await?;
    let has_deleted_at = object
        .fields
        .iter()
        .flat_map(|f| f.columns.iter())
        .any(|c| c.name == "deletedAt");
    let live = if live_only && has_deleted_at {
        "\"deletedAt\" IS NULL AND "
    } else {
        ""
    };
    let table = format!("{}.{}", quote_ident(schema), quote_ident(&object.table));
    for field in fields {
        let Some(UniqueKey { value, key }) = unique_key(field, icu) else {
            continue;
        };
        let sql = format!(
            "SELECT id FROM (SELECT id, count(*) OVER (PARTITION BY k) AS n FROM \
             (SELECT id, {key} AS k FROM {table} WHERE {live}{value} IS NOT NULL \
             AND {value}::text <> '') s) g WHERE n > 1"
        );
        let rows = client.query(&sql, &[]).await.map_err(during(format!(
            "looking for repeated values of {}.{}",
            object.name_singular, field.name
        )))?;
        out.extend(rows.iter().map(|r| r.get::<_, Uuid>(0)));
    }
    Ok(out)
}
