//! `inspect`: describe a source instance and one of its workspaces, read-only.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use uuid::Uuid;

use crate::model::{Object, RelationKind};
use crate::source::file_store::{Bucket, Storage, StorageError};
use crate::source::storage::{self, AttachmentFiles};
use crate::source::storage_check::{self, FieldFiles, FileCheck};
use crate::source::{Layout, LayoutReport, Source, SourceError, WorkspaceInfo};

/// Why `inspect` stopped.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The source database could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The storage (folder or bucket) could not be opened or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What `inspect` needs.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// Postgres URL of the source.
    pub source_url: String,
    /// Workspace selector (id, subdomain or display name).
    pub workspace: Option<String>,
    /// Local storage folder to check the files against.
    pub storage_dir: Option<PathBuf>,
    /// Bucket (S3 or Azure) to check the files against, instead of a folder.
    pub bucket: Option<Bucket>,
    /// The source server whose file endpoints to check the files against, instead.
    pub server: Option<crate::source::server_files::SourceServer>,
}

/// The whole `inspect` answer (also its `--json` form).
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// Host, port and database (no credentials).
    pub source: String,
    /// Every live workspace of the instance.
    pub workspaces: Vec<WorkspaceInfo>,
    /// The chosen workspace, in detail; absent when several exist and none was chosen.
    pub workspace: Option<WorkspaceDetail>,
    /// Why no workspace is detailed, when none is.
    pub hint: Option<String>,
}

/// One workspace in detail.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceDetail {
    /// Workspace id.
    pub id: Uuid,
    /// Display name, subdomain or id.
    pub name: String,
    /// The schema holding its records.
    pub schema: String,
    /// Detected layout.
    pub layout: LayoutReport,
    /// Every object, standard and custom.
    pub objects: Vec<ObjectSummary>,
    /// Workspace members (live and soft-deleted).
    pub members: Vec<crate::source::members::MemberSummary>,
    /// Attachment rows and their files.
    pub attachments: AttachmentFiles,
    /// The files of other fields: person pictures, custom FILES fields.
    pub other_files: Vec<FieldFiles>,
}

/// One object with its counts and fields.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectSummary {
    /// `nameSingular`.
    pub name_singular: String,
    /// `namePlural`.
    pub name_plural: String,
    /// `standard` or `custom`.
    pub kind: &'static str,
    /// Internal object.
    pub is_system: bool,
    /// Active in metadata.
    pub is_active: bool,
    /// Remote object (never migrated).
    pub is_remote: bool,
    /// Table name.
    pub table: String,
    /// Whether the table exists.
    pub table_exists: bool,
    /// Rows with `deletedAt` null.
    pub live: u64,
    /// Soft-deleted rows.
    pub deleted: u64,
    /// Fields.
    pub fields: Vec<FieldSummary>,
    /// Columns of the table that no field accounts for.
    pub unmapped_columns: Vec<String>,
}

/// One field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldSummary {
    /// API name.
    pub name: String,
    /// Resolved type (current API name).
    #[serde(rename = "type")]
    pub field_type: String,
    /// The type as stored in the source metadata.
    pub metadata_type: String,
    /// Columns that hold it.
    pub columns: Vec<String>,
    /// `MANY_TO_ONE` / `ONE_TO_MANY` for relations.
    pub relation: Option<RelationKind>,
    /// The related object for relations.
    pub relation_target: Option<String>,
    /// User-created.
    pub is_custom: bool,
    /// Internal field.
    pub is_system: bool,
    /// Active in metadata.
    pub is_active: bool,
    /// Declared nullable.
    pub is_nullable: bool,
    /// Declared unique.
    pub is_unique: bool,
}

/// Runs `inspect`.
pub async fn inspect(opts: &InspectOptions) -> Result<InspectReport, InspectError> {
    let mut storage = Storage::open(
        opts.storage_dir.as_deref(),
        opts.bucket.as_ref(),
        opts.server.as_ref(),
    )?;
    let source = Source::connect(&opts.source_url).await?;
    source.begin_snapshot().await?;
    let workspaces = source.workspaces().await?;
    let several_unchosen = opts.workspace.is_none() && workspaces.len() > 1;
    let (workspace, hint) = if several_unchosen {
        let hint = format!(
            "the instance holds {} workspaces; pass --workspace <id|subdomain|name> to see one in detail",
            workspaces.len()
        );
        (None, Some(hint))
    } else {
        let ws = crate::source::discover::choose(workspaces.clone(), opts.workspace.as_deref())?;
        (Some(detail(&source, &ws, &mut storage).await?), None)
    };
    source.end_snapshot().await?;
    Ok(InspectReport {
        source: source.target().to_owned(),
        workspaces,
        workspace,
        hint,
    })
}

