//! Command-line interface: the raw clap parse. Nothing downstream reads these types directly;
//! each command turns them into its own validated options first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Move a self-hosted Twenty CRM workspace into Twenty Cloud (or any newer Twenty server).
///
/// Reads the self-hosted Postgres database directly (records, custom data model, workspace
/// members, attachments) and writes to the target through Twenty's API with batch upserts that
/// keep record ids, so a rerun is idempotent.
#[derive(Debug, Parser)]
#[command(name = "twenty-migrate", version, propagate_version = true)]
pub struct Cli {
    /// Log filter (e.g. `info`, `twenty_migrate=debug`); also read from RUST_LOG.
    #[arg(
        long,
        global = true,
        env = "TWENTY_MIGRATE_LOG",
        default_value = "warn"
    )]
    pub log: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the source database and describe it: workspaces, layout, objects, fields, members
    /// and attachments. Read-only.
    Inspect(InspectArgs),
    /// Show what `migrate` would do: object and member mapping, order, estimate. Writes nothing.
    Plan(PlanCommandArgs),
    /// Copy the workspace into the target.
    Migrate(MigrateArgs),
    /// Run the whole migration against a local twin of the target to surface every reject.
    Rehearse(RehearseArgs),
    /// Compare source and target, object by object and field by field.
    Verify(VerifyArgs),
    /// Serve a local, faithful emulation of Twenty's API (for tests, benchmarks, rehearsals).
    Twin(TwinArgs),
    /// Build a sample source database, start the twin and migrate into it.
    Demo(DemoArgs),
}

/// Where the self-hosted data comes from.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Postgres URL of the self-hosted Twenty database (read-only access is enough).
    #[arg(long, env = "TWENTY_SOURCE_URL", hide_env_values = true)]
    pub source: Option<String>,

    /// Workspace to move: id, subdomain or display name. Needed only when the instance holds
    /// several workspaces.
    #[arg(long, env = "TWENTY_WORKSPACE")]
    pub workspace: Option<String>,

    /// The source's local storage folder (Twenty's STORAGE_LOCAL_PATH, `.local-storage`),
    /// used to find attachment files.
    #[arg(long, env = "TWENTY_STORAGE_DIR")]
    pub storage_dir: Option<PathBuf>,

    /// The source's S3-compatible bucket (Twenty's STORAGE_S3_NAME), instead of a folder.
    /// Endpoint, region and credentials come from the standard AWS environment variables
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …).
    #[arg(long, env = "TWENTY_S3_BUCKET", conflicts_with = "storage_dir")]
    pub s3_bucket: Option<String>,

    /// An Azure Blob Storage container holding the source's files, instead of a folder. The
    /// account and credentials come from the environment: `AZURE_STORAGE_ACCOUNT_NAME`, and
    /// `AZURE_STORAGE_ACCOUNT_KEY` or `AZURE_STORAGE_SAS_TOKEN` (or `AZURE_STORAGE_CLIENT_ID`,
    /// `_CLIENT_SECRET`, `_TENANT_ID`); `AZURE_STORAGE_ENDPOINT` for another endpoint (with
    /// `AZURE_ALLOW_HTTP=true` for plain HTTP). Keys are never printed.
    #[arg(long, env = "TWENTY_AZURE_CONTAINER", conflicts_with_all = ["storage_dir", "s3_bucket"])]
    pub azure_container: Option<String>,

    /// The source server's URL (Twenty's SERVER_URL), to read the files through its own file
    /// endpoints when neither the storage folder nor the bucket is at hand. Needs the server's
    /// APP_SECRET, with which the tool signs file tokens as the server itself does (HS256, or ES256
    /// with the signing key it decrypts from a 2.x source database).
    #[arg(
        long,
        env = "TWENTY_SOURCE_SERVER",
        conflicts_with_all = ["storage_dir", "s3_bucket", "azure_container"],
        requires = "source_app_secret"
    )]
    pub source_server: Option<String>,

    /// The source server's APP_SECRET (for --source-server). Never printed, logged or stored;
    /// prefer the environment variable to the flag.
    #[arg(long, env = "TWENTY_SOURCE_APP_SECRET", hide_env_values = true)]
    pub source_app_secret: Option<String>,
}

/// Where the data goes.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Base URL of the target Twenty server, e.g. `https://api.twenty.com`.
    #[arg(long, env = "TWENTY_TARGET_URL")]
    pub target: Option<String>,

    /// API key of the target workspace. Never printed, logged or stored.
    #[arg(long, env = "TWENTY_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

