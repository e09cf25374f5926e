#!/usr/bin/env bash
# Installs the system packages pingyi needs when we may (root + apt): a TrueType CJK font for
# PDFs (fonts-wqy-microhei; CFF-based Noto CJK cannot be embedded), and with --test Chromium for
# the browser tests, nginx for the tests behind a proxy and pgbouncer for the connection-pooling test. Otherwise says what to install; tests needing them skip (or fail with CI=true).
set -u
missing=()
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] \
  || missing+=(fonts-wqy-microhei)
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
  # the restore drill (pg_dump, pg_restore) and the replica test (initdb, pg_basebackup: clusters of its own)
  command -v pg_restore >/dev/null || missing+=(postgresql-client)
  compgen -G "/usr/lib/postgresql/*/bin/pg_basebackup" >/dev/null || missing+=(postgresql)
  command -v wrk >/dev/null || missing+=(wrk)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} (apt-get)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
    || echo "NOTICE: could not install ${missing[*]}"
else
  echo "NOTICE: ${missing[*]} missing — install with: sudo apt-get install ${missing[*]}"
fi
exit 0
