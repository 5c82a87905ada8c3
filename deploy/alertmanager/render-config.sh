#!/bin/sh
# Renders alertmanager.yml.tmpl and templates/*.tmpl into $OUT_DIR (default /tmp/alertmanager) from the
# environment, then execs Alertmanager with it (any arguments are passed on). Used as the container's
# entrypoint (compose, Helm) and by the tests (RENDER_ONLY=1: render and exit). POSIX sh + awk (busybox).
set -eu
SRC_DIR="${SRC_DIR:-$(dirname "$0")}"
OUT_DIR="${OUT_DIR:-/tmp/alertmanager}"
: "${ALERT_WEBHOOK_URL:?ALERT_WEBHOOK_URL must be set: the webhook every alert is sent to}"
export ALERT_GROUP_WAIT="${ALERT_GROUP_WAIT:-30s}"
export ALERT_SMTP_REQUIRE_TLS="${ALERT_SMTP_REQUIRE_TLS:-true}"
export RUNBOOK_BASE_URL="${RUNBOOK_BASE_URL:-}"
export ALERT_EMAIL_TO="${ALERT_EMAIL_TO:-}"
if [ -n "$ALERT_EMAIL_TO" ]; then
  : "${ALERT_EMAIL_FROM:?ALERT_EMAIL_FROM must be set when ALERT_EMAIL_TO is}"
  : "${ALERT_SMTP_SMARTHOST:?ALERT_SMTP_SMARTHOST (host:port) must be set when ALERT_EMAIL_TO is}"
fi

# ${NAME} -> value of NAME (single quotes doubled: every value sits in a single-quoted YAML string);
# with no e-mail recipient the "BEGIN email" .. "END email" blocks are left out.
render() {
  awk -v email="$ALERT_EMAIL_TO" '
    /# BEGIN email/ { if (email == "") skip = 1; next }
    /# END email/ { skip = 0; next }
    skip { next }
    {
      line = $0; out = ""
      while (match(line, /\$\{[A-Z_][A-Z0-9_]*\}/)) {
        name = substr(line, RSTART + 2, RLENGTH - 3)
        val = ENVIRON[name]; gsub(/'\''/, "'\'''\''", val)
        out = out substr(line, 1, RSTART - 1) val
        line = substr(line, RSTART + RLENGTH)
      }
      print out line
    }' "$1"
}

mkdir -p "$OUT_DIR/templates"
render "$SRC_DIR/alertmanager.yml.tmpl" > "$OUT_DIR/alertmanager.yml"
for t in "$SRC_DIR"/templates/*.tmpl; do render "$t" > "$OUT_DIR/templates/$(basename "$t")"; done
[ "${RENDER_ONLY:-0}" = 1 ] && exit 0
exec /bin/alertmanager --config.file="$OUT_DIR/alertmanager.yml" "$@"
