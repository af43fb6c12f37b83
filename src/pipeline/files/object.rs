//! Which files an object's records carry, and reading ahead the storage keys of a page.

use super::*;

impl<D: Destination> Files<'_, D> {
    /// The FILES keys of `object` as the plan writes them, with the target's field ids, and
    /// the legacy `fullPath` fallback of attachments.
    pub fn object(
        &self,
        object: &Object,
        plan: &ObjectPlan,
        target_model: &Model,
        columns: &[ReadColumn],
    ) -> Result<ObjectFiles, FilesError> {
        let target = target_model.object(&object.name_singular);
        let target_files = |name: &str| {
            target
                .and_then(|t| t.field(name))
                .filter(|f| f.field_type == FieldType::Files)
                .map(|f| f.id)
        };
        let fields = plan
            .fields
            .iter()
            .filter(|d| {
                object
                    .field(&d.source)
                    .is_some_and(|f| f.field_type == FieldType::Files)
            })
            .filter_map(|d| Some((d.key.clone(), target_files(&d.key)?)))
            .collect();
        let cell = |name: &str| columns.iter().position(|c| c.name == name);
        let rich_text = rich_text::RichText::plan(object, plan, target_model);
        if FilesGeneration::detect(target_model) == Some(FilesGeneration::Paths) {
            return Ok(ObjectFiles {
                object: object.name_singular.clone(),
                fields: Vec::new(),
                legacy: Vec::new(),
                as_paths: generation::as_paths(&object.name_singular, target_model, cell),
                rich_text,
            });
        }
        let mut legacy = Vec::new();
        if object.name_singular == "attachment" {
            // Files v2 is detected by the target's `attachment.file` FILES field (I2).
            let file_field = target_files("file").ok_or(FilesError::OldGeneration)?;
            if let Some(full_path) = cell("fullPath") {
                legacy.push(Legacy {
                    cell: full_path,
                    key: "file".to_owned(),
                    field_id: file_field,
                    label_cell: cell("name"),
                    external_urls_stay: false,
                });
            }
        }
        // Person pictures: `person-picture/...` paths before 1.18, `avatarFile` after
        // (source-schema.md §7); moved only where the target has the FILES field.
        if object.name_singular == "person" {
            if let (Some(url), Some(field_id)) = (cell("avatarUrl"), target_files("avatarFile")) {
                legacy.push(Legacy {
                    cell: url,
                    key: "avatarFile".to_owned(),
                    field_id,
                    label_cell: None,
                    external_urls_stay: true,
                });
            }
        }
        Ok(ObjectFiles {
            object: object.name_singular.clone(),
            fields,
            legacy,
            as_paths: Vec::new(),
            rich_text,
        })
    }

    /// Looks up the `core.file` rows that a page of `of`'s rows names (any `fileId` in a JSON
    /// cell), replacing those of the previous page: one query per page, and memory that
    /// follows the page, not the workspace's files.
    pub async fn prefetch(
        &mut self,
        of: &ObjectFiles,
        rows: &[SourceRow],
    ) -> Result<(), FilesError> {
        self.core.clear();
        self.storage.read_signing_key(self.client).await?;
        // FILES values name their `core.file` rows whether they upload into FILES fields or,
        // on an older target, into paths.
        if of.fields.is_empty() && of.as_paths.is_empty() && of.rich_text.is_none() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = rows
            .iter()
            .flat_map(|r| r.cells.iter())
            .filter_map(|c| match c {
                Cell::Json(Value::Array(items)) => Some(items),
                _ => None,
            })
            .flatten()
            .filter_map(|item| item.get("fileId")?.as_str()?.parse().ok())
            .collect();
        // Files embedded in rich text are named by `attachmentFileId` or a files-field URL.
        if of.rich_text.is_some() {
            for cell in rows.iter().flat_map(|r| r.cells.iter()) {
                if let Cell::Text(text) = cell {
                    rich_text::file_ids_in(text, &mut ids);
                }
            }
        }
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            self.core = storage::core_files_among(self.client, &self.workspace, Some(&ids)).await?;
        }
        // The source server serves 1.18+ files by id: the page's ids are the ones it needs.
        self.storage.for_workspace(self.workspace_id, &self.core);
        Ok(())
    }
}
