//! What the go-live checklist reads from the source that the migration itself does not move:
//! the connected email and calendar accounts (their OAuth tokens never leave the source) and
//! the workspace's custom domain.
//!
//! Connected accounts live in the workspace schema (`connectedAccount`, owned by a
//! `workspaceMember` through `accountOwnerId`) until 1.20 copies them to `core`
//! (`upgrade:1-20:migrate-messaging-infrastructure-to-metadata`, `source-schema.md` §9); a
//! 2.21 source keeps them in `core."connectedAccount"`, owned by a `userWorkspace`
//! (`metadata-modules/connected-account/entities/connected-account.entity.ts`), with its
//! channels in `core."messageChannel"` and `core."calendarChannel"`.

use serde::Serialize;
use tokio_postgres::Client;

use super::{during, relation_exists, table_columns, SourceError, WorkspaceInfo};
use crate::model::quote_ident;

/// One connected account, to be reconnected by its owner in the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectedAccount {
    /// `handle`: the mailbox address.
    pub handle: String,
    /// `provider` (`google`, `microsoft`, `imap_smtp_caldav`).
    pub provider: String,
    /// The owning member's email, when it can be resolved.
    pub owner_email: Option<String>,
    /// Message channels (email sync) on this account.
    pub message_channels: u64,
    /// Calendar channels (calendar sync) on this account.
    pub calendar_channels: u64,
}

/// The live connected accounts of the workspace, by handle; empty when the source has none or
/// no table for them.
pub async fn connected_accounts(
    client: &Client,
    workspace: &WorkspaceInfo,
) -> Result<Vec<ConnectedAccount>, SourceError> {
    let mut accounts = if relation_exists(client, "core.\"connectedAccount\"").await? {
        core_accounts(client, workspace).await?
    } else {
        Vec::new()
    };
    // Before 1.20 (and in a source whose copy to core has not run) the workspace table holds them.
    let table = format!("{}.\"connectedAccount\"", quote_ident(&workspace.schema));
    if accounts.is_empty() && relation_exists(client, &table).await? {
        accounts = workspace_accounts(client, &workspace.schema).await?;
    }
    accounts.sort_by(|a, b| a.handle.cmp(&b.handle));
    Ok(accounts)
}

/// A `count(*)` of `table`'s rows for the account, or `0` where the table does not exist.
async fn channel_count(
    client: &Client,
    schema: &str,
    table: &str,
    extra: &str,
) -> Result<String, SourceError> {
    let qualified = format!("{}.{}", quote_ident(schema), quote_ident(table));
    Ok(if relation_exists(client, &qualified).await? {
        format!("(SELECT count(*) FROM {qualified} c WHERE c.\"connectedAccountId\" = a.id{extra})")
    } else {
        "0::bigint".to_owned()
    })
}

async fn core_accounts(
    client: &Client,
    workspace: &WorkspaceInfo,
) -> Result<Vec<ConnectedAccount>, SourceError> {
    let columns = table_columns(client, "core", "connectedAccount").await?;
    let archived = if columns.iter().any(|c| c == "archivedAt") {
        " AND a.\"archivedAt\" IS NULL"
    } else {
        ""
    };
    let messages = channel_count(client, "core", "messageChannel", "").await?;
    let calendars = channel_count(client, "core", "calendarChannel", "").await?;
    let sql = format!(
        "SELECT a.handle::text, a.provider::text, u.email::text, {messages}, {calendars} \
         FROM core.\"connectedAccount\" a \
         LEFT JOIN core.\"userWorkspace\" uw ON uw.id = a.\"userWorkspaceId\" \
         LEFT JOIN core.\"user\" u ON u.id = uw.\"userId\" \
         WHERE a.\"workspaceId\" = $1{archived}"
    );
    let rows = client
        .query(&sql, &[&workspace.id])
        .await
        .map_err(during("reading the connected accounts"))?;
    Ok(rows.iter().map(account).collect())
}

async fn workspace_accounts(
    client: &Client,
    schema: &str,
) -> Result<Vec<ConnectedAccount>, SourceError> {
    let live = " AND c.\"deletedAt\" IS NULL";
    let messages = channel_count(client, schema, "messageChannel", live).await?;
    let calendars = channel_count(client, schema, "calendarChannel", live).await?;
    let s = quote_ident(schema);
    let sql = format!(
        "SELECT a.handle::text, a.provider::text, m.\"userEmail\"::text, {messages}, {calendars} \
         FROM {s}.\"connectedAccount\" a \
         LEFT JOIN {s}.\"workspaceMember\" m ON m.id = a.\"accountOwnerId\" \
         WHERE a.\"deletedAt\" IS NULL"
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(during("reading the connected accounts"))?;
    Ok(rows.iter().map(account).collect())
}

fn account(r: &tokio_postgres::Row) -> ConnectedAccount {
    let count = |i: usize| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
    ConnectedAccount {
        handle: r.get::<_, Option<String>>(0).unwrap_or_default(),
        provider: r.get::<_, Option<String>>(1).unwrap_or_default(),
        owner_email: r.get(2),
        message_channels: count(3),
        calendar_channels: count(4),
    }
}

/// `core.workspace."customDomain"`, when the source records one (the column exists since the
/// custom-domain feature, `core-modules/workspace/workspace.entity.ts`).
pub async fn custom_domain(
    client: &Client,
    workspace: &WorkspaceInfo,
) -> Result<Option<String>, SourceError> {
    if workspace.metadata_schema != "core"
        || !table_columns(client, "core", "workspace")
            .await?
            .iter()
            .any(|c| c == "customDomain")
    {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT NULLIF(\"customDomain\", '')::text FROM core.workspace WHERE id = $1",
            &[&workspace.id],
        )
        .await
        .map_err(during("reading the workspace's custom domain"))?;
    Ok(row.get(0))
}
