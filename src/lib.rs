//! twenty-migrate moves a self-hosted Twenty CRM workspace into Twenty Cloud: it reads the
//! self-hosted Postgres database directly and writes through the target's API.
//!
//! The binary is a thin shell over [`run`]; every command lives in a module named after it.

pub mod cli;
pub mod error;
pub mod model;
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
        Command::Inspect(_) => Err(Error::NotBuilt("inspect")),
        Command::Plan(_) => Err(Error::NotBuilt("plan")),
        Command::Migrate(_) => Err(Error::NotBuilt("migrate")),
        Command::Rehearse(_) => Err(Error::NotBuilt("rehearse")),
        Command::Verify(_) => Err(Error::NotBuilt("verify")),
        Command::Twin(args) => twin::run(args)
            .await
            .map(|()| Outcome::Complete)
            .map_err(Error::from),
        Command::Demo(_) => Err(Error::NotBuilt("demo")),
    }
}
