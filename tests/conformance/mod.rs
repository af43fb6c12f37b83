//! Replays the recorded conformance exchanges (`src/conformance/`) against an in-process twin
//! and compares the answers with the goldens recorded from a real Twenty 2.21 server
//! (`tests/conformance/twenty-2.21/`). Only the differences listed in `known-differences.json`
//! are accepted, and each listed one must still occur.

mod pins;

use std::path::{Path, PathBuf};

use twenty_migrate::conformance::{self, KnownDifferences, Target};
use twenty_migrate::twin::{Member, TwinConfig, UploadOffer};

const KEY: &str = "conformance-key";

fn goldens_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/twenty-2.21")
}

/// Every `fn name(` in the crate's sources and tests, to check that pinning tests exist.
fn test_exists(name: &str) -> bool {
    let needle = format!("fn {name}(");
    let mut stack = vec![
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && std::fs::read_to_string(&path).is_ok_and(|t| t.contains(&needle))
            {
                return true;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_twin_answers_every_recorded_exchange_like_real_twenty_2_21() {
    let dir = goldens_dir();
    let known: KnownDifferences = serde_json::from_str(
        &std::fs::read_to_string(dir.join("known-differences.json")).expect("known differences"),
    )
    .expect("known differences parse");
    for k in &known.differences {
        assert!(
            test_exists(&k.pinned_by),
            "known difference {} {} names a pinning test `{}` that does not exist",
            k.exchange,
            k.path,
            k.pinned_by
        );
    }
    // The seeded Apple workspace has Tim Apple; its API key is named `migration-test`
    // (`/work/shared/real-twenty/make-api-key.sh`), which `createdBy.name` shows.
    let twin = TwinConfig::new(KEY)
        .key_name("migration-test")
        .members(vec![
            Member::parse("tim@apple.dev,Tim,Apple").expect("member")
        ])
        .upload_offer(UploadOffer::Both)
        .app_version("2.21.0")
        .start()
        .await
        .expect("twin starts");
    let target = Target {
        base_url: twin.base_url().to_owned(),
        api_key: KEY.to_owned(),
    };
    let runs = conformance::run_all(&target).await;
    // For debugging the twin: `CONFORMANCE_DUMP=/tmp/twin cargo test --test main conformance`.
    if let Some(out) = std::env::var_os("CONFORMANCE_DUMP") {
        conformance::write_goldens(Path::new(&out), &runs).expect("dump written");
    }
    let mut used = vec![false; known.differences.len()];
    let mut failures = Vec::new();
    for (name, actual) in &runs {
        let golden = match conformance::read_golden(&dir, name) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: no golden ({e})"));
                continue;
            }
        };
        let diffs = conformance::compare(&golden, actual);
        let unexplained: Vec<_> = diffs
            .iter()
            .filter(|d| match known.covering(name, d) {
                Some(i) => {
                    used[i] = true;
                    false
                }
                None => true,
            })
            .collect();
        if let Some(first) = unexplained.first() {
            failures.push(format!(
                "{name}: {} unexplained difference(s), first {first}",
                unexplained.len()
            ));
        }
    }
    for (k, used) in known.differences.iter().zip(&used) {
        if !used {
            failures.push(format!(
                "known difference no longer occurs, remove it: {} {} ({})",
                k.exchange, k.path, k.reason
            ));
        }
    }
    twin.shutdown().await.expect("twin stops");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
