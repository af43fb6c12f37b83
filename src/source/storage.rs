//! Where attachment bytes live in the source's storage, and whether they are there.
//!
//! Two key layouts exist (`source-schema.md` §7):
//! - legacy (before 1.18): `workspace-<workspaceId>/` + `attachment.fullPath`
//!   (`getWorkspaceFolderName` / `FileService.getFileStream` in twentyhq/twenty);
//! - files fields (1.18+): `<workspaceId>/<application universalIdentifier>/` + `core.file.path`,
//!   where `attachment.file` holds `[{fileId, label, extension?}]` (the
//!   `upgrade:1-18:migrate-activity-rich-text-attachment-file-ids` command writes this layout).
//!
//! Nothing here touches the storage: `super::storage_check` looks the keys up and
//! `crate::pipeline::files` moves the bytes.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use tokio_postgres::Client;
use uuid::Uuid;

use super::discover::WorkspaceInfo;
use super::storage_check::FileCheck;
use super::{during, relation_exists, table_columns, SourceError};
use crate::model::{quote_ident, FieldType, Model};

/// One file reference of a record, resolved to a storage key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    /// The record holding the reference (an attachment, a person, …).
    pub record_id: Uuid,
    /// The key relative to the storage root, when it could be resolved.
    pub key: Option<String>,
    /// Why the key could not be resolved, or why the file is not in the storage.
    pub problem: Option<String>,
    /// Where the file was looked for (a path or a bucket URL), when it is missing there.
    pub location: Option<String>,
}

impl FileRef {
    fn resolved(record_id: Uuid, key: String) -> Self {
        Self {
            record_id,
            key: Some(key),
            problem: None,
            location: None,
        }
    }

    fn unresolved(record_id: Uuid, problem: String) -> Self {
        Self {
            record_id,
            key: None,
            problem: Some(problem),
            location: None,
        }
    }
}

/// What `inspect` reports about attachments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttachmentFiles {
    /// Attachment rows, live and soft-deleted.
    pub records: u64,
    /// Rows without any file reference.
    pub records_without_file: u64,
    /// Their files, and whether the storage has them.
    #[serde(flatten)]
    pub files: FileCheck,
}

/// The file references of one field of one object, other than `attachment.file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRefs {
    /// The object (`person`, a custom object, …).
    pub object: String,
    /// The FILES field, or `avatarUrl` for pre-1.18 person pictures.
    pub field: String,
    /// Every reference, in record id order.
    pub refs: Vec<FileRef>,
}

