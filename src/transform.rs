//! Pure conversion of decoded source rows into the records Twenty's API accepts ([`ApiRecord`]).
//!
//! The plan decides, per object, which source field goes to which API key and how references
//! are rewritten; this module applies those decisions to one row at a time and never does I/O.
//! Input shapes follow `target-api.md` §4 and the data-arg processor of twentyhq/twenty
//! (`packages/twenty-server/src/engine/api/common/common-args-processors/data-arg-processor/`).

use std::collections::HashMap;

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{Map, Number, Value};
use uuid::Uuid;

use crate::model::{Field, FieldType, SubKind};
use crate::record::{ApiRecord, Cell, SourceRow};

/// Namespace of the UUIDv5 ids that replace source ids the target refuses.
pub const ID_NAMESPACE: Uuid = Uuid::from_u128(0x7c1d_5e9a_4b2f_4d0e_9a61_2f3b_8c4d_5e6f);

/// The id the target gets for a source id: the same id when Twenty accepts it (a UUID of
/// version 1–5 with the RFC 4122 variant, `packages/twenty-shared/src/utils/validation/isValidUuid.ts`),
/// else a UUIDv5 derived from it, so every reference to it can be rewritten the same way.
pub fn target_id(source: Uuid) -> Uuid {
    if is_accepted_uuid(source) {
        source
    } else {
        Uuid::new_v5(&ID_NAMESPACE, source.as_bytes())
    }
}

/// Namespace of the ids a configuration entity gets on the target ([`config_id`]).
pub const CONFIG_NAMESPACE: Uuid = Uuid::from_u128(0x3f6a_2c71_9d4e_4b8a_8e15_6c0d_7a9b_1e24);

/// The id a source configuration entity (a view, its children, a role, a navigation item, a
/// webhook, a dashboard tab or widget) gets in the target workspace `scope`: a UUIDv5 of the
/// workspace and the source id. Twenty keeps these rows in shared `core` tables whose primary
/// key spans every workspace of the server (`view.entity.ts` …), so the source's own id would
/// collide with a first migration of the same source into another workspace of that server (a
/// trial one): rehearsal r19 saw 2.21 refuse such a create ("Migration action 'create' for
/// 'pageLayoutTab' … failed"). Records live in each workspace's schema and keep their ids.
/// Without a known workspace, [`target_id`].
pub fn config_id(scope: Option<Uuid>, source: Uuid) -> Uuid {
    match scope {
        Some(workspace) => {
            let mut name = [0u8; 32];
            name[..16].copy_from_slice(workspace.as_bytes());
            name[16..].copy_from_slice(source.as_bytes());
            Uuid::new_v5(&CONFIG_NAMESPACE, &name)
        }
        None => target_id(source),
    }
}

/// Whether Twenty accepts this UUID as a record id (version nibble 1–5, variant `10xx`).
pub fn is_accepted_uuid(id: Uuid) -> bool {
    let bytes = id.as_bytes();
    let version = bytes[6] >> 4;
    let variant = bytes[8] >> 6;
    (1..=5).contains(&version) && variant == 0b10
}

/// How a reference to a workspace member is rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MemberTarget {
    /// The target member with the same email.
    Member(Uuid),
    /// No target member: write null (ACTOR fields keep the original name).
    Unmatched,
}

/// Source member id → target member.
#[derive(Debug, Clone, Default)]
pub struct MemberMap {
    /// The mapping; an id absent here is a dangling reference in the source.
    pub members: HashMap<Uuid, MemberTarget>,
}

impl MemberMap {
    fn rewrite(&self, id: Uuid) -> Option<Uuid> {
        match self.members.get(&id) {
            Some(MemberTarget::Member(t)) => Some(*t),
            _ => None,
        }
    }
}

/// What a mapped field's value refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reference {
    /// Plain data.
    None,
    /// A record id of a migrated object: rewritten with [`target_id`].
    Record,
    /// A workspace member id: rewritten through the [`MemberMap`].
    Member,
}

