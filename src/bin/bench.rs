//! The performance benchmark of issue 9: generates layout C workspaces of the given sizes in a
//! throwaway Postgres and prints, per size, one line per figure (source read, transform,
//! end-to-end without a limit, saturation of a rate-limited twin, requests over the minimum,
//! peak memory and CPU per record of a migration in a child process, `plan` wall time, the documented
//! load-by-API client side by side with ours, and a delta pass after 1% of the rows changed).
//!
//! Run: `cargo run --release --bin bench -- --sizes 10000,100000,1000000`
//! (see the `## Performance` section of the README).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use twenty_migrate::destination::{ApiKey, Target, TargetConfig};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::pipeline::{self, MigrateOptions};
use twenty_migrate::plan::{ObjectPlan, WritePass};
use twenty_migrate::record::ApiRecord;
use twenty_migrate::source::records::{ReadColumn, RecordReader, RowFilter};
use twenty_migrate::source::Source;
use twenty_migrate::transform::{FieldMap, ObjectTransform};
use twenty_migrate::twin::{Member, Twin, TwinConfig};

const KEY: &str = "bench-key";
/// Batches in flight (the CLI's default `--in-flight`).
const IN_FLIGHT: usize = 4;
/// Twenty's documented way to load data by API: batches of 60, one call every 600 ms.
const DOC_BATCH: usize = 60;
const DOC_INTERVAL: Duration = Duration::from_millis(600);

#[derive(Debug, Parser)]
#[command(
    name = "bench",
    about = "twenty-migrate performance benchmark (issue 9)"
)]
struct Args {
    /// Workspace sizes (records), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Requests per minute of the rate-limited twin (scaled down for small sizes so that a run
    /// lasts about a minute).
    #[arg(long, default_value_t = 1200)]
    limit: u32,
    /// Batch cap of the rate-limited twin.
    #[arg(long, default_value_t = 60)]
    cap: usize,
    /// Source rows per keyset page (the CLI's default).
    #[arg(long, default_value_t = 1000)]
    page_size: usize,
    /// Measure only figure 1 (the source read), e.g. to compare `--source-jobs` values.
    #[arg(long)]
    only_read: bool,
    /// Measure only figure 10 (a delta pass after 1% of the rows changed).
    #[arg(long)]
    only_delta: bool,
    /// Source sessions reading the shared snapshot at once (the CLI's `--source-jobs`).
    #[arg(long, default_value_t = twenty_migrate::source::snapshot::DEFAULT_JOBS)]
    source_jobs: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 9)]
    seed: u64,
    /// Repetitions of the read, transform and end-to-end figures (the best is reported).
    #[arg(long, default_value_t = 2)]
    repeat: usize,
    /// Saturation and the documented client are run only when the rate-limited run needs at
    /// most this many requests (at 1,200/min, 2,000 requests take 100 s).
    #[arg(long, default_value_t = 2_000)]
    max_limited_requests: u64,
    /// Seconds the documented client runs (its pace is fixed, so a prefix gives its rate).
    #[arg(long, default_value_t = 30.0)]
    reference_seconds: f64,
    /// Internal: run one migration in this process and print its figures (used for memory).
    #[arg(long, hide = true)]
    child_source: Option<String>,
    /// Internal: the twin of the child run.
    #[arg(long, hide = true)]
    child_twin: Option<String>,
    /// Internal: the folder of the child run.
    #[arg(long, hide = true)]
    child_dir: Option<PathBuf>,
}

impl Args {
    fn reading(&self) -> Reading {
        Reading {
            page_size: self.page_size,
            jobs: self.source_jobs.max(1),
        }
    }
}

/// How the source is read: rows per keyset page and sessions at once.
#[derive(Debug, Clone, Copy)]
struct Reading {
    page_size: usize,
    jobs: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(source) = &args.child_source {
        let twin = args.child_twin.clone().expect("--child-twin");
        let dir = args.child_dir.clone().expect("--child-dir");
        return rt.block_on(child(source, &twin, &dir, args.reading()));
    }
    rt.block_on(run(args))
}

/// Peak resident set of this process, in KiB (`VmHWM`).
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cores} cores, {cpu}, {:.1} GiB RAM, load {}",
        mem as f64 / 1048576.0,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// One generated workspace.
struct Workspace {
    url: String,
    members: Vec<Member>,
    live: u64,
    total: u64,
}