/// Resolves every attachment's file references (1.18+ FILES value, else the legacy
/// `fullPath`); the storage is not looked at here.
pub async fn attachment_file_refs(
    client: &Client,
    ws: &WorkspaceInfo,
    model: &Model,
) -> Result<(AttachmentFiles, Vec<FileRef>), SourceError> {
    let Some(attachment) = model.object("attachment").filter(|o| o.table_exists) else {
        return Ok((AttachmentFiles::default(), Vec::new()));
    };
    let columns = table_columns(client, &ws.schema, &attachment.table).await?;
    let has = |c: &str| columns.iter().any(|x| x == c);
    let file_expr = if has("file") {
        "\"file\""
    } else {
        "NULL::jsonb"
    };
    let path_expr = if has("fullPath") {
        "\"fullPath\""
    } else {
        "NULL::text"
    };
    let sql = format!(
        "SELECT id, {file_expr}, {path_expr} FROM {}.{} ORDER BY id",
        quote_ident(&ws.schema),
        quote_ident(&attachment.table)
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(during("reading attachment file references"))?;
    let core_files = if has("file") {
        core_file_keys(client, ws).await?
    } else {
        HashMap::new()
    };

    let mut out = AttachmentFiles {
        records: rows.len() as u64,
        ..AttachmentFiles::default()
    };
    let mut refs = Vec::new();
    for row in rows {
        let id: Uuid = row.get(0);
        let file: Option<Value> = row.get(1);
        let full_path: Option<String> = row.get(2);
        let before = refs.len();
        refs.extend(files_value_refs(id, file.as_ref(), &core_files));
        if refs.len() == before {
            if let Some(path) = full_path.as_deref().and_then(legacy_relative_path) {
                refs.push(FileRef::resolved(
                    id,
                    format!("workspace-{}/{}", ws.id, path),
                ));
            }
        }
        if refs.len() == before {
            out.records_without_file += 1;
        }
    }
    Ok((out, refs))
}

/// The file references of every FILES field other than `attachment.file` (person
/// `avatarFile`, custom FILES fields), and of pre-1.18 person pictures (`avatarUrl` paths of
/// people without an `avatarFile`; pictures hosted elsewhere are not files of the storage).
pub async fn other_file_refs(
    client: &Client,
    ws: &WorkspaceInfo,
    model: &Model,
) -> Result<Vec<FieldRefs>, SourceError> {
    let mut out = Vec::new();
    let mut core_files = None;
    for object in model.objects.iter().filter(|o| o.table_exists) {
        let columns = table_columns(client, &ws.schema, &object.table).await?;
        let files_fields: Vec<(&str, &str)> = object
            .fields
            .iter()
            .filter(|f| f.field_type == FieldType::Files)
            .filter(|f| !(object.name_singular == "attachment" && f.name == "file"))
            .filter_map(|f| Some((f.name.as_str(), f.columns.first()?.name.as_str())))
            .filter(|(_, c)| columns.iter().any(|x| x == c))
            .collect();
        let avatar_url =
            object.name_singular == "person" && columns.iter().any(|c| c == "avatarUrl");
        if files_fields.is_empty() && !avatar_url {
            continue;
        }
        if core_files.is_none() {
            core_files = Some(core_file_keys(client, ws).await?);
        }
        let core_files = core_files.as_ref().expect("read above");
        let mut select: Vec<String> = files_fields.iter().map(|(_, c)| quote_ident(c)).collect();
        if avatar_url {
            select.push("\"avatarUrl\"::text".to_owned());
        }
        let sql = format!(
            "SELECT id, {} FROM {}.{} ORDER BY id",
            select.join(", "),
            quote_ident(&ws.schema),
            quote_ident(&object.table)
        );
        let rows = client.query(&sql, &[]).await.map_err(during(format!(
            "reading {} file references",
            object.name_singular
        )))?;
        let mut fields: Vec<FieldRefs> = files_fields
            .iter()
            .map(|(name, _)| FieldRefs {
                object: object.name_singular.clone(),
                field: (*name).to_owned(),
                refs: Vec::new(),
            })
            .collect();
        let mut legacy = FieldRefs {
            object: object.name_singular.clone(),
            field: "avatarUrl".to_owned(),
            refs: Vec::new(),
        };
        for row in &rows {
            let id: Uuid = row.get(0);
            let mut has_avatar_file = false;
            for (i, field) in fields.iter_mut().enumerate() {
                let value: Option<Value> = row.get(1 + i);
                let refs = files_value_refs(id, value.as_ref(), core_files);
                has_avatar_file |= field.field == "avatarFile" && !refs.is_empty();
                field.refs.extend(refs);
            }
            if avatar_url && !has_avatar_file {
                let url: Option<String> = row.get(1 + fields.len());
                let url = url.unwrap_or_default();
                let hosted_elsewhere = url.contains("://") && !url.contains("/files/");
                if let Some(path) = legacy_relative_path(&url).filter(|_| !hosted_elsewhere) {
                    legacy
                        .refs
                        .push(FileRef::resolved(id, format!("workspace-{}/{path}", ws.id)));
                }
            }
        }
        out.extend(fields.into_iter().filter(|f| !f.refs.is_empty()));
        if !legacy.refs.is_empty() {
            out.push(legacy);
        }
    }
    Ok(out)
}

/// The references of one FILES value, each resolved through `core.file`.
fn files_value_refs(
    record_id: Uuid,
    value: Option<&Value>,
    core_files: &HashMap<Uuid, String>,
) -> Vec<FileRef> {
    file_ids(value)
        .into_iter()
        .map(|file_id| match core_files.get(&file_id) {
            Some(key) => FileRef::resolved(record_id, key.clone()),
            None => FileRef::unresolved(record_id, format!("core.file has no row {file_id}")),
        })
        .collect()
}

/// One `core.file` row: where its bytes are and what they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreFile {
    /// The key relative to the storage root: `<workspaceId>/<app universalIdentifier>/<path>`.
    pub key: String,
    /// `core.file.mimeType`.
    pub mime: String,
    /// `core.file.size` (`file/entities/file.entity.ts`), for a server whose HEAD tells none.
    pub size: Option<u64>,
}

/// `core.file` id → storage key, for the workspace.
async fn core_file_keys(
    client: &Client,
    ws: &WorkspaceInfo,
) -> Result<HashMap<Uuid, String>, SourceError> {
    Ok(core_files(client, ws)
        .await?
        .into_iter()
        .map(|(id, f)| (id, f.key))
        .collect())
}

