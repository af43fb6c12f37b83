//! The fallback source of file bytes: the source server's own file endpoints, for an instance
//! whose storage folder or bucket cannot be reached directly.
//!
//! Twenty serves a file to whoever shows a token it signed (no session needed):
//! - before 1.18, `GET /files/<folder>/<filename>?token=<JWT>` reads
//!   `workspace-<workspaceId>/<folder>/<filename>`; `FilePathGuard`
//!   (`engine/core-modules/file/guards/file-path-guard.ts`) verifies the token and, in later
//!   versions, that its `filename` claim is the requested file's name;
//! - from 1.18, `GET /file/files-field/<fileId>?token=<JWT>`; `FileByIdGuard`
//!   (`file/guards/file-by-id.guard.ts`) verifies the token and that its `fileId` claim is the
//!   requested id.
//!
//! Both verify with `JwtWrapperService.verifyJwtToken(token, 'FILE')`
//! (`engine/core-modules/jwt/services/jwt-wrapper.service.ts`): an HS256 JWT whose key is
//! `generateAppSecret('FILE', workspaceId)`, the hex SHA-256 of `APP_SECRET + workspaceId +
//! "FILE"`, as `FileService.encodeFileToken` signs it. So with the server's `APP_SECRET` the tool
//! signs its own tokens. The secret is never printed, logged or stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long a token the tool signs stays valid (each is used at once).
const TOKEN_SECONDS: i64 = 3600;

/// The source server and the secret it signs file tokens with.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceServer {
    /// Base URL, e.g. `https://crm.example.com` (Twenty's `SERVER_URL`).
    pub url: String,
    /// Twenty's `APP_SECRET`.
    pub app_secret: String,
}

/// Shows the URL only: the secret signs tokens for every workspace of the instance.
impl std::fmt::Debug for SourceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceServer")
            .field("url", &self.url)
            .field("app_secret", &"<redacted>")
            .finish()
    }
}

/// What a file token is for: one legacy file name or one 1.18+ file id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileClaim<'a> {
    /// `filename` claim, for `/files/<folder>/<filename>`.
    Filename(&'a str),
    /// `fileId` claim, for `/file/files-field/<fileId>`.
    FileId(Uuid),
}

impl SourceServer {
    /// The token Twenty's file guards accept for `claim` in `workspace_id`.
    pub(crate) fn file_token(&self, workspace_id: Uuid, claim: FileClaim<'_>) -> String {
        let key = Sha256::digest(format!("{}{workspace_id}FILE", self.app_secret));
        let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let now = chrono::Utc::now().timestamp();
        let mut claims = serde_json::json!({
            "workspaceId": workspace_id.to_string(),
            "iat": now,
            "exp": now + TOKEN_SECONDS,
        });
        match claim {
            FileClaim::Filename(name) => claims["filename"] = name.into(),
            FileClaim::FileId(id) => claims["fileId"] = id.to_string().into(),
        }
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{payload}");
        let mut mac =
            hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
        mac.update(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// The URL of a storage key, without its token (as messages show it) and with it; `None`
    /// for a 1.18+ key whose file id is unknown.
    pub(crate) fn file_url(
        &self,
        workspace_id: Uuid,
        key: &str,
        file_id: Option<Uuid>,
    ) -> Option<(String, reqwest::Url)> {
        let mut url = reqwest::Url::parse(self.url.trim_end_matches('/')).ok()?;
        let legacy_prefix = format!("workspace-{workspace_id}/");
        let claim = match (key.strip_prefix(&legacy_prefix), file_id) {
            (Some(rest), _) => {
                let mut segments = url.path_segments_mut().ok()?;
                segments.pop_if_empty().push("files");
                segments.extend(rest.split('/'));
                drop(segments);
                FileClaim::Filename(rest.rsplit('/').next().unwrap_or(rest))
            }
            (None, Some(id)) => {
                url.path_segments_mut().ok()?.pop_if_empty().extend([
                    "file",
                    "files-field",
                    &id.to_string(),
                ]);
                FileClaim::FileId(id)
            }
            (None, None) => return None,
        };
        let shown = url.to_string();
        url.query_pairs_mut()
            .append_pair("token", &self.file_token(workspace_id, claim));
        Some((shown, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> SourceServer {
        SourceServer {
            url: "https://crm.example.com/".into(),
            app_secret: "very-secret".into(),
        }
    }

    #[test]
    fn a_file_token_is_an_hs256_jwt_keyed_by_the_workspaces_file_secret() {
        let ws = Uuid::nil();
        let token = server().file_token(ws, FileClaim::Filename("a.pdf"));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["filename"], "a.pdf");
        assert_eq!(claims["workspaceId"], ws.to_string());
        // The key is the hex digest, used as text (jsonwebtoken takes the secret string).
        let key: String = Sha256::digest(format!("very-secret{ws}FILE"))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
            .expect("signature");
    }

    #[test]
    fn legacy_keys_map_to_files_paths_and_new_ones_to_files_field_ids() {
        let ws = Uuid::new_v4();
        let id = Uuid::new_v4();
        let (shown, url) = server()
            .file_url(ws, &format!("workspace-{ws}/attachment/x.pdf"), None)
            .unwrap();
        assert_eq!(shown, "https://crm.example.com/files/attachment/x.pdf");
        assert!(url.query().unwrap().starts_with("token="));
        let (shown, _) = server()
            .file_url(ws, &format!("{ws}/app/files-field/f/y.pdf"), Some(id))
            .unwrap();
        assert_eq!(
            shown,
            format!("https://crm.example.com/file/files-field/{id}")
        );
        assert!(server()
            .file_url(ws, &format!("{ws}/app/y.pdf"), None)
            .is_none());
        assert!(!format!("{:?}", server()).contains("very-secret"));
    }
}
