#!/usr/bin/env bash
# `npm test`: type-check, prepare the machine, run every test file with tap on Node 24
# (node_modules/.bin), and end with the line CI reads: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
# Node 24 and tap from node_modules, also when this script is run outside npm.
export PATH="$PWD/node_modules/.bin:$PATH"
# Node runs TypeScript by stripping the types, so a type error would pass every test: the
# project's type check comes first (`npm run typecheck`, tsconfig.json).
if ! tsc -p . --noEmit; then
  echo "npm test: tsc -p . found type errors (above)"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! bash test/prepare.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi
# tap builds its runner from the plugin list in package.json (we drop its ts-node plugin: Node 24
# strips types itself). A fresh node_modules still has the default build, so build it first.
if ! tap build >/dev/null; then
  echo "0 passed, 1 failed"
  exit 1
fi
log=$(mktemp)
tap "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8");
  const m = [...text.matchAll(/^# \{ total: (\d+)(.*)\}$/gm)].pop();
  const field = (name) => { const r = new RegExp(name + ": (\\d+)").exec(m ? m[2] : ""); return r ? Number(r[1]) : 0; };
  const pass = m ? field("pass") : 0;
  const fail = m ? field("fail") : 1;
  const skip = m ? field("skip") + field("todo") : 0;
  const failed = fail + (m ? 0 : 0);
  console.log(`${pass} passed, ${failed} failed` + (skip ? `, ${skip} skipped` : ""));
' "$log"
rm -f "$log"
exit "$status"
