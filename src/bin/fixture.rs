//! `fixture`: loads a sample source workspace into a Postgres database, for rehearsals against
//! a real Twenty server (README, "Rehearse against a real Twenty").
//!
//! The workspace is the one the tests and `demo` use: Twenty's instance tables, one generated
//! layout C workspace (standard and custom objects, members, links, attachments with their
//! bytes under `--storage-dir`), then, for `--layout a|b|half`, the downgrades the layout tests
//! apply. The generated members' emails are printed, for the target's `--unmatched-members`.
//!
//! ```sh
//! cargo run --release --bin fixture -- --database-url postgres://…/sample_c --layout c \
//!     --records 10000 --storage-dir /tmp/sample_c_storage
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use twenty_migrate::fixture::generate::{generate, GenerateOptions};
use twenty_migrate::fixture::layouts::{downgrade, Downgrade};
use twenty_migrate::fixture::{load_instance, load_workspace, WorkspaceSpec};

/// Loads a sample Twenty workspace into an empty database.
#[derive(Debug, Parser)]
struct Args {
    /// An empty database to load into (created if the URL's server lets this user create it).
    #[arg(long)]
    database_url: String,
    /// The source layout: `c` (1.20 – 2.x), `b` (1.16), `a` (0.43) or `half` (a 1.17 upgrade
    /// stopped half-way).
    #[arg(long, default_value = "c")]
    layout: String,
    /// How many records to generate.
    #[arg(long, default_value_t = 2000)]
    records: usize,
    /// Seed of the generator (same seed, same data).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The storage folder to write the attachments' bytes into (`--storage-dir` of the tool).
    #[arg(long)]
    storage_dir: PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let to = match args.layout.as_str() {
        "c" => None,
        "b" => Some(Downgrade::B),
        "a" => Some(Downgrade::A),
        "half" => Some(Downgrade::HalfUpgraded(&["taskTarget", "attachment"])),
        other => return Err(format!("unknown layout {other:?}: use a, b, c or half")),
    };
    let (client, connection) = tokio_postgres::connect(&args.database_url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let spec = WorkspaceSpec::sample(1);
    load_instance(&client).await.map_err(|e| e.to_string())?;
    load_workspace(&client, &spec)
        .await
        .map_err(|e| e.to_string())?;
    let generated = generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: args.seed,
            records: args.records,
            storage_dir: Some(args.storage_dir.clone()),
            missing_files: 0,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    if let Some(to) = to {
        downgrade(&client, &spec, to, Some(&args.storage_dir))
            .await
            .map_err(|e| e.to_string())?;
    }
    println!(
        "workspace {} ({}) with {} records, layout {}",
        spec.display_name,
        spec.id,
        generated.total_records(),
        args.layout
    );
    let emails: Vec<String> = generated
        .twin_members()
        .iter()
        .map(|m| m.email.clone())
        .collect();
    println!("members: {}", emails.join(", "));
    Ok(())
}
