//! The commands that move data: `plan`, `migrate`, `rehearse` and `demo`. Each turns its raw
//! arguments into validated options, runs the pipeline and prints what happened.

use std::path::{Path, PathBuf};

use crate::cli::{
    DemoArgs, MigrateArgs, PlanArgs, PlanCommandArgs, RehearseArgs, RunArgs, VerifyArgs,
};
use crate::destination::{ApiKey, Target, TargetConfig};
use crate::pipeline::{self, BatchSize, DeletedPolicy, MigrateOptions};
use crate::plan::UnmatchedMembers;
use crate::report::RunReport;
use crate::schema_sync::SchemaOptions;
use crate::source::SourceError;
use crate::twin::{Member as TwinMember, TwinConfig};
use crate::{Error, Outcome};
use tokio_util::sync::CancellationToken;

/// The rate for Twenty Cloud: users observe 50 requests/minute there (twentyhq/twenty#14122).
const CLOUD_REQUESTS_PER_MINUTE: u32 = 50;
/// Twenty's documented and default limit (`API_RATE_LIMITING_LONG_LIMIT`, 100 per 60 s).
const DEFAULT_REQUESTS_PER_MINUTE: u32 = 100;

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// Parses `--rate-limit`: `N/min`, `N/s` or `N` (per minute).
fn parse_rate(s: &str) -> Result<u32, Error> {
    let (n, unit) = match s.split_once('/') {
        Some((n, unit)) => (n.trim(), unit.trim()),
        None => (s.trim(), "min"),
    };
    let n: u32 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| usage(format!("--rate-limit takes N/min, not {s:?}")))?;
    match unit {
        "min" | "m" | "minute" => Ok(n),
        "s" | "sec" | "second" => Ok(n.saturating_mul(60)),
        _ => Err(usage(format!("--rate-limit takes N/min or N/s, not {s:?}"))),
    }
}

fn rate_for(target_url: &str, run: &RunArgs) -> Result<u32, Error> {
    match &run.rate_limit {
        Some(r) => parse_rate(r),
        None if target_url.contains("twenty.com") => Ok(CLOUD_REQUESTS_PER_MINUTE),
        None => Ok(DEFAULT_REQUESTS_PER_MINUTE),
    }
}

fn migrate_options(
    args: &PlanArgs,
    rejects: PathBuf,
    requests_per_minute: u32,
) -> Result<MigrateOptions, Error> {
    let state_path = PathBuf::from(DEFAULT_STATE_FILE);
    Ok(MigrateOptions {
        source_url: args.source.source.clone().ok_or(SourceError::MissingUrl)?,
        workspace: args.source.workspace.clone(),
        batch_size: args.run.batch_size.parse::<BatchSize>().map_err(usage)?,
        unmatched: args
            .run
            .unmatched_members
            .parse::<UnmatchedMembers>()
            .map_err(usage)?,
        deleted: args.run.deleted.parse::<DeletedPolicy>().map_err(usage)?,
        rejects_path: rejects,
        page_size: 1000,
        requests_per_minute,
        schema: SchemaOptions {
            sync: !args.run.no_schema,
            include_inactive: args.run.include_inactive,
            standard_fields: !args.run.no_standard_fields,
        },
        state_path,
        restart: false,
        cancel: CancellationToken::new(),
        max_in_flight: args.run.in_flight.max(1),
        source_jobs: args.run.source_jobs,
        config: !args.run.no_config,
        propagate_deletes: false,
        overwrite_target_changes: false,
        target_record_limit: args.run.target_record_limit,
        files: crate::pipeline::files::FileOptions {
            storage_dir: args.source.storage_dir.clone(),
            bucket: bucket(&args.source),
            server: source_server(&args.source),
            skip_missing_files: args.run.skip_missing_files,
            max_file_size: crate::pipeline::files::parse_size(&args.run.max_file_size)
                .map_err(usage)?,
        },
    })
}

/// The source bucket named on the command line, configured from the environment.
pub(crate) fn bucket(source: &crate::cli::SourceArgs) -> Option<crate::source::file_store::Bucket> {
    use crate::source::file_store::{Bucket, BucketKind};
    let (kind, name) = match (&source.s3_bucket, &source.azure_container) {
        (Some(b), _) => (BucketKind::S3, b),
        (None, Some(c)) => (BucketKind::Azure, c),
        (None, None) => return None,
    };
    Some(Bucket {
        kind,
        name: name.clone(),
        config: Vec::new(),
    })
}

