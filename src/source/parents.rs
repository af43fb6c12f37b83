//! Which rows of some parent tables are soft-deleted, asked for a page of referenced ids at
//! once: one `UNION ALL` over every parent table, prepared once per object.

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use super::{during, SourceError};
use crate::model::quote_ident;

/// The soft-deleted-row lookup over a fixed list of parent tables.
pub struct SoftDeletedParents {
    /// `(schema, table)` of each parent, in the order ids are passed.
    tables: Vec<(String, String)>,
    /// The prepared union, once needed.
    statement: Option<Statement>,
}

impl SoftDeletedParents {
    /// The lookup over these `(schema, table)` parents.
    pub fn new(tables: Vec<(String, String)>) -> Self {
        Self {
            tables,
            statement: None,
        }
    }

    /// How many parent tables it asks.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether it asks no table at all.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The ids among `ids[i]` (candidate ids of parent table `i`) whose row is soft-deleted.
    pub async fn soft_deleted(
        &mut self,
        client: &Client,
        ids: &[Vec<Uuid>],
    ) -> Result<Vec<Uuid>, SourceError> {
        if self.statement.is_none() {
            let sql = self
                .tables
                .iter()
                .enumerate()
                .map(|(i, (schema, table))| {
                    format!(
                        "SELECT id FROM {}.{} WHERE id = ANY(${}) AND \"deletedAt\" IS NOT NULL",
                        quote_ident(schema),
                        quote_ident(table),
                        i + 1
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let types = vec![Type::UUID_ARRAY; self.tables.len()];
            let statement = client
                .prepare_typed(&sql, &types)
                .await
                .map_err(during("preparing the soft-deleted parent lookup"))?;
            self.statement = Some(statement);
        }
        let statement = self.statement.as_ref().expect("prepared above");
        let params: Vec<&(dyn ToSql + Sync)> =
            ids.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let found = client
            .query(statement, &params)
            .await
            .map_err(during("looking up soft-deleted parents"))?;
        Ok(found.iter().map(|r| r.get::<_, Uuid>(0)).collect())
    }
}
