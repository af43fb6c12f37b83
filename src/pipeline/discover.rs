//! Discover and plan: reads the source (workspace, model, counts, members) and the target
//! (model, members) in one read-only snapshot, and builds the plan. Writes nothing anywhere.

use std::collections::{BTreeMap, HashMap};

use super::{
    target_err, BatchSize, DeletedPolicy, MigrateError, MigrateOptions, DEFAULT_MAX_BATCH,
};
use crate::destination::{Destination, TargetModel};
use crate::model::{Model, Object};
use crate::plan::{self, Member, Plan, PlanInput};
use crate::schema_sync::{self, SchemaDiff};
use crate::source::{Source, WorkspaceInfo};
use crate::state::Fingerprint;

/// What `plan` shows and `migrate` executes, with everything read to make it.
pub struct Prepared {
    /// The source session (read-only snapshot open).
    pub source: Source,
    /// The chosen workspace.
    pub workspace: WorkspaceInfo,
    /// The source model.
    pub model: Model,
    /// The target's model, as a [`Model`].
    pub target_model: Model,
    /// The target's model as read, for the data model sync to start from.
    pub target_read: TargetModel,
    /// The target's members.
    pub target_members: Vec<Member>,
    /// The target members' own pictures (`avatarUrl` without its token), by member id, as read
    /// with them: a member picture never replaces one.
    pub target_avatars: TargetAvatars,
    /// The plan.
    pub plan: Plan,
    /// The source's clock when the snapshot began: every write committed before it is read.
    pub watermark: chrono::DateTime<chrono::Utc>,
    /// What the data model sync creates before the records (empty with `--no-schema`).
    pub schema: SchemaDiff,
    /// Live source members with a picture (`avatarUrl`), given to their target members after
    /// the records ([`super::files::Files::move_member_pictures`]).
    pub member_pictures: Vec<super::files::SourcePicture>,
}

/// Target member id → its picture's URL, without the token a 2.x server signs it with.
pub type TargetAvatars = HashMap<uuid::Uuid, String>;

/// Reads source and target and builds the plan. Writes nothing anywhere.
pub async fn prepare<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
) -> Result<Prepared, MigrateError> {
    prepare_with(opts, target, None).await
}

/// [`prepare`], with the target's members when they were already read in this run (a data
/// model sync does not change them).
pub(super) async fn prepare_with<D: Destination>(
    opts: &MigrateOptions,
    target: &D,
    target_members: Option<(Vec<Member>, TargetAvatars)>,
) -> Result<Prepared, MigrateError> {
    let source = Source::connect(&opts.source_url)
        .await?
        .with_jobs(opts.source_jobs);
    source.begin_snapshot().await?;
    let watermark = source.snapshot_time().await?;
    let workspace = source.choose_workspace(opts.workspace.as_deref()).await?;
    if workspace.layout.layout == crate::source::Layout::Unknown {
        return Err(MigrateError::Unsupported(format!(
            "workspace {} has a database layout this tool does not know: {} (recorded version {})",
            workspace.label(),
            workspace.layout.notes.join("; "),
            workspace.version.as_deref().unwrap_or("none")
        )));
    }
    let client = source.client();
    let model = crate::source::metadata::read_model(client, &workspace).await?;
    let pool = source.snapshot_pool().await?;
    let counts = crate::source::counts::count_all(pool, &workspace.schema, &model.objects).await?;
    let read_members =
        crate::source::members::read_members(client, &workspace.schema, &model).await?;
    let member_pictures = read_members
        .iter()
        .filter(|m| !m.deleted)
        .filter_map(|m| {
            Some(super::files::SourcePicture {
                member: m.id,
                email: m.email.clone(),
                avatar_url: m.avatar_url.clone()?,
            })
        })
        .collect();
    let source_members: Vec<Member> = read_members
        .into_iter()
        .map(|m| Member {
            id: m.id,
            email: m.email,
            name: format!(
                "{} {}",
                m.first_name.unwrap_or_default(),
                m.last_name.unwrap_or_default()
            )
            .trim()
            .to_owned(),
        })
        .collect();

    let target_read = target
        .model()
        .await
        .map_err(target_err("reading the target's data model"))?;
    let target_model = target_read.to_model();
    // Data model sync: plan the records against the target as it will be once the diff is
    // applied; `migrate` applies it and prepares again against the real result.
    let schema = if opts.schema.sync {
        let details = crate::source::details::read_details(client, &workspace).await?;
        schema_sync::diff(&model, &target_model, &details, &opts.schema)
    } else {
        SchemaDiff::default()
    };
    let planned_target = schema.plan_view(&target_model, &model);
    let (target_members, target_avatars) = match target_members {
        Some(read) => read,
        None => {
            let read = target
                .members()
                .await
                .map_err(target_err("reading the target's workspace members"))?;
            let avatars = read
                .iter()
                .filter_map(|m| {
                    let url = m.avatar_url.as_deref()?;
                    let url = url.split('?').next().unwrap_or_default().trim();
                    (!url.is_empty()).then(|| (m.id, url.to_owned()))
                })
                .collect();
            let members = read
                .into_iter()
                .map(|m| Member {
                    id: m.id,
                    email: m.user_email,
                    name: m.name.unwrap_or_default(),
                })
                .collect();
            (members, avatars)
        }
    };

    let batch = match opts.batch_size {
        BatchSize::Auto => DEFAULT_MAX_BATCH,
        BatchSize::Fixed(n) => n,
    };
    let no_refs = HashMap::new();
    let planned_source = schema_sync::planned_source(&model, &opts.schema);
    let mut input = PlanInput {
        source: &planned_source,
        target: &planned_target,
        counts: &counts,
        source_members: &source_members,
        target_members: &target_members,
        member_references: &no_refs,
        unmatched: &opts.unmatched,
        keep_deleted: opts.deleted == DeletedPolicy::Keep,
        batch_size: batch,
        requests_per_minute: opts.requests_per_minute,
        config: opts.config,
    };
    // First pass decides which objects move; their member references are then counted.
    let draft = plan::build(&input);
    let moved: Vec<&Object> = draft
        .objects
        .iter()
        .filter_map(|p| model.object(&p.object))
        .collect();
    let refs = crate::source::counts::member_references(
        client,
        &workspace.schema,
        &moved,
        opts.deleted == DeletedPolicy::Keep,
    )
    .await?;
    input.member_references = &refs;
    let mut plan = plan::build(&input);
    schema.rename_keys(&mut plan);
    plan.blockers.extend(schema.blockers());
    Ok(Prepared {
        source,
        workspace,
        model,
        target_model,
        target_read,
        target_members,
        target_avatars,
        plan,
        schema,
        member_pictures,
        watermark,
    })
}

/// What a ledger belongs to: a resumed run must have the same source, workspace, target and
/// options.
pub(super) fn fingerprint<D: Destination>(
    opts: &MigrateOptions,
    prepared: &Prepared,
    target: &D,
) -> Fingerprint {
    Fingerprint {
        source: prepared.source.target().to_owned(),
        workspace: prepared.workspace.id,
        target: target.base_url().to_owned(),
        options: BTreeMap::from([
            ("deleted".to_owned(), format!("{:?}", opts.deleted)),
            (
                "unmatched-members".to_owned(),
                format!("{:?}", opts.unmatched),
            ),
        ]),
    }
}
