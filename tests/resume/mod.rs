//! Crashes, faults and verification: a run killed at random moments or served by a flaky
//! target ends with exactly the source's records, and `verify` notices a planted difference.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use twenty_migrate::destination::{ApiKey, Target, TargetConfig};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::pipeline::{self, BatchSize, MigrateError, MigrateOptions};
use twenty_migrate::twin::{Fault, FaultSpec, Member, TwinConfig};

const KEY: &str = "resume-key";

async fn source(records: usize) -> (TestDatabase, Vec<Member>, tempfile::TempDir) {
    let db = test_database().await.expect("database");
    let client = db.connect().await.expect("connect");
    let spec = WorkspaceSpec::sample(1);
    fixture::load_instance(&client).await.expect("instance");
    fixture::load_workspace(&client, &spec)
        .await
        .expect("workspace");
    let dir = tempfile::tempdir().unwrap();
    let generated = fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: 5,
            records,
            storage_dir: Some(dir.path().join("storage")),
            missing_files: 0,
        },
    )
    .await
    .expect("generate");
    let members = generated.twin_members();
    (db, members, dir)
}

/// The dashboard records the configuration stage writes (not among `verify`'s objects): one
/// per page layout on the twin.
fn dashboards(twin: &twenty_migrate::twin::Twin) -> u64 {
    twin.dashboard_layouts().len() as u64
}

fn options(db: &TestDatabase, dir: &tempfile::TempDir) -> MigrateOptions {
    MigrateOptions {
        batch_size: BatchSize::Fixed(20),
        page_size: 100,
        requests_per_minute: 1_000_000,
        files: twenty_migrate::pipeline::files::FileOptions {
            storage_dir: Some(dir.path().join("storage")),
            ..Default::default()
        },
        ..MigrateOptions::new(&db.url, dir.path())
    }
}

