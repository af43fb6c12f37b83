//! Keyset-paginated reads of one object's rows, decoded into typed cells.
//!
//! Each page is one query `WHERE id > $cursor ORDER BY id LIMIT $n`, which walks the primary
//! key index, so memory stays bounded and the number of queries is one per page whatever the
//! table size. Columns are cast in SQL to a handful of wire types (enums and numerics to text,
//! enum arrays to text[]) so that decoding needs no per-type Rust support.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};
use uuid::Uuid;

use super::{during, SourceError};
use crate::model::{quote_ident, Column, FieldType, Object};

pub use crate::record::{Cell, SourceRow};

/// How a column is selected and decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Text,
    Uuid,
    Float,
    Int,
    Bool,
    Timestamp,
    Json,
    TextArray,
}

/// A column chosen for reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadColumn {
    /// Column name.
    pub name: String,
    /// Its `udt_name`.
    pub udt_name: String,
    /// What is selected instead of the bare column (see [`Column::read_expr`]).
    pub read_expr: Option<String>,
    wire: Wire,
}

/// The column's name: what a transform looks a column up by.
impl AsRef<str> for ReadColumn {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl ReadColumn {
    /// A column with this name and `udt_name`.
    pub fn new(name: &str, udt_name: &str) -> Self {
        Self {
            name: name.to_owned(),
            udt_name: udt_name.to_owned(),
            read_expr: None,
            wire: wire_for(udt_name),
        }
    }

    /// The column of the model, read through its [`Column::read_expr`] when it has one.
    pub fn from_column(column: &Column) -> Self {
        Self {
            read_expr: column.read_expr.clone(),
            ..Self::new(&column.name, &column.udt_name)
        }
    }
}

fn wire_for(udt: &str) -> Wire {
    match udt {
        "uuid" => Wire::Uuid,
        "float8" | "float4" => Wire::Float,
        "int2" | "int4" | "int8" => Wire::Int,
        "bool" => Wire::Bool,
        "timestamptz" | "timestamp" => Wire::Timestamp,
        "jsonb" | "json" => Wire::Json,
        u if u.starts_with('_') => Wire::TextArray,
        _ => Wire::Text,
    }
}

fn select_expr(c: &ReadColumn) -> String {
    let q = match &c.read_expr {
        Some(expr) => format!("({expr})"),
        None => quote_ident(&c.name),
    };
    match c.wire {
        Wire::Text => format!("{q}::text"),
        Wire::TextArray => format!("{q}::text[]"),
        Wire::Timestamp if c.udt_name == "timestamp" => format!("{q} AT TIME ZONE 'UTC'"),
        _ => q,
    }
}

/// Which rows to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFilter {
    /// `deletedAt IS NULL`.
    Live,
    /// `deletedAt IS NOT NULL`.
    Deleted,
    /// Every row.
    All,
}

/// A prepared keyset reader over one object's table.
pub struct RecordReader {
    statement: Statement,
    first_statement: Statement,
    columns: Vec<ReadColumn>,
    /// Position of the `id` column in [`Self::columns`].
    id_index: usize,
    /// The text of [`Self::statement`].
    next_sql: String,
    page_size: i64,
    cursor: Option<Uuid>,
    done: bool,
}

