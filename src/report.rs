//! What a run did: per-object counts that must balance, the rejects file, and the summary
//! printed at the end (text) or written with `--report` (JSON).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use uuid::Uuid;

use crate::plan::{DroppedField, SkippedObject};
use crate::record::ApiRecord;

/// Counts for one object. `read = written + rejected + Σ skipped` must hold at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ObjectReport {
    /// `nameSingular`.
    pub object: String,
    /// Source rows read (live and soft-deleted).
    pub read: u64,
    /// Rows the target confirmed (created or updated).
    pub written: u64,
    /// Rows refused, each with a line in the rejects file.
    pub rejected: u64,
    /// Rows skipped, per named rule.
    pub skipped: BTreeMap<String, u64>,
    /// References written in the second pass.
    pub deferred_links: u64,
    /// Rows soft-deleted in the target after creation (`--deleted keep`), or, in a delta
    /// pass, because they were soft-deleted in the source since the last pass.
    pub soft_deleted: u64,
    /// Of `written`: rows the target held already and that were sent again because they
    /// changed in the source (restored rows included).
    #[serde(default)]
    pub updated: u64,
    /// Rows the ledger holds that the source no longer has (hard-deleted since the last pass).
    #[serde(default)]
    pub hard_deleted: u64,
    /// Of `hard_deleted`: destroyed in the target too (`--propagate-deletes`).
    #[serde(default)]
    pub destroyed: u64,
}

impl ObjectReport {
    /// A report for `object` with zero counts.
    pub fn new(object: &str) -> Self {
        Self {
            object: object.to_owned(),
            ..Self::default()
        }
    }

    /// Adds `n` rows skipped by `rule`.
    pub fn skip(&mut self, rule: &str, n: u64) {
        if n > 0 {
            *self.skipped.entry(rule.to_owned()).or_default() += n;
        }
    }

    /// Adds another report's counts to this one.
    pub fn absorb(&mut self, other: &ObjectReport) {
        self.read += other.read;
        self.written += other.written;
        self.rejected += other.rejected;
        for (rule, n) in &other.skipped {
            self.skip(rule, *n);
        }
        self.deferred_links += other.deferred_links;
        self.soft_deleted += other.soft_deleted;
        self.updated += other.updated;
        self.hard_deleted += other.hard_deleted;
        self.destroyed += other.destroyed;
    }

    /// Whether every row read is accounted for.
    pub fn balances(&self) -> bool {
        self.read == self.written + self.rejected + self.skipped.values().sum::<u64>()
    }
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Migrated objects, in plan order.
    pub objects: Vec<ObjectReport>,
    /// Objects not migrated and why (their rows count as skipped).
    pub skipped_objects: Vec<SkippedObject>,
    /// Fields not written, per object.
    pub dropped_fields: BTreeMap<String, Vec<DroppedField>>,
    /// What the target could not keep (e.g. values it overwrites).
    pub not_kept: Vec<String>,
    /// Requests sent to the target (all kinds, retries included).
    pub requests: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The rejects file.
    pub rejects_file: Option<PathBuf>,
    /// The ledger file.
    pub state_file: Option<PathBuf>,
    /// Files moved by this run.
    pub files: FileCounts,
    /// The workspace configuration moved by this run (absent with `--no-config`).
    pub config: Option<ConfigReport>,
    /// The pass this run made, and for a delta what changed since the pass before.
    pub pass: PassReport,
}

/// Which pass a run made. The first `migrate` is pass 1 (everything); each later `migrate`
/// against the same ledger, once a pass completed, is a delta: only what changed in the source
/// since the snapshot the pass before read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// 1, 2, 3…
    pub number: u32,
    /// For a delta: the source time up to which the previous pass read everything.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// The source time of this pass's snapshot: the next delta starts from it.
    pub watermark: Option<chrono::DateTime<chrono::Utc>>,
    /// Records someone changed in the target since the last pass, left as they are
    /// (`--overwrite-target-changes` overwrites them instead).
    pub conflicts: Vec<Conflict>,
    /// Records hard-deleted in the source since the last pass, by object (target ids).
    pub hard_deleted: BTreeMap<String, Vec<uuid::Uuid>>,
    /// Whether those were destroyed in the target (`--propagate-deletes`) or only listed.
    pub deletes_propagated: bool,
}

