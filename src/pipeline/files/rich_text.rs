//! Files embedded in rich text (note and task `bodyV2`): image, file, video and audio blocks
//! whose `props.url` points at the source server's files are re-pointed at the same file in the
//! target, in the BlockNote JSON and in the Markdown alike (the target derives neither from the
//! other).
//!
//! Where the source keeps such a file:
//! - before 1.18, the front uploads it as an attachment of the note and stores the absolute
//!   URL the API answers, `<SERVER_URL>/files/attachment/<name>?token=…`
//!   (`packages/twenty-front/src/modules/activities/files/hooks/useUploadAttachmentFile.tsx`,
//!   `…/workspace-query-runner/factories/query-result-getters/handlers/attachment-query-result-getter.handler.ts`);
//! - from 1.18 the block also carries `props.attachmentFileId`, the `fileId` of that
//!   attachment's FILES value (`upgrade-version-command/1-18/1-18-migrate-activity-rich-text-attachment-file-ids.command.ts`).
//!
//! Design: the file moves when the note is written (notes are written before the attachments
//! that reference them), through the same ledger as attachments, keyed by the source storage
//! key. The attachment that holds the same file then reuses that upload, so a file is uploaded
//! once and a rerun uploads nothing again. A file that cannot move keeps its source URL, and
//! the report says so.

use serde_json::Value;
use uuid::Uuid;

use super::{file_name, Dest, Files, FilesError, FilesGeneration, ObjectFiles, Refused};
use crate::destination::{Destination, LegacyFolder};
use crate::model::{FieldType, Model, Object};
use crate::plan::ObjectPlan;
use crate::record::ApiRecord;
use crate::source::storage;

/// The rich-text keys of one object and where their files upload to.
#[derive(Debug, Clone)]
pub(super) struct RichText {
    keys: Vec<String>,
    dest: Dest,
}

impl RichText {
    /// The object's RICH_TEXT keys the target has, or `None` when there are none or the target
    /// has nowhere to upload to.
    pub(super) fn plan(object: &Object, plan: &ObjectPlan, target_model: &Model) -> Option<Self> {
        let target = target_model.object(&object.name_singular)?;
        let keys: Vec<String> = plan
            .fields
            .iter()
            .filter(|d| {
                object
                    .field(&d.source)
                    .is_some_and(|f| f.field_type == FieldType::RichText)
                    && target.field(&d.key).is_some()
            })
            .map(|d| d.key.clone())
            .collect();
        if keys.is_empty() {
            return None;
        }
        let dest = match FilesGeneration::detect(target_model)? {
            // Files v2 uploads name a FILES field: the attachment's, whose records share them.
            FilesGeneration::V2 => Dest::Field(
                target_model
                    .object("attachment")?
                    .field("file")
                    .filter(|f| f.field_type == FieldType::Files)?
                    .id,
            ),
            FilesGeneration::Paths => Dest::Folder(LegacyFolder::Attachment),
        };
        Some(Self { keys, dest })
    }
}

/// The file a block points at in the source.
struct SourceFile {
    key: String,
    mime: String,
    label: String,
}

