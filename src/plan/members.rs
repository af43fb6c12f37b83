//! Members on both sides, the match by email, and the policy for source members the target lacks.

use serde::Serialize;
use uuid::Uuid;

use super::Plan;
use crate::transform::MemberTarget;

/// What to do with references to source members that have no target member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum UnmatchedMembers {
    /// Stop at plan time (the default).
    Stop,
    /// Write null references; actor fields keep the original name.
    Null,
    /// Actor fields keep the original name only; other references become null.
    ActorNameOnly,
    /// Point every unmatched reference at this target member (given by email).
    Member(String),
}

impl std::str::FromStr for UnmatchedMembers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stop" => Ok(Self::Stop),
            "null" => Ok(Self::Null),
            "ACTOR_NAME_ONLY" => Ok(Self::ActorNameOnly),
            email if email.contains('@') => Ok(Self::Member(email.to_owned())),
            other => Err(format!(
                "--unmatched-members takes null, ACTOR_NAME_ONLY or the email of a target member, not {other:?}"
            )),
        }
    }
}

/// A member of either side, for matching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Member id on its side.
    pub id: Uuid,
    /// Email as stored.
    pub email: Option<String>,
    /// Display name.
    pub name: String,
}

/// One source member and where its references go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberMatch {
    /// The source member.
    pub source: Member,
    /// The target member with the same email (case-insensitive), if any.
    pub target: Option<Uuid>,
    /// Records that reference this member (owner, assignee, createdBy, …).
    pub references: u64,
}

impl Plan {
    /// The member map the transform uses.
    pub fn member_map(
        &self,
        policy: &UnmatchedMembers,
        target_members: &[Member],
    ) -> crate::transform::MemberMap {
        let fallback = match policy {
            UnmatchedMembers::Member(email) => target_members
                .iter()
                .find(|m| {
                    m.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
                .map(|m| m.id),
            _ => None,
        };
        let members = self
            .members
            .iter()
            .map(|m| {
                let target = match (m.target, fallback) {
                    (Some(t), _) => MemberTarget::Member(t),
                    (None, Some(f)) => MemberTarget::Member(f),
                    (None, None) => MemberTarget::Unmatched,
                };
                (m.source.id, target)
            })
            .collect();
        crate::transform::MemberMap { members }
    }
}
