# shellcheck shell=bash
# Sourced by bench/run.sh, bench/topology.sh and bench/callgrind.sh: free
# ports, a temporary directory, and the processes a bench starts, all
# stopped (by PID) and removed when it exits.
#   port            prints a free TCP port on 127.0.0.1
#   pids+=("$!")    after starting a process, so that the exit stops it
#   stop PID        ends one of them now (TERM, KILL after 10 s) and forgets it
#   wait_http PORT [PATH]   waits up to 10 s for an HTTP answer on PORT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
stop() {
  local p=$1 keep=() q
  kill "$p" 2>/dev/null || true
  for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  pids=("${keep[@]}")
}
wait_http() {
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/${2:-}" && return 0; sleep 0.05; done
  echo "$(basename "$0"): nothing answers on port $1" >&2; return 1
}
