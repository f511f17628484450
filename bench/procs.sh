# shellcheck shell=bash
# Sourced by bench/run.sh and bench/callgrind.sh: free ports, a temporary
# directory, and the processes a bench starts, all stopped (by PID) and
# removed when it exits.
#   port            prints a free TCP port on 127.0.0.1
#   pids+=("$!")    after starting a process, so that the exit stops it
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