async fn generate(
    admin_url: &str,
    url: &str,
    db: &str,
    records: usize,
    seed: u64,
) -> anyhow::Result<Workspace> {
    let (admin, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await?;
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let spec = WorkspaceSpec::sample(1);
    fixture::load_instance(&client).await?;
    fixture::load_workspace(&client, &spec).await?;
    let generated = fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed,
            records,
            storage_dir: None,
            missing_files: 0,
        },
    )
    .await?;
    client.batch_execute("VACUUM (ANALYZE)").await?;
    Ok(Workspace {
        url: url.to_owned(),
        members: generated.twin_members(),
        live: generated.objects.values().map(|c| c.live).sum(),
        total: generated.total_records(),
    })
}

fn options(url: &str, dir: &Path, reading: Reading, rpm: u32) -> MigrateOptions {
    MigrateOptions {
        page_size: reading.page_size,
        requests_per_minute: rpm,
        restart: true,
        max_in_flight: IN_FLIGHT,
        source_jobs: reading.jobs,
        // The figures are the records' and files'.
        config: false,
        // Attachments are generated without bytes: they are skipped, not rejected.
        files: twenty_migrate::pipeline::files::FileOptions {
            skip_missing_files: true,
            ..Default::default()
        },
        ..MigrateOptions::new(url, dir)
    }
}

fn target(base_url: &str, rpm: u32) -> anyhow::Result<Target> {
    let mut config = TargetConfig::new(base_url, ApiKey::new(KEY));
    config.requests_per_minute = rpm;
    config.max_in_flight = IN_FLIGHT;
    Ok(Target::new(config)?)
}

async fn unlimited_twin(members: &[Member], cap: usize) -> anyhow::Result<Twin> {
    Ok(TwinConfig::new(KEY)
        .members(members.to_vec())
        .max_batch(cap)
        .start()
        .await?)
}

/// A twin limited to `rpm` requests per minute as a continuously refilled bucket of about one
/// second's worth (so a run cannot live off an initial burst).
async fn limited_twin(members: &[Member], cap: usize, rpm: u32) -> anyhow::Result<Twin> {
    let bucket = rpm.div_ceil(60).max(1);
    let window_ms = (60_000 * u64::from(bucket) / u64::from(rpm.max(1))).max(1);
    Ok(TwinConfig::new(KEY)
        .members(members.to_vec())
        .max_batch(cap)
        .rate_short(bucket, window_ms)
        .start()
        .await?)
}

/// Figure 1: rows through the real read path (snapshot exported to `reading.jobs` sessions,
/// keyset pages, decoding), objects read in parallel, largest first.
async fn measure_read(url: &str, reading: Reading) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let source = Source::connect(url).await?.with_jobs(reading.jobs);
    source.begin_snapshot().await?;
    let ws = source.choose_workspace(None).await?;
    let model = twenty_migrate::source::metadata::read_model(source.client(), &ws).await?;
    let pool = source.snapshot_pool().await?;
    // Largest first, so that no large object starts last and runs alone at the end.
    let mut objects: Vec<_> = model.objects.iter().filter(|o| o.table_exists).collect();
    let estimates =
        twenty_migrate::source::counts::estimated_rows(source.client(), &ws.schema, &objects)
            .await?;
    objects.sort_by_key(|o| std::cmp::Reverse(estimates[&o.name_singular]));
    let mut pages = pool.read_objects(&ws.schema, &objects, RowFilter::All, reading.page_size);
    let mut rows = 0u64;
    while let Some(page) = pages.next().await {
        rows += page?.rows.len() as u64;
    }
    source.end_snapshot().await?;
    Ok((rows, started.elapsed().as_secs_f64()))
}

/// The first-pass transform of one object, as the pipeline builds it.
fn first_pass(
    object: &twenty_migrate::model::Object,
    plan: &ObjectPlan,
    columns: &[ReadColumn],
) -> ObjectTransform {
    ObjectTransform {
        fields: plan
            .fields
            .iter()
            .filter(|d| d.pass() == WritePass::First)
            .filter_map(|d| {
                let field = object.field(&d.source)?;
                Some(FieldMap::new(field, &d.key, columns, d.reference))
            })
            .collect(),
    }
}

