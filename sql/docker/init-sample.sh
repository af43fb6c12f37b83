#!/bin/sh
# Loads the layout C fixture into the `twenty` database of the compose `source` service:
# the instance tables (core.sql), then one workspace rendered from the workspace.sql template.
# The same substitution is done in Rust by twenty_migrate::fixture::load_workspace.
set -eu
WS_ID=3b8e0d5c-2a4f-4c1e-9d7b-5e6fa1b2c301
# workspace_ + the id as a base-36 number (get-workspace-schema-name.util.ts in twentyhq/twenty).
SCHEMA=workspace_3ixffiojv3rc8l8ezfibjw5j5
psql -v ON_ERROR_STOP=1 -U postgres -d twenty -f /fixture/layout_c/core.sql
sed -e "s/{{workspace_id}}/$WS_ID/g" \
    -e "s/{{schema}}/$SCHEMA/g" \
    -e "s/{{display_name}}/Globex/g" \
    -e "s/{{subdomain}}/sample-1/g" \
    -e "s/{{version}}/1.22.1/g" \
    /fixture/layout_c/workspace.sql \
  | psql -v ON_ERROR_STOP=1 -U postgres -d twenty