impl RecordReader {
    /// Prepares a reader for every stored column of `object` except generated search vectors.
    pub async fn new(
        client: &Client,
        schema: &str,
        object: &Object,
        filter: RowFilter,
        page_size: usize,
    ) -> Result<Self, SourceError> {
        // A leading `_` in udt_name marks an array, but a custom table's own enum types also
        // start with `_` (`_pet_species_enum`): ask Postgres which columns are arrays.
        let arrays: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 AND data_type = 'ARRAY'",
                &[&schema, &object.table],
            )
            .await
            .map_err(during(format!(
                "listing the array columns of {}",
                object.table
            )))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let columns: Vec<ReadColumn> = object
            .fields
            .iter()
            .filter(|f| f.field_type != FieldType::TsVector)
            .flat_map(|f| f.columns.iter())
            .filter(|c| c.udt_name != "tsvector")
            .map(|c| {
                let mut column = ReadColumn::from_column(c);
                let is_array = arrays.contains(&c.name);
                if column.wire == Wire::TextArray && !is_array {
                    column.wire = Wire::Text;
                } else if is_array {
                    column.wire = Wire::TextArray;
                }
                column
            })
            .collect();
        if !columns.iter().any(|c| c.name == "id") {
            return Err(SourceError::Inconsistent(format!(
                "object {} has no id column",
                object.name_singular
            )));
        }
        let has_deleted_at = columns.iter().any(|c| c.name == "deletedAt");
        let deleted = match (filter, has_deleted_at) {
            (RowFilter::Live, true) => "\"deletedAt\" IS NULL AND ",
            (RowFilter::Deleted, true) => "\"deletedAt\" IS NOT NULL AND ",
            (RowFilter::Deleted, false) => "false AND ",
            _ => "",
        };
        let list = columns
            .iter()
            .map(select_expr)
            .collect::<Vec<_>>()
            .join(", ");
        let table = format!("{}.{}", quote_ident(schema), quote_ident(&object.table));
        let next =
            format!("SELECT {list} FROM {table} WHERE {deleted}id > $1 ORDER BY id LIMIT $2");
        let first = format!("SELECT {list} FROM {table} WHERE {deleted}true ORDER BY id LIMIT $1");
        let what = format!("preparing the read of {}", object.name_singular);
        let statement = client
            .prepare_typed(&next, &[Type::UUID, Type::INT8])
            .await
            .map_err(during(what.clone()))?;
        let first_statement = client
            .prepare_typed(&first, &[Type::INT8])
            .await
            .map_err(during(what))?;
        let id_index = columns.iter().position(|c| c.name == "id").unwrap_or(0);
        Ok(Self {
            statement,
            first_statement,
            id_index,
            next_sql: next,
            columns,
            page_size: page_size.max(1) as i64,
            cursor: None,
            done: false,
        })
    }

    /// Postgres's plan (`EXPLAIN`) of the query that reads the page after `cursor`, one line
    /// per plan node: to check that the keyset walks the primary key index.
    pub async fn explain_next_page(
        &self,
        client: &Client,
        cursor: Uuid,
    ) -> Result<String, SourceError> {
        let rows = client
            .query(
                &format!("EXPLAIN {}", self.next_sql),
                &[&cursor, &self.page_size],
            )
            .await
            .map_err(during("explaining the read of a page"))?;
        Ok(rows
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Resumes after `cursor` (an id already handled).
    pub fn resume_after(&mut self, cursor: Option<Uuid>) {
        self.cursor = cursor;
        self.done = false;
    }

    /// The columns, in cell order.
    pub fn columns(&self) -> &[ReadColumn] {
        &self.columns
    }

    /// The id of the last row returned.
    pub fn cursor(&self) -> Option<Uuid> {
        self.cursor
    }

    /// Reads the next page; an empty vector means the end.
    pub async fn next_page(&mut self, client: &Client) -> Result<Vec<SourceRow>, SourceError> {
        if self.done {
            return Ok(Vec::new());
        }
        // Rows are decoded as they arrive instead of after the whole page is collected, so
        // decoding overlaps the transfer and no page of raw rows is held besides the cells.
        let cursor = self.cursor;
        let params: &[&(dyn ToSql + Sync)] = match &cursor {
            Some(cursor) => &[cursor, &self.page_size],
            None => &[&self.page_size],
        };
        let statement = match cursor {
            Some(_) => &self.statement,
            None => &self.first_statement,
        };
        let rows = client
            .query_raw(statement, params.iter().copied())
            .await
            .map_err(during("reading a page of rows"))?;
        futures_util::pin_mut!(rows);
        let id_index = self.id_index;
        let mut out = Vec::with_capacity(self.page_size.min(10_000) as usize);
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(during("reading a page of rows"))?
        {
            let cells = decode(&row, &self.columns);
            let id = match &cells[id_index] {
                Cell::Uuid(id) => *id,
                other => {
                    return Err(SourceError::Inconsistent(format!(
                        "a row has a non-uuid id {other:?}"
                    )))
                }
            };
            out.push(SourceRow { id, cells });
        }
        if (out.len() as i64) < self.page_size {
            self.done = true;
        }
        if let Some(last) = out.last() {
            self.cursor = Some(last.id);
        }
        Ok(out)
    }
}

fn decode(row: &Row, columns: &[ReadColumn]) -> Vec<Cell> {
    let mut cells = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        let cell = match c.wire {
            Wire::Text => row
                .try_get::<_, Option<String>>(i)
                .map(|v| v.map(Cell::Text)),
            Wire::Uuid => row.try_get::<_, Option<Uuid>>(i).map(|v| v.map(Cell::Uuid)),
            Wire::Float => match c.udt_name.as_str() {
                "float4" => row
                    .try_get::<_, Option<f32>>(i)
                    .map(|v| v.map(|f| Cell::Float(f as f64))),
                _ => row.try_get::<_, Option<f64>>(i).map(|v| v.map(Cell::Float)),
            },
            Wire::Int => match c.udt_name.as_str() {
                "int2" => row
                    .try_get::<_, Option<i16>>(i)
                    .map(|v| v.map(|n| Cell::Int(n as i64))),
                "int4" => row
                    .try_get::<_, Option<i32>>(i)
                    .map(|v| v.map(|n| Cell::Int(n as i64))),
                _ => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int)),
            },
            Wire::Bool => row.try_get::<_, Option<bool>>(i).map(|v| v.map(Cell::Bool)),
            Wire::Timestamp => row
                .try_get::<_, Option<DateTime<Utc>>>(i)
                .map(|v| v.map(Cell::Timestamp)),
            Wire::Json => row
                .try_get::<_, Option<serde_json::Value>>(i)
                .map(|v| v.map(Cell::Json)),
            Wire::TextArray => row
                .try_get::<_, Option<Vec<Option<String>>>>(i)
                .map(|v| v.map(Cell::TextArray)),
        }
        .unwrap_or_else(|e| {
            Some(Cell::Invalid(format!(
                "unreadable value in column {}: {e}",
                c.name
            )))
        });
        cells.push(cell.unwrap_or(Cell::Null));
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_numerics_and_dates_are_read_as_text() {
        assert_eq!(wire_for("company_tier_enum"), Wire::Text);
        assert_eq!(wire_for("numeric"), Wire::Text);
        assert_eq!(wire_for("date"), Wire::Text);
        assert_eq!(wire_for("_pet_tags_enum"), Wire::TextArray);
        assert_eq!(wire_for("timestamptz"), Wire::Timestamp);
    }
}
