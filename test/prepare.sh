#!/usr/bin/env bash
# Installs what the test suite needs and is missing: Debian packages for the real peers the tests
# talk to (swaks, mosquitto, clamd, socat, nftables, python3-dkim, fetchmail, testssl.sh, ...) and native addons
# built for the Node that runs the tests. Safe to run again: it only acts on what is missing.
#   --list         print the Debian packages, one a line (test/prepare/ checks that every program
#                  the suite runs comes from one of them)
#   --build-tools  install only what `npm ci` itself needs, before node_modules exists
set -euo pipefail
cd "$(dirname "$0")/.."

# `npm ci` compiles onoff's epoll addon with node-gyp, which needs these (and so does the
# image bundle test, which compiles it for the board's Node).
build_packages=(python3 make g++)
# Every program a test or the firmware under test runs, by package. Adding a package here is all a
# new peer needs: test/prepare/ finds what the sources run and fails when its package is missing.
packages=(
  "${build_packages[@]}"
  swaks libnet-ssleay-perl socat mosquitto mosquitto-clients nftables iproute2 procps python3-dkim python3-lxml
  fetchmail clamav-daemon openssl curl util-linux zip gpg gpg-agent qpdf
  testssl.sh pebble bind9 age tar grub-common kmod
)

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "prepare: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then echo "prepare: need root to apt-get install ${missing[*]}" >&2; return 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Recommends are not installed: a program that needs one lists it here (swaks --tls:
  # libnet-ssleay-perl; gpg: gpg-agent).
  # No daemons are started by the tests' packages here: each test starts its own peer.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

case "${1:-}" in
  --list) printf '%s\n' "${packages[@]}"; exit 0 ;;
  --build-tools) install_missing "${build_packages[@]}"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--list | --build-tools]" >&2; exit 2 ;;
esac

install_missing "${packages[@]}"
bash board/native-addons.sh
