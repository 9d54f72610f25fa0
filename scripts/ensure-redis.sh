#!/usr/bin/env bash
# Makes sure a Redis answers for local runs and tests. In development, when nothing answers on
# 127.0.0.1:6379 and REDIS_URL is not set, it starts a local redis-server (installing Debian's
# package first when apt-get is available and we are root). With REDIS_URL set, or in
# production, it only checks and explains.
set -u
host=127.0.0.1 port=6379

ping_redis() {
  # Plain bash, so the check works before redis-cli is installed.
  exec 3<>"/dev/tcp/$host/$port" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local reply=""
  read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [[ "$reply" == +PONG* ]]
}

install_redis_server() {
  command -v redis-server >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-redis: installing redis-server (Debian package)" >&2
    (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq redis-server >/dev/null 2>&1; }) || true
  fi
  command -v redis-server >/dev/null 2>&1
}

# The test suite starts throwaway redis-servers of its own (to stop Redis mid-test), so it needs the binary.
if [ "${1:-}" = --with-binary ] && ! install_redis_server; then
  echo "ensure-redis: the tests need the redis-server binary: install Redis 7 (apt-get install redis-server)." >&2
  exit 1
fi

if [ -n "${REDIS_URL:-}" ] || [ "${NODE_ENV:-}" = production ]; then
  exit 0 # the connector checks its own REDIS_URL and answers 503 / not ready until it is up
fi
ping_redis && exit 0

if ! install_redis_server; then
  echo "ensure-redis: nothing answers on $host:$port and redis-server is not installed." >&2
  echo "  Install Redis 7 (apt-get install redis-server, brew install redis, or docker run -p 6379:6379 redis:7)" >&2
  echo "  or set REDIS_URL to your Redis." >&2
  exit 1
fi
echo "ensure-redis: starting a local redis-server on $host:$port (no persistence: development only)" >&2
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
for _ in $(seq 1 50); do ping_redis && exit 0; sleep 0.1; done
echo "ensure-redis: redis-server did not answer on $host:$port" >&2
exit 1
