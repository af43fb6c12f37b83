//! Targets older than Files v2: the file is uploaded with `uploadFile(file, fileFolder)` and the
//! record keeps its path (`attachment.fullPath`, `person.avatarUrl`) instead of a FILES value.
//!
//! The generation is read from the target's model (`target-api.md` §7): an attachment with a
//! FILES field `file` is Files v2 (1.18+, `attachment.workspace-entity.ts` from PR #17707 on);
//! one with only `fullPath` is older, where the front uploads through `uploadFile` and writes
//! `{ name, fullPath: path, fileCategory: getFileType(name) }`
//! (`packages/twenty-front/src/modules/activities/files/hooks/useUploadAttachmentFile.tsx`).

use serde_json::Value;

use super::{Attached, Dest, Files, FilesError, ObjectFiles, Refused};
use crate::destination::{Destination, LegacyFolder};
use crate::model::{FieldType, Model};
use crate::record::ApiRecord;
use crate::source::records::{Cell, SourceRow};
use crate::source::storage;

/// How the target keeps files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesGeneration {
    /// FILES fields holding `[{fileId, label}]` (Twenty 1.18+).
    V2,
    /// Paths in text fields, uploaded through `uploadFile` (Twenty before 1.18).
    Paths,
}

impl FilesGeneration {
    /// The target's generation, from its attachment object: a FILES `file` is
    /// [`FilesGeneration::V2`], else a `fullPath` is [`FilesGeneration::Paths`]; `None` when it
    /// has neither (or no attachment object).
    pub fn detect(target_model: &Model) -> Option<Self> {
        let attachment = target_model.object("attachment")?;
        if attachment
            .field("file")
            .is_some_and(|f| f.field_type == FieldType::Files)
        {
            return Some(Self::V2);
        }
        attachment.field("fullPath").map(|_| Self::Paths)
    }
}

/// The attachment category Twenty's front derives from a file name: `getFileType`
/// (`packages/twenty-front/src/modules/activities/files/utils/getFileType.ts`), the last
/// extension, lower-cased, else `OTHER`.
pub fn file_category(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "doc" | "docm" | "docx" | "dot" | "dotx" | "odt" | "pdf" | "txt" | "rtf" | "ps" | "tex"
        | "pages" => "TEXT_DOCUMENT",
        "xls" | "xlsb" | "xlsm" | "xlsx" | "xltx" | "csv" | "tsv" | "ods" | "numbers" => {
            "SPREADSHEET"
        }
        "ppt" | "pptx" | "potx" | "odp" | "html" | "key" | "kth" => "PRESENTATION",
        "png" | "jpg" | "jpeg" | "svg" | "gif" | "webp" | "heif" | "tif" | "tiff" | "bmp"
        | "ico" => "IMAGE",
        "mp4" | "avi" | "mov" | "wmv" | "mpg" | "mpeg" => "VIDEO",
        "mp3" | "wav" | "ogg" | "wma" => "AUDIO",
        "zip" | "tar" | "iso" | "gz" | "rar" | "7z" => "ARCHIVE",
        _ => "OTHER",
    }
}

/// One file of a record written as a path.
#[derive(Debug, Clone)]
pub(super) struct AsPath {
    /// The source's FILES value (1.18+ sources), read first.
    files_cell: Option<usize>,
    /// The source's path column (pre-1.18 sources), read when there is no FILES value.
    path_cell: Option<usize>,
    /// The cell whose text labels the file; else the file's name.
    label_cell: Option<usize>,
    /// The record key the path goes to.
    key: &'static str,
    /// The upload folder.
    folder: LegacyFolder,
    /// The category key to fill when the record has none.
    category_key: Option<&'static str>,
    /// Whether an absolute URL without `/files/` is a picture hosted elsewhere, left as is.
    external_urls_stay: bool,
}

/// The path-written files of `object` for a target before Files v2.
pub(super) fn as_paths(
    object: &str,
    target_model: &Model,
    cell: impl Fn(&str) -> Option<usize>,
) -> Vec<AsPath> {
    let target = target_model.object(object);
    let has = |name: &str| target.and_then(|t| t.field(name)).is_some();
    let files_v2 = |name: &str| {
        target
            .and_then(|t| t.field(name))
            .is_some_and(|f| f.field_type == FieldType::Files)
    };
    match object {
        "attachment" if has("fullPath") => vec![AsPath {
            files_cell: cell("file"),
            path_cell: cell("fullPath"),
            label_cell: cell("name"),
            key: "fullPath",
            folder: LegacyFolder::Attachment,
            category_key: has("fileCategory").then_some("fileCategory"),
            external_urls_stay: false,
        }],
        // Person pictures live in `person-picture/` (`FileFolder.PersonPicture`).
        "person" if has("avatarUrl") && !files_v2("avatarFile") => vec![AsPath {
            files_cell: cell("avatarFile"),
            path_cell: cell("avatarUrl"),
            label_cell: None,
            key: "avatarUrl",
            folder: LegacyFolder::PersonPicture,
            category_key: None,
            external_urls_stay: true,
        }],
        _ => Vec::new(),
    }
}

