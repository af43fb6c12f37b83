//! The members stage: source workspace members are matched to the target's by email (the
//! plan decided how), so every actor and member reference is rewritten to a target member.

use super::{MigrateOptions, Prepared};
use crate::transform::MemberMap;

/// Source member id → target member id, under the run's unmatched-member policy.
pub(super) fn member_map(opts: &MigrateOptions, prepared: &Prepared) -> MemberMap {
    prepared
        .plan
        .member_map(&opts.unmatched, &prepared.target_members)
}
