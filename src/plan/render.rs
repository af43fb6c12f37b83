//! The plan as text, for `plan`.

use super::Plan;
use crate::transform::Reference;

impl Plan {
    /// The plan as text: order, mapping, members, skips, estimate and blockers.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "objects to migrate, in order");
        let _ = writeln!(
            out,
            "  {:<4} {:<28} {:<28} {:>9} {:>9} {:>9}",
            "#", "object", "target path", "live", "deleted", "requests"
        );
        for (i, o) in self.objects.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:<4} {:<28} {:<28} {:>9} {:>9} {:>9}",
                i + 1,
                o.object,
                format!("/rest/batch/{}", o.target_plural),
                o.live,
                o.deleted,
                o.requests
            );
        }
        let _ = writeln!(out, "\nfield mapping");
        for o in &self.objects {
            let mapped = o
                .fields
                .iter()
                .map(|f| {
                    let mut s = if f.source == f.key {
                        f.key.clone()
                    } else {
                        format!("{}→{}", f.source, f.key)
                    };
                    if f.reference == Reference::Member {
                        s.push_str(" (member)");
                    }
                    if f.deferred {
                        s.push_str(" (second pass)");
                    }
                    if f.after_config {
                        s.push_str(" (after the configuration)");
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "  {}: {mapped}", o.object);
            for d in &o.dropped {
                let _ = writeln!(
                    out,
                    "    not written: {}: [{}] {}",
                    d.field,
                    d.rule.name(),
                    d.reason
                );
            }
        }
        let deferred: Vec<String> = self
            .objects
            .iter()
            .flat_map(|o| {
                o.fields
                    .iter()
                    .filter(|f| f.deferred)
                    .map(move |f| format!("{}.{}", o.object, f.key))
            })
            .collect();
        if !deferred.is_empty() {
            let _ = writeln!(
                out,
                "\ndeferred references (second pass): {}",
                deferred.join(", ")
            );
        }
        let late: Vec<String> = self
            .objects
            .iter()
            .flat_map(|o| {
                o.fields
                    .iter()
                    .filter(|f| f.after_config)
                    .map(move |f| format!("{}.{}", o.object, f.key))
            })
            .collect();
        if !late.is_empty() {
            let _ = writeln!(
                out,
                "\nreferences written after the configuration stage creates the records they name: {}",
                late.join(", ")
            );
        }
        let _ = writeln!(out, "\nmembers (by email)");
        for m in &self.members {
            let _ = writeln!(
                out,
                "  {:<30} {:<36} {:>6} refs  {}",
                m.source.name,
                m.source.email.as_deref().unwrap_or("(no email)"),
                m.references,
                match m.target {
                    Some(t) => format!("→ {t}"),
                    None => "NO TARGET MEMBER".to_owned(),
                }
            );
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(out, "\nobjects not migrated");
            for s in &self.skipped {
                let _ = writeln!(
                    out,
                    "  {:<28} {:>9} rows  [{}] {}",
                    s.object, s.rows, s.rule, s.reason
                );
            }
        }
        let e = &self.estimate;
        let _ = writeln!(
            out,
            "\nestimate: {} records in {} requests (+ up to {} for deferred references, + up to {} for references written after the configuration, + up to {} for {} attachment files) at {} per batch and {} requests/min: about {}",
            e.records,
            e.record_requests,
            e.deferred_requests,
            e.after_config_requests,
            e.file_requests,
            e.files,
            e.batch_size,
            e.requests_per_minute,
            human_duration(e.seconds)
        );
        if !self.blockers.is_empty() {
            let _ = writeln!(out, "\nthe migration cannot start:");
            for b in &self.blockers {
                let _ = writeln!(out, "  - {b}");
            }
        }
        out
    }
}

/// `3 h 12 min`, `4 min 05 s`, `12 s`.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}
