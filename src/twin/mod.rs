//! The twin: a local, faithful emulation of Twenty's current API (REST records, `/metadata`
//! GraphQL, files, `/client-config`, rate limits) for tests, benchmarks and rehearsals.
//!
//! Every rule it enforces names the Twenty source file it mirrors. It shares no code with the
//! tool's API client (`src/destination/`): a misreading of Twenty in one must not be copied into the
//! other. Start it in-process with [`TwinConfig`], or from the CLI with [`run`].

mod api_error;
mod config;
mod direct_upload;
mod faults;
mod filter;
mod input;
mod legacy_files;
mod limits;
mod member_pictures;
mod metadata;
mod rest;
mod schema;
mod sniff;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::cli::TwinArgs;

pub use config::{
    Agent, FieldPermission, NavigationMenuItem, ObjectPermission, PageLayout, PageLayoutTab,
    PageLayoutWidget, Role, View, ViewField, ViewFilter, ViewFilterGroup, ViewGroup, ViewSort,
    Webhook,
};
pub use direct_upload::{UploadOffer, UploadStep, UPLOAD_URL_TTL};
pub use faults::{Fault, FaultSpec, FaultWindow};
pub use legacy_files::file_token;
pub use limits::Rate;
pub use store::Member;

use faults::FaultDraw;
use limits::Limiter;
use store::Db;

/// Why the twin could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum TwinError {
    /// A flag or builder value is malformed.
    #[error("twin configuration: {0}")]
    Config(String),
    /// The members file could not be read.
    #[error("cannot read the members file {path}")]
    Members {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the twin server failed")]
    Serve(#[source] std::io::Error),
}

/// How to start a twin.
#[derive(Debug, Clone)]
pub struct TwinConfig {
    api_key: String,
    key_name: String,
    listen: String,
    members: Vec<Member>,
    max_batch: usize,
    rate_short: Option<Rate>,
    rate_long: Option<Rate>,
    faults: FaultSpec,
    files_dir: Option<PathBuf>,
    admin: bool,
    app_version: String,
    upload_offer: UploadOffer,
    upload_url_ttl: std::time::Duration,
    expire_upload_urls: u64,
    files_generation: FilesGeneration,
    members_permission: bool,
    key_role: KeyRole,
    lacking_field_types: Vec<String>,
    row_level_permissions: bool,
}

/// The role of the twin's API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyRole {
    /// Admin: every permission (a key made in Settings → APIs gets it by default).
    #[default]
    Admin,
    /// A custom role that reads records and settings but writes no record: record writes are
    /// refused with 403 `PERMISSION_DENIED` (`permissions.utils.ts`).
    ReadOnly,
}

/// The key's id as Twenty knows it: a Twenty API key token carries it as its JWT `jti`
/// (`api-key.service.ts`, `generateApiKeyToken`); any other key gets a stable made-up id.
fn key_id(key: &str) -> Uuid {
    use base64::Engine as _;
    key.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|c| c.get("jti")?.as_str()?.parse().ok())
        .unwrap_or_else(|| schema::stable_id("apiKey", key))
}

/// Which of Twenty's file generations the twin emulates (`target-api.md` §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilesGeneration {
    /// Files v2 (1.18+): FILES fields (`attachment.file`, `person.avatarFile`), uploads through
    /// `uploadFilesFieldFile` on `/metadata`.
    #[default]
    V2,
    /// ~0.4x–1.16: `uploadFile(file, fileFolder)` on `/graphql` returning `{path, token}`; the
    /// attachment keeps the path in `fullPath` with a `fileCategory`, a person its picture
    /// path in `avatarUrl`; no FILES fields.
    Mid,
    /// ≤ 0.3x: the same mutation answering a String, `<path>?token=<token>`; the attachment
    /// has `fullPath` but no `fileCategory` (its `type` is not emulated).
    Old,
}

