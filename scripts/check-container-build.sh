#!/usr/bin/env bash
# Runs the Dockerfile's build steps on a clean copy of the sources, without Docker (no image can
# be pulled or built on every machine), then starts the resulting runtime tree the way the image
# does and checks it: production dependencies only, `node dist/main.js` becomes live and ready,
# the HEALTHCHECK command passes, SIGTERM stops it cleanly. Needs Redis (REDIS_URL, default
# 127.0.0.1:6379) and the npm registry or cache. What it cannot check: the base image itself,
# file ownership inside the image, and Docker's own HEALTHCHECK and signal delivery.
#   bash scripts/check-container-build.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Node 24, as in the image (the npm `node` package; `node` on the PATH may be older).
node_bin="$root/node_modules/.bin/node"
[ -x "$node_bin" ] || node_bin=$(command -v node)
work=$(mktemp -d "${TMPDIR:-/tmp}/vncc-image-XXXXXX")
[ "${1:-}" = --keep ] || trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "build stage: the files the Dockerfile copies, into $work/build"
mkdir -p "$work/build"
cp package.json package-lock.json tsconfig.json tsconfig.build.json nest-cli.json "$work/build/"
cp -r src "$work/build/src"
cd "$work/build"
PATH="$(dirname "$node_bin"):$PATH" npm install --no-audit --no-fund --prefer-offline --loglevel=error
PATH="$(dirname "$node_bin"):$root/node_modules/.bin:$PATH" npm run -s build
# nest-cli.json copies the pages as assets: a build without it has no agent page, panels or console.
for page in dist/screen-pop/page/agent.html dist/admin/console/console.html; do [ -f "$page" ] || { echo "the build left out $page" >&2; exit 1; }; done
PATH="$(dirname "$node_bin"):$PATH" npm prune --omit=dev --no-audit --no-fund --loglevel=error
cmp -s package-lock.json "$root/package-lock.json" || { echo "the build rewrote package-lock.json: run npm install and commit it" >&2; exit 1; }

step "runtime stage: package.json, node_modules, dist, config"
mkdir -p "$work/app/var/spool"
cp -r package.json node_modules dist "$work/app/"
cp -r "$root/config" "$work/app/config"
cd "$work/app"
# The lockfile marks what only the dev dependencies need ("dev": true): none of it may be left.
dev=$("$node_bin" -e "
const lock=require('$root/package-lock.json');const fs=require('fs');
console.log(Object.entries(lock.packages).filter(([p,v])=>p&&v.dev&&fs.existsSync(p)).map(([p])=>p.replace(/^.*node_modules\//,'')).slice(0,20).join(' '))")
[ -z "$dev" ] || { echo "dev dependencies left in the runtime tree: $dev" >&2; exit 1; }
[ -f dist/main.js ] || { echo "dist/main.js missing" >&2; exit 1; }
echo "runtime tree: $(du -sh . | cut -f1) (node_modules $(du -sh node_modules | cut -f1)); no dev dependencies"

step "start it as the image does: NODE_ENV=production node dist/main.js"
port=$("$node_bin" -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
run=()
if [ "$(id -u)" = 0 ]; then
  # Not as root, like the image's USER node: the code read-only, var/ writable.
  chmod -R a+rX "$work" && chown -R nobody "$work/app/var"
  run=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
env -i PATH="$PATH" NODE_ENV=production ROLE=all PORT="$port" HOST=127.0.0.1 \
  REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" REDIS_PREFIX="image-check-$$" \
  INGEST_TOKEN=image-check-ingest-token-0123 ADMIN_TOKEN=image-check-admin-token-0123 AGENT_LINK_SECRET=image-check-link-secret-0123 \
  "${run[@]}" "$node_bin" dist/main.js >"$work/out.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/out.log" >&2; echo "the connector exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null || { cat "$work/out.log" >&2; echo "not ready" >&2; kill "$pid"; exit 1; }
echo "ready on :$port"
# The Dockerfile's HEALTHCHECK command, as Docker would run it inside the container.
PORT=$port "$node_bin" -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && echo "HEALTHCHECK command passes"

step "SIGTERM (docker stop)"
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
grep -q '"event":"stopped"' "$work/out.log" || { cat "$work/out.log" >&2; echo "no 'stopped' line after SIGTERM" >&2; exit 1; }
[ "$status" = 0 ] || { echo "exit status $status after SIGTERM" >&2; exit 1; }
echo "stopped cleanly (exit 0)"
"$node_bin" -e "
const Redis=require('$root/node_modules/ioredis');const r=new Redis(process.argv[1]);
(async()=>{let c='0';do{const [n,k]=await r.scan(c,'MATCH','image-check-$$:*','COUNT',500);c=n;if(k.length)await r.unlink(...k)}while(c!=='0');r.disconnect()})()" "${REDIS_URL:-redis://127.0.0.1:6379}" || true
printf '\nContainer build steps: OK\n'
