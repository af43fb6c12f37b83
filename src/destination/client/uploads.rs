//! File uploads: the multipart FILES-field upload and the legacy `uploadFile` of older generations.

use super::*;

/// The `fileFolder` of a legacy upload, as the GraphQL enum names it (the keys of the server's
/// `core-modules/file/interfaces/file-folder.interface.ts`, e.g. `Attachment` for the
/// `attachment` folder; the front's generated `graphql.ts` shows the names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyFolder {
    /// `attachment/`: attachments and images inside rich text.
    Attachment,
    /// `person-picture/`: a person's `avatarUrl`.
    PersonPicture,
}

impl LegacyFolder {
    /// The GraphQL enum value.
    pub fn as_graphql(self) -> &'static str {
        match self {
            Self::Attachment => "Attachment",
            Self::PersonPicture => "PersonPicture",
        }
    }
}

/// A file uploaded through the legacy `uploadFile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyUpload {
    /// `<folder>/<uuid>.<ext>`, without a token: what the record stores.
    pub path: String,
    /// The file token a download presents as `?token=`, when the server gave one.
    pub token: Option<String>,
    /// Which answer the target gave: pass it to the next upload.
    pub answer: LegacyAnswer,
}

/// The shape of a legacy `uploadFile` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyAnswer {
    /// `SignedFileDTO { path, token }` (~0.4x–1.16).
    SignedFile,
    /// A String, `<path>?token=<token>` (≤ 0.3x).
    Path,
}

impl Target {
    /// Uploads a file for a FILES field (Files v2: `uploadFilesFieldFile` on `/metadata`, a
    /// GraphQL multipart request). The answer's `id` goes into the record's FILES value as
    /// `fileId`. An upload is not idempotent: a retried upload may leave an unused file.
    ///
    /// Source: `engine/core-modules/file/files-field/resolvers/files-field.resolver.ts`.
    pub async fn upload_file(
        &self,
        field_metadata_id: Uuid,
        file_name: &str,
        mime: &str,
        bytes: Bytes,
    ) -> Result<UploadedFile, TargetError> {
        self.upload(
            field_metadata_id,
            file_name,
            mime,
            UploadSource::Bytes(bytes),
        )
        .await
    }