/// Figure 2: rows → request bodies (transform and serialisation, batches of `cap`), timing
/// only that work, not the reads. Returns (records, seconds, body bytes, plan seconds).
async fn measure_transform(
    ws: &Workspace,
    reading: Reading,
    cap: usize,
) -> anyhow::Result<(u64, f64, u64, f64)> {
    let twin = unlimited_twin(&ws.members, 200).await?;
    let target = target(twin.base_url(), 1_000_000)?;
    let dir = tempdir()?;
    let opts = options(&ws.url, &dir, reading, 1_000_000);
    let plan_started = Instant::now();
    let prepared = pipeline::prepare(&opts, &target).await?;
    let plan_seconds = plan_started.elapsed().as_secs_f64();
    let members = prepared
        .plan
        .member_map(&opts.unmatched, &prepared.target_members);
    let client = prepared.source.client();
    let mut records = 0u64;
    let mut bytes = 0u64;
    let mut busy = Duration::ZERO;
    for p in &prepared.plan.objects {
        let object = prepared.model.object(&p.object).expect("planned object");
        let mut reader = RecordReader::new(
            client,
            &prepared.workspace.schema,
            object,
            RowFilter::Live,
            reading.page_size,
        )
        .await?;
        let transform = first_pass(object, p, reader.columns());
        loop {
            let page = reader.next_page(client).await?;
            if page.is_empty() {
                break;
            }
            let t = Instant::now();
            for chunk in page.chunks(cap) {
                let batch: Vec<ApiRecord> = chunk
                    .iter()
                    .filter_map(|row| transform.apply(row, &members).ok())
                    .collect();
                records += batch.len() as u64;
                bytes += serde_json::to_vec(&batch)?.len() as u64;
            }
            busy += t.elapsed();
        }
    }
    drop(prepared);
    twin.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((records, busy.as_secs_f64(), bytes, plan_seconds))
}

/// What one migration did.
#[derive(Debug, Clone, Default)]
struct RunFigures {
    /// Every request the twin received, and per route kind.
    all_requests: u64,
    routes: String,
    written: u64,
    links: u64,
    seconds: f64,
    /// Batch requests the twin received (create_many, including refused attempts).
    batch_requests: u64,
    rate_limited: u64,
    /// Σ ceil(records/cap) over objects, plus the deferred passes.
    minimum: u64,
    cap: usize,
}

impl RunFigures {
    fn rate(&self) -> f64 {
        self.written as f64 / self.seconds
    }
}

fn minimum_requests(report: &twenty_migrate::report::RunReport, cap: usize) -> u64 {
    let cap = cap as u64;
    report
        .objects
        .iter()
        .map(|o| o.written.div_ceil(cap) + o.deferred_links.div_ceil(cap))
        .sum()
}

