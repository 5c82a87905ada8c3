#!/usr/bin/env bash
# Point-in-time restore drill: a base backup (pg_basebackup -Ft -z, as backup-loop.sh takes them) plus the WAL
# archive, replayed into a NEW data directory up to TARGET_TIME, then promoted and started on PORT. Nothing
# existing is overwritten. Run as the OS user that runs Postgres (never root). Prints how long recovery took
# (the RTO's database part) and the time recovery stopped at.
#
#   pitr-restore.sh <base-backup-dir> <wal-archive-dir> <target-time> <new-data-dir>
#     base-backup-dir  holds base.tar.gz (and pg_wal.tar.gz when taken with -X stream)
#     target-time      e.g. '2026-12-01 10:15:00+00' (timestamptz): the last transaction committed before it is kept
#   PORT      port of the restored server (default 5433), listening on 127.0.0.1 only until you change it
#   PG_BIN    Postgres binaries of the backup's major version (default: pg_ctl on PATH)
#   SOCKET_DIR  unix socket directory (default: the new data directory)
#   RECOVERY_TIMEOUT  seconds to wait for recovery to finish (default 3600, the RTO)
#   PG_OPTIONS  extra server options (e.g. "-c max_connections=400" as on the old server)
#
# Kubernetes with CloudNativePG: the same thing is a new Cluster with
#   bootstrap.recovery.source + recoveryTarget.targetTime  (deploy/backup/README.md).
set -euo pipefail

[[ $# -eq 4 ]] || { echo "usage: $0 <base-backup-dir> <wal-archive-dir> <target-time> <new-data-dir>" >&2; exit 2; }
BASE="$1"; ARCHIVE="$2"; TARGET="$3"; DATA="$4"
PORT="${PORT:-5433}"
PG_BIN="${PG_BIN:-$(dirname "$(command -v pg_ctl || echo /usr/bin/pg_ctl)")}"
SOCKET_DIR="${SOCKET_DIR:-$DATA}"
RECOVERY_TIMEOUT="${RECOVERY_TIMEOUT:-3600}"

log() { printf '%s pitr-restore: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

[[ "$(id -u)" != 0 ]] || die "run as the Postgres OS user, not root (e.g. runuser -u postgres -- $0 ...)"
[[ -f "$BASE/base.tar.gz" ]] || die "$BASE/base.tar.gz not found"
[[ -d "$ARCHIVE" ]] || die "WAL archive $ARCHIVE not found"
[[ ! -e "$DATA" ]] || die "$DATA exists: a restore never overwrites"
[[ -x "$PG_BIN/pg_ctl" ]] || die "pg_ctl not found in $PG_BIN (set PG_BIN)"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "PORT must be a number"

started=$(date +%s)
mkdir -m 700 -p "$DATA"
tar -xzf "$BASE/base.tar.gz" -C "$DATA"
if [[ -f "$BASE/pg_wal.tar.gz" ]]; then tar -xzf "$BASE/pg_wal.tar.gz" -C "$DATA/pg_wal"; fi
# the WAL streamed into the backup is only what the backup itself needs; the rest comes from the archive
cat >> "$DATA/postgresql.auto.conf" <<CONF
# pitr-restore.sh
restore_command = 'cp "$ARCHIVE/%f" "%p"'
recovery_target_time = '$TARGET'
recovery_target_action = 'promote'
recovery_target_inclusive = false
archive_mode = off
# no read-only phase: the server opens once recovery is done (and settings such as max_connections need not
# match the old primary's to replay its WAL)
hot_standby = off
CONF
touch "$DATA/recovery.signal"
log "recovering $BASE + $ARCHIVE up to $TARGET into $DATA (port $PORT)"
# not -w: the server accepts connections only after replaying the WAL, which may take longer than pg_ctl waits
"$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA/restore.log" -o "-p $PORT -c listen_addresses=127.0.0.1 -k $SOCKET_DIR ${PG_OPTIONS:-}" -W start >/dev/null \
  || die "the server did not start: $(grep -E "FATAL|PANIC" "$DATA/restore.log" | tail -3)"

psql_() { "$PG_BIN/psql" -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres -XtAc "$1"; }
deadline=$((started + RECOVERY_TIMEOUT))
until [[ "$(psql_ 'SELECT pg_is_in_recovery()' 2>/dev/null || echo t)" == "f" ]]; do
  [[ $(date +%s) -lt $deadline ]] || die "still recovering after ${RECOVERY_TIMEOUT}s: $(tail -5 "$DATA/restore.log")"
  # our own polling is refused while the server replays ("starting up", then with hot_standby off "not accepting
  # connections"): those FATALs are answers to psql, not failures of the recovery
  failures="$(grep -E "FATAL|PANIC" "$DATA/restore.log" | grep -vE "the database system is (starting up|not accepting connections|not yet accepting connections)" || true)"
  [[ -z "$failures" ]] || die "recovery failed: $(tail -3 <<<"$failures")"
  sleep 1
done
stopped_at="$(grep -o 'recovery stopping before commit of transaction [0-9]*, time [0-9: .+-]*' "$DATA/restore.log" | tail -1 || true)"
log "restored and promoted in $(( $(date +%s) - started ))s; ${stopped_at:-recovery reached the end of the archive}"