/// A record changed on both sides since the last pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Object `nameSingular`.
    pub object: String,
    /// Target id.
    pub id: uuid::Uuid,
    /// The target's `updatedAt`.
    pub target_updated_at: String,
}

impl PassReport {
    fn render_text(&self, out: &mut String) {
        let Some(since) = self.since else {
            return;
        };
        let _ = writeln!(
            out,
            "
delta pass {}: what changed in the source between {} and {}",
            self.number,
            since.to_rfc3339(),
            self.watermark
                .map(|w| w.to_rfc3339())
                .unwrap_or_else(|| "now".into())
        );
        if !self.conflicts.is_empty() {
            let _ = writeln!(
                out,
                "{} records changed in the target since the last pass were left as they are \
                 (--overwrite-target-changes overwrites them):",
                self.conflicts.len()
            );
            for c in self.conflicts.iter().take(20) {
                let _ = writeln!(
                    out,
                    "  conflict: {} {} (target updatedAt {})",
                    c.object, c.id, c.target_updated_at
                );
            }
        }
        for (object, ids) in &self.hard_deleted {
            let first: Vec<String> = ids.iter().take(5).map(|id| id.to_string()).collect();
            let _ = writeln!(
                out,
                "{object}: {} records deleted in the source {}: {}{}",
                ids.len(),
                if self.deletes_propagated {
                    "were destroyed in the target"
                } else {
                    "are still in the target (pass --propagate-deletes to delete them)"
                },
                first.join(", "),
                if ids.len() > 5 { ", …" } else { "" }
            );
        }
    }
}

impl RunReport {
    /// Total rejected rows.
    pub fn rejected(&self) -> u64 {
        self.objects.iter().map(|o| o.rejected).sum()
    }

    /// Objects whose counts do not add up.
    pub fn unbalanced(&self) -> Vec<&ObjectReport> {
        self.objects.iter().filter(|o| !o.balances()).collect()
    }

    /// The summary table.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9}  skip rules",
            "object", "read", "written", "rejected", "skipped", "deferred"
        );
        for o in &self.objects {
            let skipped: u64 = o.skipped.values().sum();
            let rules = o
                .skipped
                .iter()
                .map(|(r, n)| format!("{r}={n}"))
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                out,
                "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9}  {rules}",
                o.object, o.read, o.written, o.rejected, skipped, o.deferred_links
            );
        }
        if !self.skipped_objects.is_empty() {
            let _ = writeln!(out, "\nobjects not migrated");
            for s in &self.skipped_objects {
                let _ = writeln!(
                    out,
                    "  {:<28} {:>9} rows  [{}] {}",
                    s.object, s.rows, s.rule, s.reason
                );
            }
        }
        let dropped: usize = self.dropped_fields.values().map(Vec::len).sum();
        if dropped > 0 {
            let _ = writeln!(out, "\nfields not written");
            for (object, fields) in &self.dropped_fields {
                for f in fields {
                    let _ = writeln!(out, "  {object}.{}: {}", f.field, f.reason);
                }
            }
        }
        for n in &self.not_kept {
            let _ = writeln!(out, "not kept: {n}");
        }
        let f = &self.files;
        if f.uploaded + f.reused > 0 {
            let _ = writeln!(
                out,
                "\nfiles: {} uploaded ({} bytes), {} uploaded by an earlier run and reused",
                f.uploaded, f.bytes, f.reused
            );
        }
        if f.member_pictures + f.member_pictures_reused > 0 {
            let _ = writeln!(
                out,
                "member pictures: {} set, {} set by an earlier run",
                f.member_pictures, f.member_pictures_reused
            );
        }
        if let Some(c) = &self.config {
            out.push_str(&c.render_text());
        }
        self.pass.render_text(&mut out);
        if self.pass.since.is_some() {
            let sum = |f: fn(&ObjectReport) -> u64| self.objects.iter().map(f).sum::<u64>();
            let (written, updated) = (sum(|o| o.written), sum(|o| o.updated));
            let _ = writeln!(
                out,
                "delta: {} records created, {updated} updated, {} soft-deleted, {} hard-deleted \
                 ({} destroyed), {} conflicts: {} requests in {:.1} s",
                written - updated,
                sum(|o| o.soft_deleted),
                sum(|o| o.hard_deleted),
                sum(|o| o.destroyed),
                self.pass.conflicts.len(),
                self.requests,
                self.seconds
            );
        }
        let _ = writeln!(
            out,
            "\n{} requests in {:.1} s; {} rejected{}",
            self.requests,
            self.seconds,
            self.rejected(),
            self.rejects_file
                .as_ref()
                .filter(|_| self.rejected() > 0)
                .map(|p| format!(" (see {})", p.display()))
                .unwrap_or_default()
        );
        out
    }
}