/// The source server named on the command line, with its secret.
pub(crate) fn source_server(
    source: &crate::cli::SourceArgs,
) -> Option<crate::source::server_files::SourceServer> {
    Some(crate::source::server_files::SourceServer {
        url: source.source_server.clone()?,
        app_secret: source.source_app_secret.clone()?,
    })
}

/// The ledger's default name, in the current folder.
const DEFAULT_STATE_FILE: &str = "twenty-migrate.state.sqlite";

/// The ledger path: `--state`, else next to `--report`, else the default in the current folder.
fn state_path(args: &MigrateArgs) -> PathBuf {
    match (&args.state, &args.report) {
        (Some(state), _) => state.clone(),
        (None, Some(report)) => report.with_extension("state.sqlite"),
        (None, None) => PathBuf::from(DEFAULT_STATE_FILE),
    }
}

/// A token cancelled on Ctrl-C or SIGTERM: the run stops after the batch in flight.
fn cancel_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
        eprintln!("stopping after the request in flight; progress is saved…");
        cancel.cancel();
    });
    token
}

fn target_for(args: &PlanArgs) -> Result<(Target, u32), Error> {
    let url = args.target.target.clone().ok_or_else(|| {
        usage(
            "no target given: pass --target or set TWENTY_TARGET_URL (e.g. https://api.twenty.com)",
        )
    })?;
    let key = args
        .target
        .api_key
        .clone()
        .ok_or_else(|| usage("no API key given: pass --api-key or set TWENTY_API_KEY"))?;
    let rate = rate_for(&url, &args.run)?;
    let mut config = TargetConfig::new(url, ApiKey::new(key));
    config.requests_per_minute = rate;
    config.max_in_flight = args.run.in_flight.max(1);
    config.max_outage = args.run.max_outage;
    config.accept_invalid_certs = args.run.insecure;
    let target = Target::new(config).map_err(|e| usage(e.to_string()))?;
    Ok((target, rate))
}

/// `plan`: reads both sides and prints the plan. Exit 1 when the plan has blockers.
pub async fn plan(command: PlanCommandArgs) -> Result<Outcome, Error> {
    let args = command.plan;
    let (target, rate) = target_for(&args)?;
    let mut opts = migrate_options(&args, PathBuf::from("rejects.jsonl"), rate)?;
    opts.propagate_deletes = command.propagate_deletes;
    if let Some(state) = command.state {
        opts.state_path = state;
    }
    let prepared = pipeline::prepare(&opts, &target).await?;
    if command.delta {
        let estimate =
            pipeline::delta_plan::estimate(&opts, &prepared, &target, &opts.state_path).await?;
        prepared.source.end_snapshot().await?;
        if args.json {
            println!("{}", to_json(&serde_json::to_value(&estimate)?)?);
        } else {
            print!("{}", estimate.render_text());
        }
        return Ok(Outcome::Complete);
    }
    let checks = pipeline::preflight::run(&opts, &prepared, &target).await?;
    let config = match opts.config {
        true => Some(pipeline::config::preview(&opts, &prepared, &target).await?),
        false => None,
    };
    if args.json {
        // The plan's own keys, plus the data model diff under `schema`, the configuration
        // under `configuration` and the pre-flight checks under `preflight`.
        let mut value = serde_json::to_value(&prepared.plan)?;
        if let Some(map) = value.as_object_mut() {
            let schema = serde_json::to_value(&prepared.schema)?;
            map.insert("schema".into(), schema);
            map.insert("configuration".into(), serde_json::to_value(&config)?);
            map.insert("preflight".into(), serde_json::to_value(&checks)?);
        }
        println!("{}", to_json(&value)?);
    } else {
        if opts.schema.sync {
            println!("{}", prepared.schema.render_text());
        }
        print!("{}", prepared.plan.render_text());
        if let Some(config) = &config {
            print!("{}", config.render_text());
        }
        print!("\n{}", checks.render_text());
    }
    prepared.source.end_snapshot().await?;
    // A failed check stops `plan` as it stops `migrate`: exit 2, one line per failure.
    checks.ensure_passed()?;
    Ok(if prepared.plan.blockers.is_empty() {
        Outcome::Complete
    } else {
        Outcome::Incomplete
    })
}

