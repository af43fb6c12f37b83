//! Integration tests: one binary, a real Postgres (see `twenty_migrate::local_pg`).

mod conformance;
mod files;
mod fixture;
mod harness;
mod hostile;
mod inspect;
mod layering;
mod layouts;
mod migrate;
mod resume;
mod schema_sync;
mod snapshot;
mod source_config;
mod twin;
