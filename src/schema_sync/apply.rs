//! Applies a [`SchemaDiff`] through the metadata API.
//!
//! `createOneObject`/`createOneField` are not idempotent on the wire, and the client retries a
//! failed attempt on its own: after any error the target's model is read again and the thing
//! counts as created when it is there. Every step also starts from a fresh read, so a rerun
//! (or a run after a crash) creates only what is still missing.

use serde::Serialize;
use serde_json::{json, Value};
use tracing::{info, warn};

use super::{NewField, NewObject, NewOptions, SchemaDiff};
use crate::destination::{Destination, Disposition, TargetError, TargetModel};

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaReport {
    /// Objects created, by target name.
    pub created_objects: Vec<String>,
    /// Fields created, as `object.field` (target names).
    pub created_fields: Vec<String>,
    /// Options added, as `object.field: VALUE, …`.
    pub added_options: Vec<String>,
    /// Objects and fields of the diff the target already had (a rerun, or a concurrent edit).
    pub already_present: usize,
    /// Anything worth telling (a default value the target refused, …).
    pub notes: Vec<String>,
}

impl SchemaReport {
    /// One line for the run's progress output, or `None` when nothing was created.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.created_objects.is_empty() {
            parts.push(format!("objects {}", self.created_objects.join(", ")));
        }
        if !self.created_fields.is_empty() {
            parts.push(format!("{} field(s)", self.created_fields.len()));
        }
        if !self.added_options.is_empty() {
            parts.push(format!("options on {}", self.added_options.join("; ")));
        }
        if parts.is_empty() && self.notes.is_empty() {
            return None;
        }
        let mut line = if parts.is_empty() {
            "data model synced".to_owned()
        } else {
            format!("data model synced: created {}", parts.join(", "))
        };
        for note in &self.notes {
            line.push_str(&format!("\n  note: {note}"));
        }
        Some(line)
    }
}

/// Why the sync stopped. Each names the object and field.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Reading the target's model failed.
    #[error("cannot read the target's data model: {0}")]
    ReadModel(#[source] TargetError),
    /// Creating an object failed.
    #[error("cannot create object {object} in the target: {source}")]
    CreateObject {
        /// The object's name in the target.
        object: String,
        /// The client's error.
        #[source]
        source: TargetError,
    },
    /// Creating a field failed.
    #[error(
        "cannot create field {object}.{field} in the target (from the source's {from}): {source}"
    )]
    CreateField {
        /// The object's name in the target.
        object: String,
        /// The field's name in the target.
        field: String,
        /// The source's `object.field`.
        from: String,
        /// The client's error.
        #[source]
        source: TargetError,
    },
    /// Adding select options failed.
    #[error("cannot add options to {object}.{field} in the target: {source}")]
    AddOptions {
        /// The object's name in the target.
        object: String,
        /// The field's name in the target.
        field: String,
        /// The client's error.
        #[source]
        source: TargetError,
    },
    /// An object the diff relies on is not in the target.
    #[error("the target has no object {object}, which {needed_by} needs")]
    MissingObject {
        /// The object's name in the target.
        object: String,
        /// What needs it, e.g. `field pet.owner`.
        needed_by: String,
    },
}

/// `updateOneField` (twenty-front `UPDATE_ONE_FIELD_METADATA_ITEM`; input
/// `UpdateOneFieldMetadataInput { id, update }`, `update-field.input.ts`).
pub(crate) const UPDATE_FIELD: &str = "mutation UpdateOneFieldMetadataItem($input: UpdateOneFieldMetadataInput!) { updateOneField(input: $input) { id name options } }";

/// Creates what `diff` lists and the target still lacks: objects, then scalar and composite
/// fields, then relations (each creates its inverse), then missing select options.
pub async fn apply<D: Destination>(
    diff: &SchemaDiff,
    target: &D,
) -> Result<SchemaReport, SchemaError> {
    apply_to(diff, target, read(target).await?).await
}

