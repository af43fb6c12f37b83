//! What the shared [`Model`](crate::model::Model) does not carry but a recreated object or field
//! needs: descriptions, icons and the inverse field of each relation, read from the source's
//! metadata tables. Every column is probed first (older layouts lack some).

use uuid::Uuid;

use super::{during, table_columns, SourceError, WorkspaceInfo};
use crate::model::{Presentation, SourceDetails};

/// Reads descriptions, icons and relation inverses of one workspace.
pub async fn read_details(
    client: &tokio_postgres::Client,
    ws: &WorkspaceInfo,
) -> Result<SourceDetails, SourceError> {
    let ms = &ws.metadata_schema;
    let object_cols = table_columns(client, ms, "objectMetadata").await?;
    let field_cols = table_columns(client, ms, "fieldMetadata").await?;
    let pick = |cols: &[String], name: &str, cast: &str| {
        if cols.iter().any(|c| c == name) {
            format!("\"{name}\"::{cast}")
        } else {
            format!("NULL::{cast}")
        }
    };
    let mut out = SourceDetails::default();

    let sql = format!(
        "SELECT id, {}, {} FROM {ms}.\"objectMetadata\" WHERE \"workspaceId\" = $1",
        pick(&object_cols, "description", "text"),
        pick(&object_cols, "icon", "text"),
    );
    for r in client
        .query(&sql, &[&ws.id])
        .await
        .map_err(during("reading object descriptions and icons"))?
    {
        out.objects.insert(
            r.get(0),
            Presentation {
                description: r.get(1),
                icon: r.get(2),
            },
        );
    }

    let sql = format!(
        "SELECT id, {}, {}, {} FROM {ms}.\"fieldMetadata\" WHERE \"workspaceId\" = $1",
        pick(&field_cols, "description", "text"),
        pick(&field_cols, "icon", "text"),
        pick(&field_cols, "relationTargetFieldMetadataId", "uuid"),
    );
    for r in client.query(&sql, &[&ws.id]).await.map_err(during(
        "reading field descriptions, icons and relation inverses",
    ))? {
        let id: Uuid = r.get(0);
        out.fields.insert(
            id,
            Presentation {
                description: r.get(1),
                icon: r.get(2),
            },
        );
        if let Some(inverse) = r.get::<_, Option<Uuid>>(3) {
            out.inverse.insert(id, inverse);
        }
    }
    // Layout A pairs relation fields in relationMetadata instead (source/legacy.rs).
    let rows = super::legacy::relation_rows(client, ms, ws.id).await?;
    for (field, inverse) in super::legacy::relation_inverses(&rows) {
        out.inverse.entry(field).or_insert(inverse);
    }
    Ok(out)
}
