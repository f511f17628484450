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

# Redis: use the configured one when it answers, else start a local one.
url=$(sed -n 's/^[[:space:]]*url:[[:space:]]*\(redis:\/\/[^[:space:]#]*\).*/\1/p' "$config" | head -n1)
url=${url:-redis://127.0.0.1:6379/0}
if ! redis-cli -u "$url" ping >/dev/null 2>&1; then
  hostport=${url#redis://}; hostport=${hostport##*@}; hostport=${hostport%%/*}
  port=${hostport##*:}; [ "$port" = "$hostport" ] && port=6379
  mkdir -p .run/redis
  echo "starting redis-server on 127.0.0.1:$port (data in .run/redis, AOF on)" >&2
  redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/.run/redis" \
    --appendonly yes --appendfsync always --daemonize yes --logfile "$PWD/.run/redis/redis.log"
  for _ in $(seq 50); do redis-cli -u "$url" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# A development secret when none is set, so signed test deliveries work.
export BITBUCKET_WEBHOOK_SECRET=${BITBUCKET_WEBHOOK_SECRET:-dev-secret}

# The demo delivery: a real Bitbucket Cloud push from the repository's
# fixtures, by absolute path (it works from any directory), to the address
# the config listens on (top-level `listen: host:port`), with a new
# X-Request-UUID made by the printed command itself on every paste.
listen=$(sed -n "s/^listen:[[:space:]]*[\"']\{0,1\}\([^\"'[:space:]#]*\).*/\1/p" "$config" | head -n1)
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
printf -v fixture '%q' "$PWD/tests/fixtures/bitbucket/jenkinsci-bitbucket-branch-source-plugin/cloud_repo-push_update.json"
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
MSG
exec build/bitsleuth run -c "$config"
