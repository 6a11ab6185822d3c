#!/usr/bin/env bash
# Installs what the test suite needs and is missing: Debian packages for the real peers the tests
# talk to (swaks, mosquitto, clamd, socat, nftables, python3-dkim, fetchmail, testssl.sh, ...) and native addons
# built for the Node that runs the tests. Safe to run again: it only acts on what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  swaks socat mosquitto mosquitto-clients nftables iproute2 python3 python3-dkim fetchmail
  clamav-daemon openssl curl util-linux
  testssl.sh
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "prepare: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then echo "prepare: need root to apt-get install ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No daemons are started by the tests' packages here: each test starts its own peer.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash board/native-addons.sh
