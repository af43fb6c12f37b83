//! Workspace-member pictures: members are matched by email, not copied, so a source member's
//! `avatarUrl` is given to its target member after the records. Twenty 2.x takes it in two
//! requests on `/metadata`: `uploadWorkspaceMemberProfilePicture(file)` stores the bytes under
//! `core-picture/` (`file-core-picture.resolver.ts`), then `updateWorkspaceMemberSettings(input:
//! {workspaceMemberId, update: {avatarUrl}})` points the member at it (`user.resolver.ts`), with
//! the URL the front stores (`<server>/file/core-picture/<id>`, `WorkspaceMemberPictureUploader.tsx`).
//! Both need an API key whose role has the Workspace Members permission
//! (`upload-profile-picture-permission.guard.ts`, and the check in `updateWorkspaceMemberSettings`).
//!
//! Where the source keeps the bytes, by the form of its `avatarUrl`:
//! - `<server>/file/core-picture/<fileId>` (2.x): the `core.file` row `fileId`;
//! - a path such as `profile-picture/original/<name>.png` (before 1.18), or a URL with
//!   `/files/<path>`: `workspace-<workspaceId>/<path>`;
//! - any other URL (a picture hosted elsewhere, e.g. by Google): no bytes, the URL itself is set.
//!
//! Both steps are in the ledger: the upload under `member-picture:<storage key>` (uploads are
//! not idempotent), the update under `member-avatar:<target member id>`, so a rerun sends
//! neither again. A target member that already has a picture of its own keeps it (setting ours
//! would also make the target delete its file, `workspace-member-avatar-file-deletion.listener.ts`),
//! unless it is the one an earlier run uploaded for it.

use serde_json::json;
use uuid::Uuid;

use super::{Files, FilesError};
use crate::destination::{Destination, TargetError};
use crate::source::file_store::{file_name, Location, Missing};
use crate::source::storage;
use crate::transform::{MemberMap, MemberTarget};

/// A live source member with a picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePicture {
    /// The source member's id.
    pub member: Uuid,
    /// Its email, to name it in the report.
    pub email: Option<String>,
    /// Its `avatarUrl`.
    pub avatar_url: String,
}

impl SourcePicture {
    /// The member as the report names it.
    fn label(&self) -> String {
        match &self.email {
            Some(e) => e.clone(),
            None => self.member.to_string(),
        }
    }
}

/// Where a source picture's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PictureSource {
    /// A `core.file` row (2.x `core-picture`).
    Core(Uuid),
    /// A key under the storage root (before 1.18).
    Key(String),
    /// A picture hosted elsewhere: the URL is set as it is.
    Elsewhere(String),
}

/// Reads where a source `avatarUrl` keeps its picture.
fn picture_source(raw: &str, workspace: Uuid) -> Option<PictureSource> {
    let raw = raw.trim();
    if let Some(i) = raw.find("/file/core-picture/") {
        let rest = &raw[i + "/file/core-picture/".len()..];
        let id = rest.split(['?', '.', '/']).next().unwrap_or(rest);
        return id.parse().ok().map(PictureSource::Core);
    }
    if raw.contains("://") && !raw.contains("/files/") {
        return Some(PictureSource::Elsewhere(raw.to_owned()));
    }
    let relative = storage::legacy_relative_path(raw)?;
    Some(PictureSource::Key(format!(
        "workspace-{workspace}/{relative}"
    )))
}

/// Why one member's picture did not move, for the report.
const SET_IT_AGAIN: &str = "the member, or an admin, sets it again in Settings > Members";