async fn detail(
    source: &Source,
    ws: &WorkspaceInfo,
    storage: &mut Storage,
) -> Result<WorkspaceDetail, InspectError> {
    if !ws.schema_exists {
        return Err(InspectError::Source(SourceError::UnknownLayout {
            workspace: ws.label(),
            detail: format!("its schema {} does not exist", ws.schema),
        }));
    }
    if ws.layout.layout == Layout::Unknown {
        return Err(InspectError::Source(SourceError::UnknownLayout {
            workspace: ws.label(),
            detail: format!(
                "{} (recorded version {})",
                ws.layout.notes.join("; "),
                ws.version.as_deref().unwrap_or("none")
            ),
        }));
    }
    let client = source.client();
    let model = crate::source::metadata::read_model(client, ws).await?;
    let mut objects = Vec::with_capacity(model.objects.len());
    for object in &model.objects {
        let (live, deleted) = crate::source::counts::count_rows(client, &ws.schema, object).await?;
        objects.push(summarize(object, live, deleted));
    }
    let members = crate::source::members::read_members(client, &ws.schema, &model).await?;
    storage.for_workspace(ws.id, &storage::core_files(client, ws).await?);
    storage.read_signing_key(client).await?;
    let storage = &*storage;
    let (mut attachments, refs) = storage::attachment_file_refs(client, ws, &model).await?;
    attachments.files = storage_check::check(storage, refs).await?;
    let mut other_files = Vec::new();
    for field in storage::other_file_refs(client, ws, &model).await? {
        other_files.push(FieldFiles {
            object: field.object,
            field: field.field,
            files: storage_check::check(storage, field.refs).await?,
        });
    }
    Ok(WorkspaceDetail {
        id: ws.id,
        name: ws.label(),
        schema: ws.schema.clone(),
        layout: ws.layout.clone(),
        objects,
        members,
        attachments,
        other_files,
    })
}

fn summarize(object: &Object, live: u64, deleted: u64) -> ObjectSummary {
    ObjectSummary {
        name_singular: object.name_singular.clone(),
        name_plural: object.name_plural.clone(),
        kind: if object.is_custom {
            "custom"
        } else {
            "standard"
        },
        is_system: object.is_system,
        is_active: object.is_active,
        is_remote: object.is_remote,
        table: object.table.clone(),
        table_exists: object.table_exists,
        live,
        deleted,
        fields: object
            .fields
            .iter()
            .map(|f| FieldSummary {
                name: f.name.clone(),
                field_type: f.field_type.api_name().to_owned(),
                metadata_type: f.metadata_type.clone(),
                columns: f.columns.iter().map(|c| c.name.clone()).collect(),
                relation: f.relation.as_ref().map(|r| r.kind),
                relation_target: f.relation.as_ref().map(|r| r.target_object.clone()),
                is_custom: f.is_custom,
                is_system: f.is_system,
                is_active: f.is_active,
                is_nullable: f.is_nullable,
                is_unique: f.is_unique,
            })
            .collect(),
        unmapped_columns: object.unmapped_columns.clone(),
    }
}