impl<D: Destination> Files<'_, D> {
    /// Moves the files embedded in the record's rich texts and rewrites their URLs.
    pub(super) async fn rewrite_rich_text(
        &mut self,
        of: &ObjectFiles,
        rt: &RichText,
        id: Uuid,
        record: &mut ApiRecord,
    ) -> Result<(), FilesError> {
        for key in &rt.keys {
            let Some(Value::Object(body)) = record.get(key) else {
                continue;
            };
            let Some(Ok(mut blocks)) = body
                .get("blocknote")
                .and_then(Value::as_str)
                .map(serde_json::from_str::<Value>)
            else {
                continue;
            };
            let mut moved: Vec<(String, String)> = Vec::new();
            let mut pending = Vec::new();
            collect_urls(&blocks, &mut pending);
            for (url, attachment_file_id, name) in pending {
                let Some(file) = self.embedded_file(&url, attachment_file_id.as_deref(), name)
                else {
                    continue;
                };
                match self
                    .move_file(of, id, key, rt.dest, &file.key, &file.label, &file.mime)
                    .await?
                {
                    Ok(uploaded) => {
                        let base = self.target.base_url().trim_end_matches('/');
                        let new_url = match rt.dest {
                            Dest::Field(_) => format!("{base}/files-field/{uploaded}"),
                            Dest::Folder(_) => format!("{base}/files/{uploaded}"),
                        };
                        let file_id = matches!(rt.dest, Dest::Field(_)).then_some(uploaded);
                        rewrite_block_urls(&mut blocks, &url, &new_url, file_id.as_deref());
                        moved.push((url, new_url));
                    }
                    // The dry pass of `upload_page` notes nothing: the real pass will.
                    Err(_) if self.staging.is_some() => {}
                    Err(refused) => {
                        let why = match refused {
                            Refused::Missing { path, why } => format!("{path} is missing ({why})"),
                            Refused::Other(message) => message,
                        };
                        self.notes.push(format!(
                            "{} {id}: {key}: an embedded file keeps its source URL {url}: {why}",
                            of.object
                        ));
                    }
                }
            }
            if moved.is_empty() {
                continue;
            }
            let mut body = body.clone();
            body.insert("blocknote".into(), Value::String(blocks.to_string()));
            if let Some(Value::String(markdown)) = body.get("markdown") {
                let mut markdown = markdown.clone();
                for (old, new) in &moved {
                    markdown = markdown.replace(old.as_str(), new);
                }
                body.insert("markdown".into(), Value::String(markdown));
            }
            record.insert(key.clone(), Value::Object(body));
        }
        Ok(())
    }

    /// The source file behind a block's URL, or `None` for a URL that is not the source's
    /// (an image hosted elsewhere stays as it is).
    fn embedded_file(
        &self,
        url: &str,
        attachment_file_id: Option<&str>,
        name: Option<String>,
    ) -> Option<SourceFile> {
        let label = |key: &str| name.clone().unwrap_or_else(|| file_name(key));
        // 1.18+: the attachment's file id names the `core.file` row.
        let core_id = attachment_file_id
            .and_then(|s| s.parse::<Uuid>().ok())
            .or_else(|| files_field_id(url));
        if let Some(file) = core_id.and_then(|id| self.core.get(&id)) {
            return Some(SourceFile {
                label: label(&file.key),
                key: file.key.clone(),
                mime: file.mime.clone(),
            });
        }
        if let Some(id) = core_id {
            // Named, but not in the source's file index: say so through the ledger path.
            return Some(SourceFile {
                key: format!("core.file/{id}"),
                mime: "application/octet-stream".into(),
                label: name.unwrap_or_else(|| id.to_string()),
            });
        }
        if !url.contains("/files/") {
            return None;
        }
        let relative = storage::legacy_relative_path(url)?;
        Some(SourceFile {
            label: label(&relative),
            mime: mime_guess::from_path(&relative)
                .first_or_octet_stream()
                .to_string(),
            key: format!("workspace-{}/{relative}", self.workspace_id),
        })
    }
}

/// The file id of a Files v2 URL (`…/files-field/<fileId>` or `…/files-field/<field>/<fileId>.<ext>`).
fn files_field_id(url: &str) -> Option<Uuid> {
    let (_, rest) = url.split_once("/files-field/")?;
    let path = rest.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    last.split('.').next()?.parse().ok()
}

/// The `core.file` ids a BlockNote document names (its `attachmentFileId` props and
/// files-field URLs), appended to `out`; text that is not such a document adds nothing.
pub(super) fn file_ids_in(text: &str, out: &mut Vec<Uuid>) {
    if !text.trim_start().starts_with('[')
        || !(text.contains("attachmentFileId") || text.contains("/files-field/"))
    {
        return;
    }
    let Ok(blocks) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let mut found = Vec::new();
    collect_urls(&blocks, &mut found);
    for (url, file_id, _) in found {
        if let Some(id) = file_id
            .and_then(|s| s.parse::<Uuid>().ok())
            .or_else(|| files_field_id(&url))
        {
            out.push(id);
        }
    }
}