/// `migrate`: the whole run against the real target.
pub async fn migrate(args: MigrateArgs) -> Result<Outcome, Error> {
    let (target, rate) = target_for(&args.plan)?;
    let mut opts = migrate_options(&args.plan, args.rejects.clone(), rate)?;
    opts.state_path = state_path(&args);
    opts.restart = args.restart;
    opts.propagate_deletes = args.propagate_deletes;
    opts.overwrite_target_changes = args.overwrite_target_changes;
    opts.cancel = cancel_on_signal();
    let report = pipeline::migrate(&opts, &target).await?;
    finish(&report, args.plan.json, args.report.as_deref())
}

/// `verify`: counts and field-by-field comparison; exit 1 when anything differs.
pub async fn verify(args: VerifyArgs) -> Result<Outcome, Error> {
    let (target, rate) = target_for(&args.plan)?;
    let mut opts = migrate_options(&args.plan, PathBuf::from("rejects.jsonl"), rate)?;
    if let Some(state) = &args.state {
        opts.state_path = state.clone();
    }
    if args.checklist {
        let (report, checklist) =
            crate::pipeline::verify::verify_with_checklist(&opts, &target, args.sample).await?;
        if args.plan.json {
            let both = serde_json::json!({"verify": report, "checklist": checklist});
            println!("{}", to_json(&both)?);
        } else {
            print!("{}{}", report.render_text(), checklist.render_text());
        }
        return Ok(if report.is_clean() && !checklist.blocking() {
            Outcome::Complete
        } else {
            Outcome::Incomplete
        });
    }
    let report = crate::pipeline::verify::verify(&opts, &target, args.sample).await?;
    if args.plan.json {
        println!("{}", to_json(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    Ok(if report.is_clean() {
        Outcome::Complete
    } else {
        Outcome::Incomplete
    })
}

/// `rehearse`: the same run against an in-process twin that has the target's members.
pub async fn rehearse(args: RehearseArgs) -> Result<Outcome, Error> {
    let plan_args = &args.migrate.plan;
    let members = rehearsal_members(&args).await?;
    let key = "rehearsal-key";
    let twin = TwinConfig::new(key)
        .members(members)
        .max_batch(args.max_batch)
        .start()
        .await?;
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(key));
    config.requests_per_minute = 1_000_000;
    let target = Target::new(config).map_err(|e| usage(e.to_string()))?;
    let mut opts = migrate_options(plan_args, args.migrate.rejects.clone(), 1_000_000)?;
    // A rehearsal starts from an empty twin, so its ledger is throwaway.
    let scratch = tempfile_dir()?;
    opts.state_path = scratch.join("rehearsal.state.sqlite");
    opts.restart = true;
    opts.cancel = cancel_on_signal();
    let report = pipeline::migrate(&opts, &target).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let report = report?;
    let outcome = finish(&report, plan_args.json, args.migrate.report.as_deref());
    twin.shutdown().await?;
    outcome
}

async fn rehearsal_members(args: &RehearseArgs) -> Result<Vec<TwinMember>, Error> {
    if let Some(path) = &args.members {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Local {
            path: path.clone(),
            source,
        })?;
        return Ok(text.lines().filter_map(TwinMember::parse).collect());
    }
    let plan_args = &args.migrate.plan;
    if plan_args.target.target.is_some() && plan_args.target.api_key.is_some() {
        let (target, _) = target_for(plan_args)?;
        let members = target.members().await.map_err(|source| Error::Target {
            context: "reading the target's workspace members".into(),
            source,
        })?;
        return Ok(members
            .into_iter()
            .filter_map(|m| {
                let email = m.user_email?;
                let name = m.name.unwrap_or_default();
                let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
                Some(TwinMember {
                    email,
                    first_name: first.to_owned(),
                    last_name: last.to_owned(),
                })
            })
            .collect());
    }
    // No target named: rehearse as if every source member had been invited.
    let url = plan_args
        .source
        .source
        .clone()
        .ok_or(SourceError::MissingUrl)?;
    let source = crate::source::Source::connect(&url).await?;
    let ws = source
        .choose_workspace(plan_args.source.workspace.as_deref())
        .await?;
    let model = crate::source::metadata::read_model(source.client(), &ws).await?;
    let members = crate::source::members::read_members(source.client(), &ws.schema, &model).await?;
    eprintln!("rehearsing with the source's own members (pass --members to use the target's)");
    Ok(members
        .into_iter()
        .filter(|m| !m.deleted)
        .filter_map(|m| {
            Some(TwinMember {
                email: m.email?,
                first_name: m.first_name.unwrap_or_default(),
                last_name: m.last_name.unwrap_or_default(),
            })
        })
        .collect())
}

/// `demo`: a throwaway source with generated data, migrated into an in-process twin.
pub async fn demo(args: DemoArgs) -> Result<Outcome, Error> {
    use crate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
    eprintln!("starting a throwaway Postgres cluster…");
    let cluster = tokio::task::spawn_blocking(crate::local_pg::Cluster::start)
        .await
        .map_err(|e| Error::Demo(e.to_string()))?
        .map_err(|e| Error::Demo(format!("cannot start a throwaway Postgres: {e}")))?;
    let admin = connect(&cluster.url("postgres")).await?;
    admin
        .batch_execute("CREATE DATABASE twenty")
        .await
        .map_err(|e| Error::Demo(format!("cannot create the demo database: {e}")))?;
    let url = cluster.url("twenty");
    let client = connect(&url).await?;
    let spec = WorkspaceSpec::sample(1);
    let storage = tempfile_dir()?;
    fixture::load_instance(&client)
        .await
        .map_err(|e| Error::Demo(e.to_string()))?;
    fixture::load_workspace(&client, &spec)
        .await
        .map_err(|e| Error::Demo(e.to_string()))?;
    let generated = fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: args.seed,
            records: args.records,
            storage_dir: Some(storage.clone()),
            missing_files: 0,
        },
    )
    .await
    .map_err(|e| Error::Demo(e.to_string()))?;
    eprintln!(
        "generated workspace {} with {} records in {url}",
        spec.display_name,
        generated.total_records()
    );

    let key = "demo-key";
    let members: Vec<TwinMember> = generated.twin_members();
    // The newest upload generation, as Twenty Cloud runs it.
    let twin = TwinConfig::new(key)
        .members(members)
        .upload_offer(crate::twin::UploadOffer::DirectOnly)
        .start()
        .await?;
    eprintln!("twin listening on {}", twin.base_url());
    let mut config = TargetConfig::new(twin.base_url(), ApiKey::new(key));
    config.requests_per_minute = 1_000_000;
    let target = Target::new(config).map_err(|e| usage(e.to_string()))?;
    let opts = MigrateOptions {
        requests_per_minute: 1_000_000,
        state_path: storage.join("demo.state.sqlite"),
        restart: true,
        cancel: cancel_on_signal(),
        source_jobs: args.source_jobs,
        files: crate::pipeline::files::FileOptions {
            storage_dir: Some(storage.clone()),
            ..Default::default()
        },
        ..MigrateOptions::new(url, &storage)
    };
    let report = pipeline::migrate(&opts, &target).await?;
    print!("{}", report.render_text());

    // Verify: counts, then every record read back through the API, field by field.
    let check = crate::pipeline::verify::verify(&opts, &target, 100).await?;
    println!("\nverification (read back through the API)");
    print!("{}", check.render_text());
    let all_equal = check.is_clean();
    twin.shutdown().await?;
    drop(cluster);
    let _ = std::fs::remove_dir_all(&storage);
    Ok(
        if all_equal && report.rejected() == 0 && report.unbalanced().is_empty() {
            Outcome::Complete
        } else {
            Outcome::Incomplete
        },
    )
}