/// Renders the report as text tables.
pub fn render_text(report: &InspectReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "source: {}\n", report.source);
    let _ = writeln!(out, "workspaces");
    let rows: Vec<Vec<String>> = report
        .workspaces
        .iter()
        .map(|w| {
            vec![
                w.id.to_string(),
                w.display_name.clone().unwrap_or_default(),
                w.subdomain.clone().unwrap_or_default(),
                w.version.clone().unwrap_or_else(|| "-".into()),
                format!("{:?} ({})", w.layout.layout, w.layout.versions),
            ]
        })
        .collect();
    out.push_str(&table(
        &["id", "name", "subdomain", "version", "layout"],
        &rows,
    ));
    if let Some(hint) = &report.hint {
        let _ = writeln!(out, "\n{hint}");
    }
    let Some(ws) = &report.workspace else {
        return out;
    };
    let _ = writeln!(
        out,
        "\nworkspace {} ({}), schema {}, layout {:?} ({})",
        ws.name, ws.id, ws.schema, ws.layout.layout, ws.layout.versions
    );
    for note in &ws.layout.notes {
        let _ = writeln!(out, "  note: {note}");
    }

    let _ = writeln!(out, "\nobjects");
    let rows: Vec<Vec<String>> = ws
        .objects
        .iter()
        .map(|o| {
            vec![
                o.name_singular.clone(),
                o.kind.to_owned(),
                if o.is_system { "yes" } else { "" }.to_owned(),
                if o.is_active { "" } else { "inactive" }.to_owned(),
                o.live.to_string(),
                o.deleted.to_string(),
                o.fields.len().to_string(),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "object", "kind", "system", "state", "live", "deleted", "fields",
        ],
        &rows,
    ));

    for o in &ws.objects {
        let _ = writeln!(out, "\n{} ({}, table {})", o.name_singular, o.kind, o.table);
        let rows: Vec<Vec<String>> = o
            .fields
            .iter()
            .map(|f| {
                let relation = match (&f.relation, &f.relation_target) {
                    (Some(kind), Some(target)) => format!("{kind:?} → {target}"),
                    _ => String::new(),
                };
                let mut flags = Vec::new();
                if f.is_custom {
                    flags.push("custom");
                }
                if f.is_system {
                    flags.push("system");
                }
                if f.is_unique {
                    flags.push("unique");
                }
                if !f.is_active {
                    flags.push("inactive");
                }
                vec![
                    f.name.clone(),
                    f.field_type.clone(),
                    f.columns.join(", "),
                    relation,
                    flags.join(" "),
                ]
            })
            .collect();
        out.push_str(&table(
            &["field", "type", "columns", "relation", "flags"],
            &rows,
        ));
        if !o.unmapped_columns.is_empty() {
            let _ = writeln!(
                out,
                "  ignored columns (no field describes them, so they are not migrated): {}",
                o.unmapped_columns.join(", ")
            );
        }
    }

    let _ = writeln!(out, "\nworkspace members");
    let rows: Vec<Vec<String>> = ws
        .members
        .iter()
        .map(|m| {
            vec![
                format!(
                    "{} {}",
                    m.first_name.as_deref().unwrap_or(""),
                    m.last_name.as_deref().unwrap_or("")
                )
                .trim()
                .to_owned(),
                m.email.clone().unwrap_or_default(),
                if m.deleted { "deleted" } else { "" }.to_owned(),
            ]
        })
        .collect();
    out.push_str(&table(&["name", "email", "state"], &rows));

    let a = &ws.attachments;
    let _ = writeln!(out, "\nattachments");
    let _ = writeln!(
        out,
        "  records: {}, file references: {}, records without a file: {}",
        a.records, a.files.files_referenced, a.records_without_file
    );
    render_check(&mut out, "attachment", &a.files);
    if !ws.other_files.is_empty() {
        let _ = writeln!(out, "\nother files");
    }
    for f in &ws.other_files {
        let _ = writeln!(
            out,
            "  {}.{}: file references: {}",
            f.object, f.field, f.files.files_referenced
        );
        render_check(&mut out, &f.object, &f.files);
    }
    out
}

/// What the storage check found: counts, then the missing files by record and path.
fn render_check(out: &mut String, object: &str, check: &FileCheck) {
    let Some(storage) = &check.storage else {
        let _ = writeln!(
            out,
            "  storage not checked (pass --storage-dir, --s3-bucket, --azure-container or --source-server)"
        );
        return;
    };
    let _ = writeln!(
        out,
        "  found in {storage}: {} files, {} bytes; missing: {}",
        check.files_found, check.bytes_found, check.missing_count
    );
    for m in &check.missing {
        let place = m
            .location
            .as_deref()
            .or(m.key.as_deref())
            .unwrap_or_default();
        let why = m.problem.as_deref().unwrap_or("not found");
        let _ = writeln!(out, "  missing: {object} {} {place} ({why})", m.record_id);
    }
    let unlisted = check.missing_count - check.missing.len() as u64;
    if unlisted > 0 {
        let _ = writeln!(out, "  … and {unlisted} more missing files");
    }
}

/// A plain aligned text table.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    // Two-space indent, two spaces between columns, no trailing blanks.
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut text = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_to_the_widest_cell() {
        let t = table(
            &["a", "bb"],
            &[vec!["xxx".into(), "y".into()], vec!["z".into(), "".into()]],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "  a    bb");
        assert_eq!(lines[1], "  xxx  y");
        assert_eq!(lines[2], "  z");
    }
}
