//! `/metadata` GraphQL.
