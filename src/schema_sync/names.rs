//! Names Twenty reserves, and how it renames them.
//!
//! Source: `packages/twenty-shared/src/metadata/constants/reserved-metadata-name-keywords.constant.ts`
//! (the list, also in `standard-model-2x.json` → `reservedNames`) and
//! `packages/twenty-shared/src/metadata/add-custom-suffix-if-reserved.util.ts` (a reserved name
//! gets the suffix `Custom`). The server refuses a reserved name sent as is
//! (`validate-flat-object-metadata-names.util.ts`: "This name is reserved. Use a different name or
//! the system will add \"Custom\" suffix."; `validateMetadataNameIsNotReservedKeywordOrThrow`), so
//! the sync sends the suffixed name, as Twenty's own UI does when it derives a name from a label
//! (`compute-metadata-name-from-label.util.ts` applies the suffix).

pub use crate::model::names::capitalize;
use crate::model::names::RESERVED_METADATA_NAMES;

/// Whether Twenty reserves `name` for objects and fields.
pub fn is_reserved(name: &str) -> bool {
    RESERVED_METADATA_NAMES.contains(&name)
}

/// The name Twenty gives to a thing called `name`: `name` + `Custom` when it is reserved.
pub fn target_name(name: &str) -> String {
    if is_reserved(name) {
        format!("{name}Custom")
    } else {
        name.to_owned()
    }
}

/// The colours an option may have (`validate-metadata-option-color.util.ts`, `TagColor`).
pub const OPTION_COLORS: &[&str] = &[
    "red",
    "ruby",
    "crimson",
    "tomato",
    "orange",
    "amber",
    "yellow",
    "lime",
    "grass",
    "green",
    "jade",
    "mint",
    "turquoise",
    "cyan",
    "sky",
    "blue",
    "iris",
    "violet",
    "purple",
    "plum",
    "pink",
    "bronze",
    "gold",
    "brown",
    "gray",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_get_the_custom_suffix_and_others_stay() {
        assert_eq!(target_name("type"), "typeCustom");
        assert_eq!(target_name("events"), "eventsCustom");
        assert_eq!(target_name("petType"), "petType");
        assert!(
            !is_reserved("Type"),
            "the check is case-sensitive, as in Twenty"
        );
    }

    #[test]
    fn capitalize_only_touches_the_first_letter() {
        assert_eq!(capitalize("vetVisit"), "VetVisit");
        assert_eq!(capitalize(""), "");
    }
}
