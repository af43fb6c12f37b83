//! twenty-migrate moves a self-hosted Twenty CRM workspace into Twenty Cloud: it reads the
//! self-hosted Postgres database directly and writes through the target's API.
//!
//! The binary is a thin shell over [`run`]; every command lives in a module named after it.

pub mod cli;
pub mod commands;
pub mod conformance;
pub mod destination;
pub mod error;
pub mod fixture;
pub mod inspect;
pub mod local_pg;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod record;
pub mod report;
pub mod schema_sync;
pub mod source;
pub mod state;
pub mod transform;
pub mod twin;

pub use error::Error;

use cli::{Cli, Command};

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything done (exit code 0).
    Complete,
    /// Finished, but some records were rejected or differ (exit code 1).
    Incomplete,
}

impl Outcome {
    /// The process exit code for this outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Complete => 0,
            Self::Incomplete => 1,
        }
    }
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome, Error> {
    match cli.command {
        Command::Inspect(args) => run_inspect(args).await,
        Command::Plan(args) => commands::plan(args).await,
        Command::Migrate(args) => commands::migrate(args).await,
        Command::Rehearse(args) => commands::rehearse(args).await,
        Command::Verify(args) => commands::verify(args).await,
        Command::Twin(args) => twin::run(args)
            .await
            .map(|()| Outcome::Complete)
            .map_err(Error::from),
        Command::Demo(args) => commands::demo(args).await,
    }
}

async fn run_inspect(args: cli::InspectArgs) -> Result<Outcome, Error> {
    let bucket = commands::bucket(&args.source);
    let server = commands::source_server(&args.source);
    let opts = inspect::InspectOptions {
        bucket,
        server,
        source_url: args.source.source.ok_or(source::SourceError::MissingUrl)?,
        workspace: args.source.workspace,
        storage_dir: args.source.storage_dir,
    };
    let report = inspect::inspect(&opts)
        .await
        .map_err(|e| Error::Inspect(Box::new(e)))?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)?;
        println!("{text}");
    } else {
        print!("{}", inspect::render_text(&report));
    }
    Ok(Outcome::Complete)
}
