//! What the files stage is told: where the bytes are, and what to do with the ones that
//! cannot move.

use std::path::PathBuf;

use super::Bucket;

/// Twenty's upload cap: `settings.storage.maxFileSize = '100MB'`
/// (`packages/twenty-server/src/engine/constants/settings/index.ts`), read here as 100 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;

/// The rule that skips records whose file is missing, with `--skip-missing-files`.
pub const MISSING_FILE_RULE: &str = "missing-file";

/// Where the source's file bytes are and what to do with the ones that cannot move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOptions {
    /// The source's local storage folder (`STORAGE_LOCAL_PATH`).
    pub storage_dir: Option<PathBuf>,
    /// The source's bucket, instead of a local folder.
    pub bucket: Option<Bucket>,
    /// The source server's own file endpoints, when neither folder nor bucket is at hand.
    pub server: Option<crate::source::server_files::SourceServer>,
    /// Count records whose file is missing as skipped (rule [`MISSING_FILE_RULE`]) instead
    /// of rejecting them.
    pub skip_missing_files: bool,
    /// Files larger than this are rejects.
    pub max_file_size: u64,
}

impl Default for FileOptions {
    fn default() -> Self {
        Self {
            storage_dir: None,
            bucket: None,
            server: None,
            skip_missing_files: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// A size such as `100MB`, `512KiB`, `2G` or a number of bytes (units are powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("--max-file-size takes a size such as 100MB, not {s:?}"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("--max-file-size: unknown unit {other:?}")),
    };
    Ok((number * factor as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("100MB").unwrap(), 100 * 1024 * 1024);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }
}
