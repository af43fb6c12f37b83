//! File exchanges: multipart, direct and legacy uploads, and FILES values written and read back.

use serde_json::{json, Value};

use super::{ex, find_ids, md, upsert, THINGS};
use crate::conformance::{Auth, Body, Exchange, Step};
use crate::destination::client::UPLOAD_FILES_FIELD_FILE;
use crate::destination::direct_upload::COMPLETE;

/// `createFileUpload` as the goldens of 2.21 recorded it. The client's own document
/// (`destination::direct_upload::CREATE`) also selects `expiresAt` (non-null in
/// `file-upload-target.dto.ts`); these exchanges move to it when they are recorded again.
const CREATE: &str = "mutation CreateFileUpload($filename: String!, $size: Float!, $fieldMetadataId: String!) { createFileUpload(filename: $filename, size: $size, fileFolder: FilesField, fieldMetadataId: $fieldMetadataId) { fileId uploadUrl contentType } }";

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

pub(super) fn files() -> Vec<Exchange> {
    let upload = |field_var: &str| Step {
        body: Body::Upload {
            operations: json!({
                "query": UPLOAD_FILES_FIELD_FILE,
                "variables": { "file": null, "fieldMetadataId": format!("${{{field_var}}}") },
            }),
            file_name: "pixel.png".into(),
            mime: "image/png".into(),
            bytes: PNG.to_vec(),
        },
        ..Step::new(reqwest::Method::POST, "/metadata")
    };
    vec![
        ex(
            "upload-multipart-files-field",
            vec![upload("filesFieldId").capture("multipartFileId", "/data/uploadFilesFieldFile/id")],
        ),
        ex(
            "upload-multipart-files-field-full-answer",
            vec![Step {
                body: Body::Upload {
                    operations: json!({
                        "query": "mutation UploadFilesFieldFile($file: Upload!, $fieldMetadataId: String!) { uploadFilesFieldFile(file: $file, fieldMetadataId: $fieldMetadataId) { id path size createdAt url } }",
                        "variables": { "file": null, "fieldMetadataId": "${filesFieldId}" },
                    }),
                    file_name: "pixel.png".into(),
                    mime: "image/png".into(),
                    bytes: PNG.to_vec(),
                },
                ..Step::new(reqwest::Method::POST, "/metadata")
            }],
        ),
        ex(
            "upload-direct-create-put-complete",
            vec![
                md(
                    CREATE,
                    json!({ "filename": "pixel.png", "size": PNG.len(), "fieldMetadataId": "${filesFieldId}" }),
                )
                .capture("directFileId", "/data/createFileUpload/fileId")
                .capture("uploadUrl", "/data/createFileUpload/uploadUrl"),
                Step {
                    body: Body::Raw { bytes: PNG.to_vec(), content_type: "application/octet-stream".into() },
                    auth: Auth::None,
                    ..Step::new(reqwest::Method::PUT, "${uploadUrl}")
                },
                md(COMPLETE, json!({ "fileId": "${directFileId}" })),
                md(COMPLETE, json!({ "fileId": "${directFileId}" })),
            ],
        ),
        // An empty file: direct upload refuses `size <= 0` (`file-upload.service.ts`), the
        // multipart upload stores it; the files stage rejects or delivers it accordingly.
        ex(
            "upload-direct-empty-file",
            vec![md(
                CREATE,
                json!({ "filename": "empty.txt", "size": 0, "fieldMetadataId": "${filesFieldId}" }),
            )],
        ),
        ex(
            "upload-multipart-empty-file",
            vec![Step {
                body: Body::Upload {
                    operations: json!({
                        "query": UPLOAD_FILES_FIELD_FILE,
                        "variables": { "file": null, "fieldMetadataId": "${filesFieldId}" },
                    }),
                    file_name: "empty.txt".into(),
                    mime: "text/plain".into(),
                    bytes: Vec::new(),
                },
                ..Step::new(reqwest::Method::POST, "/metadata")
            }],
        ),
        ex(
            "upload-direct-complete-unknown-file",
            vec![md(COMPLETE, json!({ "fileId": uuid::Uuid::nil().to_string() }))],
        ),
        ex(
            "upload-direct-size-mismatch",
            vec![
                md(
                    CREATE,
                    json!({ "filename": "pixel.png", "size": PNG.len() + 5, "fieldMetadataId": "${filesFieldId}" }),
                )
                .capture("uploadUrl2", "/data/createFileUpload/uploadUrl"),
                Step {
                    body: Body::Raw { bytes: PNG.to_vec(), content_type: "application/octet-stream".into() },
                    auth: Auth::None,
                    ..Step::new(reqwest::Method::PUT, "${uploadUrl2}")
                },
            ],
        ),
        ex(
            "upload-direct-not-a-files-field",
            vec![md(
                CREATE,
                json!({ "filename": "pixel.png", "size": PNG.len(), "fieldMetadataId": "${selectFieldId}" }),
            )],
        ),
        ex(
            "files-value-write-and-read-back",
            vec![
                upsert(
                    &THINGS[6..],
                    json!([{ "id": "${idFiles}", "name": "With files", "cfFiles": [
                        { "fileId": "${directFileId}", "label": "pixel.png" },
                        { "fileId": "${multipartFileId}", "label": "other.png" },
                    ] }]),
                ),
                find_ids(&THINGS[6..], &["${idFiles}"], "").select(files_view),
            ],
        ),
        ex(
            "files-value-extra-key-refused",
            vec![upsert(
                &THINGS[6..],
                json!([{ "id": "${idFiles2}", "cfFiles": [{ "fileId": "${directFileId}", "label": "x", "url": "http://x" }] }]),
            )],
        ),
        ex(
            "attachment-with-file-on-company",
            vec![
                upload("attachmentFileFieldId").capture("attachmentFileId", "/data/uploadFilesFieldFile/id"),
                upsert(
                    "attachments",
                    json!([{ "id": "${idAtt}", "name": "pixel.png", "targetCompanyId": "${idAcme}",
                             "file": [{ "fileId": "${attachmentFileId}", "label": "pixel.png" }] }]),
                ),
                find_ids("attachments", &["${idAtt}"], "").select(files_view),
            ],
        ),
        ex(
            "legacy-upload-file-on-graphql",
            vec![Step {
                body: Body::Upload {
                    // The tool's `upload_legacy_file` document, for targets before Files v2.
                    operations: json!({
                        "query": "mutation UploadFile($file: Upload!, $fileFolder: FileFolder) { uploadFile(file: $file, fileFolder: $fileFolder) { path token } }",
                        "variables": { "file": null, "fileFolder": "Attachment" },
                    }),
                    file_name: "pixel.png".into(),
                    mime: "image/png".into(),
                    bytes: PNG.to_vec(),
                },
                ..Step::new(reqwest::Method::POST, "/graphql")
            }],
        ),
    ]
}