/// Every 1.18+ `core.file` row of the workspace, by id (empty before 1.18).
pub async fn core_files(
    client: &Client,
    ws: &WorkspaceInfo,
) -> Result<HashMap<Uuid, CoreFile>, SourceError> {
    core_files_among(client, ws, None).await
}

/// The 1.18+ `core.file` rows of the workspace with one of `ids` (all of them with `None`),
/// by id: a page of records asks only for the files it names, so memory does not grow with
/// the workspace's files.
pub async fn core_files_among(
    client: &Client,
    ws: &WorkspaceInfo,
    ids: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, CoreFile>, SourceError> {
    if !relation_exists(client, "core.file").await? {
        return Ok(HashMap::new());
    }
    let cols = table_columns(client, "core", "file").await?;
    if !cols.iter().any(|c| c == "path") || !cols.iter().any(|c| c == "applicationId") {
        // The pre-1.18 core.file shape (name, fullPath) is not a files-field store.
        return Ok(HashMap::new());
    }
    let mime_expr = if cols.iter().any(|c| c == "mimeType") {
        "f.\"mimeType\"::text"
    } else {
        "NULL::text"
    };
    let size_expr = if cols.iter().any(|c| c == "size") {
        "f.size::bigint"
    } else {
        "NULL::bigint"
    };
    let sql = format!(
        "SELECT f.id, f.path::text, a.\"universalIdentifier\"::text, {mime_expr}, {size_expr} \
         FROM core.file f LEFT JOIN core.application a ON a.id = f.\"applicationId\" \
         WHERE f.\"workspaceId\" = $1 AND ($2::uuid[] IS NULL OR f.id = ANY($2))"
    );
    let ids: Option<Vec<Uuid>> = ids.map(<[Uuid]>::to_vec);
    let rows = client
        .query(&sql, &[&ws.id, &ids])
        .await
        .map_err(during("reading core.file"))?;
    Ok(rows
        .iter()
        .map(|r| {
            let id: Uuid = r.get(0);
            let path: String = r.get(1);
            let app: Option<String> = r.get(2);
            let mime: Option<String> = r.get(3);
            let key = match app {
                Some(app) => format!("{}/{}/{}", ws.id, app, path.trim_start_matches('/')),
                None => format!("{}/{}", ws.id, path.trim_start_matches('/')),
            };
            let mime = mime.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| {
                mime_guess::from_path(&path)
                    .first_or_octet_stream()
                    .to_string()
            });
            let size = r
                .get::<_, Option<i64>>(4)
                .and_then(|s| u64::try_from(s).ok());
            (id, CoreFile { key, mime, size })
        })
        .collect())
}

/// The file ids of a FILES value (`[{fileId, label, extension?}]`).
fn file_ids(value: Option<&Value>) -> Vec<Uuid> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| item.get("fileId")?.as_str()?.parse().ok())
        .collect()
}

/// The part of a legacy `fullPath` relative to the workspace folder: everything up to and
/// including `/files/` and any `?token=` query are removed (source-schema.md §7).
pub fn legacy_relative_path(full_path: &str) -> Option<String> {
    let trimmed = full_path.trim();
    if trimmed.is_empty() {
        return None;
    }
    let without_query = trimmed.split('?').next().unwrap_or(trimmed);
    let relative = match without_query.find("/files/") {
        Some(i) => &without_query[i + "/files/".len()..],
        None => without_query,
    };
    let relative = relative.trim_start_matches('/');
    (!relative.is_empty()).then(|| relative.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_paths_lose_the_files_prefix_and_the_token() {
        assert_eq!(
            legacy_relative_path("attachment/a.pdf").as_deref(),
            Some("attachment/a.pdf")
        );
        assert_eq!(
            legacy_relative_path("https://x.com/files/attachment/a.pdf?token=abc").as_deref(),
            Some("attachment/a.pdf")
        );
        assert_eq!(legacy_relative_path("  "), None);
    }

    #[test]
    fn file_ids_are_read_from_a_files_value() {
        let id = Uuid::new_v4();
        let v =
            serde_json::json!([{"fileId": id.to_string(), "label": "a.pdf"}, {"label": "no id"}]);
        assert_eq!(file_ids(Some(&v)), vec![id]);
        assert!(file_ids(Some(&serde_json::json!({}))).is_empty());
    }
}