impl FilesGeneration {
    /// Parses `v2` or `mid`.
    pub fn parse(s: &str) -> Result<Self, TwinError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v2" | "new" => Ok(Self::V2),
            "mid" | "legacy" => Ok(Self::Mid),
            "old" => Ok(Self::Old),
            other => Err(TwinError::Config(format!(
                "--files-generation takes v2, mid or old, not `{other}`"
            ))),
        }
    }
}

impl TwinConfig {
    /// A twin accepting `api_key`, on an ephemeral localhost port, with Twenty's defaults: batch
    /// cap 200, no rate limit, no faults, no members, admin dump on.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            key_name: "twenty-migrate".into(),
            listen: "127.0.0.1:0".into(),
            members: Vec::new(),
            max_batch: 200,
            rate_short: None,
            rate_long: None,
            faults: FaultSpec::none(),
            files_dir: None,
            admin: true,
            app_version: "2.44.0".into(),
            upload_offer: UploadOffer::default(),
            upload_url_ttl: UPLOAD_URL_TTL,
            expire_upload_urls: 0,
            files_generation: FilesGeneration::V2,
            members_permission: true,
            key_role: KeyRole::Admin,
            lacking_field_types: Vec::new(),
            row_level_permissions: false,
        }
    }

    /// The address to listen on (`127.0.0.1:0` for an ephemeral port).
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = addr.into();
        self
    }

    /// The API key's display name, written into `createdBy.name`.
    pub fn key_name(mut self, name: impl Into<String>) -> Self {
        self.key_name = name.into();
        self
    }

    /// The workspace members.
    pub fn members(mut self, members: Vec<Member>) -> Self {
        self.members = members;
        self
    }

    /// Twenty's QUERY_MAX_RECORDS: largest batch and page.
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n;
        self
    }

    /// The short-window bucket: `limit` requests per `window_ms` (both at least 1).
    pub fn rate_short(mut self, limit: u32, window_ms: u64) -> Self {
        self.rate_short = Some(Rate {
            limit: limit.max(1),
            window: std::time::Duration::from_millis(window_ms.max(1)),
        });
        self
    }

    /// The long-window bucket: `limit` requests per `window_ms` (both at least 1).
    pub fn rate_long(mut self, limit: u32, window_ms: u64) -> Self {
        self.rate_long = Some(Rate {
            limit: limit.max(1),
            window: std::time::Duration::from_millis(window_ms.max(1)),
        });
        self
    }

    /// Fault injection.
    pub fn faults(mut self, spec: FaultSpec) -> Self {
        self.faults = spec;
        self
    }

    /// Keep uploaded files under this folder instead of in memory.
    pub fn files_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.files_dir = Some(dir.into());
        self
    }

    /// Whether the API key's role has the Workspace Members permission, which uploading and
    /// setting a member's picture need (`upload-profile-picture-permission.guard.ts`,
    /// `updateWorkspaceMemberSettings` in `user.resolver.ts`); on by default (an Admin key).
    pub fn members_permission(mut self, on: bool) -> Self {
        self.members_permission = on;
        self
    }

    /// The API key's role (Admin by default).
    pub fn api_key_role(mut self, role: KeyRole) -> Self {
        self.key_role = role;
        self
    }

    /// Whether the workspace has row-level permissions, an Enterprise feature (a valid
    /// enterprise key and the billing entitlement `RLS`): off by default, as on a self-hosted
    /// server without a key, where `upsertRowLevelPermissionPredicates` is refused
    /// (`row-level-permission-predicate.service.ts`, `hasRowLevelPermissionFeatureOrThrow`).
    pub fn row_level_permissions(mut self, on: bool) -> Self {
        self.row_level_permissions = on;
        self
    }

    /// Emulates a version whose `FieldMetadataType` has no `type_name` (e.g. `RATING`):
    /// introspection does not list it and `createOneField` refuses it, as 2.21 refuses a
    /// value its enum lacks (`Value "X" does not exist in "FieldMetadataType" enum.`).
    pub fn lacking_field_type(mut self, type_name: impl Into<String>) -> Self {
        self.lacking_field_types.push(type_name.into());
        self
    }

    /// Serve `GET /__twin/dump`.
    pub fn admin(mut self, on: bool) -> Self {
        self.admin = on;
        self
    }

    /// The `appVersion` of `/client-config`.
    pub fn app_version(mut self, version: impl Into<String>) -> Self {
        self.app_version = version.into();
        self
    }

    /// Which file upload mutations `/metadata` offers (multipart "Files v2" by default).
    pub fn upload_offer(mut self, offer: UploadOffer) -> Self {
        self.upload_offer = offer;
        self
    }

    /// How long a direct upload's `uploadUrl` is accepted ([`UPLOAD_URL_TTL`] by default, as
    /// Twenty's `STORAGE_S3_PRESIGNED_URL_EXPIRES_IN`).
    pub fn upload_url_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.upload_url_ttl = ttl;
        self
    }

    /// Hands out upload URLs that have expired already: the first `createFileUpload` answer,
    /// then every `every`-th after it, gets a TTL of 0, as if its `PUT` came after the URL's
    /// time; the others keep the TTL. 0 (the default) expires none.
    pub fn expire_upload_urls(mut self, every: u64) -> Self {
        self.expire_upload_urls = every;
        self
    }

    /// The file generation to emulate; an older one also reports an `appVersion` of its era
    /// (1.16.0, 0.32.0) unless one is set afterwards.
    pub fn files_generation(mut self, generation: FilesGeneration) -> Self {
        self.files_generation = generation;
        match generation {
            FilesGeneration::V2 => {}
            FilesGeneration::Mid => self.app_version = "1.16.0".into(),
            FilesGeneration::Old => self.app_version = "0.32.0".into(),
        }
        self
    }

    /// Builds the config from the CLI flags.
    pub fn from_args(args: &TwinArgs) -> Result<Self, TwinError> {
        let mut config = Self::new(args.api_key.clone())
            .listen(args.listen.clone())
            .max_batch(args.max_batch)
            .admin(args.admin)
            .row_level_permissions(args.row_level_permissions);
        if args.max_batch == 0 {
            return Err(TwinError::Config("--max-batch must be at least 1".into()));
        }
        config.rate_short = args.rate_short.as_deref().map(Rate::parse).transpose()?;
        config.rate_long = args.rate_long.as_deref().map(Rate::parse).transpose()?;
        if let Some(spec) = &args.faults {
            config.faults = FaultSpec::parse(spec)?;
        }
        config.files_dir = args.files_dir.clone();
        config = config.files_generation(FilesGeneration::parse(&args.files_generation)?);
        if let Some(path) = &args.members {
            let text = std::fs::read_to_string(path).map_err(|source| TwinError::Members {
                path: path.clone(),
                source,
            })?;
            config.members = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| {
                    Member::parse(l)
                        .ok_or_else(|| TwinError::Config(format!("member line `{l}` has no email")))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(config)
    }

    /// Binds and starts serving in the background.
    pub async fn start(self) -> Result<Twin, TwinError> {
        let listener = TcpListener::bind(&self.listen)
            .await
            .map_err(|source| TwinError::Bind {
                addr: self.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| TwinError::Bind {
            addr: self.listen.clone(),
            source,
        })?;
        if let Some(dir) = &self.files_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| TwinError::Config(format!("files dir {}: {e}", dir.display())))?;
        }
        let base_url = format!("http://{addr}");
        let mut db = Db::new(&self.members);
        db.model.set_files_generation(self.files_generation);
        let config_state = config::fresh_state(&db.model, self.key_role);
        let shared = Arc::new(Shared {
            db: Mutex::new(db),
            config_state: Mutex::new(config_state),
            limiter: Mutex::new(Limiter::new(self.rate_short, self.rate_long)),
            faults: Mutex::new(FaultDraw::new(self.faults.clone())),
            files: Mutex::new(HashMap::new()),
            direct: Mutex::new(HashMap::new()),
            direct_created: AtomicU64::new(0),
            hold: tokio::sync::watch::Sender::new(None),
            held: AtomicUsize::new(0),
            counters: Counters::default(),
            key_id: key_id(&self.api_key),
            base_url: base_url.clone(),
            config: self,
        });
        let app = rest::router(shared.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
        });
        Ok(Twin {
            addr,
            base_url,
            shared,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }
}

/// A running twin.
#[derive(Debug)]
pub struct Twin {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Twin {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The id of a member, as the twin assigned it.
    pub fn member_id(&self, email: &str) -> Uuid {
        Member::parse(email)
            .map(|m| m.id())
            .unwrap_or_else(Uuid::nil)
    }

    /// How many record writes (creates, updates and deletes through REST) the twin counted after
    /// the webhook `id` was created, or None when there is no such webhook. The twin never
    /// calls a webhook's URL; this count is what the user's endpoint would have been sent.
    pub fn webhook_writes_after(&self, id: Uuid) -> Option<u64> {
        config::webhook_writes_after(&self.shared, id)
    }

    /// The page layouts but the record pages (dashboards, standalone pages), with their tabs
    /// and widgets.
    pub fn dashboard_layouts(&self) -> Vec<PageLayout> {
        self.layouts(|t| t != config::PageLayoutType::RecordPage)
    }

    /// The record page layouts (`RECORD_PAGE`), with their tabs and widgets, deactivated ones
    /// included.
    pub fn record_page_layouts(&self) -> Vec<PageLayout> {
        self.layouts(|t| t == config::PageLayoutType::RecordPage)
    }

    fn layouts(&self, kind: impl Fn(config::PageLayoutType) -> bool) -> Vec<PageLayout> {
        lock(&self.shared.config_state)
            .page_layouts
            .iter()
            .filter(|l| kind(l.layout_type))
            .cloned()
            .collect()
    }

    /// The live (not soft-deleted) views as the API reads them (overrides applied).
    pub fn views(&self) -> Vec<View> {
        let state = lock(&self.shared.config_state);
        state
            .views
            .iter()
            .filter(|v| v.deleted_at.is_none())
            .map(View::effective)
            .collect()
    }

    /// The record-page sections of a view, in position order.
    pub fn view_field_groups(&self, view: Uuid) -> Vec<config::ViewFieldGroup> {
        let state = lock(&self.shared.config_state);
        let mut list: Vec<config::ViewFieldGroup> = state
            .view_field_groups
            .iter()
            .filter(|g| g.view_id.0 == view && g.deleted_at.is_none())
            .cloned()
            .collect();
        list.sort_by(|a, b| a.position.total_cmp(&b.position));
        list
    }

    /// Gives this twin the workspace id `id` (two twins stand for two workspaces of one
    /// server), and the ids `held` as taken by another workspace of that server: a
    /// configuration create with one of them fails as 2.21 fails it on the shared primary key.
    pub fn another_workspace_of_the_server(&self, id: Uuid, held: impl IntoIterator<Item = Uuid>) {
        let mut state = lock(&self.shared.config_state);
        state.workspace = Some(id);
        state.held_elsewhere.extend(held);
    }

    /// This twin's workspace id, as `currentWorkspace` answers it.
    pub fn workspace_id(&self) -> Uuid {
        lock(&self.shared.config_state).workspace()
    }

    /// Every configuration entity id this twin holds: views and their children, roles,
    /// webhooks, navigation items, dashboard tabs and widgets.
    pub fn configuration_ids(&self) -> Vec<Uuid> {
        let s = lock(&self.shared.config_state);
        let mut ids: Vec<Uuid> = s.views.iter().map(|v| v.id.0).collect();
        ids.extend(s.view_fields.iter().map(|x| x.id.0));
        ids.extend(s.view_filters.iter().map(|x| x.id.0));
        ids.extend(s.view_filter_groups.iter().map(|x| x.id.0));
        ids.extend(s.view_sorts.iter().map(|x| x.id.0));
        ids.extend(s.view_groups.iter().map(|x| x.id.0));
        ids.extend(s.view_field_groups.iter().map(|x| x.id.0));
        ids.extend(s.roles.iter().map(|x| x.id.0));
        ids.extend(s.webhooks.iter().map(|x| x.id.0));
        ids.extend(s.navigation_menu_items.iter().map(|x| x.id.0));
        ids.extend(
            s.rls_predicates
                .iter()
                .filter_map(|x| x.id.parse::<Uuid>().ok()),
        );
        ids.extend(
            s.rls_groups
                .iter()
                .filter_map(|x| x.id.parse::<Uuid>().ok()),
        );
        for layout in &s.page_layouts {
            for tab in &layout.tabs {
                ids.push(tab.id.0);
                ids.extend(tab.widgets.iter().map(|w| w.id.0));
            }
        }
        ids
    }

    /// The fields of a view, in position order.
    pub fn view_fields(&self, view: Uuid) -> Vec<ViewField> {
        let state = lock(&self.shared.config_state);
        let mut list: Vec<ViewField> = state
            .view_fields
            .iter()
            .filter(|f| f.view_id.0 == view)
            .cloned()
            .collect();
        list.sort_by(|a, b| a.position.total_cmp(&b.position));
        list
    }

    /// The groups of a view, in position order.
    pub fn view_groups(&self, view: Uuid) -> Vec<ViewGroup> {
        let state = lock(&self.shared.config_state);
        let mut list: Vec<ViewGroup> = state
            .view_groups
            .iter()
            .filter(|g| g.view_id.0 == view)
            .cloned()
            .collect();
        list.sort_by(|a, b| a.position.total_cmp(&b.position));
        list
    }

    /// The filter groups of a view.
    pub fn view_filter_groups(&self, view: Uuid) -> Vec<ViewFilterGroup> {
        lock(&self.shared.config_state)
            .view_filter_groups
            .iter()
            .filter(|g| g.view_id.0 == view && g.deleted_at.is_none())
            .cloned()
            .collect()
    }

    /// The filters and sorts of a view.
    pub fn view_filters_and_sorts(&self, view: Uuid) -> (Vec<ViewFilter>, Vec<ViewSort>) {
        let state = lock(&self.shared.config_state);
        (
            state
                .view_filters
                .iter()
                .filter(|f| f.view_id.0 == view)
                .cloned()
                .collect(),
            state
                .view_sorts
                .iter()
                .filter(|f| f.view_id.0 == view)
                .cloned()
                .collect(),
        )
    }

    /// The roles with their permissions.
    pub fn roles(&self) -> Vec<Role> {
        lock(&self.shared.config_state).roles.clone()
    }

    /// The live AI agents, the standard ones included.
    pub fn agents(&self) -> Vec<Agent> {
        let state = lock(&self.shared.config_state);
        state
            .agents
            .iter()
            .filter(|a| a.deleted_at.is_none())
            .cloned()
            .collect()
    }

    /// The webhooks.
    pub fn webhooks(&self) -> Vec<Webhook> {
        lock(&self.shared.config_state).webhooks.clone()
    }

    /// The navigation menu items.
    pub fn navigation_menu_items(&self) -> Vec<NavigationMenuItem> {
        lock(&self.shared.config_state)
            .navigation_menu_items
            .clone()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TwinStats {
        self.shared.counters.snapshot()
    }

    /// Holds every direct-upload request of `step` from now on, unapplied, until
    /// [`Twin::release`]: how a test stops a run (as a crash would) between two steps of its
    /// uploads. Not an emulation of Twenty.
    pub fn hold(&self, step: UploadStep) {
        self.shared.hold.send_replace(Some(step));
    }

    /// How many requests are being held now.
    pub fn held(&self) -> usize {
        self.shared.held.load(Ordering::SeqCst)
    }

    /// Lets the held requests go, refused (503) without being applied, and holds no more.
    pub fn release(&self) {
        self.shared.hold.send_replace(None);
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) -> Result<(), TwinError> {
        self.stop_and_wait().await
    }

    async fn stop_and_wait(&mut self) -> Result<(), TwinError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(result) => result.map_err(TwinError::Serve)?,
                Err(join) => {
                    return Err(TwinError::Serve(std::io::Error::other(join.to_string())));
                }
            }
        }
        Ok(())
    }
}

