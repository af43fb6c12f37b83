//! Finding the workspaces of an instance and where each one's data lives.

use serde::Serialize;
use tokio_postgres::Client;
use uuid::Uuid;

use super::layout::{self, LayoutReport};
use super::{during, relation_exists, table_columns, SourceError};
use crate::model::workspace_schema_name;

/// One workspace of the source instance.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceInfo {
    /// `core.workspace.id`.
    pub id: Uuid,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `subdomain` (newer versions).
    pub subdomain: Option<String>,
    /// `version`: the version the workspace was last upgraded to, when recorded.
    pub version: Option<String>,
    /// `activationStatus`, when recorded.
    pub activation_status: Option<String>,
    /// The Postgres schema that holds the workspace's records.
    pub schema: String,
    /// Whether that schema exists.
    pub schema_exists: bool,
    /// The schema of the metadata tables: `core` (≥0.53) or `metadata` (older).
    pub metadata_schema: String,
    /// `workspaceCustomApplicationId` (≥1.11): the application that owns custom objects.
    pub custom_application_id: Option<Uuid>,
    /// The detected layout.
    pub layout: LayoutReport,
}

impl WorkspaceInfo {
    /// A short human name: the display name, else the subdomain, else the id.
    pub fn label(&self) -> String {
        self.display_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.subdomain.clone())
            .unwrap_or_else(|| self.id.to_string())
    }
}

/// Lists the live workspaces of the instance.
pub async fn workspaces(client: &Client) -> Result<Vec<WorkspaceInfo>, SourceError> {
    let metadata_schema = if relation_exists(client, "core.\"objectMetadata\"").await? {
        "core"
    } else if relation_exists(client, "metadata.\"objectMetadata\"").await? {
        "metadata"
    } else {
        return Err(SourceError::NotTwenty);
    };
    if !relation_exists(client, "core.workspace").await? {
        return Err(SourceError::NotTwenty);
    }

    // Probe optional columns: they came and went across versions (source-schema.md §6).
    let columns = table_columns(client, "core", "workspace").await?;
    let has = |c: &str| columns.iter().any(|x| x == c);
    let opt_text = |c: &str| {
        if has(c) {
            format!("\"{c}\"::text")
        } else {
            "NULL::text".to_owned()
        }
    };
    let custom_app = if has("workspaceCustomApplicationId") {
        "\"workspaceCustomApplicationId\""
    } else {
        "NULL::uuid"
    };
    let deleted_filter = if has("deletedAt") {
        "WHERE \"deletedAt\" IS NULL"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id, {}, {}, {}, {}, {}, {custom_app} FROM core.workspace {deleted_filter} ORDER BY \"createdAt\", id",
        opt_text("displayName"),
        opt_text("subdomain"),
        opt_text("version"),
        opt_text("activationStatus"),
        opt_text("databaseSchema"),
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(during("listing workspaces"))?;

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Uuid = row.get(0);
        let database_schema: Option<String> = row.get(5);
        let schema = match database_schema.filter(|s| !s.is_empty()) {
            Some(s) => s,
            None => data_source_schema(client, metadata_schema, id)
                .await?
                .unwrap_or_else(|| workspace_schema_name(id)),
        };
        let schema_exists = schema_exists(client, &schema).await?;
        let layout = if schema_exists {
            layout::detect(client, metadata_schema, id, &schema).await?
        } else {
            LayoutReport::no_schema()
        };
        out.push(WorkspaceInfo {
            id,
            display_name: row.get(1),
            subdomain: row.get(2),
            version: row.get(3),
            activation_status: row.get(4),
            schema,
            schema_exists,
            metadata_schema: metadata_schema.to_owned(),
            custom_application_id: row.get(6),
            layout,
        });
    }
    Ok(out)
}

/// Picks a workspace by id, subdomain or display name (case-insensitive), or the only one.
pub fn choose(
    all: Vec<WorkspaceInfo>,
    selector: Option<&str>,
) -> Result<WorkspaceInfo, SourceError> {
    match selector {
        None => match all.len() {
            0 => Err(SourceError::NoWorkspace),
            1 => Ok(all.into_iter().next().expect("one workspace")),
            n => Err(SourceError::WorkspaceAmbiguous {
                count: n,
                names: all.iter().map(|w| w.label()).collect::<Vec<_>>().join(", "),
            }),
        },
        Some(sel) => {
            let wanted = sel.trim();
            let matches = |w: &WorkspaceInfo| {
                w.id.to_string().eq_ignore_ascii_case(wanted)
                    || w.subdomain
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(wanted))
                    || w.display_name
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case(wanted))
            };
            let mut found: Vec<_> = all.into_iter().filter(matches).collect();
            match found.len() {
                0 => Err(SourceError::WorkspaceNotFound(sel.to_owned())),
                1 => Ok(found.remove(0)),
                n => Err(SourceError::WorkspaceAmbiguous {
                    count: n,
                    names: found
                        .iter()
                        .map(|w| format!("{} ({})", w.label(), w.id))
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            }
        }
    }
}

/// The schema recorded in `dataSource` (newest row), used when `databaseSchema` is empty.
async fn data_source_schema(
    client: &Client,
    metadata_schema: &str,
    workspace: Uuid,
) -> Result<Option<String>, SourceError> {
    let table = format!("{metadata_schema}.\"dataSource\"");
    if !relation_exists(client, &table).await? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT schema::text FROM {table} WHERE \"workspaceId\" = $1 AND schema IS NOT NULL \
         ORDER BY \"createdAt\" DESC LIMIT 1"
    );
    let row = client
        .query_opt(&sql, &[&workspace])
        .await
        .map_err(during("reading the workspace's data source"))?;
    Ok(row.map(|r| r.get(0)))
}

async fn schema_exists(client: &Client, schema: &str) -> Result<bool, SourceError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .await
        .map_err(during("checking the workspace schema"))?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(name: &str, sub: &str) -> WorkspaceInfo {
        WorkspaceInfo {
            id: Uuid::new_v4(),
            display_name: Some(name.into()),
            subdomain: Some(sub.into()),
            version: None,
            activation_status: None,
            schema: "s".into(),
            schema_exists: true,
            metadata_schema: "core".into(),
            custom_application_id: None,
            layout: LayoutReport::no_schema(),
        }
    }

    #[test]
    fn one_workspace_is_chosen_without_a_selector() {
        let w = choose(vec![ws("Acme", "acme")], None).unwrap();
        assert_eq!(w.label(), "Acme");
    }

    #[test]
    fn several_workspaces_need_a_selector_that_names_them() {
        let err = choose(vec![ws("Acme", "acme"), ws("Beta", "beta")], None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("2 workspaces") && msg.contains("Acme") && msg.contains("Beta"));
        let w = choose(vec![ws("Acme", "acme"), ws("Beta", "beta")], Some("BETA")).unwrap();
        assert_eq!(w.subdomain.as_deref(), Some("beta"));
    }

    #[test]
    fn an_unknown_selector_is_refused() {
        let err = choose(vec![ws("Acme", "acme")], Some("zzz")).unwrap_err();
        assert!(matches!(err, SourceError::WorkspaceNotFound(_)));
    }
}
