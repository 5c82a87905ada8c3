#!/usr/bin/env bash
# OpsDesk database backup (the deployment guide's pg_dump | gzip with retention), per-schema aware.
#
# Writes, under $BACKUP_DIR/<timestamp>/:
#   opsdesk_full.sql.gz          every schema (auth, inventory, audit, artifacts, ...) in one consistent dump
#   opsdesk_<schema>.sql.gz      one dump per service schema, so a single service can be restored alone
#   artifacts.tar.gz             the artifact blobs (only when ARTIFACT_STORAGE_PATH is a readable directory)
#   SHA256SUMS                   checksums of the files above
# then uploads the directory when S3_BUCKET is set and deletes local backups older than RETENTION_DAYS.
#
# Configuration (environment; nothing is hard-coded):
#   DATABASE_URL          postgres://user:pass@host:5432/opsdesk   (or the libpq PG* variables)
#   BACKUP_DIR            default /backups/opsdesk
#   RETENTION_DAYS        default 30
#   BACKUP_SCHEMAS        default "auth inventory audit artifacts"
#   ARTIFACT_STORAGE_PATH optional: blob directory to archive as well
#   S3_BUCKET             optional: e.g. s3://opsdesk-backups (needs the aws CLI)
#   BACKUP_METRICS_FILE   optional: a node exporter textfile (e.g.
#                         /var/lib/prometheus/node-exporter/opsdesk_backup.prom, the directory given to
#                         --collector.textfile.directory) written after a successful run; OpsDeskBackupStale
#                         alerts when its timestamp gets old
#
# Cron (the guide's schedule):
#   # Run daily at 2 AM
#   0 2 * * * /opt/opsdesk/backup.sh >> /var/log/opsdesk-backup.log 2>&1
#   # Weekly full backup including artifact blobs + upload
#   0 3 * * 0 ARTIFACT_STORAGE_PATH=/mnt/artifacts /opt/opsdesk/backup.sh >> /var/log/opsdesk-backup-full.log 2>&1
set -euo pipefail

BACKUP_DIR="${BACKUP_DIR:-/backups/opsdesk}"
RETENTION_DAYS="${RETENTION_DAYS:-30}"
BACKUP_SCHEMAS="${BACKUP_SCHEMAS:-auth inventory audit artifacts}"
DATABASE_URL="${DATABASE_URL:-}"
ARTIFACT_STORAGE_PATH="${ARTIFACT_STORAGE_PATH:-}"
S3_BUCKET="${S3_BUCKET:-}"
BACKUP_METRICS_FILE="${BACKUP_METRICS_FILE:-}"

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

command -v pg_dump >/dev/null || die "pg_dump not found (install postgresql-client matching the server major version)"
[[ "$RETENTION_DAYS" =~ ^[0-9]+$ ]] || die "RETENTION_DAYS must be a number of days"

# pg_dump takes the connection string as --dbname; without DATABASE_URL libpq uses PGHOST/PGUSER/PGDATABASE/...
conn=()
if [[ -n "$DATABASE_URL" ]]; then conn=(--dbname="$DATABASE_URL"); fi

datestamp="$(date -u +%Y%m%d_%H%M%S)"
target="$BACKUP_DIR/$datestamp"
mkdir -p "$target"
chmod 700 "$BACKUP_DIR" "$target"
# A failed run must not leave a half-written backup that looks complete.
on_exit() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    rm -rf -- "$target"
    log "failed (exit $rc), removed $target"
  fi
}
trap on_exit EXIT

log "full dump -> $target/opsdesk_full.sql.gz"
# --no-owner/--no-privileges are NOT used: the audit schema's grants (INSERT/SELECT only for the writer role)
# are part of its tamper protection and must come back with a restore.
pg_dump "${conn[@]}" --format=plain --quote-all-identifiers | gzip -9 > "$target/opsdesk_full.sql.gz"

for schema in $BACKUP_SCHEMAS; do
  [[ "$schema" =~ ^[a-z_][a-z0-9_]*$ ]] || die "invalid schema name '$schema' in BACKUP_SCHEMAS"
  log "schema $schema -> $target/opsdesk_$schema.sql.gz"
  pg_dump "${conn[@]}" --format=plain --quote-all-identifiers --schema="$schema" | gzip -9 > "$target/opsdesk_$schema.sql.gz"
done

if [[ -n "$ARTIFACT_STORAGE_PATH" && -d "$ARTIFACT_STORAGE_PATH" ]]; then
  # Blobs are content-addressed and immutable, so a copy taken after the dump covers every row in it.
  log "artifact blobs $ARTIFACT_STORAGE_PATH -> $target/artifacts.tar.gz"
  tar -C "$ARTIFACT_STORAGE_PATH" -czf "$target/artifacts.tar.gz" .
fi

( cd "$target" && sha256sum -- *.gz > SHA256SUMS )

if [[ -n "$S3_BUCKET" ]]; then
  command -v aws >/dev/null || die "S3_BUCKET is set but the aws CLI is not installed"
  log "upload -> $S3_BUCKET/$datestamp/"
  aws s3 cp --recursive --only-show-errors "$target" "$S3_BUCKET/$datestamp/"
fi

# Retention: whole timestamped directories older than RETENTION_DAYS (never files of the current run).
find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*_[0-9]*' -mtime +"$RETENTION_DAYS" -print0 |
  while IFS= read -r -d '' old; do
    log "retention: removing $old"
    rm -rf -- "$old"
  done

if [[ -n "$BACKUP_METRICS_FILE" ]]; then
  # written to a temporary file and renamed, so node exporter never reads half a file
  tmp="$BACKUP_METRICS_FILE.$$.tmp"
  {
    echo '# HELP opsdesk_backup_last_success_timestamp_seconds When the last successful OpsDesk backup finished (Unix time).'
    echo '# TYPE opsdesk_backup_last_success_timestamp_seconds gauge'
    echo "opsdesk_backup_last_success_timestamp_seconds $(date -u +%s)"
    echo '# HELP opsdesk_backup_last_size_bytes Size of the last successful OpsDesk backup directory.'
    echo '# TYPE opsdesk_backup_last_size_bytes gauge'
    echo "opsdesk_backup_last_size_bytes $(du -sb "$target" | cut -f1)"
  } > "$tmp"
  mv -f -- "$tmp" "$BACKUP_METRICS_FILE"
fi

log "Backup completed: $target"