impl Drop for Twin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Counters of a running twin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TwinStats {
    /// Every request received.
    pub requests: u64,
    /// Requests per route kind (`create_many`, `find_many`, `metadata`, …).
    pub by_route: BTreeMap<String, u64>,
    /// 429 answers sent.
    pub rate_limited: u64,
    /// Faults injected.
    pub faults: u64,
    /// Records inserted.
    pub records_created: u64,
    /// Records updated (PATCH and upsert matches).
    pub records_updated: u64,
    /// Records soft-deleted or destroyed.
    pub records_deleted: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    faults: AtomicU64,
    created: AtomicU64,
    updated: AtomicU64,
    deleted: AtomicU64,
    by_route: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    fn snapshot(&self) -> TwinStats {
        TwinStats {
            requests: self.requests.load(Ordering::Relaxed),
            by_route: lock(&self.by_route).clone(),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            faults: self.faults.load(Ordering::Relaxed),
            records_created: self.created.load(Ordering::Relaxed),
            records_updated: self.updated.load(Ordering::Relaxed),
            records_deleted: self.deleted.load(Ordering::Relaxed),
        }
    }
}

/// An uploaded file.
#[derive(Debug, Clone)]
struct StoredFile {
    id: Uuid,
    name: String,
    path: String,
    mime: Option<String>,
    size: u64,
    created_at: String,
    field_metadata_id: Uuid,
    /// Bytes, unless kept on disk under the files dir.
    bytes: Option<Vec<u8>>,
}

