//! Layout and version detection per workspace, by structure rather than by the recorded
//! version string alone (an upgrade can stop half-way). The checks follow
//! `source-schema.md` §10 and the upgrade commands it cites in twentyhq/twenty
//! (`packages/twenty-server/src/database/commands/upgrade-version-command/`).

use std::collections::BTreeMap;

use serde::Serialize;
use tokio_postgres::Client;
use uuid::Uuid;

use super::{during, relation_exists, table_columns, SourceError};

/// The database layouts the tool knows (see the design's "Supported source layouts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// Twenty 0.4x – 0.52: separate `metadata` schema.
    A,
    /// Twenty 0.53 – 1.16: metadata in `core`, legacy activity-target columns.
    B,
    /// Twenty 1.17 – 2.x: `target<Object>Id` morph columns.
    C,
    /// Not a layout this tool reads.
    Unknown,
}

/// How one polymorphic table names its target columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableStage {
    /// `noteTarget`, `taskTarget` or `attachment`.
    pub table: String,
    /// Whether it uses the 1.17 `target<Object>Id` columns.
    pub morph_columns: bool,
}

/// What detection found for one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayoutReport {
    /// The layout.
    pub layout: Layout,
    /// The Twenty version range the structure matches, e.g. `1.20 – 2.x`.
    pub versions: String,
    /// Per polymorphic table, which column naming it uses.
    pub tables: Vec<TableStage>,
    /// Some tables were upgraded and others not (an upgrade stopped half-way).
    pub half_upgraded: bool,
    /// The workspace's `IS_*_MIGRATED` feature flags.
    pub migration_flags: BTreeMap<String, bool>,
    /// Sentences about what was found.
    pub notes: Vec<String>,
}

impl LayoutReport {
    /// The report for a workspace whose schema does not exist.
    pub fn no_schema() -> Self {
        Self {
            layout: Layout::Unknown,
            versions: "unknown".into(),
            tables: Vec::new(),
            half_upgraded: false,
            migration_flags: BTreeMap::new(),
            notes: vec!["the workspace schema does not exist".into()],
        }
    }
}

/// What the structure checks saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// `core` or `metadata`.
    pub metadata_schema: String,
    /// `fieldMetadata.relationTargetObjectMetadataId` exists (relations on fields, ≥0.44).
    pub relations_on_fields: bool,
    /// `relationMetadata` exists.
    pub relation_metadata_table: bool,
    /// `core.view` exists (≥1.5).
    pub core_views: bool,
    /// Per polymorphic table present: (table, has `target*Id` columns, has legacy `*Id` columns).
    pub activity_tables: Vec<(String, bool, bool)>,
    /// `attachment.file` exists (≥1.18).
    pub attachment_file: bool,
    /// Some field still has type `RICH_TEXT_V2` (before 1.20).
    pub rich_text_v2: bool,
    /// `attachment.fileCategory` exists (≥1.10, `1-10-migrate-attachment-type-to-file-category`).
    pub attachment_file_category: bool,
    /// Field types Twenty renamed before layout A (`LINK`, `EMAIL`, `PHONE`, `CREATED_BY`, …).
    pub pre_a_field_types: Vec<String>,
    /// `IS_*_MIGRATED` flags.
    pub flags: BTreeMap<String, bool>,
}

/// The polymorphic tables whose columns were renamed in 1.17
/// (`upgrade:1-17:migrate-attachment-to-morph-relations`, `…note-target…`, `…task-target…`).
const ACTIVITY_TABLES: [&str; 3] = ["noteTarget", "taskTarget", "attachment"];
const LEGACY_TARGETS: [&str; 3] = ["personId", "companyId", "opportunityId"];

/// Field types of the 0.2x era, renamed to LINKS, EMAILS, PHONES, ACTOR, … before 0.30
/// (source-schema.md §2; not confirmed to the exact version).
const PRE_A_FIELD_TYPES: [&str; 7] = [
    "LINK",
    "EMAIL",
    "PHONE",
    "CREATED_BY",
    "URL",
    "MONEY",
    "PROBABILITY",
];

