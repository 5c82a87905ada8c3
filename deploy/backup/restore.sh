#!/usr/bin/env bash
# Restores an OpsDesk backup into a NEW database and verifies it (the guide's recovery procedure).
# It never writes into the live database: point the services at the restored one when it checks out.
#
# Usage: restore.sh <backup dir or .sql.gz file> [target database name]
#   target database default: opsdesk_restore_<timestamp>; it must not exist yet.
#
# Configuration (environment):
#   PGHOST / PGPORT / PGUSER / PGPASSWORD   server to restore into (libpq variables; needs CREATEDB)
#   RESTORE_FILE_NAME    file inside a backup dir to restore, default opsdesk_full.sql.gz
#   AUDIT_EXPORT_FILE    optional: an audit JSONL export (GET /api/audit/export.jsonl) to verify offline
#   AUDIT_PUBLIC_KEY_FILE optional: with AUDIT_EXPORT_FILE, the checkpoint public key(s) (GET /api/audit/public-key
#                        saved to a file, or a PEM key): also checks the Ed25519 checkpoint signatures
#   OPSDESK_URL, OPSDESK_TOKEN  optional: a gateway already pointed at the restored database and an
#                        auditor/admin token: GET /api/audit/verify must answer ok
#   OPSDESK_ROOT         optional: repository/image root holding dist/ (default: two levels above this script)
set -euo pipefail

SRC="${1:-}"
TARGET_DB="${2:-opsdesk_restore_$(date -u +%Y%m%d_%H%M%S)}"
RESTORE_FILE_NAME="${RESTORE_FILE_NAME:-opsdesk_full.sql.gz}"
AUDIT_EXPORT_FILE="${AUDIT_EXPORT_FILE:-}"
AUDIT_PUBLIC_KEY_FILE="${AUDIT_PUBLIC_KEY_FILE:-}"
OPSDESK_URL="${OPSDESK_URL:-}"
OPSDESK_TOKEN="${OPSDESK_TOKEN:-}"
OPSDESK_ROOT="${OPSDESK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

log() { printf '%s restore: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

[[ -n "$SRC" ]] || die "usage: restore.sh <backup dir or .sql.gz> [target database]"
[[ "$TARGET_DB" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "invalid target database name '$TARGET_DB'"
for bin in psql createdb gunzip; do command -v "$bin" >/dev/null || die "$bin not found"; done

if [[ -d "$SRC" ]]; then
  if [[ -f "$SRC/SHA256SUMS" ]]; then
    log "checking $SRC/SHA256SUMS"
    ( cd "$SRC" && sha256sum --quiet -c SHA256SUMS ) || die "checksum mismatch in $SRC"
  fi
  file="$SRC/$RESTORE_FILE_NAME"
else
  file="$SRC"
fi
[[ -f "$file" ]] || die "backup file $file not found"
gunzip -t "$file" || die "$file is not a valid gzip file"

if psql -d postgres -XtAc "SELECT 1 FROM pg_database WHERE datname = '$TARGET_DB'" | grep -q 1; then
  die "database $TARGET_DB already exists: choose a new name (a restore never overwrites)"
fi

log "creating database $TARGET_DB"
createdb "$TARGET_DB"
# The audit writer role is cluster-wide: create it when restoring to a fresh server so the grants apply.
psql -d "$TARGET_DB" -X -q -v ON_ERROR_STOP=1 -c \
  "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opsdesk_audit_writer') THEN CREATE ROLE opsdesk_audit_writer NOLOGIN; END IF; END \$\$;"

log "restoring $file"
gunzip -c "$file" | psql -d "$TARGET_DB" -X -q -v ON_ERROR_STOP=1 --single-transaction >/dev/null

log "sanity checks"
psql -d "$TARGET_DB" -X -v ON_ERROR_STOP=1 -c \
  "SELECT table_schema AS schema, count(*) AS tables FROM information_schema.tables
    WHERE table_schema IN ('auth','inventory','audit','artifacts') GROUP BY 1 ORDER BY 1;"

has_audit="$(psql -d "$TARGET_DB" -XtAc "SELECT to_regclass('audit.records') IS NOT NULL")"
if [[ "$has_audit" == "t" ]]; then
  # The chain is gapless: seq runs 1..n and the head row points at the last record.
  gaps="$(psql -d "$TARGET_DB" -XtAc "SELECT count(*) - coalesce(max(seq), 0) FROM audit.records")"
  [[ "$gaps" == "0" ]] || die "audit.records has gaps in seq ($gaps): the backup is incomplete or was tampered with"
  head_ok="$(psql -d "$TARGET_DB" -XtAc "SELECT coalesce((SELECT h.seq = coalesce((SELECT max(seq) FROM audit.records), 0) FROM audit.chain_head h LIMIT 1), true)")"
  [[ "$head_ok" == "t" ]] || die "audit.chain_head does not point at the last record"
  log "audit: seq contiguous, head consistent"
fi

if [[ -n "$AUDIT_EXPORT_FILE" ]]; then
  cli="$OPSDESK_ROOT/dist/services/audit/src/cli/audit-verify.js"
  [[ -f "$cli" ]] || die "offline verifier $cli not found (npm run build)"
  if [[ -n "$AUDIT_PUBLIC_KEY_FILE" ]]; then
    log "offline verification of $AUDIT_EXPORT_FILE (hash chain, signed checkpoints)"
    node "$cli" "$AUDIT_EXPORT_FILE" --public-key "$AUDIT_PUBLIC_KEY_FILE"
  else
    log "offline verification of $AUDIT_EXPORT_FILE (hash chain only: set AUDIT_PUBLIC_KEY_FILE to check the signatures)"
    node "$cli" "$AUDIT_EXPORT_FILE" --no-signatures
  fi
fi

if [[ -n "$OPSDESK_URL" ]]; then
  [[ -n "$OPSDESK_TOKEN" ]] || die "OPSDESK_URL needs OPSDESK_TOKEN (an admin or auditor access token)"
  log "online verification: $OPSDESK_URL/api/audit/verify"
  body="$(curl -fsS -H "Authorization: Bearer $OPSDESK_TOKEN" "$OPSDESK_URL/api/audit/verify")" || die "audit verify request failed"
  printf '%s\n' "$body"
  printf '%s' "$body" | grep -Eq '"ok"[[:space:]]*:[[:space:]]*true' || die "audit verification reported a problem"
fi

log "restored into $TARGET_DB. Next: set DATABASE_URL to it, restart the services, check /readyz, then curl /healthz through the edge."