/// Options of `inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The source.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Print JSON instead of text tables.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plan`, `rehearse` and `verify`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The source.
    #[command(flatten)]
    pub source: SourceArgs,

    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,

    /// Run options.
    #[command(flatten)]
    pub run: RunArgs,

    /// Print JSON instead of text tables.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanCommandArgs {
    /// Source, target and output format.
    #[command(flatten)]
    pub plan: PlanArgs,

    /// Estimate the next delta pass instead: what changed in the source since the last
    /// complete `migrate` recorded in the ledger (`--state`), the requests it needs and the
    /// minutes it takes at the rate limit. Reads only.
    #[arg(long)]
    pub delta: bool,

    /// The ledger of the earlier `migrate`, for `--delta` and for the pre-flight, which does
    /// not report as collisions the records that ledger wrote. Default:
    /// `twenty-migrate.state.sqlite` in the current folder.
    #[arg(long)]
    pub state: Option<PathBuf>,

    /// With `--delta`: count hard deletes as requests, as `migrate --propagate-deletes` sends them.
    #[arg(long)]
    pub propagate_deletes: bool,
}

/// Options of `migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Source, target and output format.
    #[command(flatten)]
    pub plan: PlanArgs,

    /// Where refused records are written, one JSON object a line.
    #[arg(long, default_value = "rejects.jsonl")]
    pub rejects: PathBuf,

    /// Also write the final report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,

    /// The ledger that makes the run resumable (SQLite). Default: next to the report, or
    /// `twenty-migrate.state.sqlite` in the current folder. Never holds the API key.
    #[arg(long)]
    pub state: Option<PathBuf>,

    /// Forget the ledger's progress and start over (records already in the target are
    /// upserted again, not duplicated).
    #[arg(long)]
    pub restart: bool,

    /// In a delta pass (a `migrate` after a complete one, same ledger), destroy in the target
    /// the records hard-deleted in the source since; without it they are only listed.
    #[arg(long)]
    pub propagate_deletes: bool,

    /// In a delta pass, overwrite records someone changed in the target since the last pass;
    /// without it they are left as they are and listed as conflicts.
    #[arg(long)]
    pub overwrite_target_changes: bool,
}

/// Options of `verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Source, target, run options (the same as the migrate run) and output format.
    #[command(flatten)]
    pub plan: PlanArgs,

    /// Compare this percentage of the records field by field (chosen by id, so reruns check
    /// the same ones); counts are always compared in full.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub sample: u8,

    /// After the comparison, print the go-live checklist of Twenty's migration guide: record
    /// counts, relations, member assignments, attachments open (a sample of the target's files
    /// downloaded), views, workflows and webhooks, roles and members, then what no tool can
    /// do (connected email/calendar accounts to reconnect, API integrations and the custom
    /// domain to repoint), each `[done]`, `[open]` or `[n/a]`. Exits 1 when a measured item is
    /// open; the items only a person can do stay open without failing the command.
    #[arg(long)]
    pub checklist: bool,

    /// The ledger `migrate` wrote (default `twenty-migrate.state.sqlite` in the current
    /// folder), read only: the configuration is compared with the target entities the run
    /// matched by natural key, and the checklist compares each downloaded attachment with the
    /// size it records. Without it, files are only checked to open.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// Options of `rehearse`.
#[derive(Debug, Clone, Args)]
pub struct RehearseArgs {
    /// Source, run options and output format (`--target`/`--api-key`, when given, are only
    /// read to copy the target's member emails into the twin).
    #[command(flatten)]
    pub migrate: MigrateArgs,

    /// The target's members, one a line (`email[,first name,last name]`). Without it the twin
    /// gets the real target's members when `--target` and `--api-key` are given, else the
    /// source's own members.
    #[arg(long)]
    pub members: Option<PathBuf>,

    /// The twin's batch cap (Twenty's QUERY_MAX_RECORDS).
    #[arg(long, default_value_t = 200)]
    pub max_batch: usize,
}

