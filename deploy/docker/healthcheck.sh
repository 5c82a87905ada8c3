#!/bin/sh
# Probes /healthz (default) or /readyz of the service selected by SERVICE on its own port.
# Port: <NAME>_PORT when set (e.g. AUTH_PORT), else the OpsDesk default for that service; the gateway's probes are
# on its internal port (GATEWAY_INTERNAL_PORT, 8010): its public GATEWAY_PORT (8000) serves /healthz only.
set -eu
path="${1:-healthz}"
case "${SERVICE:-gateway}" in
  gateway) port="${GATEWAY_INTERNAL_PORT:-8010}" ;; # public GATEWAY_PORT:-8000 has no /readyz
  auth) port="${AUTH_PORT:-8001}" ;;
  inventory) port="${INVENTORY_PORT:-8002}" ;;
  audit) port="${AUDIT_PORT:-8003}" ;;
  artifacts) port="${ARTIFACTS_PORT:-8004}" ;;
  *) echo "unknown SERVICE=${SERVICE}" >&2; exit 1 ;;
esac
exec curl -fsS -o /dev/null --max-time 4 "http://127.0.0.1:${port}/${path}"