/// Gathers the evidence for one workspace and classifies it.
pub async fn detect(
    client: &Client,
    metadata_schema: &str,
    workspace: Uuid,
    schema: &str,
) -> Result<LayoutReport, SourceError> {
    let field_columns = table_columns(client, metadata_schema, "fieldMetadata").await?;
    let mut evidence = Evidence {
        metadata_schema: metadata_schema.to_owned(),
        relations_on_fields: field_columns
            .iter()
            .any(|c| c == "relationTargetObjectMetadataId"),
        relation_metadata_table: relation_exists(
            client,
            &format!("{metadata_schema}.\"relationMetadata\""),
        )
        .await?,
        core_views: relation_exists(client, "core.view").await?,
        ..Evidence::default()
    };
    for table in ACTIVITY_TABLES {
        let columns = table_columns(client, schema, table).await?;
        if columns.is_empty() {
            continue;
        }
        let morph = columns
            .iter()
            .any(|c| c.starts_with("target") && c.ends_with("Id") && c.len() > 8);
        let legacy = columns.iter().any(|c| LEGACY_TARGETS.contains(&c.as_str()));
        if table == "attachment" {
            evidence.attachment_file = columns.iter().any(|c| c == "file");
            evidence.attachment_file_category = columns.iter().any(|c| c == "fileCategory");
        }
        evidence
            .activity_tables
            .push((table.to_owned(), morph, legacy));
    }
    let row = client
        .query_one(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM {metadata_schema}.\"fieldMetadata\" \
                 WHERE \"workspaceId\" = $1 AND type::text = 'RICH_TEXT_V2')"
            ),
            &[&workspace],
        )
        .await
        .map_err(during("looking for RICH_TEXT_V2 fields"))?;
    evidence.rich_text_v2 = row.get(0);
    let rows = client
        .query(
            &format!(
                "SELECT DISTINCT type::text FROM {metadata_schema}.\"fieldMetadata\" \
                 WHERE \"workspaceId\" = $1 AND type::text = ANY ($2) ORDER BY 1"
            ),
            &[&workspace, &PRE_A_FIELD_TYPES.as_slice()],
        )
        .await
        .map_err(during("looking for field types older than layout A"))?;
    evidence.pre_a_field_types = rows.iter().map(|r| r.get(0)).collect();
    if relation_exists(client, "core.\"featureFlag\"").await? {
        let rows = client
            .query(
                "SELECT key::text, value FROM core.\"featureFlag\" \
                 WHERE \"workspaceId\" = $1 AND key::text LIKE 'IS\\_%\\_MIGRATED' ORDER BY key",
                &[&workspace],
            )
            .await
            .map_err(during("reading the workspace's feature flags"))?;
        evidence.flags = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    }
    Ok(classify(&evidence))
}

