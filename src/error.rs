//! The top-level error of a command. Each module has its own error enum; this one only
//! gathers them so that `main` can print one sentence and pick the exit code.

/// A fatal error: the command stops and the process exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is inconsistent (a missing or contradictory option).
    #[error("{0}")]
    Usage(String),
    /// The source database could not be read.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// `inspect` could not read the source database or its storage.
    #[error(transparent)]
    Inspect(Box<crate::inspect::InspectError>),
    /// A migration step failed.
    #[error(transparent)]
    Migrate(#[from] crate::pipeline::MigrateError),
    /// The twin could not start or serve.
    #[error(transparent)]
    Twin(#[from] crate::twin::TwinError),
}

impl Error {
    /// The process exit code: always 2 (fatal) for now.
    pub fn exit_code(&self) -> u8 {
        2
    }
}
