//! `/metadata` GraphQL: objects, fields, and file uploads.

use std::sync::Arc;

use axum::Router;

use super::Shared;

/// The `/metadata` routes.
pub(super) fn router(_shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
}