/// The path a record stores: the ledger keeps `path?token=…` (the token is for URLs in rich
/// text); the record keeps the bare path, as the front stores it.
pub(crate) fn bare_path(uploaded: &str) -> &str {
    uploaded.split("?token=").next().unwrap_or(uploaded)
}

impl<D: Destination> Files<'_, D> {
    /// Uploads the files of one record through `uploadFile` and writes their paths.
    pub(super) async fn attach_as_paths(
        &mut self,
        of: &ObjectFiles,
        row: &SourceRow,
        mut record: ApiRecord,
    ) -> Result<Attached, FilesError> {
        for p in &of.as_paths {
            let label_text = p.label_cell.and_then(|c| match row.cells.get(c) {
                Some(Cell::Text(n)) if !n.trim().is_empty() => Some(n.clone()),
                _ => None,
            });
            // 1.18+ source: the FILES value names a `core.file` row.
            let from_files = p.files_cell.and_then(|c| match row.cells.get(c) {
                Some(Cell::Json(Value::Array(items))) => items.first().cloned(),
                _ => None,
            });
            let (storage_key, label, mime) = if let Some(item) = from_files {
                let label = item
                    .get("label")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| label_text.clone())
                    .unwrap_or_default();
                let source_id = item
                    .get("fileId")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<uuid::Uuid>().ok());
                let Some(file) = source_id.and_then(|id| self.core.get(&id)).cloned() else {
                    let why = match source_id {
                        Some(id) => format!("core.file has no row {id}"),
                        None => format!("{item} has no fileId"),
                    };
                    let refused = Refused::Missing {
                        path: format!("file {label}"),
                        why,
                    };
                    if self.essential(of) {
                        return Ok(refused.into_attached(self, of, p.key, record));
                    }
                    self.note_dropped(of, row.id, p.key, refused);
                    record.insert(p.key.to_owned(), Value::Null);
                    continue;
                };
                (file.key, label, file.mime)
            } else {
                // Pre-1.18 source: the path column names the file.
                let Some(Cell::Text(raw)) = p.path_cell.and_then(|c| row.cells.get(c)) else {
                    continue;
                };
                let hosted_elsewhere = raw.contains("://") && !raw.contains("/files/");
                if p.external_urls_stay && hosted_elsewhere {
                    continue;
                }
                let Some(relative) = storage::legacy_relative_path(raw) else {
                    continue;
                };
                let label = label_text
                    .clone()
                    .unwrap_or_else(|| super::file_name(&relative));
                let mime = mime_guess::from_path(&relative)
                    .first_or_octet_stream()
                    .to_string();
                (
                    format!("workspace-{}/{relative}", self.workspace_id),
                    label,
                    mime,
                )
            };
            match self
                .move_file(
                    of,
                    row.id,
                    p.key,
                    Dest::Folder(p.folder),
                    &storage_key,
                    &label,
                    &mime,
                )
                .await?
            {
                Ok(uploaded) => {
                    record.insert(
                        p.key.to_owned(),
                        Value::String(bare_path(&uploaded).to_owned()),
                    );
                    if let Some(category) = p.category_key {
                        if record.get(category).is_none_or(Value::is_null) {
                            record.insert(category.to_owned(), file_category(&label).into());
                        }
                    }
                }
                Err(refused) if self.essential(of) => {
                    return Ok(refused.into_attached(self, of, p.key, record))
                }
                Err(refused) => {
                    // A path to the source's storage would dangle in the target.
                    self.note_dropped(of, row.id, p.key, refused);
                    record.insert(p.key.to_owned(), Value::Null);
                }
            }
        }
        Ok(Attached::Ready(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_the_fronts_extension_table() {
        assert_eq!(file_category("Contrat signé ✍️.PDF"), "TEXT_DOCUMENT");
        assert_eq!(file_category("q3.numbers"), "SPREADSHEET");
        assert_eq!(file_category("face.jpeg"), "IMAGE");
        assert_eq!(file_category("backup.tar.gz"), "ARCHIVE");
        assert_eq!(file_category("README"), "OTHER");
        assert_eq!(file_category("x.unknown"), "OTHER");
    }

    #[test]
    fn stored_paths_lose_the_token() {
        assert_eq!(bare_path("attachment/a.png?token=abc"), "attachment/a.png");
        assert_eq!(bare_path("attachment/a.png"), "attachment/a.png");
    }
}
