#!/usr/bin/env bash
# The main job: install what is missing, build, make sure Redis is there,
# and run bitsleuth on a working config (Sleuth in dry-run: the deploys it
# would register are logged and recorded in Redis, nothing is sent).
#   ./run.sh [CONFIG]            default examples/bitsleuth.yaml
set -euo pipefail
cd "$(dirname "$0")"
config=${1:-examples/bitsleuth.yaml}

scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target bitsleuth >/dev/null

BIN=build/bitsleuth

# A development secret when none is set, so signed test deliveries work
# (and `check` below finds the secret the config names).
export BITBUCKET_WEBHOOK_SECRET=${BITBUCKET_WEBHOOK_SECRET:-dev-secret}

# The config's own values, as bitsleuth reads them (any YAML style): the
# Redis URL ("" with Sentinel or Cluster) and the ingest address. A config
# with errors stops here, with bitsleuth's FILE:LINE:COL messages.
print_key() {   # print_key KEY: the effective value of KEY in $config
  local rc=0
  "$BIN" check -c "$config" --print "$1" || rc=$?
  case $rc in
    0) ;;
    1) echo "run.sh: $config has errors (above): fix them and run ./run.sh again" >&2; return 1 ;;
    *) echo "run.sh: '$BIN check --print $1' failed (exit $rc)" >&2; return 1 ;;
  esac
}
url=$(print_key redis.url)
listen=$(print_key listen)

# Redis: use the configured one when it answers (a NOAUTH answer is an
# answer: the config's password is bitsleuth's business), else start a
# local one where the config expects it. Sentinel/Cluster: never started
# here, bitsleuth finds and reports them itself.
answers() {   # answers ARGS...: redis-cli ARGS ping gets PONG or NOAUTH
  local out
  out=$(redis-cli "$@" ping 2>&1) || true
  case $out in PONG* | *NOAUTH*) return 0 ;; *) return 1 ;; esac
}
mkdir_redis() { mkdir -p .run/redis; }
case $url in
  '')
    echo "redis: Sentinel or Cluster in $config: not starting a local redis-server" >&2 ;;
  unix://*)
    sock=${url#unix://}; sock=${sock%%\?*}
    if ! answers -s "$sock"; then
      mkdir_redis
      echo "starting redis-server on unix socket $sock (data in .run/redis, AOF on)" >&2
      redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$PWD/.run/redis" \
        --appendonly yes --appendfsync always --daemonize yes --logfile "$PWD/.run/redis/redis.log"
      for _ in $(seq 50); do answers -s "$sock" && break; sleep 0.1; done
    fi ;;
  redis://*)
    if ! answers -u "$url"; then
      hostport=${url#redis://}; hostport=${hostport##*@}; hostport=${hostport%%/*}
      host=${hostport%:*} port=${hostport##*:}
      [ "$port" = "$hostport" ] && { host=$hostport; port=6379; }
      case $host in
        127.0.0.1 | localhost | '[::1]') ;;
        *) echo "run.sh: Redis at $url does not answer (not local: not starting one)" >&2; exit 1 ;;
      esac
      mkdir_redis
      echo "starting redis-server on 127.0.0.1:$port (data in .run/redis, AOF on)" >&2
      redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/.run/redis" \
        --appendonly yes --appendfsync always --daemonize yes --logfile "$PWD/.run/redis/redis.log"
      for _ in $(seq 50); do answers -u "$url" && break; sleep 0.1; done
    fi ;;
  *)
    echo "run.sh: redis.url '$url' is neither redis:// nor unix://" >&2; exit 1 ;;
esac

# The demo delivery: a real Bitbucket Cloud push (examples/demo/, derived
# from a fixture, its commit naming SHOP-1234), by absolute path (it works
# from any directory), to the address the config listens on, with a new
# X-Request-UUID made by the printed command itself on every paste.
listen=${listen:-127.0.0.1:8080}
lhost=${listen%:*} lport=${listen##*:}
case $lhost in
  '' | 0.0.0.0) lhost=127.0.0.1 ;;   # a wildcard address: reach it on loopback
  '[::]') lhost='[::1]' ;;
esac
hook="http://$lhost:$lport/hooks/bitbucket"
if [ "$lport" = 0 ]; then   # the kernel picks the port: bitsleuth logs it
  hook="http://$lhost:PORT/hooks/bitbucket   # PORT: see bitsleuth's 'listening on' line"
fi
printf -v fixture '%q' "$PWD/examples/demo/push-SHOP-1234.json"
printf -v cfgq '%q' "$(realpath "$config")"
printf -v secret '%q' "$BITBUCKET_WEBHOOK_SECRET"
cat >&2 <<MSG
bitsleuth is starting with $config (webhook secret: \$BITBUCKET_WEBHOOK_SECRET).
Send it a real Bitbucket push from another terminal (each paste is a new delivery id;
without an X-Hook-UUID header the same push again within 10 minutes is answered
"duplicate", as another webhook's copy would be):
  f=$fixture
  sig=\$(openssl dgst -sha256 -hmac $secret "\$f" | awk '{print \$2}')
  curl -s -H 'Content-Type: application/json' -H 'X-Event-Key: repo:push' \\
       -H "X-Request-UUID: {\$(cat /proc/sys/kernel/random/uuid)}" \\
       -H "X-Hub-Signature: sha256=\$sig" --data-binary @"\$f" $hook
Then list the deploys it recorded (dry-run), with the issue key SHOP-1234:
  $PWD/$BIN dryrun -c $cfgq
MSG
exec "$BIN" run -c "$config"