    /// Like [`Self::upload_file`], streaming the bytes from a local file (reopened on each
    /// attempt) instead of holding them in memory.
    pub async fn upload_file_from_path(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> Result<UploadedFile, TargetError> {
        // Fail before taking a permit when the file is not there.
        local_file_size(path).await?;
        self.upload(
            field_metadata_id,
            file_name,
            mime,
            UploadSource::Path(path.to_owned()),
        )
        .await
    }

    async fn upload(
        &self,
        field_metadata_id: Uuid,
        file_name: &str,
        mime: &str,
        source: UploadSource,
    ) -> Result<UploadedFile, TargetError> {
        // Only `id` is common to both return types seen (`FileDTO`, `FileWithSignedUrlDTO`).
        let operations = json!({
            "query": UPLOAD_FILES_FIELD_FILE,
            "variables": { "file": null, "fieldMetadataId": field_metadata_id.to_string() },
        });
        check_mime(mime)?;
        let mut call = Call::new(Method::POST, "/metadata".into());
        call.graphql = true;
        call.body = CallBody::Upload(Upload {
            operations: operations.to_string(),
            file_name: file_name.to_owned(),
            mime: mime.to_owned(),
            source,
        });
        let data = self.call(&call, graphql_data).await?;
        let file = data.get("uploadFilesFieldFile").ok_or_else(|| {
            TargetError::Protocol("upload answer has no uploadFilesFieldFile".into())
        })?;
        let id = file
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| TargetError::Protocol("upload answer has no file id".into()))?;
        debug!(%field_metadata_id, "file uploaded");
        Ok(UploadedFile {
            id: id.to_owned(),
            path: file
                .get("path")
                .or_else(|| file.get("fullPath"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Uploads a file to a target older than Files v2: `uploadFile(file, fileFolder)` on the
    /// core `/graphql` endpoint (GraphQL multipart). Returns the storage path (`attachment/<uuid>.<ext>`),
    /// which goes into `attachment.fullPath` or `person.avatarUrl`, and the file token.
    ///
    /// Mid generation (~0.4x–1.16) answers `SignedFileDTO { path, token }`; the old one
    /// (≤ 0.3x) a `String` path ending in `?token=…`, which the front strips before storing
    /// (`computePathWithoutToken` in `packages/twenty-front/src/modules/activities/files/hooks/useUploadAttachmentFile.tsx`).
    /// A String answer refuses the `{ path token }` selection, so the old form is sent after
    /// that refusal, or at once when `answer` says which one the target gives (the caller keeps
    /// [`LegacyUpload::answer`] of the first upload). Source: `engine/core-modules/file/file-upload/resolvers/file-upload.resolver.ts`
    /// and `.../dtos/signed-file.dto.ts`. Not idempotent, like [`Self::upload_file`].
    pub async fn upload_legacy_file(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
        folder: LegacyFolder,
        answer: Option<LegacyAnswer>,
    ) -> Result<LegacyUpload, TargetError> {
        local_file_size(path).await?;
        check_mime(mime)?;
        let send = |selection: &str| {
            let operations = json!({
                "query": format!("mutation UploadFile($file: Upload!, $fileFolder: FileFolder) {{ uploadFile(file: $file, fileFolder: $fileFolder){selection} }}"),
                "variables": { "file": null, "fileFolder": folder.as_graphql() },
            });
            let mut call = Call::new(Method::POST, "/graphql".into());
            call.graphql = true;
            call.body = CallBody::Upload(Upload {
                operations: operations.to_string(),
                file_name: file_name.to_owned(),
                mime: mime.to_owned(),
                source: UploadSource::Path(path.to_owned()),
            });
            call
        };
        let data = match answer {
            Some(LegacyAnswer::Path) => self.call(&send(""), graphql_data).await?,
            // A String answer refuses the selection as a GraphQL validation error (graphql-js
            // `ScalarLeafsRule`); a server that takes it answers `SignedFileDTO`.
            _ => match self.call(&send(" { path token }"), graphql_data).await {
                Err(e) if e.is_graphql_validation() => self.call(&send(""), graphql_data).await?,
                other => other?,
            },
        };
        let answer_value = data
            .get("uploadFile")
            .ok_or_else(|| TargetError::Protocol("upload answer has no uploadFile".into()))?;
        let shape = if answer_value.is_string() {
            LegacyAnswer::Path
        } else {
            LegacyAnswer::SignedFile
        };
        let (full, token) = match answer_value {
            Value::String(signed) => match signed.split_once("?token=") {
                Some((p, t)) => (p.to_owned(), Some(t.to_owned())),
                None => (signed.clone(), None),
            },
            other => (
                other
                    .get("path")
                    .and_then(Value::as_str)
                    .ok_or_else(|| TargetError::Protocol("upload answer has no path".into()))?
                    .to_owned(),
                other
                    .get("token")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
        };
        debug!(folder = folder.as_graphql(), "legacy file uploaded");
        Ok(LegacyUpload {
            path: full,
            token,
            answer: shape,
        })
    }
}

/// The multipart upload of a workspace member's picture (Twenty 2.x, `/metadata`).
pub(crate) const UPLOAD_MEMBER_PICTURE: &str = "mutation UploadWorkspaceMemberProfilePicture($file: Upload!) { uploadWorkspaceMemberProfilePicture(file: $file) { id path url } }";

/// Sets fields of one workspace member (Twenty 2.x, `/metadata`).
pub(crate) const UPDATE_MEMBER_SETTINGS: &str = "mutation UpdateWorkspaceMemberSettings($input: UpdateWorkspaceMemberSettingsInput!) { updateWorkspaceMemberSettings(input: $input) }";

/// A workspace member's picture stored by the target (`core-picture/<id>.<ext>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPicture {
    /// The `core.file` id.
    pub id: String,
    /// What the member's `avatarUrl` takes: the answered `url` without its token, as the
    /// front stores it (`<server>/file/core-picture/<id>`, `WorkspaceMemberPictureUploader.tsx`).
    pub avatar_url: String,
}

impl Target {
    /// Uploads a workspace member's picture: `uploadWorkspaceMemberProfilePicture(file)` on
    /// `/metadata` (GraphQL multipart). The file is not tied to a member until
    /// [`Self::update_member_settings`] sets it. Allowed to an API key whose role has the
    /// Workspace Members (or Profile Information) permission. Not idempotent.
    ///
    /// Source: `engine/core-modules/file/file-core-picture/resolvers/file-core-picture.resolver.ts`,
    /// guard `engine/core-modules/user-workspace/guards/upload-profile-picture-permission.guard.ts`.
    pub async fn upload_member_picture(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> Result<MemberPicture, TargetError> {
        local_file_size(path).await?;
        check_mime(mime)?;
        let operations = json!({ "query": UPLOAD_MEMBER_PICTURE, "variables": { "file": null } });
        let mut call = Call::new(Method::POST, "/metadata".into());
        call.graphql = true;
        call.body = CallBody::Upload(Upload {
            operations: operations.to_string(),
            file_name: file_name.to_owned(),
            mime: mime.to_owned(),
            source: UploadSource::Path(path.to_owned()),
        });
        let data = self.call(&call, graphql_data).await?;
        let file = data
            .get("uploadWorkspaceMemberProfilePicture")
            .ok_or_else(|| {
                TargetError::Protocol(
                    "upload answer has no uploadWorkspaceMemberProfilePicture".into(),
                )
            })?;
        let id = file
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| TargetError::Protocol("picture upload answer has no id".into()))?;
        let avatar_url = match file.get("url").and_then(Value::as_str) {
            Some(url) => url.split('?').next().unwrap_or(url).to_owned(),
            None => format!(
                "{}/file/core-picture/{id}",
                self.base_url().trim_end_matches('/')
            ),
        };
        debug!("member picture uploaded");
        Ok(MemberPicture {
            id: id.to_owned(),
            avatar_url,
        })
    }

    /// Sets fields of a workspace member: `updateWorkspaceMemberSettings(input:
    /// {workspaceMemberId, update})` on `/metadata`, answering `true`. Standard fields only
    /// (`assertWorkspaceMemberUpdateUsesNonCustomFieldsOnly`); an API key needs the Workspace
    /// Members permission. Idempotent.
    ///
    /// Source: `engine/core-modules/user/user.resolver.ts`.
    pub async fn update_member_settings(
        &self,
        member: Uuid,
        update: Value,
    ) -> Result<(), TargetError> {
        self.graphql(
            UPDATE_MEMBER_SETTINGS,
            json!({ "input": { "workspaceMemberId": member.to_string(), "update": update } }),
        )
        .await?;
        Ok(())
    }

    /// Downloads a file by the signed `url` a FILES value carries and returns its size in
    /// bytes. The token in the URL is the credential (2.21's `/file/files-field/<id>?token=`,
    /// `file-url.service.ts`), so no key is sent: the URL may point at another host. Logs and
    /// errors name the URL without its query.
    pub async fn download_size(&self, url: &str) -> Result<u64, TargetError> {
        let label = url.split(['?', '#']).next().unwrap_or_default();
        let label = label
            .strip_prefix(self.base_url())
            .unwrap_or(label)
            .to_owned();
        let mut call = Call::new(Method::GET, label);
        call.url = Some(url.to_owned());
        call.auth = false;
        self.call(&call, |body| Ok(body.len() as u64)).await
    }
}
