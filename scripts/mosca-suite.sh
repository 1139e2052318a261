#!/usr/bin/env bash
# Runs Mosca 2.8.3's own server tests against @skynet-mqtt/core (docs/mosca-migration.md, "Mosca's
# own tests"). Not part of `npm test`: it fetches Mosca and its test tools from the npm registry.
#
#   npm run build && scripts/mosca-suite.sh [WORKDIR]        (Linux, Node 20+, redis-server)
#
# The test code is Mosca's, unchanged; `require("../")` gives the core plus the one change
# docs/mosca-migration.md asks of a Mosca application (persistence classes become factory names).
# The tests listen on fixed ports (1883, 8000, 29043...) and server_redis.js flushes database 0 of
# the Redis at 6379, so they run in a network namespace of their own (unshare -rn) beside a
# private redis-server: the machine's own brokers and Redis are never touched.
# The two onQoS2publish tests of each file are left out: QoS 2 works here, and one of them fails
# late, inside mocha's afterEach, which ends the file (pass --all to keep them).
set -euo pipefail

all=0
if [ "${1:-}" = "--all" ]; then all=1; shift; fi
repo="$(cd "$(dirname "$0")/.." && pwd)"
core="$repo/packages/core/dist/src/index.js"
[ -f "$core" ] || { echo "mosca-suite: $core is missing: run npm run build first" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "mosca-suite: needs redis-server (Debian: redis-server)" >&2; exit 1; }
work="${1:-$(mktemp -d /tmp/mosca-suite-XXXXXX)}"
mkdir -p "$work"
cd "$work"

if [ ! -d package ]; then
  npm pack --silent mosca@2.8.3 >/dev/null
  tar xzf mosca-2.8.3.tgz
fi
# Mosca's test folder beside a stand-in for Mosca's root: index.js (below) and lib/cli.js, which
# test/common.js loads for test/cli.js only (Mosca's CLI is not what these files test).
mkdir -p run/lib
rm -rf run/test && cp -r package/test run/test
echo 'module.exports = {};' > run/lib/cli.js
cd run
if [ ! -d node_modules/mocha ]; then
  # Mosca's devDependencies for these files and the packages its tests require by name, with
  # ascoltatori's optional backends, which it loads eagerly (no install scripts: nothing is compiled).
  npm install --no-save --no-audit --no-fund --ignore-scripts --no-package-lock \
    mocha@^2.0.1 chai@^3.5.0 sinon@~1.7.0 sinon-chai@~2.8.0 supertest@~1.2.0 ws@^1.0.1 steed@^1.0.0 \
    ascoltatori@^3.0.0 eventemitter2@^2.1.3 msgpack-lite@^0.1.20 mqtt@^1.6.3 mqtt-connection@^2.1.1 \
    websocket-stream@~3.1.0 redis@^2.8.0 ioredis@^1.15.1 >/dev/null
fi
cat > index.js <<EOF
// Mosca's tests require("../"): @skynet-mqtt/core, persistence classes as factory names.
const core = require(${core@Q});
module.exports = Object.assign({}, core, {
  persistence: { Memory: 'memory', Redis: 'redis', LevelUp: 'level', Mongo: 'mongo', getFactory: (name) => name.toLowerCase() },
});
EOF

files="server.js server_secure.js server_websocket.js server_websocket_secure.js server_redis.js server_websocket_attach.js server_error.js"
# shellcheck disable=SC2016 # expanded inside the namespace's shell
unshare -rn bash -c '
  ip link set lo up
  redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no > redis.log 2>&1 &
  redis=$!
  sleep 0.5
  for f in '"$files"'; do
    grep=()
    if [ '"$all"' = 0 ]; then grep=(--grep "onQoS2publish=" --invert); fi
    node --experimental-require-module node_modules/mocha/bin/_mocha --reporter spec --no-colors "${grep[@]}" "test/$f" > "out-$f.log" 2>&1 || true
    counts=$(sed "s/\x1b\[[0-9;]*m//g" "out-$f.log" | grep -E "^ +[0-9]+ (passing|failing|pending)" | sed -E "s/ *\(.*\)//" | tr -s " " | tr "\n" " ")
    echo "$f:$counts"
  done
  kill $redis
'
echo "logs: $work/run/out-*.log"
