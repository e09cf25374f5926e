#!/usr/bin/env bash
# Installs what the browser tests need (Debian chromium + a CJK font) when we may (root + apt);
# otherwise says what to install and lets those tests skip (CI=true makes them fail instead).
set -u
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qiE "noto sans cjk|wenquanyi" || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} (apt-get) for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
    || echo "NOTICE: could not install ${missing[*]}; browser tests will skip"
else
  echo "NOTICE: ${missing[*]} missing — install with: sudo apt-get install ${missing[*]}"
fi
exit 0
