//! The top-level error of a command. Each module has its own error enum; this one gathers them
//! so that `main` prints one sentence (each cause once) and picks the exit code of its kind.

use std::path::PathBuf;

use crate::destination::TargetError;
use crate::pipeline::files::FilesError;
use crate::pipeline::MigrateError;
use crate::source::SourceError;

/// Exit code: the command's inputs are wrong and nothing was written: a bad command line, a
/// database that is not Twenty's, a layout this version does not read, an API key the target
/// refuses, a blocked plan.
pub const EXIT_NOT_STARTED: u8 = 2;
/// Exit code: the source (database or file storage) cannot be reached or read.
pub const EXIT_SOURCE: u8 = 3;
/// Exit code: the target refused or failed in a way the run cannot work around.
pub const EXIT_TARGET: u8 = 4;
/// Exit code: a local file or service (ledger, rejects, report, throwaway Postgres, twin).
pub const EXIT_LOCAL: u8 = 5;
/// Exit code: stopped on request (Ctrl-C, SIGTERM); progress is saved (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// A fatal error: the command stops and the process exits with [`Error::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is inconsistent (a missing, malformed or contradictory option).
    #[error("{0}")]
    Usage(String),
    /// The source database could not be read.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// `inspect` could not read the source database or its storage.
    #[error(transparent)]
    Inspect(Box<crate::inspect::InspectError>),
    /// A call to the target outside a migration step failed.
    #[error("{context}: {source}")]
    Target {
        /// What the command was doing.
        context: String,
        /// The client's error.
        #[source]
        source: TargetError,
    },
    /// A migration step failed.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    /// The twin could not start or serve.
    #[error(transparent)]
    Twin(#[from] crate::twin::TwinError),
    /// A local file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Local {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The demo's throwaway Postgres or its sample data failed.
    #[error("the demo's local database: {0}")]
    Demo(String),
    /// A report could not be encoded as JSON.
    #[error("cannot encode the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The run's counts do not add up (a bug: every row must end written, rejected or skipped).
    #[error(
        "the counts do not add up for {0} (read ≠ written + rejected + skipped); this is a bug"
    )]
    Unbalanced(String),
}

impl Error {
    /// The process exit code of this kind of error (see the `EXIT_*` constants).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_NOT_STARTED,
            Self::Source(e) => source_exit_code(e),
            Self::Inspect(e) => match &**e {
                crate::inspect::InspectError::Source(e) => source_exit_code(e),
                crate::inspect::InspectError::Storage(_) => EXIT_SOURCE,
            },
            Self::Target { source, .. } => target_exit_code(source),
            Self::Migrate(e) => match e {
                MigrateError::Blocked(_) | MigrateError::Unsupported(_) => EXIT_NOT_STARTED,
                MigrateError::Source(e) => source_exit_code(e),
                MigrateError::Target { source, .. } => target_exit_code(source),
                MigrateError::Schema(_) => EXIT_TARGET,
                MigrateError::Files(f) => match **f {
                    FilesError::Source(_) | FilesError::Storage(_) => EXIT_SOURCE,
                    FilesError::State(_) => EXIT_LOCAL,
                    FilesError::Interrupted => EXIT_INTERRUPTED,
                    _ => EXIT_TARGET,
                },
                MigrateError::State(_)
                | MigrateError::Rejects { .. }
                | MigrateError::Runbook { .. } => EXIT_LOCAL,
                MigrateError::Interrupted { .. } => EXIT_INTERRUPTED,
            },
            Self::Twin(_) | Self::Local { .. } | Self::Demo(_) | Self::Json(_) => EXIT_LOCAL,
            Self::Unbalanced(_) => EXIT_LOCAL,
        }
    }
}

/// A source that is not what the command was told (no URL, not a Twenty database, an unknown
/// layout, no such workspace) is a wrong input; one that cannot be reached or read, the source's.
fn source_exit_code(e: &SourceError) -> u8 {
    match e {
        SourceError::Connect { .. } | SourceError::Query { .. } | SourceError::Inconsistent(_) => {
            EXIT_SOURCE
        }
        _ => EXIT_NOT_STARTED,
    }
}

/// A refused key or a client that cannot be built is a wrong input; anything else the target's.
fn target_exit_code(e: &TargetError) -> u8 {
    match e {
        TargetError::Unauthorized { .. } | TargetError::Config(_) => EXIT_NOT_STARTED,
        _ => EXIT_TARGET,
    }
}

/// The error as one line for a person: its sentence, then each cause the sentence does not
/// already hold. (Many errors carry their cause in their own text *and* as `source()`; walking
/// the chain blindly would print every such cause twice.)
pub fn render(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_sentence_is_printed_once() {
        let io = std::io::Error::other("disk full");
        let err = Error::Local {
            path: "rejects.jsonl".into(),
            source: io,
        };
        assert_eq!(render(&err), "rejects.jsonl: disk full");
        // anyhow's chain printer, which main used before, repeats it.
        assert_eq!(
            format!("{:#}", anyhow::Error::from(err)),
            "rejects.jsonl: disk full: disk full"
        );
    }

    #[test]
    fn a_cause_the_sentence_lacks_is_appended() {
        let err = crate::twin::TwinError::Members {
            path: "members.txt".into(),
            source: std::io::Error::other("no such file"),
        };
        assert_eq!(
            render(&err),
            "cannot read the members file members.txt: no such file"
        );
    }

    #[test]
    fn each_kind_has_its_exit_code() {
        assert_eq!(Error::Usage("x".into()).exit_code(), EXIT_NOT_STARTED);
        assert_eq!(
            Error::Migrate(MigrateError::Interrupted { state: "s".into() }).exit_code(),
            EXIT_INTERRUPTED
        );
        assert_eq!(
            Error::Migrate(MigrateError::Blocked(vec!["b".into()])).exit_code(),
            EXIT_NOT_STARTED
        );
        let target = |source| Error::Target {
            context: "reading members".into(),
            source,
        };
        assert_eq!(
            target(TargetError::PayloadTooLarge).exit_code(),
            EXIT_TARGET
        );
        // A refused key is a wrong input, caught before anything is written.
        assert_eq!(
            target(TargetError::Unauthorized {
                status: 401,
                message: "Token invalid.".into()
            })
            .exit_code(),
            EXIT_NOT_STARTED
        );
    }
}
