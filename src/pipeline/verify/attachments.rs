//! The checklist's "attachments open": downloads a sample of the target's attachment files by
//! the signed URLs the target gives in their FILES values (2.21 answers each `{fileId, label}`
//! with a `url`, `file-url.service.ts`; seen on a real 2.21) and compares each size with the
//! one the ledger recorded at upload.

use std::path::Path;

use serde_json::Value;

use super::checklist::AttachmentSample;
use crate::destination::{Destination, FindMany};
use crate::pipeline::MigrateError;

/// Attachment records read for the sample (one page).
const SAMPLE: u32 = 20;

/// Failures listed by name.
const LISTED: usize = 5;

/// Downloads the files of up to [`SAMPLE`] attachments of `plural`.
pub(super) async fn sample<D: Destination>(
    target: &D,
    plural: &str,
    ledger: &Path,
) -> Result<AttachmentSample, MigrateError> {
    let page = target
        .find_many(
            plural,
            &FindMany {
                limit: Some(SAMPLE),
                ..FindMany::default()
            },
        )
        .await
        .map_err(|source| MigrateError::Target {
            context: "reading the target's attachments for the checklist".into(),
            source,
        })?;
    // A missing or unreadable ledger only means sizes are not compared.
    let sizes = crate::state::uploaded_sizes(ledger).unwrap_or_default();
    let mut out = AttachmentSample {
        records: page.total_count.unwrap_or(page.records.len() as u64),
        ..AttachmentSample::default()
    };
    for record in &page.records {
        let id = record.get("id").and_then(Value::as_str).unwrap_or("?");
        for file in files(record) {
            out.tried += 1;
            let expected = file.id.as_deref().and_then(|f| sizes.get(f)).copied();
            if expected.is_some() {
                out.sized += 1;
            }
            let failure = match target.download_size(&file.url).await {
                Ok(size) if expected.is_none_or(|e| e == size) => None,
                Ok(size) => Some(format!(
                    "{size} bytes where {} were uploaded",
                    expected.unwrap_or_default()
                )),
                Err(e) => Some(e.to_string()),
            };
            match failure {
                None => out.opened += 1,
                Some(why) if out.failures.len() < LISTED => out
                    .failures
                    .push(format!("attachment {id}, file \"{}\": {why}", file.label)),
                Some(_) => {}
            }
        }
    }
    Ok(out)
}

/// One file of an attachment record.
struct File {
    id: Option<String>,
    label: String,
    url: String,
}

/// The downloadable files of an attachment: its FILES `file` items with a `url`, or (older
/// generations) a `fullPath` that is already a whole URL.
fn files(record: &Value) -> Vec<File> {
    let mut out: Vec<File> = record
        .get("file")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            Some(File {
                id: item
                    .get("fileId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                label: item
                    .get("label")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                url: item.get("url").and_then(Value::as_str)?.to_owned(),
            })
        })
        .collect();
    if out.is_empty() {
        if let Some(path) = record
            .get("fullPath")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with("http://") || p.starts_with("https://"))
        {
            out.push(File {
                id: None,
                label: record
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                url: path.to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_item_with_a_url_is_sampled_and_one_without_is_not() {
        let record = serde_json::json!({
            "id": "a",
            "file": [
                {"fileId": "f1", "label": "deck.pdf", "url": "http://t/file/files-field/f1?token=x"},
                {"fileId": "f2", "label": "no-url.pdf"}
            ]
        });
        let found = files(&record);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id.as_deref(), Some("f1"));
        assert_eq!(found[0].label, "deck.pdf");
    }

    #[test]
    fn an_older_attachment_is_sampled_by_a_full_path_that_is_a_url() {
        let record =
            serde_json::json!({"id": "a", "name": "x.png", "fullPath": "https://s/x.png?token=t"});
        assert_eq!(files(&record).len(), 1);
        let relative = serde_json::json!({"id": "a", "fullPath": "attachment/x.png"});
        assert!(files(&relative).is_empty());
    }
}