/// One source field mapped to one API key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldMap {
    /// The source field name.
    pub source: String,
    /// The key in the API body (the field name, or the join column for relations).
    pub key: String,
    /// The field's type (decides the JSON shape).
    pub field_type: FieldType,
    /// Cell index per sub-field (composites) or one entry `("", index)` for scalars.
    pub cells: Vec<(String, Option<usize>, SubKind)>,
    /// Reference rewriting.
    pub reference: Reference,
    /// An empty string or null is left out of the body (see `FieldDecision::omit_empty`).
    pub omit_empty: bool,
}

impl FieldMap {
    /// Builds the mapping of `field` to `key`, locating its columns among the reader's.
    pub fn new<C: AsRef<str>>(
        field: &Field,
        key: &str,
        columns: &[C],
        reference: Reference,
    ) -> Self {
        let index = |name: &str| columns.iter().position(|c| c.as_ref() == name);
        let cells = match field.field_type.sub_fields() {
            Some(subs) => subs
                .iter()
                .map(|s| (s.name.to_owned(), index(&s.column(&field.name)), s.kind))
                .collect(),
            None => {
                let column = field.columns.first().map(|c| c.name.as_str()).unwrap_or("");
                vec![(String::new(), index(column), SubKind::Text)]
            }
        };
        Self {
            source: field.name.clone(),
            key: key.to_owned(),
            field_type: field.field_type.clone(),
            cells,
            reference,
            omit_empty: false,
        }
    }

    /// Leaves an empty value out of the body instead of sending it.
    pub fn omitting_empty(mut self, omit: bool) -> Self {
        self.omit_empty = omit;
        self
    }
}

/// A value the transform cannot turn into API input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("field {field}: {reason}")]
pub struct TransformError {
    /// The source field.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// The per-object conversion.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectTransform {
    /// Mapped fields, in output order.
    pub fields: Vec<FieldMap>,
}

impl ObjectTransform {
    /// Converts one row into an API record: its id is the row's [`target_id`], its fields
    /// every mapped field, in the order of [`ObjectTransform::fields`].
    pub fn apply(&self, row: &SourceRow, members: &MemberMap) -> Result<ApiRecord, TransformError> {
        let mut out = ApiRecord::with_capacity(target_id(row.id), self.fields.len());
        for f in &self.fields {
            let value = convert(f, &row.cells, members)?;
            let empty = match &value {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                _ => false,
            };
            if f.omit_empty && empty {
                continue;
            }
            out.insert(f.key.clone(), value);
        }
        Ok(out)
    }
}

fn cell(cells: &[Cell], index: Option<usize>) -> &Cell {
    index.and_then(|i| cells.get(i)).unwrap_or(&Cell::Null)
}