/// State shared by the handlers.
#[derive(Debug)]
struct Shared {
    config: TwinConfig,
    db: Mutex<Db>,
    /// Views, roles, webhooks and navigation items (`config`); locked after `db` when both are.
    config_state: Mutex<config::State>,
    limiter: Mutex<Limiter>,
    faults: Mutex<FaultDraw>,
    files: Mutex<HashMap<Uuid, StoredFile>>,
    /// Direct uploads by file id, pending or completed.
    direct: Mutex<HashMap<Uuid, direct_upload::PendingUpload>>,
    /// `createFileUpload` answers given, for [`TwinConfig::expire_upload_urls`].
    direct_created: AtomicU64,
    /// The direct-upload step held for a test ([`Twin::hold`]).
    hold: tokio::sync::watch::Sender<Option<UploadStep>>,
    /// Requests held now.
    held: AtomicUsize,
    counters: Counters,
    key_id: Uuid,
    base_url: String,
}

impl Shared {
    /// Record writes so far: records created, updated and deleted (each would trigger a
    /// webhook of `*.created`, `*.updated` or `*.deleted`).
    fn record_writes(&self) -> u64 {
        self.counters.created.load(Ordering::Relaxed)
            + self.counters.updated.load(Ordering::Relaxed)
            + self.counters.deleted.load(Ordering::Relaxed)
    }
}

/// Locks a mutex, recovering the data if a handler panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves the twin from the CLI until Ctrl-C.
pub async fn run(args: TwinArgs) -> Result<(), TwinError> {
    let twin = TwinConfig::from_args(&args)?.start().await?;
    eprintln!("twin listening on {}", twin.base_url());
    let _ = tokio::signal::ctrl_c().await;
    twin.shutdown().await
}