/// Classifies the evidence (pure, so it is tested without a database).
pub fn classify(e: &Evidence) -> LayoutReport {
    let tables: Vec<TableStage> = e
        .activity_tables
        .iter()
        // A table with both namings (custom targets renamed, standard ones not) is not done.
        .map(|(t, morph, legacy)| TableStage {
            table: t.clone(),
            morph_columns: *morph && !*legacy,
        })
        .collect();
    let upgraded = tables.iter().filter(|t| t.morph_columns).count();
    let half_upgraded = upgraded > 0 && upgraded < tables.len();
    let mut notes = Vec::new();
    let (layout, versions) = if !e.pre_a_field_types.is_empty() {
        notes.push(format!(
            "fields of type {} predate Twenty 0.30; the oldest layout this tool reads is A (0.4x)",
            e.pre_a_field_types.join(", ")
        ));
        (Layout::Unknown, "older than 0.30".to_owned())
    } else if e.metadata_schema == "metadata" {
        if e.relations_on_fields || e.relation_metadata_table {
            (Layout::A, "0.4x – 0.52".to_owned())
        } else {
            notes.push("the metadata schema has neither relationMetadata nor relation columns on fieldMetadata, which predates layout A (0.4x)".into());
            (Layout::Unknown, "older than 0.4x".to_owned())
        }
    } else if !e.relations_on_fields {
        notes.push(
            "core metadata without fieldMetadata.relationTargetObjectMetadataId is not a known Twenty layout"
                .into(),
        );
        (Layout::Unknown, "unknown".to_owned())
    } else if upgraded > 0 {
        let versions = match (e.attachment_file, e.rich_text_v2) {
            _ if half_upgraded => "1.17, upgrade stopped half-way",
            (false, _) => "1.17",
            (true, true) => "1.18 – 1.19",
            (true, false) => "1.20 – 2.x",
        };
        (Layout::C, versions.to_owned())
    } else {
        let versions = if e.attachment_file_category {
            "1.10 – 1.16"
        } else if e.core_views {
            "1.5 – 1.9"
        } else {
            "0.53 – 1.4"
        };
        (Layout::B, versions.to_owned())
    };
    if half_upgraded {
        let pending: Vec<_> = tables
            .iter()
            .filter(|t| !t.morph_columns)
            .map(|t| t.table.as_str())
            .collect();
        notes.push(format!(
            "half-upgraded: {} still use(s) the legacy target columns; each table is read by its own columns",
            pending.join(", ")
        ));
    }
    LayoutReport {
        layout,
        versions,
        tables,
        half_upgraded,
        migration_flags: e.flags.clone(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(tables: &[(&str, bool)]) -> Evidence {
        Evidence {
            metadata_schema: "core".into(),
            relations_on_fields: true,
            core_views: true,
            activity_tables: tables
                .iter()
                .map(|(t, m)| (t.to_string(), *m, !*m))
                .collect(),
            attachment_file: true,
            ..Evidence::default()
        }
    }

    #[test]
    fn morph_columns_everywhere_is_layout_c() {
        let r = classify(&core(&[
            ("noteTarget", true),
            ("taskTarget", true),
            ("attachment", true),
        ]));
        assert_eq!(r.layout, Layout::C);
        assert_eq!(r.versions, "1.20 – 2.x");
        assert!(!r.half_upgraded);
    }

    #[test]
    fn some_tables_renamed_and_others_not_is_half_upgraded() {
        let r = classify(&core(&[
            ("noteTarget", true),
            ("taskTarget", false),
            ("attachment", true),
        ]));
        assert_eq!(r.layout, Layout::C);
        assert!(r.half_upgraded);
        assert!(r.notes.iter().any(|n| n.contains("taskTarget")));
    }

    #[test]
    fn legacy_columns_in_core_is_layout_b() {
        let mut e = core(&[("noteTarget", false), ("attachment", false)]);
        e.attachment_file = false;
        assert_eq!(classify(&e).layout, Layout::B);
    }

    #[test]
    fn a_metadata_schema_is_layout_a() {
        let e = Evidence {
            metadata_schema: "metadata".into(),
            relation_metadata_table: true,
            ..Evidence::default()
        };
        assert_eq!(classify(&e).layout, Layout::A);
    }

    #[test]
    fn pre_1_17_columns_with_file_category_are_1_10_to_1_16() {
        let mut e = core(&[("noteTarget", false), ("attachment", false)]);
        e.attachment_file = false;
        e.attachment_file_category = true;
        let r = classify(&e);
        assert_eq!((r.layout, r.versions.as_str()), (Layout::B, "1.10 – 1.16"));
        e.attachment_file_category = false;
        assert_eq!(classify(&e).versions, "1.5 – 1.9");
    }

    #[test]
    fn field_types_renamed_before_0_30_make_the_layout_unknown() {
        let e = Evidence {
            metadata_schema: "metadata".into(),
            relation_metadata_table: true,
            pre_a_field_types: vec!["LINK".into()],
            ..Evidence::default()
        };
        let r = classify(&e);
        assert_eq!(r.layout, Layout::Unknown);
        assert!(r.notes[0].contains("LINK"), "{:?}", r.notes);
    }

    #[test]
    fn a_metadata_schema_without_any_relation_store_predates_layout_a() {
        let e = Evidence {
            metadata_schema: "metadata".into(),
            ..Evidence::default()
        };
        let r = classify(&e);
        assert_eq!(r.layout, Layout::Unknown);
        assert_eq!(r.versions, "older than 0.4x");
    }

    #[test]
    fn core_without_relation_columns_is_unknown() {
        let mut e = core(&[]);
        e.relations_on_fields = false;
        assert_eq!(classify(&e).layout, Layout::Unknown);
    }
}