fn convert(f: &FieldMap, cells: &[Cell], members: &MemberMap) -> Result<Value, TransformError> {
    let err = |reason: String| TransformError {
        field: f.source.clone(),
        reason,
    };
    // Values JSON cannot carry are refused here, never written as null.
    for (_, index, _) in &f.cells {
        match cell(cells, *index) {
            Cell::Invalid(reason) => return Err(err(reason.clone())),
            Cell::Float(x) if !x.is_finite() => {
                return Err(err(format!("{x} cannot be sent: JSON numbers are finite")))
            }
            _ => {}
        }
    }
    if f.field_type == FieldType::Actor {
        return Ok(actor(f, cells, members));
    }
    if f.field_type.sub_fields().is_some() {
        let mut obj = Map::with_capacity(f.cells.len());
        for (name, index, kind) in &f.cells {
            if index.is_none() {
                // A sub-column this version does not have: leave it to the target's default.
                continue;
            }
            let v = match (cell(cells, *index), kind) {
                (Cell::Text(s), SubKind::Numeric) => numeric(s).ok_or_else(|| {
                    err(format!(
                        "sub-field {name} holds {s:?}, which is not a number"
                    ))
                })?,
                (c, _) => scalar(c),
            };
            obj.insert(name.clone(), v);
        }
        return Ok(Value::Object(obj));
    }
    let c = cell(cells, f.cells.first().and_then(|(_, i, _)| *i));
    match (&f.field_type, c) {
        (_, Cell::Null) => Ok(Value::Null),
        (FieldType::Numeric, Cell::Text(s)) => {
            numeric(s).ok_or_else(|| err(format!("{s:?} is not a number")))
        }
        (FieldType::Relation | FieldType::MorphRelation | FieldType::Uuid, Cell::Uuid(id)) => {
            Ok(match f.reference {
                Reference::Member => members
                    .rewrite(*id)
                    .map(|m| Value::String(m.to_string()))
                    .unwrap_or(Value::Null),
                Reference::Record => Value::String(target_id(*id).to_string()),
                Reference::None => Value::String(id.to_string()),
            })
        }
        (FieldType::MultiSelect | FieldType::Array, Cell::TextArray(items)) => Ok(Value::Array(
            items
                .iter()
                .map(|i| i.clone().map(Value::String).unwrap_or(Value::Null))
                .collect(),
        )),
        (_, c) => Ok(scalar(c)),
    }
}

/// ACTOR: `{source, workspaceMemberId, name, context}`; the member id is rewritten and the
/// original name kept (the target injects its API-key actor only when `name` is missing,
/// `core-modules/actor/services/created-by-from-auth-context.service.ts`).
fn actor(f: &FieldMap, cells: &[Cell], members: &MemberMap) -> Value {
    let mut obj = Map::with_capacity(4);
    for (name, index, _) in &f.cells {
        if index.is_none() {
            continue;
        }
        let v = match (name.as_str(), cell(cells, *index)) {
            ("workspaceMemberId", Cell::Uuid(id)) => members
                .rewrite(*id)
                .map(|m| Value::String(m.to_string()))
                .unwrap_or(Value::Null),
            (_, c) => scalar(c),
        };
        obj.insert(name.clone(), v);
    }
    Value::Object(obj)
}

fn scalar(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Text(s) => Value::String(s.clone()),
        Cell::Uuid(u) => Value::String(u.to_string()),
        Cell::Float(f) => Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Cell::Int(i) => Value::Number((*i).into()),
        Cell::Bool(b) => Value::Bool(*b),
        Cell::Timestamp(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        Cell::Json(v) => v.clone(),
        Cell::TextArray(items) => Value::Array(
            items
                .iter()
                .map(|i| i.clone().map(Value::String).unwrap_or(Value::Null))
                .collect(),
        ),
        // Refused by `convert` before it gets here.
        Cell::Invalid(_) => Value::Null,
    }
}

