//! `inspect` over a bucket: the files a workspace references are looked up in an S3 bucket
//! (moto) or an Azure container (Azurite), found ones counted with their bytes and missing
//! ones listed with where they were looked for.

use std::process::Command;

use serde_json::Value;
use uuid::Uuid;

use super::azure::{self, Azurite, ACCOUNT_KEY};
use super::{walk, world, Moto, World};

/// A person picture uploaded before 1.18 (present) and one whose file is gone.
struct Pictures {
    present: Uuid,
    lost: Uuid,
    bytes: u64,
}

/// Points two people's `avatarUrl` at pre-1.18 picture paths, one of them written.
async fn pictures(w: &World) -> Pictures {
    let schema = w.spec.schema();
    let rows = w
        .client
        .query(
            &format!("SELECT id FROM \"{schema}\".person ORDER BY id LIMIT 2"),
            &[],
        )
        .await
        .unwrap();
    let (present, lost): (Uuid, Uuid) = (rows[0].get(0), rows[1].get(0));
    let folder = w
        .storage()
        .join(format!("workspace-{}/person-picture/original", w.spec.id));
    std::fs::create_dir_all(&folder).unwrap();
    let png = vec![0x89u8; 777];
    std::fs::write(folder.join("face.png"), &png).unwrap();
    for (id, url) in [
        (present, "person-picture/original/face.png"),
        (lost, "person-picture/original/gone.png"),
    ] {
        w.client
            .execute(
                &format!("UPDATE \"{schema}\".person SET \"avatarUrl\" = $2 WHERE id = $1"),
                &[&id, &url],
            )
            .await
            .unwrap();
    }
    Pictures {
        present,
        lost,
        bytes: png.len() as u64,
    }
}

/// Copies the storage folder into a bucket, key for key.
async fn upload(w: &World, store: &dyn object_store::ObjectStore) {
    let mut files = Vec::new();
    walk(&w.storage(), &w.storage(), &mut files);
    assert!(!files.is_empty());
    for (key, path) in &files {
        let bytes = std::fs::read(path).unwrap();
        store
            .put(&key.as_str().into(), bytes.into())
            .await
            .expect("put");
    }
}

