//! Recorded conformance (issue 14): sends the fixed list of exchanges of
//! `twenty_migrate::conformance` to a Twenty server and either writes their normalised answers
//! as golden files (`record`) or compares them with goldens (`check`).
//!
//! ```sh
//! conformance record --target http://127.0.0.1:3100 --out tests/conformance/twenty-2.21
//! conformance check  --target http://127.0.0.1:3100 --goldens tests/conformance/twenty-2.21
//! ```
//!
//! The key comes from `--api-key` or `TWENTY_API_KEY` and is never written. Each run creates a
//! custom object `cf<Run>Thing` (a fresh run token) and records with fresh ids in the target
//! workspace: use a throwaway workspace.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use twenty_migrate::conformance::{self, Target};

/// Records or checks the conformance goldens against a Twenty server.
#[derive(Parser)]
#[command(name = "conformance")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every exchange and writes one golden file per exchange into `--out`.
    Record {
        #[command(flatten)]
        server: Server,
        /// The folder to write, e.g. `tests/conformance/twenty-2.21`.
        #[arg(long)]
        out: PathBuf,
        /// Records only the exchanges whose name starts with this (e.g. `member-picture`),
        /// leaving the other goldens as they are.
        #[arg(long, default_value = "")]
        only: String,
    },
    /// Runs every exchange and compares the answers with the goldens of `--goldens`.
    Check {
        #[command(flatten)]
        server: Server,
        /// The folder of goldens.
        #[arg(long)]
        goldens: PathBuf,
    },
}

#[derive(clap::Args)]
struct Server {
    /// Base URL of the Twenty server.
    #[arg(long, env = "TWENTY_TARGET_URL")]
    target: String,
    /// API key of the workspace (prefer the variable to the flag).
    #[arg(long, env = "TWENTY_API_KEY", hide_env_values = true)]
    api_key: String,
}

impl Server {
    fn target(&self) -> Target {
        Target {
            base_url: self.target.trim_end_matches('/').to_owned(),
            api_key: self.api_key.clone(),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Record { server, out, only } => {
            let goldens = conformance::run_named(&server.target(), &only).await;
            if let Err(e) = conformance::write_goldens(&out, &goldens) {
                eprintln!("cannot write the goldens into {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
            println!("{} goldens written to {}", goldens.len(), out.display());
            ExitCode::SUCCESS
        }
        Command::Check { server, goldens } => {
            let runs = conformance::run_all(&server.target()).await;
            let mut failed = 0;
            for (name, actual) in &runs {
                let golden = match conformance::read_golden(&goldens, name) {
                    Ok(g) => g,
                    Err(e) => {
                        println!("{name}: no golden ({e})");
                        failed += 1;
                        continue;
                    }
                };
                let diffs = conformance::compare(&golden, actual);
                if let Some(first) = diffs.first() {
                    println!("{name}: {} difference(s), first {first}", diffs.len());
                    failed += 1;
                }
            }
            println!("{} exchanges, {failed} differ", runs.len());
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