/// [`apply`] starting from `model`, the target's model as just read (the caller read it to
/// compute `diff`; reading it again would cost one more metadata request per run).
pub async fn apply_to<D: Destination>(
    diff: &SchemaDiff,
    target: &D,
    mut model: TargetModel,
) -> Result<SchemaReport, SchemaError> {
    let mut report = SchemaReport::default();

    for object in &diff.objects {
        if model.object(&object.name_singular).is_some() {
            report.already_present += 1;
            continue;
        }
        create_object(target, object, &mut model).await?;
        report.created_objects.push(object.name_singular.clone());
    }
    if !report.created_objects.is_empty() {
        // The new objects' ids and the fields Twenty added with them.
        model = read(target).await?;
    }

    // `diff.fields` lists scalars and composites before relations.
    for field in &diff.fields {
        let Some(object) = model.object(&field.object) else {
            return Err(SchemaError::MissingObject {
                object: field.object.clone(),
                needed_by: format!("field {}", field.source),
            });
        };
        if object.field(&field.name).is_some() {
            report.already_present += 1;
            continue;
        }
        let mut input = field.input();
        input["objectMetadataId"] = json!(object.id);
        if let Some(rel) = &field.relation {
            let Some(to) = model.object(&rel.target_object) else {
                return Err(SchemaError::MissingObject {
                    object: rel.target_object.clone(),
                    needed_by: format!("relation {}", field.source),
                });
            };
            // Newer servers take `targetFieldName`; older ones derive the name from the label
            // (`generate-morph-or-relation-flat-field-metadata-pair.util.ts`).
            // 2.21 refuses a payload without an icon ("targetFieldIcon must be a string",
            // `validate-relation-creation-payload.util.ts` via class-validator); the front sends
            // the source object's icon, and so do we when the source names none.
            let icon = rel
                .inverse_icon
                .clone()
                .or_else(|| object_icon(diff, &field.object))
                .unwrap_or_else(|| DEFAULT_RELATION_ICON.to_owned());
            let payload = json!({
                "type": "MANY_TO_ONE",
                "targetObjectMetadataId": to.id,
                "targetFieldLabel": rel.inverse_label,
                "targetFieldName": rel.inverse_name,
                "targetFieldIcon": icon,
            });
            input["relationCreationPayload"] = payload;
        }
        create_field(target, field, input, &mut model, &mut report).await?;
        report
            .created_fields
            .push(format!("{}.{}", field.object, field.name));
    }

    for options in &diff.options {
        add_options(target, options, &mut model, &mut report).await?;
    }
    Ok(report)
}

/// The inverse side's icon when neither the source's relation nor its object names one.
const DEFAULT_RELATION_ICON: &str = "IconLink";

/// The icon of an object the diff creates, if the source gave it one.
fn object_icon(diff: &SchemaDiff, object: &str) -> Option<String> {
    diff.objects
        .iter()
        .find(|o| o.name_singular == object)
        .and_then(|o| o.presentation.icon.clone())
}

/// Reads the target's model, waiting out an outage as record deliveries do.
async fn read<D: Destination>(target: &D) -> Result<TargetModel, SchemaError> {
    let mut outage = target.outage();
    loop {
        match target.model().await {
            Ok(model) => return Ok(model),
            Err(e) => outage.wait(e).await.map_err(SchemaError::ReadModel)?,
        }
    }
}

async fn create_object<D: Destination>(
    target: &D,
    object: &NewObject,
    model: &mut TargetModel,
) -> Result<(), SchemaError> {
    let mut input = json!({
        "nameSingular": object.name_singular,
        "namePlural": object.name_plural,
        "labelSingular": object.label_singular,
        "labelPlural": object.label_plural,
    });
    if let Some(d) = &object.presentation.description {
        input["description"] = json!(d);
    }
    if let Some(i) = &object.presentation.icon {
        input["icon"] = json!(i);
    }
    let mut outage = target.outage();
    loop {
        let source = match target.create_object(input.clone()).await {
            Ok(_) => {
                info!(object = %object.name_singular, "custom object created");
                return Ok(());
            }
            Err(source) => source,
        };
        // The create may have landed before the error (a retried attempt, a lost answer).
        *model = read(target).await?;
        if model.object(&object.name_singular).is_some() {
            warn!(object = %object.name_singular, error = %source, "object exists after an error; counted as created");
            return Ok(());
        }
        // A target down or busy is waited out; any other refusal stops the sync.
        outage
            .wait(source)
            .await
            .map_err(|source| SchemaError::CreateObject {
                object: object.name_singular.clone(),
                source,
            })?;
    }
}