/// A record list reduced to the FILES values (`cfFiles`, `file`) and their shapes.
fn files_view(body: &Value) -> Value {
    let Some(rows) = body
        .get("data")
        .and_then(Value::as_object)
        .and_then(|d| d.values().next())
        .and_then(Value::as_array)
    else {
        return body.clone();
    };
    let out: Vec<Value> = rows
        .iter()
        .map(|r| json!({ "id": r["id"], "cfFiles": r.get("cfFiles"), "file": r.get("file") }))
        .collect();
    json!({ "records": out })
}

/// The member-picture mutations the tool sends (`Target::upload_member_picture`,
/// `Target::update_member_settings`), for the seeded member `tim@apple.dev`, whose picture is
/// set to an outside URL and then cleared again: a recording leaves the member as it was.
pub(super) fn member_pictures() -> Vec<Exchange> {
    let settings = |member: &str, update: Value| {
        md(
            crate::destination::client::UPDATE_MEMBER_SETTINGS,
            json!({ "input": { "workspaceMemberId": member, "update": update } }),
        )
    };
    vec![ex(
        "member-picture-upload-and-set",
        vec![
            Step::get(format!(
                "/rest/workspaceMembers?filter={}",
                super::urlencode("userEmail[eq]:\"tim@apple.dev\"")
            ))
            .select(super::listing::member_view)
            .capture("timMemberId", "/data/workspaceMembers/0/id"),
            Step {
                body: Body::Upload {
                    operations: json!({
                        "query": crate::destination::client::UPLOAD_MEMBER_PICTURE,
                        "variables": { "file": null },
                    }),
                    file_name: "pixel.png".into(),
                    mime: "image/png".into(),
                    bytes: PNG.to_vec(),
                },
                ..Step::new(reqwest::Method::POST, "/metadata")
            }
            .capture("pictureId", "/data/uploadWorkspaceMemberProfilePicture/id"),
            settings(
                "${timMemberId}",
                json!({ "avatarUrl": "https://pictures.example/tim.png" }),
            ),
            settings(
                "20202020-0000-4000-8000-000000000000",
                json!({ "avatarUrl": "https://pictures.example/nobody.png" }),
            ),
            settings("${timMemberId}", json!({ "cfNotAField": "x" })),
            settings("${timMemberId}", json!({ "avatarUrl": "" })),
        ],
    )]
}