/// Per kind of configuration, what a run did (or, for `plan`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    /// Entities created.
    pub created: usize,
    /// Entities updated (a property, a child, a permission set).
    pub updated: usize,
    /// Entities already equal in the target.
    pub unchanged: usize,
    /// Entities left to a person: listed in the runbook.
    pub runbook: usize,
}

/// What the configuration stage did, per kind (`views`, `roles`, `navigation`, `webhooks`,
/// `members`, `api_keys`, `workflows`), with the notes of what it could not map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigReport {
    /// Counts per kind.
    pub kinds: BTreeMap<String, KindCounts>,
    /// References that could not be mapped (a field the target lacks, an unmatched member),
    /// each naming the entity and what was left out.
    pub notes: Vec<String>,
    /// Requests to the target: sent by `migrate`, or needed by `plan`'s estimate (one per
    /// change, and the reads).
    pub requests: u64,
    /// Custom AI agents the target refused to create: the runbook keeps a step for each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_agents: Vec<RefusedAgent>,
}

/// A custom AI agent the target refused (a model it does not offer, …), for the runbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedAgent {
    /// Source agent id.
    pub id: Uuid,
    /// Its label.
    pub label: String,
    /// The target's reason.
    pub reason: String,
}

impl ConfigReport {
    /// The counts of one kind, created empty.
    pub fn kind(&mut self, kind: &str) -> &mut KindCounts {
        self.kinds.entry(kind.to_owned()).or_default()
    }

    /// The configuration table: one line per kind.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<28} {:>9} {:>9} {:>9} {:>9}",
            "configuration", "created", "updated", "unchanged", "runbook"
        );
        for (kind, c) in &self.kinds {
            let _ = writeln!(
                out,
                "{kind:<28} {:>9} {:>9} {:>9} {:>9}",
                c.created, c.updated, c.unchanged, c.runbook
            );
        }
        let _ = writeln!(out, "configuration requests: {}", self.requests);
        for n in &self.notes {
            let _ = writeln!(out, "configuration: {n}");
        }
        out
    }
}

/// Progress of one object: a bar with rate and ETA on a terminal, one plain line at the end
/// either way (stderr, so `--json` output on stdout stays clean).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    object: String,
    started: std::time::Instant,
}

impl Progress {
    /// Starts tracking `object`, which has `total` rows to read.
    pub fn start(object: &str, total: u64) -> Self {
        use std::io::IsTerminal as _;
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{msg:<24} {bar:30} {pos:>8}/{len:<8} {per_sec:>12} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(object.to_owned());
            bar
        });
        Self {
            bar,
            object: object.to_owned(),
            started: std::time::Instant::now(),
        }
    }

    /// `n` more rows handled.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Clears the bar and prints the object's line.
    pub fn finish(self, report: &ObjectReport) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let skipped: u64 = report.skipped.values().sum();
        eprintln!(
            "{}: {} read, {} written, {} rejected, {} skipped in {:.1} s ({:.0} records/s)",
            self.object,
            report.read,
            report.written,
            report.rejected,
            skipped,
            seconds,
            report.written as f64 / seconds.max(1e-9)
        );
    }
}

/// One refused record.
#[derive(Debug, Clone, Serialize)]
pub struct Reject<'a> {
    /// Object `nameSingular`.
    pub object: &'a str,
    /// Source record id.
    pub id: Uuid,
    /// The field at fault, when known.
    pub field: Option<&'a str>,
    /// The API's message (or the transform's).
    pub message: &'a str,
    /// The record as sent (absent when it could not be built).
    pub record: Option<&'a ApiRecord>,
}

