//! The instance's asymmetric signing key (Twenty 2.x), from which the tool signs the source
//! server's file tokens as the server itself does (`crate::source::server_files`).
//!
//! `core."signingKey"` (`engine/core-modules/jwt/entities/signing-key.entity.ts`) holds one row
//! per key: `id`, the `publicKey` (SPKI PEM), the `privateKey` (PKCS#8 PEM in an `enc:v2:`
//! envelope, `NULL` once rotated or revoked), `isCurrent` (unique where true) and `revokedAt`.
//! `JwtKeyManagerService.getCurrentSigningKey` signs with the row where `isCurrent` and not
//! `revokedAt` (`jwt/services/jwt-key-manager.service.ts`); it creates that row on the first
//! signature, so a 2.x instance that never signed anything may have the table and no row.

use tokio_postgres::Client;
use uuid::Uuid;

use super::{during, relation_exists, SourceError};

/// The current signing key's id and its still encrypted private key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// `signingKey.id`, the `kid` of every token signed with it.
    pub id: Uuid,
    /// `signingKey.privateKey`: `enc:v2:<keyId>:<base64>`, encrypted with the server's
    /// `ENCRYPTION_KEY`, else its `APP_SECRET`.
    pub private_key: String,
}

/// Shows the id only: the envelope is the private key, if encrypted.
impl std::fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("id", &self.id)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// The key the server signs with now, or `None` for an instance without signing keys
/// (before 2.x, or one that has signed nothing yet).
pub async fn current(client: &Client) -> Result<Option<StoredSigningKey>, SourceError> {
    if !relation_exists(client, "core.\"signingKey\"").await? {
        return Ok(None);
    }
    let row = client
        .query_opt(
            "SELECT id, \"privateKey\" FROM core.\"signingKey\" \
             WHERE \"isCurrent\" AND \"revokedAt\" IS NULL AND \"privateKey\" IS NOT NULL \
             LIMIT 1",
            &[],
        )
        .await
        .map_err(during("reading the instance signing key"))?;
    Ok(row.map(|r| StoredSigningKey {
        id: r.get(0),
        private_key: r.get(1),
    }))
}