/// One `pipeline::migrate` into `twin`, measured.
async fn migrate_into(
    ws: &Workspace,
    twin: &Twin,
    rpm: u32,
    cap: usize,
    reading: Reading,
) -> anyhow::Result<RunFigures> {
    let target = target(twin.base_url(), rpm)?;
    let dir = tempdir()?;
    let opts = options(&ws.url, &dir, reading, rpm);
    let before = twin.stats();
    let started = Instant::now();
    let report = Box::pin(pipeline::migrate(&opts, &target)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = twin.stats();
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(
        report.unbalanced().is_empty() && report.rejected() == 0,
        "the benchmark run did not balance:\n{}",
        report.render_text()
    );
    let route =
        |s: &twenty_migrate::twin::TwinStats| s.by_route.get("create_many").copied().unwrap_or(0);
    Ok(RunFigures {
        written: report.objects.iter().map(|o| o.written).sum(),
        links: report.objects.iter().map(|o| o.deferred_links).sum(),
        seconds,
        batch_requests: route(&after) - route(&before),
        rate_limited: after.rate_limited - before.rate_limited,
        minimum: minimum_requests(&report, cap),
        cap,
        all_requests: after.requests - before.requests,
        routes: after
            .by_route
            .iter()
            .map(|(k, v)| format!("{k} {}", v - before.by_route.get(k).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// What figure 10 measured: a delta pass after `fraction` of the live rows changed.
#[derive(Debug)]
struct DeltaRun {
    /// Rows changed in the source.
    changed: u64,
    /// Requests of the delta, less those of a delta with nothing changed (the fixed reads).
    requests: u64,
    /// The least requests those changes need (batches at the cap, the conflict read of each
    /// object with updates, soft deletes).
    minimum: u64,
    /// `plan --delta`: the source read and compared with the ledger.
    read_seconds: f64,
    /// The delta run, end to end.
    seconds: f64,
}

/// Figure 10: a first pass into an unlimited twin, a delta with nothing changed (its requests
/// are the fixed reads), then `fraction` of every object's live rows updated in the source
/// (`updatedAt` moved), `plan --delta` and the delta itself.
async fn measure_delta(
    ws: &Workspace,
    reading: Reading,
    fraction: f64,
) -> anyhow::Result<DeltaRun> {
    let cap = 200;
    let twin = unlimited_twin(&ws.members, cap).await?;
    let target = target(twin.base_url(), 1_000_000)?;
    let dir = tempdir()?;
    let opts = MigrateOptions {
        restart: false,
        ..options(&ws.url, &dir, reading, 1_000_000)
    };
    Box::pin(pipeline::migrate(&opts, &target)).await?;
    let before = twin.stats().requests;
    Box::pin(pipeline::migrate(&opts, &target)).await?;
    let idle = twin.stats().requests - before;

    let (client, conn) = tokio_postgres::connect(&ws.url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let tables: Vec<(String, String)> = client
        .query(
            "SELECT table_schema::text, table_name::text FROM information_schema.columns \
             WHERE table_schema LIKE 'workspace_%' AND column_name = 'updatedAt' \
             AND table_name IN (SELECT table_name FROM information_schema.columns \
                 WHERE column_name = 'deletedAt')",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut changed = 0;
    for (schema, table) in &tables {
        let t = format!("\"{schema}\".\"{table}\"");
        changed += client
            .execute(
                &format!(
                    "UPDATE {t} SET \"updatedAt\" = now() WHERE id IN (SELECT id FROM {t} \
                     WHERE \"deletedAt\" IS NULL ORDER BY md5(id::text) \
                     LIMIT (SELECT ceil(count(*) * $1::float8) FROM {t} WHERE \"deletedAt\" IS NULL))"
                ),
                &[&fraction],
            )
            .await?;
    }
    let prepared = pipeline::prepare(&opts, &target).await?;
    let estimate =
        pipeline::delta_plan::estimate(&opts, &prepared, &target, &opts.state_path).await?;
    prepared.source.end_snapshot().await?;
    drop(prepared);

    let before = twin.stats().requests;
    let started = Instant::now();
    let report = Box::pin(pipeline::migrate(&opts, &target)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let requests = twin.stats().requests - before;
    anyhow::ensure!(
        report.unbalanced().is_empty(),
        "the delta did not balance:\n{}",
        report.render_text()
    );
    let c = cap as u64;
    let minimum = report
        .objects
        .iter()
        .map(|o| {
            o.written.div_ceil(c)
                + o.deferred_links.div_ceil(c)
                + u64::from(o.updated > 0)
                + o.soft_deleted.div_ceil(50)
        })
        .sum();
    twin.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(DeltaRun {
        changed,
        requests: requests.saturating_sub(idle),
        minimum,
        read_seconds: estimate.read_seconds,
        seconds,
    })
}

/// Figure 10's line.
fn print_delta(size: usize, d: &DeltaRun) {
    println!(
        "[{size}] 10. delta after 1% changed ({} rows): {} requests / minimum {} = {:.3} (conflict reads counted in both; fixed reads of every run left out); source read and compared with the ledger (plan --delta) in {:.2} s; delta run {:.1} s, twin in process",
        d.changed,
        d.requests,
        d.minimum,
        d.requests as f64 / d.minimum.max(1) as f64,
        d.read_seconds,
        d.seconds
    );
}

/// Creates the data model in `twin` off the clock (as the documented client's run does), then
/// lets the twin's bucket refill, so that a timed run measures the records alone.
async fn sync_model_off_the_clock(
    ws: &Workspace,
    twin: &Twin,
    reading: Reading,
) -> anyhow::Result<()> {
    let planner = target(twin.base_url(), 1_000_000)?;
    let dir = tempdir()?;
    let opts = options(&ws.url, &dir, reading, 1_000_000);
    let prepared = pipeline::prepare(&opts, &planner).await?;
    if prepared.schema.has_changes() {
        twenty_migrate::schema_sync::apply(&prepared.schema, &planner).await?;
    }
    prepared.source.end_snapshot().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

/// User + system CPU seconds this process has used (`/proc/self/stat` fields 14 and 15, in
/// clock ticks of 1/100 s, the `USER_HZ` Linux exports to user space).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

/// What the child run of figures 6 and 9 measured.
struct ChildRun {
    written: f64,
    vmhwm_kib: u64,
    seconds: f64,
    cpu_seconds: f64,
}

/// Figures 6 and 9: one migration in a child process against a twin in this one; the child's
/// VmHWM and its CPU time.
async fn measure_child(ws: &Workspace, reading: Reading) -> anyhow::Result<ChildRun> {
    let twin = unlimited_twin(&ws.members, 200).await?;
    let dir = tempdir()?;
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .arg("--child-source")
        .arg(&ws.url)
        .arg("--child-twin")
        .arg(twin.base_url())
        .arg("--child-dir")
        .arg(&dir)
        .arg("--page-size")
        .arg(reading.page_size.to_string())
        .arg("--source-jobs")
        .arg(reading.jobs.to_string())
        .stderr(std::process::Stdio::null())
        .output()
        .await?;
    twin.shutdown().await?;
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "child run failed: {text}");
    let field = |name: &str| -> f64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name).and_then(|v| v.parse().ok()))
            .unwrap_or(0.0)
    };
    Ok(ChildRun {
        written: field("written="),
        vmhwm_kib: field("vmhwm_kib=") as u64,
        seconds: field("seconds="),
        cpu_seconds: field("cpu_seconds="),
    })
}

async fn child(source: &str, twin_url: &str, dir: &Path, reading: Reading) -> anyhow::Result<()> {
    let target = target(twin_url, 1_000_000)?;
    let opts = options(source, dir, reading, 1_000_000);
    let started = Instant::now();
    let report = Box::pin(pipeline::migrate(&opts, &target)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let written: u64 = report.objects.iter().map(|o| o.written).sum();
    println!(
        "written={written} seconds={seconds:.3} vmhwm_kib={} cpu_seconds={:.2}",
        vm_hwm_kib(),
        cpu_seconds()
    );
    Ok(())
}

/// What the documented client did.
struct DocFigures {
    /// Records in calls the twin accepted.
    created: u64,
    /// Records in calls answered (accepted or refused for their content; not 429).
    sent: u64,
    seconds: f64,
    calls: u64,
    limited: u64,
}

/// Figure 8: the documented client — batches of 60, one call every 600 ms, plain creates (no
/// upsert), stop and retry the same call on 429 — over the same rows (first-pass transform),
/// for at most `budget`. Returns (records created, seconds, calls, 429s).
async fn documented_client(
    ws: &Workspace,
    twin: &Twin,
    reading: Reading,
    budget: Duration,
) -> anyhow::Result<DocFigures> {
    let planner = target(twin.base_url(), 1_000_000)?;
    let dir = tempdir()?;
    let opts = options(&ws.url, &dir, reading, 1_000_000);
    let mut prepared = pipeline::prepare(&opts, &planner).await?;
    // The documented way assumes the data model exists: create it first, off the clock.
    if prepared.schema.has_changes() {
        twenty_migrate::schema_sync::apply(&prepared.schema, &planner).await?;
        prepared.source.end_snapshot().await?;
        prepared = pipeline::prepare(&opts, &planner).await?;
    }
    let members = prepared
        .plan
        .member_map(&opts.unmatched, &prepared.target_members);
    let http = reqwest::Client::new();
    let client = prepared.source.client();
    let started = Instant::now();
    let mut next_call = started;
    let (mut created, mut sent, mut calls, mut limited, mut failed) =
        (0u64, 0u64, 0u64, 0u64, 0u32);
    'objects: for p in &prepared.plan.objects {
        let object = prepared.model.object(&p.object).expect("planned object");
        let mut reader = RecordReader::new(
            client,
            &prepared.workspace.schema,
            object,
            RowFilter::Live,
            reading.page_size,
        )
        .await?;
        let transform = first_pass(object, p, reader.columns());
        let url = format!("{}/rest/batch/{}", twin.base_url(), p.target_plural);
        let mut pending: Vec<ApiRecord> = Vec::with_capacity(DOC_BATCH);
        loop {
            let page = reader.next_page(client).await?;
            let last = page.is_empty();
            pending.extend(
                page.iter()
                    .filter_map(|row| transform.apply(row, &members).ok()),
            );
            // Full batches of 60 across pages; the remainder when the object ends.
            while pending.len() >= DOC_BATCH || (last && !pending.is_empty()) {
                let batch: Vec<ApiRecord> = pending.drain(..pending.len().min(DOC_BATCH)).collect();
                let body = serde_json::to_vec(&batch)?;
                loop {
                    tokio::time::sleep_until(next_call.into()).await;
                    if started.elapsed() >= budget {
                        break 'objects;
                    }
                    next_call = Instant::now() + DOC_INTERVAL;
                    calls += 1;
                    let resp = http
                        .post(&url)
                        .bearer_auth(KEY)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await?;
                    let status = resp.status();
                    let answer = resp.bytes().await.unwrap_or_default();
                    if status.as_u16() == 429 {
                        limited += 1;
                        continue; // stop, wait for the next slot, retry the same call
                    }
                    sent += batch.len() as u64;
                    if status.is_success() {
                        created += batch.len() as u64;
                    } else if failed < 3 {
                        failed += 1;
                        eprintln!(
                            "documented client: {} {status}: {}",
                            p.target_plural,
                            String::from_utf8_lossy(&answer[..answer.len().min(300)])
                        );
                    }
                    break;
                }
            }
            if last {
                break;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(prepared);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(DocFigures {
        created,
        sent,
        seconds,
        calls,
        limited,
    })
}

fn tempdir() -> anyhow::Result<PathBuf> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "twenty-bench-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn best(xs: &[f64]) -> f64 {
    xs.iter().copied().fold(0.0, f64::max)
}

fn list(xs: &[f64]) -> String {
    xs.iter()
        .map(|x| format!("{x:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything measured for one size (the read, transform and end-to-end figures).
struct Fast {
    read: Vec<f64>,
    transform: Vec<f64>,
    body_bytes: u64,
    e2e: Vec<RunFigures>,
    plan_seconds: Vec<f64>,
}

async fn measure_fast(ws: &Workspace, args: &Args) -> anyhow::Result<Fast> {
    let mut f = Fast {
        read: Vec::new(),
        transform: Vec::new(),
        body_bytes: 0,
        e2e: Vec::new(),
        plan_seconds: Vec::new(),
    };
    for _ in 0..args.repeat.max(1) {
        let (rows, secs) = measure_read(&ws.url, args.reading()).await?;
        f.read.push(rows as f64 / secs);
        let (records, secs, bytes, plan) = measure_transform(ws, args.reading(), 200).await?;
        f.transform.push(records as f64 / secs);
        f.body_bytes = bytes;
        f.plan_seconds.push(plan);
        let twin = unlimited_twin(&ws.members, 200).await?;
        let run = migrate_into(ws, &twin, 1_000_000, 200, args.reading()).await?;
        twin.shutdown().await?;
        f.e2e.push(run);
    }
    Ok(f)
}

async fn run(args: Args) -> anyhow::Result<()> {
    println!(
        "machine: {} (shared with other engineers' builds and tests)",
        machine()
    );
    eprintln!("starting a throwaway Postgres cluster…");
    let cluster = tokio::task::spawn_blocking(twenty_migrate::local_pg::Cluster::start).await??;
    let admin_url = cluster.url("postgres");
    let mut memory: BTreeMap<usize, u64> = BTreeMap::new();
    let mut plan_largest = None;
    for &size in &args.sizes {
        let db = format!("bench_{size}");
        let url = cluster.url(&db);
        let t = Instant::now();
        let ws = generate(&admin_url, &url, &db, size, args.seed).await?;
        println!(
            "\n== {size} records requested: {} rows generated ({} live), in {:.1} s",
            ws.total,
            ws.live,
            t.elapsed().as_secs_f64()
        );
        if args.only_read {
            let mut read = Vec::new();
            for _ in 0..args.repeat.max(1) {
                let (rows, secs) = measure_read(&ws.url, args.reading()).await?;
                read.push(rows as f64 / secs);
            }
            println!(
                "[{size}] 1. source read, {} jobs: {:.0} rows/s (runs: {})",
                args.source_jobs.max(1),
                best(&read),
                list(&read)
            );
            continue;
        }
        if args.only_delta {
            print_delta(size, &measure_delta(&ws, args.reading(), 0.01).await?);
            continue;
        }
        let f = measure_fast(&ws, &args).await?;
        println!(
            "[{size}] 1. source read, {} jobs: {:.0} rows/s (runs: {})",
            args.source_jobs.max(1),
            best(&f.read),
            list(&f.read)
        );
        println!(
            "[{size}] 2. transform + serialise: {:.0} records/s (runs: {}; {:.0} bytes/record)",
            best(&f.transform),
            list(&f.transform),
            f.body_bytes as f64 / ws.live.max(1) as f64
        );
        let rates: Vec<f64> = f.e2e.iter().map(RunFigures::rate).collect();
        let e = &f.e2e[0];
        println!(
            "[{size}] 3. end-to-end, no limit, twin in process: {:.0} records/s (runs: {}; {} records + {} deferred links, {:.1} s)",
            best(&rates),
            list(&rates),
            e.written,
            e.links,
            e.seconds
        );
        println!(
            "[{size}] 5a. requests / minimum, no limit (cap 200): {} / {} = {:.3}",
            e.batch_requests,
            e.minimum,
            e.batch_requests as f64 / e.minimum.max(1) as f64
        );

        // Saturation and the documented client, against a rate-limited twin.
        let estimate = ws.live.div_ceil(args.cap as u64) * 12 / 10;
        if estimate <= args.max_limited_requests {
            let rpm = args.limit.min(estimate.max(60) as u32);
            let twin = limited_twin(&ws.members, args.cap, rpm).await?;
            let r = migrate_into(&ws, &twin, rpm, args.cap, args.reading()).await?;
            twin.shutdown().await?;
            let ceiling = f64::from(rpm) / 60.0 * args.cap as f64;
            println!(
                "[{size}] 4. saturation at {rpm} requests/min × cap {}: {:.0} records/s of {:.0} = {:.3} ({:.1} s, {} answered 429)",
                args.cap,
                r.rate(),
                ceiling,
                r.rate() / ceiling,
                r.seconds,
                r.rate_limited
            );
            println!(
                "[{size}] 4b. all requests of that run: {} in {:.1} s = {:.3} of the limit's pace ({})",
                r.all_requests,
                r.seconds,
                r.all_requests as f64 / (r.seconds * f64::from(rpm) / 60.0),
                r.routes
            );
            println!(
                "[{size}] 5. requests / minimum, limited (cap {}): {} / {} = {:.3}",
                r.cap,
                r.batch_requests,
                r.minimum,
                r.batch_requests as f64 / r.minimum.max(1) as f64
            );
            // 4c: the same run into a twin whose data model already exists (created off the
            // clock): what the records phase sustains, without the one-time metadata requests.
            let twin = limited_twin(&ws.members, args.cap, rpm).await?;
            sync_model_off_the_clock(&ws, &twin, args.reading()).await?;
            let c = migrate_into(&ws, &twin, rpm, args.cap, args.reading()).await?;
            twin.shutdown().await?;
            println!(
                "[{size}] 4c. saturation with the data model created off the clock: {:.0} records/s of {:.0} = {:.3} ({} requests in {:.1} s: {}; batches {} / minimum {})",
                c.rate(),
                ceiling,
                c.rate() / ceiling,
                c.all_requests,
                c.seconds,
                c.routes,
                c.batch_requests,
                c.minimum
            );
            let twin = limited_twin(&ws.members, args.cap, rpm).await?;
            let d = documented_client(
                &ws,
                &twin,
                args.reading(),
                Duration::from_secs_f64(args.reference_seconds),
            )
            .await?;
            twin.shutdown().await?;
            let theirs = d.sent as f64 / d.seconds;
            println!(
                "[{size}] 8. documented client (60/call, 1 call/600 ms, no upsert) on the same twin: {:.0} records/s sent ({} sent, {} created — the rest refused, e.g. references to rows not migrated —, {} calls, {} answered 429, {:.1} s); ours {:.0} records/s = {:.2}× theirs",
                theirs,
                d.sent,
                d.created,
                d.calls,
                d.limited,
                d.seconds,
                r.rate(),
                r.rate() / theirs.max(f64::MIN_POSITIVE)
            );
        } else {
            println!(
                "[{size}] 4/5/8. saturation skipped: ~{estimate} requests at ≤ {} requests/min would take {:.0} s (raise --max-limited-requests)",
                args.limit,
                estimate as f64 * 60.0 / f64::from(args.limit)
            );
        }

        let ChildRun {
            written,
            vmhwm_kib: hwm,
            seconds: secs,
            cpu_seconds,
        } = measure_child(&ws, args.reading()).await?;
        memory.insert(size, hwm);
        println!(
            "[{size}] 6. peak resident memory (VmHWM) of a migration in a child process: {:.1} MiB ({written:.0} records in {secs:.1} s = {:.0} records/s, twin in the parent)",
            hwm as f64 / 1024.0,
            written / secs.max(f64::MIN_POSITIVE)
        );
        println!(
            "[{size}] 9. client CPU per record: {:.1} µs (user + system CPU of that child, {cpu_seconds:.2} s ÷ {written:.0} records; twin in the parent)",
            cpu_seconds * 1e6 / written.max(1.0)
        );
        print_delta(size, &measure_delta(&ws, args.reading(), 0.01).await?);
        let plan_best = f.plan_seconds.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "[{size}] 7. plan (pipeline::prepare) wall time: {:.2} s (runs: {})",
            plan_best,
            f.plan_seconds
                .iter()
                .map(|s| format!("{s:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        plan_largest = Some((size, plan_best));
        drop(ws);
        if let Ok((admin, conn)) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
        {
            tokio::spawn(conn);
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
                .await;
        }
    }
    if let Some((size, secs)) = plan_largest {
        println!("\nplan on the largest workspace ({size}): {secs:.2} s");
    }
    if memory.len() >= 2 {
        let sizes: Vec<_> = memory.iter().collect();
        let (s0, m0) = sizes[sizes.len() - 2];
        let (s1, m1) = sizes[sizes.len() - 1];
        println!(
            "peak memory {s1} vs {s0}: {:.1} MiB / {:.1} MiB = {:.3}",
            *m1 as f64 / 1024.0,
            *m0 as f64 / 1024.0,
            *m1 as f64 / (*m0).max(1) as f64
        );
    }
    drop(cluster);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small pages and 3 jobs, so that each object takes several pages and jobs overlap.
    const SMALL: Reading = Reading {
        page_size: 50,
        jobs: 3,
    };

    /// The measurement functions on a tiny workspace (not a timing test).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_measurements_run_on_a_tiny_workspace() {
        let db = twenty_migrate::local_pg::test_database()
            .await
            .expect("database");
        let client = db.connect().await.expect("connect");
        let spec = WorkspaceSpec::sample(1);
        fixture::load_instance(&client).await.unwrap();
        fixture::load_workspace(&client, &spec).await.unwrap();
        let generated = fixture::generate::generate(
            &client,
            &spec,
            &GenerateOptions {
                seed: 3,
                records: 300,
                storage_dir: None,
                missing_files: 0,
            },
        )
        .await
        .unwrap();
        let ws = Workspace {
            url: db.url.clone(),
            members: generated.twin_members(),
            live: generated.objects.values().map(|c| c.live).sum(),
            total: generated.total_records(),
        };
        let (rows, _) = measure_read(&ws.url, SMALL).await.unwrap();
        assert_eq!(rows, ws.total);
        let (records, _, bytes, _) = measure_transform(&ws, SMALL, 60).await.unwrap();
        assert!(records > 0 && bytes > records);
        let twin = unlimited_twin(&ws.members, 200).await.unwrap();
        let run = migrate_into(&ws, &twin, 1_000_000, 200, SMALL)
            .await
            .unwrap();
        assert!(run.written > 0);
        assert!(run.batch_requests >= run.minimum, "{run:?}");
        twin.shutdown().await.unwrap();
        let delta = measure_delta(&ws, SMALL, 0.05).await.unwrap();
        assert!(delta.changed > 0, "{delta:?}");
        assert!(
            delta.requests >= delta.minimum && delta.minimum > 0,
            "{delta:?}"
        );
        let twin = limited_twin(&ws.members, 60, 6000).await.unwrap();
        let d = documented_client(&ws, &twin, SMALL, Duration::from_millis(1500))
            .await
            .unwrap();
        assert!(d.calls >= 1 && d.created <= d.sent && d.sent <= 60 * d.calls);
        assert!(vm_hwm_kib() > 0);
    }
}