/// Appends rejects to a JSON-lines file, one record a line, each record once: a resumed run
/// reads the lines an interrupted run left (a reject is written before the next checkpoint, so
/// the resumed run meets the same row again) and does not write them twice.
pub struct RejectsFile {
    path: PathBuf,
    append: bool,
    writer: Option<std::io::BufWriter<std::fs::File>>,
    count: u64,
    /// (object, id) of every line in the file; grows with the rejects only.
    written: HashSet<(String, Uuid)>,
}

impl RejectsFile {
    /// A rejects file at `path`, opened on the first reject: truncated for a new run,
    /// appended to when a run resumes.
    pub fn new(path: &Path, append: bool) -> Self {
        Self {
            path: path.to_owned(),
            append,
            writer: None,
            count: 0,
            written: HashSet::new(),
        }
    }

    /// Appends one reject, unless the file already holds a line for this record.
    pub fn write(&mut self, reject: &Reject<'_>) -> std::io::Result<()> {
        if self.writer.is_none() {
            if self.append {
                self.read_existing()?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(self.append)
                .truncate(!self.append)
                .open(&self.path)?;
            self.writer = Some(std::io::BufWriter::new(file));
        }
        if !self.written.insert((reject.object.to_owned(), reject.id)) {
            return Ok(());
        }
        let w = self.writer.as_mut().expect("writer opened above");
        serde_json::to_writer(&mut *w, reject)?;
        w.write_all(b"\n")?;
        self.count += 1;
        Ok(())
    }

    /// Remembers the records of the lines a previous run wrote, and cuts a last line that a
    /// kill left half-written (it would glue itself to the next line).
    fn read_existing(&mut self) -> std::io::Result<()> {
        let text = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let whole = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole < text.len() {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&self.path)?
                .set_len(whole as u64)?;
        }
        #[derive(serde::Deserialize)]
        struct Line {
            object: String,
            id: Uuid,
        }
        for line in text[..whole].split(|b| *b == b'\n') {
            if let Ok(l) = serde_json::from_slice::<Line>(line) {
                self.written.insert((l.object, l.id));
            }
        }
        Ok(())
    }

    /// Flushes to disk.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// Rejects written.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Counters of the files phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FileCounts {
    /// Files uploaded by this run.
    pub uploaded: u64,
    /// Bytes uploaded by this run.
    pub bytes: u64,
    /// Files an earlier run had uploaded (read from the ledger).
    pub reused: u64,
    /// Workspace-member pictures set in the target by this run.
    pub member_pictures: u64,
    /// Workspace-member pictures an earlier run had set (read from the ledger).
    pub member_pictures_reused: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn counts_balance_only_when_every_row_is_accounted_for() {
        let mut r = ObjectReport::new("company");
        r.read = 10;
        r.written = 7;
        r.rejected = 1;
        assert!(!r.balances());
        r.skip("soft-deleted", 2);
        assert!(r.balances());
    }

    #[test]
    fn a_resumed_run_writes_no_reject_line_twice_and_cuts_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.jsonl");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let reject = |id| Reject {
            object: "company",
            id,
            field: None,
            message: "refused",
            record: None,
        };
        let mut first = RejectsFile::new(&path, false);
        first.write(&reject(a)).unwrap();
        first.flush().unwrap();
        drop(first);
        // A kill in the middle of the next line.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(br#"{"object":"company","id":"00000"#);
        std::fs::write(&path, bytes).unwrap();

        let mut resumed = RejectsFile::new(&path, true);
        resumed.write(&reject(a)).unwrap();
        resumed.write(&reject(b)).unwrap();
        resumed.write(&reject(b)).unwrap();
        resumed.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(ids, [a.to_string(), b.to_string()]);
        assert_eq!(resumed.count(), 1);
    }

    #[test]
    fn rejects_are_one_json_object_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.jsonl");
        let mut rejects = RejectsFile::new(&path, false);
        let id = Uuid::new_v4();
        let mut record = ApiRecord::new(id);
        record.insert("name", serde_json::json!(1));
        rejects
            .write(&Reject {
                object: "company",
                id,
                field: Some("name"),
                message: "Invalid string value 1 for text field \"name\"",
                record: Some(&record),
            })
            .unwrap();
        rejects.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let line: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["object"], "company");
        assert_eq!(line["field"], "name");
        assert_eq!(
            line["record"],
            serde_json::json!({"id": id.to_string(), "name": 1})
        );
        assert_eq!(rejects.count(), 1);
    }
}
