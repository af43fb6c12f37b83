//! Workspace members of the source (`workspaceMember` table), read through the metadata so
//! that column names follow the model.

use serde::Serialize;
use uuid::Uuid;

use super::{during, SourceError};
use crate::model::{quote_ident, FieldType, Model};

/// One workspace member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberSummary {
    /// `workspaceMember.id`.
    pub id: Uuid,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// `userEmail` as stored.
    pub email: Option<String>,
    /// Soft-deleted member.
    pub deleted: bool,
    /// `avatarUrl`: the member's picture (a storage path or a URL), when one is set.
    pub avatar_url: Option<String>,
}

/// Reads every workspace member, live and soft-deleted, ordered by id.
pub async fn read_members(
    client: &tokio_postgres::Client,
    schema: &str,
    model: &Model,
) -> Result<Vec<MemberSummary>, SourceError> {
    let Some(object) = model.object("workspaceMember").filter(|o| o.table_exists) else {
        return Ok(Vec::new());
    };
    let col = |field: &str, sub: Option<&str>| -> String {
        object
            .field(field)
            .and_then(|f| {
                f.columns
                    .iter()
                    .find(|c| c.sub_field.as_deref() == sub)
                    .map(|c| format!("{}::text", quote_ident(&c.name)))
            })
            .unwrap_or_else(|| "NULL::text".to_owned())
    };
    let deleted = if object
        .field("deletedAt")
        .is_some_and(|f| !f.columns.is_empty())
    {
        "\"deletedAt\" IS NOT NULL"
    } else {
        "false"
    };
    let name_is_composite = object
        .field("name")
        .is_some_and(|f| f.field_type == FieldType::FullName);
    let (first, last) = if name_is_composite {
        (
            col("name", Some("firstName")),
            col("name", Some("lastName")),
        )
    } else {
        ("NULL::text".to_owned(), "NULL::text".to_owned())
    };
    let sql = format!(
        "SELECT id, {first}, {last}, {email}, {deleted}, NULLIF({avatar}, '') FROM {}.{} ORDER BY id",
        quote_ident(schema),
        quote_ident(&object.table),
        email = col("userEmail", None),
        avatar = col("avatarUrl", None),
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(during("reading workspace members"))?;
    Ok(rows
        .iter()
        .map(|r| MemberSummary {
            id: r.get(0),
            first_name: r.get(1),
            last_name: r.get(2),
            email: r.get(3),
            deleted: r.get(4),
            avatar_url: r.get(5),
        })
        .collect())
}