fn tempfile_dir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("twenty-migrate-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| Error::Local {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::Demo(format!("cannot connect to the demo database: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(value)?)
}

/// Prints the report (and writes `--report`), and maps it to the exit code.
fn finish(report: &RunReport, json: bool, report_file: Option<&Path>) -> Result<Outcome, Error> {
    if json {
        println!("{}", to_json(report)?);
    } else {
        print!("{}", report.render_text());
    }
    if let Some(path) = report_file {
        std::fs::write(path, to_json(report)?).map_err(|source| Error::Local {
            path: path.to_owned(),
            source,
        })?;
    }
    let unbalanced = report.unbalanced();
    if !unbalanced.is_empty() {
        let names: Vec<&str> = unbalanced.iter().map(|o| o.object.as_str()).collect();
        return Err(Error::Unbalanced(names.join(", ")));
    }
    Ok(if report.rejected() > 0 {
        Outcome::Incomplete
    } else {
        Outcome::Complete
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_per_minute_and_per_second() {
        assert_eq!(parse_rate("50/min").unwrap(), 50);
        assert_eq!(parse_rate("2/s").unwrap(), 120);
        assert_eq!(parse_rate("75").unwrap(), 75);
        assert!(parse_rate("0/min").is_err());
        assert!(parse_rate("fast").is_err());
    }
}