/// A Postgres numeric printed as text → a JSON number when a double holds it exactly, else
/// the numeric string (Twenty accepts both for NUMERIC and currency amounts, `target-api.md`
/// §4), so no digit is lost.
fn numeric(s: &str) -> Option<Value> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::Number(i.into()));
    }
    // `1500000000.000000`: integral values stay integers.
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        if let Ok(i) = int.parse::<i64>() {
            return Some(Value::Number(i.into()));
        }
    }
    let f = t.parse::<f64>().ok().filter(|f| f.is_finite())?;
    let digits = int
        .trim_start_matches(['-', '+'])
        .trim_start_matches('0')
        .len()
        + frac.len();
    if digits <= 15 {
        Number::from_f64(f).map(Value::Number)
    } else {
        let exact = if frac.is_empty() {
            int.to_owned()
        } else {
            format!("{int}.{frac}")
        };
        Some(Value::String(exact))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Column;

    #[test]
    fn readme_states_the_namespace_of_remapped_ids() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&format!("`{ID_NAMESPACE}`")),
            "README must state the UUIDv5 namespace {ID_NAMESPACE}"
        );
        let seed_id = Uuid::parse_str("20202020-c98d-49b7-1019-4d0b8d5f2a3c").unwrap();
        assert!(!is_accepted_uuid(seed_id));
        assert_eq!(
            target_id(seed_id),
            Uuid::new_v5(&ID_NAMESPACE, seed_id.as_bytes())
        );
    }

    fn field(name: &str, ty: FieldType, cols: &[&str]) -> Field {
        Field {
            id: Uuid::new_v4(),
            name: name.into(),
            label: name.into(),
            metadata_type: ty.api_name().into(),
            field_type: ty,
            is_custom: false,
            is_system: false,
            is_active: true,
            is_nullable: true,
            is_unique: false,
            default_value: None,
            options: None,
            settings: None,
            relation: None,
            columns: cols
                .iter()
                .map(|c| Column {
                    name: c.to_string(),
                    sub_field: None,
                    udt_name: "text".into(),
                    read_expr: None,
                })
                .collect(),
        }
    }

    fn read_columns<'a>(names: &[&'a str]) -> Vec<&'a str> {
        names.to_vec()
    }

    #[test]
    fn version_4_ids_are_kept_and_version_7_ids_are_derived_deterministically() {
        let v4 = Uuid::parse_str("6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b").unwrap();
        assert_eq!(target_id(v4), v4);
        let v7 = Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap();
        let derived = target_id(v7);
        assert_ne!(derived, v7);
        assert_eq!(derived, target_id(v7));
        assert!(is_accepted_uuid(derived));
    }

    /// The id is the record's own (the target id, not a field) and the fields come out in the
    /// transform's order, not sorted.
    #[test]
    fn the_record_holds_the_target_id_and_the_fields_in_transform_order() {
        let cols = read_columns(&["id", "name", "employees", "address"]);
        let t = ObjectTransform {
            fields: ["name", "employees", "address"]
                .iter()
                .map(|n| {
                    let f = field(n, FieldType::Text, &[n]);
                    FieldMap::new(&f, n, &cols, Reference::None)
                })
                .collect(),
        };
        let v7 = Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap();
        let row = SourceRow {
            id: v7,
            cells: vec![
                Cell::Uuid(v7),
                Cell::Text("Acme".into()),
                Cell::Int(10),
                Cell::Null,
            ],
        };
        let out = t.apply(&row, &MemberMap::default()).unwrap();
        assert_eq!(out.id(), target_id(v7));
        assert_eq!(out.get("id"), None);
        let keys: Vec<&str> = out.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["name", "employees", "address"]);
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            format!(
                r#"{{"id":"{}","name":"Acme","employees":10,"address":null}}"#,
                target_id(v7)
            )
        );
    }

    // A real 2.21 refuses "" (and null) in `company.tagline`, TEXT NOT NULL DEFAULT '' of its
    // seed: the value is left out so that the default applies; other text is sent as it is.
    #[test]
    fn an_empty_value_for_a_not_null_text_field_is_left_out_of_the_body() {
        let f = field("tagline", FieldType::Text, &["tagline"]);
        let cols = read_columns(&["id", "tagline"]);
        let t = ObjectTransform {
            fields: vec![FieldMap::new(&f, "tagline", &cols, Reference::None).omitting_empty(true)],
        };
        for (cell, sent) in [
            (Cell::Text(String::new()), None),
            (Cell::Null, None),
            (
                Cell::Text("Think different".into()),
                Some("Think different"),
            ),
        ] {
            let row = SourceRow {
                id: Uuid::new_v4(),
                cells: vec![Cell::Null, cell],
            };
            let out = t.apply(&row, &MemberMap::default()).unwrap();
            assert_eq!(out.get("tagline").and_then(Value::as_str), sent);
        }
    }

    #[test]
    fn currency_micros_become_exact_json_numbers() {
        let f = field("amount", FieldType::Currency, &[]);
        let cols = read_columns(&["id", "amountAmountMicros", "amountCurrencyCode"]);
        let t = ObjectTransform {
            fields: vec![FieldMap::new(&f, "amount", &cols, Reference::None)],
        };
        let row = SourceRow {
            id: Uuid::new_v4(),
            cells: vec![
                Cell::Null,
                Cell::Text("1500000000000.000000".into()),
                Cell::Text("EUR".into()),
            ],
        };
        let out = t.apply(&row, &MemberMap::default()).unwrap();
        assert_eq!(
            out["amount"],
            serde_json::json!({"amountMicros": 1500000000000i64, "currencyCode": "EUR"})
        );
    }

    #[test]
    fn member_references_are_rewritten_and_unmatched_ones_become_null_keeping_the_actor_name() {
        let src = Uuid::new_v4();
        let dst = Uuid::new_v4();
        let gone = Uuid::new_v4();
        let members = MemberMap {
            members: HashMap::from([
                (src, MemberTarget::Member(dst)),
                (gone, MemberTarget::Unmatched),
            ]),
        };
        let owner = field("accountOwner", FieldType::Relation, &["accountOwnerId"]);
        let created = field("createdBy", FieldType::Actor, &[]);
        let cols = read_columns(&[
            "accountOwnerId",
            "createdBySource",
            "createdByWorkspaceMemberId",
            "createdByName",
        ]);
        let t = ObjectTransform {
            fields: vec![
                FieldMap::new(&owner, "accountOwnerId", &cols, Reference::Member),
                FieldMap::new(&created, "createdBy", &cols, Reference::None),
            ],
        };
        let row = SourceRow {
            id: Uuid::new_v4(),
            cells: vec![
                Cell::Uuid(src),
                Cell::Text("MANUAL".into()),
                Cell::Uuid(gone),
                Cell::Text("Ada Lovelace".into()),
            ],
        };
        let out = t.apply(&row, &members).unwrap();
        assert_eq!(out["accountOwnerId"], Value::String(dst.to_string()));
        assert_eq!(
            out["createdBy"],
            serde_json::json!({"source": "MANUAL", "workspaceMemberId": null, "name": "Ada Lovelace"})
        );
    }

    #[test]
    fn numerics_beyond_a_doubles_precision_are_sent_as_exact_strings() {
        assert_eq!(numeric("12.50"), Some(serde_json::json!(12.5)));
        assert_eq!(numeric("-7.000"), Some(serde_json::json!(-7)));
        assert_eq!(
            numeric("1000000000000000000000000000001"),
            Some(serde_json::json!("1000000000000000000000000000001"))
        );
        assert_eq!(
            numeric("0.12345678901234567890"),
            Some(serde_json::json!("0.1234567890123456789"))
        );
        assert_eq!(numeric("NaN"), None);
    }

    #[test]
    fn non_finite_floats_and_unreadable_cells_are_errors_not_nulls() {
        let f = field("employees", FieldType::Number, &["employees"]);
        let cols = read_columns(&["employees"]);
        let t = ObjectTransform {
            fields: vec![FieldMap::new(&f, "employees", &cols, Reference::None)],
        };
        for cell in [
            Cell::Float(f64::NAN),
            Cell::Float(f64::INFINITY),
            Cell::Invalid("bad".into()),
        ] {
            let row = SourceRow {
                id: Uuid::new_v4(),
                cells: vec![cell],
            };
            let err = t.apply(&row, &MemberMap::default()).unwrap_err();
            assert_eq!(err.field, "employees");
        }
    }

    #[test]
    fn a_non_numeric_numeric_is_an_error_naming_the_field() {
        let f = field("score", FieldType::Numeric, &["score"]);
        let cols = read_columns(&["score"]);
        let t = ObjectTransform {
            fields: vec![FieldMap::new(&f, "score", &cols, Reference::None)],
        };
        let row = SourceRow {
            id: Uuid::new_v4(),
            cells: vec![Cell::Text("NaN-ish".into())],
        };
        let err = t.apply(&row, &MemberMap::default()).unwrap_err();
        assert_eq!(err.field, "score");
    }
}