/// Every `(url, attachmentFileId, name)` of the blocks, children included.
fn collect_urls(blocks: &Value, out: &mut Vec<(String, Option<String>, Option<String>)>) {
    let Value::Array(items) = blocks else {
        return;
    };
    for block in items {
        if let Some(props) = block.get("props").and_then(Value::as_object) {
            let url = props.get("url").and_then(Value::as_str).unwrap_or_default();
            let file_id = props
                .get("attachmentFileId")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            if !url.is_empty() || file_id.is_some() {
                let name = props
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned);
                let entry = (url.to_owned(), file_id.map(str::to_owned), name);
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
        if let Some(children) = block.get("children") {
            collect_urls(children, out);
        }
    }
}

/// Points every block whose URL is `old` at `new`, with the target's file id (Files v2) or
/// without one (older targets, which do not know the prop).
fn rewrite_block_urls(blocks: &mut Value, old: &str, new: &str, file_id: Option<&str>) {
    let Value::Array(items) = blocks else {
        return;
    };
    for block in items {
        if let Some(props) = block.get_mut("props").and_then(Value::as_object_mut) {
            if props.get("url").and_then(Value::as_str) == Some(old) {
                props.insert("url".into(), Value::String(new.to_owned()));
                match file_id {
                    Some(id) => {
                        props.insert("attachmentFileId".into(), Value::String(id.to_owned()));
                    }
                    None => {
                        props.remove("attachmentFileId");
                    }
                }
            }
        }
        if let Some(children) = block.get_mut("children") {
            rewrite_block_urls(children, old, new, file_id);
        }
    }
}

/// A rich text's embedded file URLs with the server part, token and file name replaced by a
/// marker, so that verify compares the text around them (the files themselves are checked
/// through their attachments).
pub(crate) fn mask_file_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_file_url(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c == '"' || c == ')' || c == '\\' || c.is_whitespace())
            .unwrap_or(tail.len());
        out.push_str("<file>");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The start of the next `http(s)://…/files/…` or `…/files-field/…` URL.
fn find_file_url(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("http") {
        let start = from + i;
        let tail = &text[start..];
        if tail.starts_with("http://") || tail.starts_with("https://") {
            let end = tail
                .find(|c: char| c == '"' || c == ')' || c == '\\' || c.is_whitespace())
                .unwrap_or(tail.len());
            let url = &tail[..end];
            if url.contains("/files/") || url.contains("/files-field/") {
                return Some(start);
            }
        }
        from = start + 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_ids_are_read_from_files_field_urls() {
        let id = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f60";
        assert_eq!(
            files_field_id(&format!("https://x/files-field/{id}?token=t")).map(|u| u.to_string()),
            Some(id.to_owned())
        );
        assert_eq!(
            files_field_id(&format!("https://x/file/files-field/uid/{id}.png"))
                .map(|u| u.to_string()),
            Some(id.to_owned())
        );
        assert_eq!(files_field_id("https://x/files/attachment/a.png"), None);
    }

    #[test]
    fn nested_blocks_are_rewritten_and_lose_a_file_id_on_older_targets() {
        let mut blocks = json!([
            {"type": "paragraph", "props": {}, "children": [
                {"type": "image", "props": {"url": "http://s/files/attachment/a.png?token=1", "attachmentFileId": "x"}, "children": []}
            ]},
            {"type": "image", "props": {"url": "https://elsewhere.example/cat.png"}, "children": []}
        ]);
        let mut urls = Vec::new();
        collect_urls(&blocks, &mut urls);
        assert_eq!(urls.len(), 2);
        rewrite_block_urls(
            &mut blocks,
            "http://s/files/attachment/a.png?token=1",
            "http://t/files/attachment/b.png?token=2",
            None,
        );
        let inner = &blocks[0]["children"][0]["props"];
        assert_eq!(inner["url"], "http://t/files/attachment/b.png?token=2");
        assert!(inner.get("attachmentFileId").is_none());
        assert_eq!(
            blocks[1]["props"]["url"],
            "https://elsewhere.example/cat.png"
        );
    }

    #[test]
    fn masking_hides_file_urls_only() {
        let md =
            "see ![a](http://s:3000/files/attachment/a.png?token=x) and [b](https://example.com/b)";
        assert_eq!(
            mask_file_urls(md),
            "see ![a](<file>) and [b](https://example.com/b)"
        );
        let json = r#"{"url":"http://t/files-field/123","x":1}"#;
        assert_eq!(mask_file_urls(json), r#"{"url":"<file>","x":1}"#);
    }
}