/// Runs the real binary's `inspect` with `args` and the environment `env`; (code, out, err).
fn inspect(w: &World, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twenty-migrate"))
        .args(["inspect", "--source", &w.db.url])
        .args(args)
        .env_remove("TWENTY_SOURCE_URL")
        .env_remove("TWENTY_STORAGE_DIR")
        .envs(env.iter().copied())
        .output()
        .expect("run twenty-migrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Checks `inspect --json` and the text form against what is in the bucket at `url`.
fn check_reports(w: &World, p: &Pictures, url: &str, args: &[&str], env: &[(&str, &str)]) {
    let json_args: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
    let (code, stdout, stderr) = inspect(w, &json_args, env);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let a = &report["workspace"]["attachments"];
    assert_eq!(a["storage_checked"], true, "{a}");
    assert_eq!(a["storage"], url, "{a}");
    let files = &w.generated.attachments;
    assert_eq!(a["files_found"].as_u64(), Some(files.files_present), "{a}");
    assert_eq!(a["bytes_found"].as_u64(), Some(files.bytes_present), "{a}");
    // The one file the generator withheld is missing, named by its key and bucket URL.
    assert_eq!(files.missing.len(), 1);
    assert_eq!(a["missing_count"].as_u64(), Some(1), "{a}");
    let missing = &a["missing"][0];
    assert_eq!(missing["key"], files.missing[0].as_str());
    assert_eq!(
        missing["location"].as_str().unwrap(),
        format!("{url}/{}", files.missing[0])
    );

    // Person pictures of before 1.18: one found with its size, one missing.
    let avatars = report["workspace"]["other_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["object"] == "person" && f["field"] == "avatarUrl")
        .unwrap_or_else(|| panic!("person pictures reported: {report}"));
    assert_eq!(avatars["files_referenced"], 2, "{avatars}");
    assert_eq!(avatars["files_found"], 1, "{avatars}");
    assert_eq!(avatars["bytes_found"].as_u64(), Some(p.bytes), "{avatars}");
    assert_eq!(avatars["missing_count"], 1, "{avatars}");
    assert_eq!(avatars["missing"][0]["record_id"], p.lost.to_string());
    assert!(avatars["missing"][0]["location"]
        .as_str()
        .unwrap()
        .ends_with("person-picture/original/gone.png"));
    assert_ne!(avatars["missing"][0]["record_id"], p.present.to_string());

    // The text form says the same.
    let (code, text, stderr) = inspect(w, args, env);
    assert_eq!(code, 0, "{stderr}");
    let found = format!(
        "found in {url}: {} files, {} bytes; missing: 1",
        files.files_present, files.bytes_present
    );
    assert!(text.contains(&found), "{text}");
    assert!(
        text.contains(&format!("{url}/{}", files.missing[0])),
        "{text}"
    );
    assert!(
        text.contains("person.avatarUrl: file references: 2"),
        "{text}"
    );
    assert!(
        text.contains(&format!("missing: person {}", p.lost)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_over_an_s3_bucket_counts_the_files_it_finds_and_names_the_missing_ones() {
    let Some(moto) = Moto::start().await else {
        eprintln!(
            "SKIPPED inspect_over_an_s3_bucket_counts_the_files_it_finds_and_names_the_missing_ones: \
             moto_server is not installed (pip install 'moto[server]'; .ci/run installs it)"
        );
        return;
    };
    let w = world(400, 1).await;
    let p = pictures(&w).await;
    let bucket = "inspect-source";
    let status = reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .expect("create bucket")
        .status();
    assert!(status.is_success(), "{status}");
    let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket);
    for (k, v) in moto.config() {
        builder = builder.with_config(k.parse().unwrap(), v);
    }
    upload(&w, &builder.build().expect("s3 client")).await;

    // Endpoint and credentials from the standard AWS variables, as a user gives them.
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    check_reports(
        &w,
        &p,
        &format!("s3://{bucket}"),
        &["--s3-bucket", bucket],
        &env,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_over_an_azure_container_counts_the_files_it_finds_and_never_prints_the_key() {
    let Some(azurite) = Azurite::start().await else {
        azure::skipped(
            "inspect_over_an_azure_container_counts_the_files_it_finds_and_never_prints_the_key",
        );
        return;
    };
    let w = world(400, 1).await;
    let p = pictures(&w).await;
    let container = "inspect-source";
    azurite.create_container(container).await;
    upload(&w, &azurite.store(container)).await;

    // Account, key and endpoint from the AZURE_STORAGE_* variables, as a user gives them.
    let endpoint = azurite.endpoint().to_owned();
    let env = [
        ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
        ("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY),
        ("AZURE_STORAGE_ENDPOINT", endpoint.as_str()),
        ("AZURE_ALLOW_HTTP", "true"),
    ];
    let args = ["--azure-container", container];
    check_reports(&w, &p, &format!("az://{container}"), &args, &env);

    // Neither form, nor a failure's message, shows the key.
    for extra in [&[][..], &["--json"][..]] {
        let all: Vec<&str> = args.iter().chain(extra).copied().collect();
        let (_, out, err) = inspect(&w, &all, &env);
        assert!(!out.contains(ACCOUNT_KEY) && !err.contains(ACCOUNT_KEY));
    }
    let wrong = [
        ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
        ("AZURE_STORAGE_ACCOUNT_KEY", "bm90LXRoZS1rZXk="),
        ("AZURE_STORAGE_ENDPOINT", endpoint.as_str()),
        ("AZURE_ALLOW_HTTP", "true"),
    ];
    let (code, out, err) = inspect(&w, &args, &wrong);
    assert_eq!(code, 3, "a refused key stops inspect: {out}");
    assert!(err.contains("az://inspect-source"), "{err}");
    assert!(!err.contains("bm90LXRoZS1rZXk="), "{err}");
}
