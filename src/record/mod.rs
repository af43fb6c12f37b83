//! Records as data, with no I/O: a source row as read ([`SourceRow`], its [`Cell`]s), the
//! neutral currency between `source` (which reads it) and `transform` (which turns it into
//! what the destination sends), and that record itself ([`ApiRecord`]), the currency between
//! `transform` and the destination.

mod api;
mod hash;

pub use api::ApiRecord;
pub use hash::content_hash;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// text, varchar, enum, numeric and date values (as Postgres prints them).
    Text(String),
    /// uuid.
    Uuid(Uuid),
    /// double precision / real.
    Float(f64),
    /// integer types.
    Int(i64),
    /// boolean.
    Bool(bool),
    /// timestamptz.
    Timestamp(DateTime<Utc>),
    /// jsonb / json.
    Json(serde_json::Value),
    /// text[] and enum[].
    TextArray(Vec<Option<String>>),
    /// A value the driver cannot decode (e.g. a timestamp of `infinity`): the row is rejected
    /// with this reason rather than failing the whole page.
    Invalid(String),
}

/// One source row: its id and cells aligned with the columns the source reader chose.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    /// The row's id.
    pub id: Uuid,
    /// Cells in column order (the id column included, at its position).
    pub cells: Vec<Cell>,
}
