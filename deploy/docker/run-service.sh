#!/bin/sh
# The image's command: runs the service SERVICE selects (node dist/services/$SERVICE/src/main.js) with that
# service's V8 flags from deploy/node-flags.conf — the same file npm start and the test harnesses read, where
# each flag's reason is written. exec: tini's child is node itself, so SIGTERM reaches Nest's shutdown hooks.
set -eu
: "${SERVICE:?SERVICE must name the service to run}"
cd "${OPSDESK_HOME:-/app}"
flags=$(sed -e 's/#.*//' deploy/node-flags.conf | awk -v s="$SERVICE" '$1 == s { $1 = ""; print }')
# shellcheck disable=SC2086 # the flags are split on whitespace on purpose (node-flags.ts allows no quoting)
exec node $flags "dist/services/${SERVICE}/src/main.js"
