#!/usr/bin/env bash
# The compose `backup` service: every BACKUP_INTERVAL_SECONDS, the logical dump (backup.sh) and a base backup
# for point-in-time recovery (pg_basebackup, tar + gzip, with the WAL it needs). Archived WAL older than the
# oldest kept base backup is removed (pg_archivecleanup). Kubernetes: deploy/helm (CronJob, or CloudNativePG's
# ScheduledBackup for the PITR part).
#   DATABASE_URL             the logical dump's login (the migrator: owns every OpsDesk object)
#   BASEBACKUP_URL           a login with REPLICATION (the superuser in compose)
#   BACKUP_DIR               /backups/opsdesk   (dumps in <stamp>/, base backups in base/<stamp>/)
#   WAL_ARCHIVE              /wal-archive       (where Postgres' archive_command copies WAL segments)
#   RETENTION_DAYS           30
#   BACKUP_INTERVAL_SECONDS  86400
#   BACKUP_ONCE              1: one round, then exit with its status (a cron job, the restore drill's test)
set -euo pipefail

BACKUP_DIR="${BACKUP_DIR:-/backups/opsdesk}"
WAL_ARCHIVE="${WAL_ARCHIVE:-/wal-archive}"
RETENTION_DAYS="${RETENTION_DAYS:-30}"
BACKUP_INTERVAL_SECONDS="${BACKUP_INTERVAL_SECONDS:-86400}"
BASEBACKUP_URL="${BASEBACKUP_URL:?set BASEBACKUP_URL (a login with REPLICATION)}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '%s backup-loop: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
[[ "$BACKUP_INTERVAL_SECONDS" =~ ^[0-9]+$ ]] || { log "BACKUP_INTERVAL_SECONDS must be a number"; exit 1; }

base_backup() {
  local stamp dir
  stamp="$(date -u +%Y%m%d_%H%M%S)"
  dir="$BACKUP_DIR/base/$stamp"
  mkdir -p "$dir"
  if ! pg_basebackup --dbname="$BASEBACKUP_URL" -D "$dir" -Ft -z -X stream --checkpoint=fast --label="opsdesk-$stamp"; then
    rm -rf "$dir"
    return 1
  fi
  log "base backup $dir"
  # keep RETENTION_DAYS of base backups, then drop WAL that only older ones needed
  find "$BACKUP_DIR/base" -mindepth 1 -maxdepth 1 -type d -mtime +"$RETENTION_DAYS" -exec rm -rf {} +
  # the oldest kept base backup's first WAL segment (its backup_label): everything before it is unneeded
  local oldest segment
  oldest="$(find "$BACKUP_DIR/base" -mindepth 1 -maxdepth 1 -type d | sort | head -1)"
  segment="$(tar -xzOf "$oldest/base.tar.gz" backup_label | sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]*\))$/\1/p')"
  if [[ -n "$segment" ]] && command -v pg_archivecleanup >/dev/null; then pg_archivecleanup "$WAL_ARCHIVE" "$segment"; fi
}

if [[ "${BACKUP_ONCE:-}" == 1 ]]; then
  bash "$HERE/backup.sh"
  base_backup
  exit 0
fi
while true; do
  bash "$HERE/backup.sh" || log "ERROR: logical dump failed"
  base_backup || log "ERROR: base backup failed"
  sleep "$BACKUP_INTERVAL_SECONDS"
done
