//! The diff as text, for `plan`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::SchemaDiff;

impl SchemaDiff {
    /// The diff as text, for `plan`.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "data model sync");
        if !self.has_changes()
            && self.conflicts.is_empty()
            && self.not_created.is_empty()
            && self.renames.is_empty()
        {
            let _ = writeln!(
                out,
                "  the target already has every custom object and field"
            );
        }
        for o in &self.objects {
            let _ = writeln!(
                out,
                "  create object {} ({} / {})",
                o.name_singular, o.label_singular, o.label_plural
            );
        }
        let mut by_object: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for f in &self.fields {
            let what = match &f.relation {
                Some(r) => format!(
                    "{} RELATION → {} (inverse {})",
                    f.name, r.target_object, r.inverse_name
                ),
                None => match f.options.as_ref().and_then(Value::as_array) {
                    Some(options) => format!(
                        "{} {} ({} options)",
                        f.name,
                        f.field_type.api_name(),
                        options.len()
                    ),
                    None => format!("{} {}", f.name, f.field_type.api_name()),
                },
            };
            let what = if f.standard {
                format!("{what} (standard in the source, not in the target's model)")
            } else {
                what
            };
            by_object.entry(f.object.as_str()).or_default().push(what);
        }
        for (object, fields) in by_object {
            let _ = writeln!(out, "  create fields on {object}: {}", fields.join(", "));
        }
        for o in &self.options {
            let values: Vec<&str> = o
                .options
                .iter()
                .filter_map(|v| v.get("value").and_then(Value::as_str))
                .collect();
            let _ = writeln!(
                out,
                "  add options to {}.{}: {}",
                o.object,
                o.field,
                values.join(", ")
            );
        }
        for r in &self.renames {
            let _ = match &r.field {
                Some(f) => writeln!(
                    out,
                    "  {}.{f} is {} in the target (reserved name)",
                    r.object, r.target
                ),
                None => writeln!(
                    out,
                    "  object {} is {} in the target (reserved name)",
                    r.object, r.target
                ),
            };
        }
        for n in &self.not_created {
            let at = match &n.field {
                Some(f) => format!("{}.{f}", n.object),
                None => n.object.clone(),
            };
            let _ = writeln!(out, "  not created: {at}: {}", n.reason);
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  note: {w}");
        }
        for c in &self.conflicts {
            let _ = writeln!(out, "  INCOMPATIBLE: {}", c.sentence);
        }
        out
    }
}