async fn create_field<D: Destination>(
    target: &D,
    field: &NewField,
    mut input: Value,
    model: &mut TargetModel,
    report: &mut SchemaReport,
) -> Result<(), SchemaError> {
    let mut outage = target.outage();
    loop {
        match target.create_field(input.clone()).await {
            Ok(created) => {
                info!(object = %field.object, field = %created.name, "custom field created");
                // Keep the cached model current for the relations and options that follow.
                if let Some(o) = model
                    .objects
                    .iter_mut()
                    .find(|o| o.name_singular == field.object)
                {
                    o.fields.push(created);
                }
                return Ok(());
            }
            Err(source) => {
                *model = read(target).await?;
                let exists = model
                    .object(&field.object)
                    .is_some_and(|o| o.field(&field.name).is_some());
                if exists {
                    warn!(object = %field.object, field = %field.name, error = %source, "field exists after an error; counted as created");
                    return Ok(());
                }
                let source = match source.disposition() {
                    // A target down or busy is waited out, then the same field sent again.
                    Disposition::RetryLater => match outage.next_wait(source) {
                        Ok(wait) => {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Err(source) => source,
                    },
                    _ => source,
                };
                // A default value or settings written by an older Twenty may not pass a newer
                // validator; the field matters more than either, so drop them one at a time.
                let refused = source.disposition() == Disposition::RejectRecords;
                // Last, a required field the target will not create as such is created nullable.
                let optional = ["defaultValue", "settings"]
                    .into_iter()
                    .find(|key| input.get(*key).is_some())
                    .or_else(|| {
                        (input.get("isNullable") == Some(&Value::Bool(false)))
                            .then_some("isNullable")
                    });
                if let (true, Some(key)) = (refused, optional) {
                    if let Some(map) = input.as_object_mut() {
                        map.remove(key);
                    }
                    report.notes.push(format!(
                        "{}.{}: the target refused the source's {key} ({source}); the field was created without it",
                        field.object, field.name
                    ));
                    continue;
                }
                return Err(SchemaError::CreateField {
                    object: field.object.clone(),
                    field: field.name.clone(),
                    from: field.source.clone(),
                    source,
                });
            }
        }
    }
}

/// Appends the options the target's field still lacks. Twenty replaces a field's options with
/// the list it is sent, so the existing ones go first, unchanged (with their ids).
async fn add_options<D: Destination>(
    target: &D,
    wanted: &NewOptions,
    model: &mut TargetModel,
    report: &mut SchemaReport,
) -> Result<(), SchemaError> {
    let Some(field) = model
        .object(&wanted.object)
        .and_then(|o| o.field(&wanted.field))
    else {
        return Err(SchemaError::MissingObject {
            object: wanted.object.clone(),
            needed_by: format!("the options of {}.{}", wanted.object, wanted.field),
        });
    };
    let existing: Vec<Value> = field
        .options
        .as_ref()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = |v: &str| {
        existing
            .iter()
            .any(|o| o.get("value").and_then(Value::as_str) == Some(v))
    };
    let next = existing
        .iter()
        .filter_map(|o| o.get("position").and_then(Value::as_f64))
        .fold(-1.0_f64, f64::max)
        + 1.0;
    let mut added = Vec::new();
    let mut options = existing.clone();
    for o in &wanted.options {
        let Some(value) = o.get("value").and_then(Value::as_str) else {
            continue;
        };
        if has(value) {
            continue;
        }
        let mut o = o.clone();
        o["position"] = json!(next as i64 + added.len() as i64);
        options.push(o);
        added.push(value.to_owned());
    }
    if added.is_empty() {
        report.already_present += 1;
        return Ok(());
    }
    let id = field.id;
    let vars = json!({"input": {"id": id, "update": {"options": options}}});
    let mut outage = target.outage();
    let sent = loop {
        match target.metadata_graphql(UPDATE_FIELD, vars.clone()).await {
            Ok(_) => break Ok(()),
            Err(e) if e.disposition() == Disposition::RetryLater => {
                if let Err(e) = outage.wait(e).await {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    if let Err(source) = sent {
        *model = read(target).await?;
        let now = model
            .object(&wanted.object)
            .and_then(|o| o.field(&wanted.field))
            .map(|f| super::option_values(f.options.as_ref()))
            .unwrap_or_default();
        if !added.iter().all(|v| now.contains(v)) {
            let stop = source.disposition() != Disposition::RejectRecords;
            let err = SchemaError::AddOptions {
                object: wanted.object.clone(),
                field: wanted.field.clone(),
                source,
            };
            if stop {
                return Err(err);
            }
            // A refusal of the options is not fatal: records carrying these values are
            // refused by the target and land in the rejects file, one by one.
            warn!(error = %err, "select options not added");
            report.notes.push(format!(
                "{err}; records carrying {} will be rejected",
                added.join(", ")
            ));
            return Ok(());
        }
    }
    info!(object = %wanted.object, field = %wanted.field, added = added.len(), "select options added");
    report.added_options.push(format!(
        "{}.{}: {}",
        wanted.object,
        wanted.field,
        added.join(", ")
    ));
    *model = read(target).await?;
    Ok(())
}
