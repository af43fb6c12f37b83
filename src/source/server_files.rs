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
//! Both verify with `JwtWrapperService.verifyJwtToken`
//! (`engine/core-modules/jwt/services/jwt-wrapper.service.ts`), which changed with 2.x:
//! - before: `verifyJwtToken(token, 'FILE')`, an HS256 JWT whose key is
//!   `generateAppSecret('FILE', workspaceId)`, the hex SHA-256 of `APP_SECRET + workspaceId +
//!   "FILE"` (the type comes from the guard);
//! - 2.x (2.21 at least): a token whose header has `alg: ES256` and a `kid` is verified with
//!   the public key of that non-revoked row of `core."signingKey"` (`resolveVerificationKey`,
//!   `jwt/utils/is-asymmetric-jwt-header.util.ts`, `signing-key-entity-cache-provider.service.ts`);
//!   any other token still verifies as HS256, but keyed by `generateAppSecret(payload.type,
//!   workspaceId)`: the `type` claim must say `FILE`. The server signs its own file URLs with
//!   ES256 (`JwtWrapperService.signAsyncOrThrow`, `file/file-url/file-url.service.ts`: claims
//!   `workspaceId`, `fileId`, `sub`, `type: FILE`; header `kid`), so the tool does too when
//!   the source has a signing key ([`FileSigner::choose`]), and signs HS256 otherwise.
//!
//! The private key is kept encrypted (`SecretEncryptionService.encryptVersioned`,
//! `engine/core-modules/secret-encryption/`): `enc:v2:<keyId>:<base64(iv ‖ ciphertext ‖
//! tag)>`, AES-256-GCM with a 12-byte IV, keyed by HKDF-SHA256 of the server's
//! `ENCRYPTION_KEY` (else its `APP_SECRET`, `resolve-encryption-keys-or-throw.util.ts`), a
//! 32-byte zero salt and the info `twenty:enc:v2:instance` (`derive-gcm-key.util.ts`); `keyId`
//! is the first 8 hex digits of that key's SHA-256 (`compute-encryption-key-id.util.ts`).
//! The secret and the decrypted key are never printed, logged or stored.

use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::source::signing_key::StoredSigningKey;

/// How long a token the tool signs stays valid (each is used at once).
const TOKEN_SECONDS: i64 = 3600;

/// The prefix of an encrypted value (`secret-encryption.constant.ts`).
const ENVELOPE_V2_PREFIX: &str = "enc:v2:";

/// The HKDF info of instance-wide values such as signing keys (`secret-encryption.constant.ts`:
/// `SECRET_ENCRYPTION_HKDF_INFO_PREFIX` + `SECRET_ENCRYPTION_INSTANCE_CONTEXT`).
const INSTANCE_HKDF_INFO: &[u8] = b"twenty:enc:v2:instance";

/// AES-GCM's IV length in Twenty's envelope (`SECRET_ENCRYPTION_GCM_IV_LENGTH`).
const GCM_IV_LENGTH: usize = 12;

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

/// Why the source's signing key cannot sign; the tool then signs HS256 tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeyError {
    /// The private key is not in an `enc:v2:` envelope.
    #[error("its private key is not an enc:v2 envelope")]
    Envelope,
    /// The envelope's key id is not that of `APP_SECRET`.
    #[error("its private key is encrypted with another key (key id {0}) than this APP_SECRET: the secret is not the server's, or the server sets ENCRYPTION_KEY")]
    OtherKey(String),
    /// AES-GCM refused the ciphertext.
    #[error("its private key does not decrypt with this APP_SECRET")]
    Decrypt,
    /// The plaintext is not a P-256 key in PKCS#8 PEM.
    #[error("its private key is not a P-256 PKCS#8 key")]
    NotP256,
}

/// How the tool signs the source server's file tokens, chosen once per source.
#[derive(Clone)]
pub(crate) enum FileSigner {
    /// HS256 keyed by the hex SHA-256 of `APP_SECRET + workspaceId + "FILE"`.
    Hs256 {
        /// Twenty's `APP_SECRET`.
        app_secret: String,
    },
    /// ES256 with the instance's signing key, named by `kid`.
    Es256 {
        /// `core."signingKey".id`.
        kid: Uuid,
        /// The decrypted private key.
        key: Arc<EcdsaKeyPair>,
    },
}

