#!/usr/bin/env bash
# Installs the Debian 12 packages bitsleuth needs, only those missing.
#   scripts/deps.sh build   compiler, libraries, redis-server (to run it)
#   scripts/deps.sh test    the above plus clang (ASan/UBSan/libFuzzer), python3 and
#                           what the tests run: docker-compose (+python3-yaml), shellcheck,
#                           redis-sentinel, stunnel4, prometheus (promtool), groff
#                           (man page), systemd (systemd-analyze verify), and what the
#                           queue's readers use: python3-redis (the example consumer),
#                           python3-msgpack and python3-jsonschema (the schema test)
set -euo pipefail
want=(build-essential cmake pkg-config libevent-dev libhiredis-dev libcurl4-openssl-dev
      libmsgpack-dev libpcre2-dev libssl-dev libyajl-dev libyaml-dev libhttp-parser-dev redis-server
      redis-tools curl openssl)
if [ "${1:-build}" = test ]; then
  want+=(clang libclang-rt-14-dev python3 docker-compose python3-yaml shellcheck redis-sentinel
         stunnel4 prometheus groff systemd python3-redis python3-msgpack python3-jsonschema)
fi
missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