/// Options shared by `plan`, `migrate`, `rehearse` and `verify`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Records per request: `auto` starts at 200 (current Twenty's QUERY_MAX_RECORDS) and adopts
    /// the cap the target states; a number pins it.
    #[arg(long, default_value = "auto")]
    pub batch_size: String,

    /// Requests per minute; default 50 for Twenty Cloud (api.twenty.com), 100 otherwise.
    #[arg(long, value_name = "N/min")]
    pub rate_limit: Option<String>,

    /// References to source members with no target member (same email): stop at plan time
    /// (default), `null`, `ACTOR_NAME_ONLY`, or the email of a target member to use instead.
    #[arg(long, default_value = "stop")]
    pub unmatched_members: String,

    /// Soft-deleted source rows: `skip` (default, counted in the report) or `keep` (created,
    /// then soft-deleted in the target).
    #[arg(long, default_value = "skip")]
    pub deleted: String,

    /// Batches in flight at once; the rate limit still paces them. More hides the target's
    /// latency when each request takes longer than the interval between two.
    #[arg(long, default_value_t = 4)]
    pub in_flight: usize,

    /// How long the target may stay unavailable (5xx, timeouts, 429s after every retry) before
    /// the run stops with its progress saved; until then it pauses and sends the same request
    /// again, and never rejects a record for it. E.g. `90s`, `30m`, `2h`.
    #[arg(long, default_value = "30m", value_name = "DURATION", value_parser = parse_duration)]
    pub max_outage: std::time::Duration,

    /// Source sessions that read at once, all from one consistent snapshot of the source
    /// (as `pg_dump --jobs`); each is a read-only connection to the source database.
    #[arg(long, default_value_t = crate::source::snapshot::DEFAULT_JOBS, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub source_jobs: usize,

    /// The most records the target workspace may take (your plan's limit: Twenty announces
    /// none to an API key). The pre-flight stops the run, before its first write, when the
    /// records it writes exceed it.
    #[arg(long, value_name = "N")]
    pub target_record_limit: Option<u64>,

    /// Accept an invalid TLS certificate from the target (self-signed rehearsal servers only).
    #[arg(long)]
    pub insecure: bool,

    /// Count records whose file is missing from the source storage as skipped (rule
    /// `missing-file`) instead of rejecting them.
    #[arg(long)]
    pub skip_missing_files: bool,

    /// Files larger than this are rejected with the reason; default Twenty's own upload limit.
    #[arg(long, default_value = "100MB", value_name = "SIZE")]
    pub max_file_size: String,

    /// Do not create the source's custom objects, fields and select options in the target;
    /// fields the target lacks are then not written.
    #[arg(long)]
    pub no_schema: bool,

    /// Do not move the workspace configuration (views, roles and permissions, navigation,
    /// webhooks) nor write the runbook of what an API key cannot do.
    #[arg(long)]
    pub no_config: bool,

    /// Also create custom objects and fields that are inactive in the source, and migrate the
    /// records of inactive objects.
    #[arg(long)]
    pub include_inactive: bool,

    /// Do not recreate, as custom fields, the source's standard fields that the target's
    /// standard model no longer has (e.g. company.employees on Twenty 2.x); they are then not
    /// written.
    #[arg(long)]
    pub no_standard_fields: bool,
}

/// Options of `twin`.
#[derive(Debug, Clone, Args)]
pub struct TwinArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: String,

    /// The API key the twin accepts as `Authorization: Bearer <key>`.
    #[arg(long, env = "TWENTY_API_KEY", hide_env_values = true)]
    pub api_key: String,

    /// File of workspace members, one a line: an email, optionally followed by
    /// `,first name,last name`.
    #[arg(long)]
    pub members: Option<PathBuf>,

    /// Largest batch accepted (Twenty's QUERY_MAX_RECORDS).
    #[arg(long, default_value_t = 200)]
    pub max_batch: usize,

    /// Short-window rate limit as `N/MS` (e.g. `100/1000`); off when not set.
    #[arg(long)]
    pub rate_short: Option<String>,

    /// Long-window rate limit as `N/MS` (e.g. `100/60000`); off when not set.
    #[arg(long)]
    pub rate_long: Option<String>,

    /// Fault injection, e.g. `seed=7,500=0.02,503=0.01,slow=0.01:2000,reset=0.01,timeout=0.005`;
    /// an outage as `window=503:5000:60000` (every request answers 503 from 5 s after start,
    /// for 60 s).
    #[arg(long)]
    pub faults: Option<String>,

    /// Keep uploaded files under this folder instead of in memory.
    #[arg(long)]
    pub files_dir: Option<PathBuf>,

    /// Serve `GET /__twin/dump` (test-only; the tool never calls it).
    #[arg(long)]
    pub admin: bool,

    /// The file generation to emulate: `v2` (FILES fields, `uploadFilesFieldFile`), `mid`
    /// (`uploadFile` on `/graphql`, attachment `fullPath`, Twenty ~0.4x–1.16) or `old` (the same,
    /// answering a String path, ≤ 0.3x).
    #[arg(long, default_value = "v2")]
    pub files_generation: String,

    /// Accept row-level permission predicates, an Enterprise feature (a valid enterprise key
    /// and the plan's RLS entitlement); without it they are refused as a self-hosted server
    /// without a key refuses them.
    #[arg(long)]
    pub row_level_permissions: bool,
}

/// Options of `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many records to generate.
    #[arg(long, default_value_t = 2000)]
    pub records: usize,

    /// Seed of the data generator (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Source sessions that read at once, all from one consistent snapshot of the source
    /// (as `pg_dump --jobs`); each is a read-only connection to the source database.
    #[arg(long, default_value_t = crate::source::snapshot::DEFAULT_JOBS, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub source_jobs: usize,
}

/// A duration such as `90s`, `30m` or `2h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || format!("expected a duration such as 90s, 30m or 2h, not {s:?}");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let factor = match unit.trim() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        _ => return Err(bad()),
    };
    Ok(std::time::Duration::from_secs(
        number.saturating_mul(factor),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_and_flag_has_help_text() {
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        for sub in cmd.get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
            for arg in sub.get_arguments() {
                assert!(
                    arg.get_help().is_some(),
                    "{} --{} has no help",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn durations_parse_in_seconds_minutes_and_hours() {
        use std::time::Duration;
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
