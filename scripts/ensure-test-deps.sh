#!/usr/bin/env bash
# Make sure the real parts the test suite drives are on this machine: Debian's chromium (passkey
# flows in a real browser) and redis-server (several auth instances sharing state). Installs them
# with apt when it can (root, as in CI); otherwise stops and says how.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || [ -x "${CHROMIUM_PATH:-/nonexistent}" ] || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_URL:-}" ] || need+=(redis-server)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # test and dev certificates

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test dependencies with apt: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit 0
fi

cat >&2 <<MSG
The test suite needs these programs, and this shell cannot install them (not root, or no apt):
  ${need[*]}
Install them, e.g.:  sudo apt-get install -y ${need[*]}
or point at existing ones: CHROMIUM_PATH=/path/to/chromium, REDIS_URL=redis://host:port
MSG
exit 1
