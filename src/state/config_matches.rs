//! Which target entity stands for a source one when the two ids differ: a standard view, role,
//! sidebar item or webhook the configuration stage matched by a natural key (name, label,
//! URL…). Kept so that a later run finds the same entity even after someone renamed it in
//! the target, instead of creating the source's copy beside it.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OpenFlags};
use uuid::Uuid;

use super::{Ledger, StateError};

/// Kind and source id → target id.
pub type ConfigMatches = HashMap<(String, Uuid), Uuid>;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS config_match (
    kind TEXT NOT NULL, source_id TEXT NOT NULL, target_id TEXT NOT NULL,
    PRIMARY KEY (kind, source_id));
";

fn read(conn: &Connection) -> rusqlite::Result<ConfigMatches> {
    let mut stmt = conn.prepare("SELECT kind, source_id, target_id FROM config_match")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = ConfigMatches::new();
    for row in rows {
        let (kind, source, target) = row?;
        if let (Ok(source), Ok(target)) = (source.parse(), target.parse()) {
            out.insert((kind, source), target);
        }
    }
    Ok(out)
}

impl Ledger {
    /// The matches earlier runs kept.
    pub fn config_matches(&self) -> Result<ConfigMatches, StateError> {
        read(&self.conn).map_err(self.sqlite())
    }

    /// The matches kept in the ledger at `path`, read without opening it for writing (for
    /// `plan` and `verify`); none when there is no ledger or it predates them.
    pub fn read_config_matches(path: &Path) -> ConfigMatches {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|conn| read(&conn))
            .unwrap_or_default()
    }

    /// Keeps `matches` (kind, source id, target id), replacing an older match of the same
    /// source entity.
    pub fn save_config_matches(&self, matches: &[(String, Uuid, Uuid)]) -> Result<(), StateError> {
        if matches.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction().map_err(self.sqlite())?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO config_match (kind, source_id, target_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (kind, source_id) DO UPDATE SET target_id = excluded.target_id",
                )
                .map_err(self.sqlite())?;
            for (kind, source, target) in matches {
                stmt.execute(params![kind, source.to_string(), target.to_string()])
                    .map_err(self.sqlite())?;
            }
        }
        tx.commit().map_err(self.sqlite())
    }
}