/// Names the kind and key id only.
impl std::fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hs256 { .. } => f.write_str("Hs256"),
            Self::Es256 { kid, .. } => f.debug_struct("Es256").field("kid", kid).finish(),
        }
    }
}

impl FileSigner {
    /// ES256 with the source's current signing key when it has one (2.x), else HS256.
    pub(crate) fn choose(
        server: &SourceServer,
        key: Option<&StoredSigningKey>,
    ) -> Result<Self, SigningKeyError> {
        let Some(key) = key else {
            return Ok(Self::Hs256 {
                app_secret: server.app_secret.clone(),
            });
        };
        let pem = decrypt_envelope(&server.app_secret, &key.private_key)?;
        let der = pem_body(&pem).ok_or(SigningKeyError::NotP256)?;
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|_| SigningKeyError::NotP256)?;
        Ok(Self::Es256 {
            kid: key.id,
            key: Arc::new(pair),
        })
    }

    /// How messages name the tokens: their kind and key, never the key itself.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Hs256 { .. } => "an HS256 token keyed by APP_SECRET".into(),
            Self::Es256 { kid, .. } => {
                format!("an ES256 token signed with the source's signing key {kid} (core.\"signingKey\")")
            }
        }
    }

    /// The token Twenty's file guards accept for `claim` in `workspace_id`.
    pub(crate) fn file_token(&self, workspace_id: Uuid, claim: FileClaim<'_>) -> String {
        let now = chrono::Utc::now().timestamp();
        // The claims of `FileUrlService.buildSignedFileUrl`; `type` also picks the HS256 key
        // in 2.x, and older servers ignore the claims they do not read.
        let mut claims = serde_json::json!({
            "workspaceId": workspace_id.to_string(),
            "sub": workspace_id.to_string(),
            "type": "FILE",
            "iat": now,
            "exp": now + TOKEN_SECONDS,
        });
        match claim {
            FileClaim::Filename(name) => claims["filename"] = name.into(),
            FileClaim::FileId(id) => claims["fileId"] = id.to_string().into(),
        }
        let header = match self {
            Self::Hs256 { .. } => serde_json::json!({"alg": "HS256", "typ": "JWT"}),
            Self::Es256 { kid, .. } => {
                serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": kid.to_string()})
            }
        };
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match self {
            Self::Hs256 { app_secret } => {
                let key = hex(&Sha256::digest(format!("{app_secret}{workspace_id}FILE")));
                // jsonwebtoken takes the hex digest as the secret's text, not its bytes.
                let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes())
                    .expect("HMAC takes any key");
                mac.update(signed.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            // JWS wants ES256 signatures as r ‖ s (RFC 7518 §3.4), ring's FIXED encoding.
            Self::Es256 { key, .. } => key
                .sign(&ring::rand::SystemRandom::new(), signed.as_bytes())
                .expect("P-256 signing does not fail")
                .as_ref()
                .to_vec(),
        };
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The AES-256-GCM key that `secret` gives instance-wide values (`derive-gcm-key.util.ts`).
fn instance_gcm_key(secret: &str) -> ring::aead::LessSafeKey {
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[0; 32]).extract(secret.as_bytes());
    let okm = prk
        .expand(&[INSTANCE_HKDF_INFO], &ring::aead::AES_256_GCM)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    ring::aead::LessSafeKey::new(okm.into())
}

/// The plaintext of an instance-wide `enc:v2:` envelope encrypted with `secret`
/// (`SecretEncryptionService.decryptVersionedOrThrow`).
fn decrypt_envelope(secret: &str, envelope: &str) -> Result<String, SigningKeyError> {
    let (key_id, payload) = envelope
        .strip_prefix(ENVELOPE_V2_PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .ok_or(SigningKeyError::Envelope)?;
    // `pickEncryptionKeyByKeyIdOrThrow`: the id tells a wrong key before any decryption.
    if hex(&Sha256::digest(secret))[..8] != *key_id {
        return Err(SigningKeyError::OtherKey(key_id.to_owned()));
    }
    let mut sealed = STANDARD
        .decode(payload)
        .map_err(|_| SigningKeyError::Envelope)?;
    if sealed.len() < GCM_IV_LENGTH + ring::aead::AES_256_GCM.tag_len() {
        return Err(SigningKeyError::Envelope);
    }
    let mut in_out = sealed.split_off(GCM_IV_LENGTH);
    let nonce = ring::aead::Nonce::try_assume_unique_for_key(&sealed)
        .map_err(|_| SigningKeyError::Envelope)?;
    let plain = instance_gcm_key(secret)
        .open_in_place(nonce, ring::aead::Aad::empty(), &mut in_out)
        .map_err(|_| SigningKeyError::Decrypt)?;
    String::from_utf8(plain.to_vec()).map_err(|_| SigningKeyError::NotP256)
}

/// The DER bytes of a one-block PEM text.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    STANDARD.decode(body).ok()
}

impl SourceServer {
    /// The URL of a storage key, without its token (as messages show it) and with a token
    /// from `signer`; `None` for a 1.18+ key whose file id is unknown.
    pub(crate) fn file_url(
        &self,
        signer: &FileSigner,
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
                // `GET /file/:fileFolder/:id` (`file.controller.ts`): a member's picture is in
                // `core-picture/`, every other 1.18+ file in `files-field/`.
                let folder = if key.contains("/core-picture/") {
                    "core-picture"
                } else {
                    "files-field"
                };
                url.path_segments_mut().ok()?.pop_if_empty().extend([
                    "file",
                    folder,
                    &id.to_string(),
                ]);
                FileClaim::FileId(id)
            }
            (None, None) => return None,
        };
        let shown = url.to_string();
        url.query_pairs_mut()
            .append_pair("token", &signer.file_token(workspace_id, claim));
        Some((shown, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway P-256 key made by Node's crypto exactly as Twenty 2.21 makes and stores one
    /// (`jwt-key-manager.service.ts` `generateEcP256KeyPair`, then `encryptVersioned` with
    /// `APP_SECRET` "very-secret"), so decryption is checked against Twenty's own encoding.
    const NODE_ENVELOPE: &str = "enc:v2:b6441336:0n5ePHafJRC2dNQ0HJFLfq1AMi6v+T+OaiQVe6j2/vaw0hcEmphaWy9O+pd5LdAhru9mac/FTj880Qwse8iO5hNcoyFYoIj2ny1MeYXwG3vkyQSNgf2gBJkC4QmzKbhqWF4d4DBaDrs3lPTK6cLmSg5n3JqSlRdfU/hlWmcI2OjIuwbO+933vzpZCkdvZSB5e7ryRVF5aqcJupVnoXuZF2GkUcY1M2ry4bwLhnjShP3lOA5y4IJSS07fCRGL7/E6ukKc+6bxgD24dGu7pnm+Y0WTHz1/Rl50bfvRASfv5oSaMkzm0kOEx3cHZ6eQoOpG/xLhVMSQWX1ueo0mgKIp9d0/IzntxegKbupVKaM=";
    /// Its public key, SPKI DER in base64, as `signingKey.publicKey` holds it (without PEM lines).
    const NODE_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6GSKA/v/mQF6NvDNQSaaAg7p5OtzF9ZkgcJVq5CZ16v2tAvpxOE/ZUQ4zUJkx3eKD3NW8sfQW4Sj7ItFH2vJ6w==";

    fn server() -> SourceServer {
        SourceServer {
            url: "https://crm.example.com/".into(),
            app_secret: "very-secret".into(),
        }
    }

    fn parts(token: &str) -> (Value, Value, Vec<u8>) {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let json = |p: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
        (
            json(parts[0]),
            json(parts[1]),
            URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
    }

    use serde_json::Value;

    #[test]
    fn a_source_without_signing_key_gets_hs256_tokens_keyed_by_the_workspaces_file_secret() {
        let ws = Uuid::nil();
        let signer = FileSigner::choose(&server(), None).unwrap();
        let token = signer.file_token(ws, FileClaim::Filename("a.pdf"));
        let (header, claims, signature) = parts(&token);
        assert_eq!(header["alg"], "HS256");
        assert!(header.get("kid").is_none());
        assert_eq!(claims["filename"], "a.pdf");
        assert_eq!(claims["workspaceId"], ws.to_string());
        // 2.x keys HS256 tokens by the `type` claim (`generateAppSecret(payload.type, …)`).
        assert_eq!(claims["type"], "FILE");
        // The key is the hex digest, used as text (jsonwebtoken takes the secret string).
        let key = hex(&Sha256::digest(format!("very-secret{ws}FILE")));
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        let signed = token.rsplit_once('.').unwrap().0;
        mac.update(signed.as_bytes());
        mac.verify_slice(&signature).expect("signature");
    }

    #[test]
    fn a_signing_key_stored_by_twenty_signs_es256_tokens_its_public_key_verifies() {
        let ws = Uuid::new_v4();
        let file = Uuid::new_v4();
        let kid = Uuid::new_v4();
        let stored = StoredSigningKey {
            id: kid,
            private_key: NODE_ENVELOPE.into(),
        };
        let signer = FileSigner::choose(&server(), Some(&stored)).unwrap();
        let token = signer.file_token(ws, FileClaim::FileId(file));
        let (header, claims, signature) = parts(&token);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], kid.to_string());
        assert_eq!(claims["fileId"], file.to_string());
        assert_eq!(claims["type"], "FILE");
        assert_eq!(claims["sub"], ws.to_string());
        // The SPKI of a P-256 key ends with its 65-byte uncompressed point.
        let spki = STANDARD.decode(NODE_PUBLIC_KEY).unwrap();
        let point = &spki[spki.len() - 65..];
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(token.rsplit_once('.').unwrap().0.as_bytes(), &signature)
            .expect("the public key verifies the token");
        assert!(format!("{signer:?}").contains(&kid.to_string()));
        assert!(signer.describe().contains("ES256"));
    }

    #[test]
    fn a_signing_key_under_another_secret_is_refused_before_decryption_and_a_tampered_one_after() {
        let stored = StoredSigningKey {
            id: Uuid::new_v4(),
            private_key: NODE_ENVELOPE.into(),
        };
        let other = SourceServer {
            app_secret: "not-the-secret".into(),
            ..server()
        };
        assert_eq!(
            FileSigner::choose(&other, Some(&stored)).unwrap_err(),
            SigningKeyError::OtherKey("b6441336".into())
        );
        let mut tampered = stored.clone();
        tampered.private_key = NODE_ENVELOPE.replacen(":0n5e", ":1n5e", 1);
        assert_eq!(
            FileSigner::choose(&server(), Some(&tampered)).unwrap_err(),
            SigningKeyError::Decrypt
        );
        tampered.private_key = "-----BEGIN PRIVATE KEY-----".into();
        assert_eq!(
            FileSigner::choose(&server(), Some(&tampered)).unwrap_err(),
            SigningKeyError::Envelope
        );
        let message = SigningKeyError::OtherKey("b6441336".into()).to_string();
        assert!(!message.contains("very-secret"));
    }

    #[test]
    fn legacy_keys_map_to_files_paths_and_new_ones_to_files_field_ids() {
        let ws = Uuid::new_v4();
        let id = Uuid::new_v4();
        let signer = FileSigner::choose(&server(), None).unwrap();
        let (shown, url) = server()
            .file_url(
                &signer,
                ws,
                &format!("workspace-{ws}/attachment/x.pdf"),
                None,
            )
            .unwrap();
        assert_eq!(shown, "https://crm.example.com/files/attachment/x.pdf");
        assert!(url.query().unwrap().starts_with("token="));
        let (shown, _) = server()
            .file_url(
                &signer,
                ws,
                &format!("{ws}/app/files-field/f/y.pdf"),
                Some(id),
            )
            .unwrap();
        assert_eq!(
            shown,
            format!("https://crm.example.com/file/files-field/{id}")
        );
        let (shown, _) = server()
            .file_url(
                &signer,
                ws,
                &format!("{ws}/app/core-picture/{id}.png"),
                Some(id),
            )
            .unwrap();
        assert_eq!(
            shown,
            format!("https://crm.example.com/file/core-picture/{id}")
        );
        assert!(server()
            .file_url(&signer, ws, &format!("{ws}/app/y.pdf"), None)
            .is_none());
        assert!(!format!("{:?}", server()).contains("very-secret"));
        assert!(!format!("{signer:?}").contains("very-secret"));
    }
}
