#!/usr/bin/env bash
# empty-workspace.sh PG_PORT WORKSPACE_ID: deletes every record of a real-twenty workspace but its members
# (the target side of a rehearsal: the data model stays, the records go).
set -euo pipefail
export PGPASSWORD=postgres
q() { psql -h 127.0.0.1 -p "$1" -U postgres -d default -Atc "$2"; }
schema=$(q "$1" "select \"databaseSchema\" from core.workspace where id='$2'")
[ -n "$schema" ] || { echo "no schema for $2" >&2; exit 1; }
tables=$(q "$1" "select string_agg(format('%I.%I', table_schema, table_name), ', ') from information_schema.tables where table_schema='$schema' and table_name <> 'workspaceMember' and table_type='BASE TABLE'")
q "$1" "truncate $tables cascade" >/dev/null
echo "emptied $schema (all tables but workspaceMember)"