impl<D: Destination> Files<'_, D> {
    /// Gives each matched target member its source member's picture, unless `existing` (the
    /// target members' pictures as read before the records) has one of its own; what cannot
    /// move is a report note naming the member. A refusal for the API key's permissions stops the step
    /// (no later picture would pass) and names every member left.
    pub async fn move_member_pictures(
        &mut self,
        pictures: &[SourcePicture],
        members: &MemberMap,
        existing: &crate::pipeline::discover::TargetAvatars,
    ) -> Result<(), FilesError> {
        for (i, picture) in pictures.iter().enumerate() {
            let Some(MemberTarget::Member(target)) = members.members.get(&picture.member) else {
                self.notes.push(format!(
                    "workspaceMember {}: picture not moved: no target member has this email",
                    picture.label()
                ));
                continue;
            };
            let own = existing.get(target).map(String::as_str);
            match self.move_member_picture(picture, *target, own).await? {
                Ok(()) => {}
                Err(MemberRefusal::Kept) => self.notes.push(format!(
                    "workspaceMember {}: picture not moved: the target member has a picture of its own, which is kept",
                    picture.label()
                )),
                Err(MemberRefusal::Note(why)) => self.notes.push(format!(
                    "workspaceMember {}: picture not moved: {why}; {SET_IT_AGAIN}",
                    picture.label()
                )),
                Err(MemberRefusal::Forbidden(message)) => {
                    let left: Vec<String> =
                        pictures[i..].iter().map(SourcePicture::label).collect();
                    self.notes.push(format!(
                        "workspaceMember.avatarUrl: {} member pictures not moved ({}): the target refused the API key ({message}); uploading a member's picture needs a role with the Workspace Members permission (upload-profile-picture-permission.guard.ts); give the key's role that permission and run again, or {SET_IT_AGAIN}",
                        left.len(),
                        left.join(", ")
                    ));
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Moves one picture unless the ledger says it was set, or the target member has one of
    /// its own (`existing`, without its token), which is kept.
    async fn move_member_picture(
        &mut self,
        picture: &SourcePicture,
        target: Uuid,
        existing: Option<&str>,
    ) -> Result<Result<(), MemberRefusal>, FilesError> {
        let done_key = format!("member-avatar:{target}");
        if self.ledger.uploaded_file(&done_key)?.is_some() {
            self.counts.member_pictures_reused += 1;
            return Ok(Ok(()));
        }
        let Some(source) = picture_source(&picture.avatar_url, self.workspace_id) else {
            return Ok(Err(MemberRefusal::Note(format!(
                "{} is not a picture path",
                picture.avatar_url
            ))));
        };
        // Where the bytes are (a storage key and its type), or the URL to set as it is.
        let file = match source {
            PictureSource::Elsewhere(url) => Err(url),
            PictureSource::Core(id) => {
                let found =
                    storage::core_files_among(self.client, &self.workspace, Some(&[id])).await?;
                let Some(file) = found.get(&id).cloned() else {
                    return Ok(Err(MemberRefusal::Note(format!(
                        "core.file has no row {id}"
                    ))));
                };
                // The source server serves it by id (`/file/core-picture/<id>`).
                self.storage.read_signing_key(self.client).await?;
                self.core = found;
                self.storage.for_workspace(self.workspace_id, &self.core);
                Ok((file.key, file.mime))
            }
            PictureSource::Key(key) => {
                let mime = mime_guess::from_path(&key)
                    .first_or_octet_stream()
                    .to_string();
                Ok((key, mime))
            }
        };
        if let Some(existing) = existing {
            // Ours when an earlier run set it and stopped before the ledger said so.
            let ours = match &file {
                Err(url) => url == existing,
                Ok((key, _)) => self
                    .ledger
                    .uploaded_file(&format!("member-picture:{key}"))?
                    .is_some_and(|url| url == existing),
            };
            if !ours {
                return Ok(Err(MemberRefusal::Kept));
            }
            self.ledger.record_upload(&done_key, existing, 0)?;
            self.counts.member_pictures_reused += 1;
            return Ok(Ok(()));
        }
        let avatar_url = match file {
            Err(url) => url,
            Ok((key, mime)) => match self.upload_member_picture(picture, &key, &mime).await? {
                Ok(url) => url,
                Err(refused) => return Ok(Err(refused)),
            },
        };
        if let Err(err) = self
            .target
            .update_member_settings(target, json!({ "avatarUrl": avatar_url }))
            .await
        {
            return refusal(err, picture, &picture.avatar_url);
        }
        self.ledger.record_upload(&done_key, &avatar_url, 0)?;
        self.counts.member_pictures += 1;
        tracing::debug!(member = %target, "member picture set");
        Ok(Ok(()))
    }

    /// Uploads the picture at `key` unless the ledger has it; the `avatarUrl` to set.
    async fn upload_member_picture(
        &mut self,
        picture: &SourcePicture,
        key: &str,
        mime: &str,
    ) -> Result<Result<String, MemberRefusal>, FilesError> {
        let ledger_key = format!("member-picture:{key}");
        if let Some(url) = self.ledger.uploaded_file(&ledger_key)? {
            return Ok(Ok(url));
        }
        let (location, size) = match self.storage.locate(key).await? {
            Ok(found) => found,
            Err(Missing { path, why }) => {
                return Ok(Err(MemberRefusal::Note(format!(
                    "{path} is missing ({why})"
                ))))
            }
        };
        let path = location.display(&self.storage);
        let limit = self.options.max_file_size;
        if size > limit {
            return Ok(Err(MemberRefusal::Note(format!(
                "the file {path} is {size} bytes, over the limit of {limit} bytes (--max-file-size)"
            ))));
        }
        if self.cancel.is_cancelled() {
            return Err(FilesError::Interrupted);
        }
        let (local, temp) = match &location {
            Location::Local(p) => (p.clone(), None),
            Location::Object(object) => {
                let temp = self.storage.download(object).await?;
                (temp.0.clone(), Some(temp))
            }
        };
        let size = tokio::fs::metadata(&local).await.map_or(size, |m| m.len());
        let uploaded = self
            .target
            .upload_member_picture(&local, &file_name(key), mime)
            .await;
        drop(temp);
        let uploaded = match uploaded {
            Ok(u) => u,
            Err(err) => return refusal(err, picture, &path),
        };
        // Recorded before the member is pointed at it: a rerun reuses it.
        self.ledger
            .record_upload(&ledger_key, &uploaded.avatar_url, size)?;
        self.counts.bytes += size;
        Ok(Ok(uploaded.avatar_url))
    }
}

/// Why one picture did not move.
enum MemberRefusal {
    /// This picture only: a note naming the member.
    Note(String),
    /// The API key may not set pictures: no later one would pass.
    Forbidden(String),
    /// The target member has a picture of its own.
    Kept,
}

/// Sorts a failed request: the file's fault, the key's permissions, or fatal.
fn refusal<T>(
    err: TargetError,
    picture: &SourcePicture,
    path: &str,
) -> Result<Result<T, MemberRefusal>, FilesError> {
    use crate::destination::Disposition;
    if let TargetError::Forbidden { message, .. } = &err {
        return Ok(Err(MemberRefusal::Forbidden(message.clone())));
    }
    match err.disposition() {
        Disposition::RejectRecords | Disposition::Shrink => Ok(Err(MemberRefusal::Note(format!(
            "the target refused it: {err}"
        )))),
        Disposition::RetryLater | Disposition::Stop => Err(FilesError::Upload {
            object: "workspaceMember".to_owned(),
            id: picture.member,
            path: path.to_owned(),
            source: err,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picture_urls_name_their_storage() {
        let ws = Uuid::nil();
        let id = Uuid::new_v4();
        assert_eq!(
            picture_source(&format!("https://crm.example/file/core-picture/{id}"), ws),
            Some(PictureSource::Core(id))
        );
        assert_eq!(
            picture_source(&format!("http://h/file/core-picture/{id}?token=x"), ws),
            Some(PictureSource::Core(id))
        );
        assert_eq!(
            picture_source("profile-picture/original/a.png", ws),
            Some(PictureSource::Key(format!(
                "workspace-{ws}/profile-picture/original/a.png"
            )))
        );
        assert_eq!(
            picture_source("https://lh3.googleusercontent.com/a/x", ws),
            Some(PictureSource::Elsewhere(
                "https://lh3.googleusercontent.com/a/x".to_owned()
            ))
        );
        assert_eq!(picture_source(" ", ws), None);
    }
}