fn fast_target(base_url: &str) -> Target {
    let mut config = TargetConfig::new(base_url, ApiKey::new(KEY));
    config.requests_per_minute = 1_000_000;
    config.backoff.base = Duration::from_millis(20);
    config.backoff.max = Duration::from_millis(200);
    config.backoff.rate_limit_floor = Duration::from_millis(50);
    config.timeout = Duration::from_secs(5);
    config.max_attempts = 8;
    Target::new(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_random_moments_resumes_to_exactly_the_sources_records() {
    let (db, members, dir) = source(2000).await;
    let twin = TwinConfig::new(KEY).members(members).start().await.unwrap();
    let state = dir.path().join("state.sqlite");
    let rejects = dir.path().join("rejects.jsonl");
    let storage = dir.path().join("storage");
    let run = || {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"));
        cmd.args([
            "migrate",
            "--source",
            &db.url,
            "--target",
            twin.base_url(),
            "--state",
            state.to_str().unwrap(),
            "--rejects",
            rejects.to_str().unwrap(),
            "--batch-size",
            "20",
            "--rate-limit",
            "300/min",
            "--storage-dir",
            storage.to_str().unwrap(),
            "--in-flight",
            "2",
        ])
        .env("TWENTY_API_KEY", KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
        cmd
    };

    // Seeded kills: each run is SIGKILLed after a random delay, in whatever phase it is.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261127);
    let mut kills = 0;
    let mut finished = false;
    for _ in 0..12 {
        let mut child = run().spawn().expect("spawn migrate");
        let delay = Duration::from_millis(rng.random_range(150..1200));
        tokio::select! {
            status = child.wait() => {
                // It finished before the kill: the work is done.
                assert!(status.unwrap().success());
                finished = true;
                break;
            }
            _ = tokio::time::sleep(delay) => {
                child.kill().await.expect("SIGKILL");
                kills += 1;
            }
        }
    }
    assert!(
        kills >= 10,
        "only {kills} kills landed before the run finished"
    );
    if !finished {
        let status = run().status().await.expect("final run");
        assert!(status.success(), "the resumed run failed");
    }

    // Exactly the source's records, values and links, nothing doubled.
    let target = fast_target(twin.base_url());
    let mut opts = options(&db, &dir);
    opts.batch_size = BatchSize::Fixed(20);
    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .unwrap();
    assert!(check.is_clean(), "{}", check.render_text());
    let expected: u64 =
        check.objects.iter().map(|o| o.source_count).sum::<u64>() + dashboards(&twin);
    let stats = twin.stats();
    assert_eq!(stats.records_created, expected, "records created once each");
    // Only the batches in flight at a kill (at most 2) may be sent once more; nothing else is
    // resent.
    let minimum: u64 = check
        .objects
        .iter()
        .map(|o| o.source_count.div_ceil(20))
        .sum();
    let batches = stats.by_route.get("create_many").copied().unwrap_or(0);
    assert!(
        batches <= minimum + 2 * kills,
        "{batches} batch requests for a minimum of {minimum} with {kills} kills"
    );
    assert!(
        stats.records_updated <= 2 * 20 * kills,
        "{} records were resent",
        stats.records_updated
    );
    // Each refused record has one whole line, however often the run was killed.
    let text = std::fs::read_to_string(&rejects).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a whole JSON line");
        let key = (v["object"].to_string(), v["id"].to_string());
        assert!(seen.insert(key), "reject line written twice: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_target_still_ends_with_exactly_the_sources_records() {
    let (db, members, dir) = source(500).await;
    let faults = FaultSpec::parse(
        "seed=9,500=0.05,503=0.05,429=0.05,reset=0.01,reset_after=0.01,slow=0.02:200",
    )
    .unwrap();
    let twin = TwinConfig::new(KEY)
        .members(members)
        .faults(faults)
        .start()
        .await
        .unwrap();
    let target = fast_target(twin.base_url());
    let mut opts = options(&db, &dir);
    // Small batches: more requests, so the shares above land many faults.
    opts.batch_size = BatchSize::Fixed(8);
    let report = pipeline::migrate(&opts, &target).await.expect("migrate");
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    assert!(report.unbalanced().is_empty());
    let stats = twin.stats();
    assert!(
        stats.faults >= 8,
        "faults injected: {} in {} requests",
        stats.faults,
        stats.requests
    );

    let check = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .unwrap();
    assert!(check.is_clean(), "{}", check.render_text());
    let expected: u64 =
        check.objects.iter().map(|o| o.source_count).sum::<u64>() + dashboards(&twin);
    assert_eq!(twin.stats().records_created, expected);
}

#[tokio::test]
async fn verify_finds_a_difference_planted_in_the_target_and_passes_on_a_clean_one() {
    let (db, members, dir) = source(150).await;
    let twin = TwinConfig::new(KEY).members(members).start().await.unwrap();
    let target = fast_target(twin.base_url());
    let opts = options(&db, &dir);
    pipeline::migrate(&opts, &target).await.expect("migrate");
    let clean = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .unwrap();
    assert!(clean.is_clean(), "{}", clean.render_text());

    // Plant one change through the API, as a user editing the target would.
    let company = target
        .find_many(
            "companies",
            &twenty_migrate::destination::FindMany {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .records
        .remove(0);
    let id = company["id"].as_str().unwrap().to_owned();
    let status = reqwest::Client::new()
        .patch(format!("{}/rest/companies/{id}", twin.base_url()))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"name": "Planted Difference Inc"}))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");

    let dirty = twenty_migrate::pipeline::verify::verify(&opts, &target, 100)
        .await
        .unwrap();
    assert!(!dirty.is_clean());
    // The edit shows as the name, and as the update time and author the server stamped.
    assert!(
        dirty
            .differences
            .iter()
            .all(|d| d.object == "company" && d.id.to_string() == id),
        "{}",
        dirty.render_text()
    );
    let name = dirty
        .differences
        .iter()
        .find(|d| d.field == "name")
        .expect("the planted name is reported");
    assert_eq!(name.target, serde_json::json!("Planted Difference Inc"));
    for d in &dirty.differences {
        assert!(
            ["name", "updatedAt", "updatedBy"].contains(&d.field.as_str()),
            "{}",
            dirty.render_text()
        );
    }
}

#[tokio::test]
async fn a_ledger_of_another_target_is_refused_and_restart_starts_over() {
    let (db, members, dir) = source(60).await;
    let first = TwinConfig::new(KEY)
        .members(members.clone())
        .start()
        .await
        .unwrap();
    let opts = options(&db, &dir);
    pipeline::migrate(&opts, &fast_target(first.base_url()))
        .await
        .expect("first target");
    let second = TwinConfig::new(KEY).members(members).start().await.unwrap();
    let err = pipeline::migrate(&opts, &fast_target(second.base_url()))
        .await
        .expect_err("another target must be refused");
    let text = err.to_string();
    assert!(text.contains("belongs to another migration"), "{text}");
    assert!(text.contains("--restart"), "{text}");
    assert_eq!(second.stats().records_created, 0);

    let mut restart = options(&db, &dir);
    restart.restart = true;
    pipeline::migrate(&restart, &fast_target(second.base_url()))
        .await
        .expect("restart");
    assert_eq!(
        second.stats().records_created,
        first.stats().records_created
    );
}

#[tokio::test]
async fn a_finished_run_run_again_is_a_delta_that_reads_everything_and_sends_no_batch() {
    let (db, members, dir) = source(120).await;
    let twin = TwinConfig::new(KEY).members(members).start().await.unwrap();
    let target = fast_target(twin.base_url());
    let opts = options(&db, &dir);
    let first = pipeline::migrate(&opts, &target).await.expect("first");
    let batches = twin.stats().by_route.get("create_many").copied();
    let again = pipeline::migrate(&opts, &target).await.expect("delta");
    assert_eq!(twin.stats().by_route.get("create_many").copied(), batches);
    assert_eq!((first.pass.number, again.pass.number), (1, 2));
    // Every row is read again and found as the target holds it: skipped as unchanged, and
    // the rows skipped by another rule are skipped by it again.
    for (a, b) in first.objects.iter().zip(&again.objects) {
        assert_eq!((a.object.as_str(), a.read), (b.object.as_str(), b.read));
        assert_eq!(b.written, 0, "{}", b.object);
        assert_eq!(
            b.skipped
                .get("unchanged-since-last-pass")
                .copied()
                .unwrap_or(0),
            a.written,
            "{}",
            b.object
        );
        assert!(b.balances(), "{b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_after_the_batches_in_flight_and_says_how_to_resume() {
    let (db, members, dir) = source(600).await;
    let twin = TwinConfig::new(KEY).members(members).start().await.unwrap();
    let state = dir.path().join("state.sqlite");
    let rejects = dir.path().join("rejects.jsonl");
    let storage = dir.path().join("storage");
    let args = [
        "migrate",
        "--source",
        db.url.as_str(),
        "--target",
        twin.base_url(),
        "--state",
        state.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
        "--storage-dir",
        storage.to_str().unwrap(),
        "--batch-size",
        "20",
        "--rate-limit",
        "240/min",
    ];
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args(args)
        .env("TWENTY_API_KEY", KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("run the same command again to resume"),
        "{stderr}"
    );
    let before = twin.stats().records_created;
    assert!(before > 0, "some batches landed before the stop");

    let resumed = tokio::process::Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args(&args[..args.len() - 1])
        .arg("100000/min")
        .env("TWENTY_API_KEY", KEY)
        .output()
        .await
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resuming the run"));
    let target = fast_target(twin.base_url());
    let check = twenty_migrate::pipeline::verify::verify(&options(&db, &dir), &target, 100)
        .await
        .unwrap();
    assert!(check.is_clean(), "{}", check.render_text());
    let expected: u64 =
        check.objects.iter().map(|o| o.source_count).sum::<u64>() + dashboards(&twin);
    assert_eq!(twin.stats().records_created, expected);
}

/// The outage of issue 15: a minute of 503s on every request.
const OUTAGE: Duration = Duration::from_secs(60);

/// A client paced at 10 requests a second, so that a run over [`source`]`(600)` lasts well past
/// the first seconds, with retries spent in about a second and a half and pauses of 2 to 4 s.
fn paced_target(base_url: &str, max_outage: Duration) -> Target {
    let mut config = TargetConfig::new(base_url, ApiKey::new(KEY));
    config.requests_per_minute = 600;
    config.backoff.base = Duration::from_millis(200);
    config.backoff.max = Duration::from_secs(4);
    config.timeout = Duration::from_secs(5);
    config.max_attempts = 4;
    config.max_outage = max_outage;
    Target::new(config).unwrap()
}

/// Checks that the target holds exactly the source's records and that nothing was rejected.
async fn assert_exact(
    opts: &MigrateOptions,
    twin: &twenty_migrate::twin::Twin,
    report: &twenty_migrate::report::RunReport,
) {
    assert_eq!(report.rejected(), 0, "{}", report.render_text());
    assert!(report.unbalanced().is_empty(), "{}", report.render_text());
    let rejects = std::fs::read_to_string(&opts.rejects_path).unwrap_or_default();
    assert!(rejects.trim().is_empty(), "{rejects}");
    let check = twenty_migrate::pipeline::verify::verify(opts, &fast_target(twin.base_url()), 100)
        .await
        .unwrap();
    assert!(check.is_clean(), "{}", check.render_text());
    let expected: u64 =
        check.objects.iter().map(|o| o.source_count).sum::<u64>() + dashboards(twin);
    assert_eq!(twin.stats().records_created, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_of_503s_mid_run_is_waited_out_and_rejects_nothing() {
    let (db, members, dir) = source(600).await;
    let from = Duration::from_secs(4);
    let twin = TwinConfig::new(KEY)
        .members(members)
        .faults(FaultSpec::none().window(Fault::Status(503), from, OUTAGE))
        .start()
        .await
        .unwrap();
    let target = paced_target(twin.base_url(), Duration::from_secs(30 * 60));
    let mut opts = options(&db, &dir);
    opts.requests_per_minute = 600;
    let started = std::time::Instant::now();
    // What the target holds when the outage starts: some records, not all.
    let at_outage = async {
        tokio::time::sleep(from + Duration::from_millis(200)).await;
        twin.stats().records_created
    };
    let (report, at_outage) = tokio::join!(pipeline::migrate(&opts, &target), at_outage);
    let report = report.expect("the run waits the outage out");
    let elapsed = started.elapsed();
    assert!(at_outage > 0, "the outage started before any record landed");
    assert!(
        at_outage < twin.stats().records_created,
        "the run ended before the outage"
    );
    assert!(elapsed >= from + OUTAGE, "{elapsed:?}");
    let stats = target.stats();
    assert!(stats.server_errors > 0 && stats.retries > 0, "{stats:?}");
    assert_exact(&opts, &twin, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_max_outage_stops_with_progress_saved_and_the_rerun_ends_exact() {
    let (db, members, dir) = source(600).await;
    // The outage starts once the reads (model, pre-flight, data model sync) are done at 600
    // requests a minute and the first batches have landed.
    let (from, lasting) = (Duration::from_secs(5), Duration::from_secs(15));
    let twin = TwinConfig::new(KEY)
        .members(members)
        .faults(FaultSpec::none().window(Fault::Status(503), from, lasting))
        .start()
        .await
        .unwrap();
    let twin_started = std::time::Instant::now();
    let mut opts = options(&db, &dir);
    opts.requests_per_minute = 600;
    let err = pipeline::migrate(
        &opts,
        &paced_target(twin.base_url(), Duration::from_secs(5)),
    )
    .await
    .expect_err("a 15 s outage outlasts a 5 s limit");
    let text = err.to_string();
    assert!(
        !matches!(err, MigrateError::Interrupted { .. }) && text.contains("unavailable"),
        "{text}"
    );
    let landed = twin.stats().records_created;
    assert!(landed > 0, "some records landed before the outage");
    let rejects = std::fs::read_to_string(&opts.rejects_path).unwrap_or_default();
    assert!(
        rejects.trim().is_empty(),
        "nothing is rejected for an outage: {rejects}"
    );

    // After the outage, the same command resumes and ends exact.
    tokio::time::sleep((from + lasting).saturating_sub(twin_started.elapsed())).await;
    opts.restart = false;
    let report = pipeline::migrate(
        &opts,
        &paced_target(twin.base_url(), Duration::from_secs(5)),
    )
    .await
    .expect("the rerun after the outage");
    assert_exact(&opts, &twin, &report).await;
}
