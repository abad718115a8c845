#!/usr/bin/env bash
# FerretDB v1.24.2 (SQLite backend) as the MongoDB-wire server for the store tests.
#
# Run it:
#   eval "$(bash .ci/ferretdb.sh start)"   # builds if needed, starts, exports MONGODB_TEST_URI
#   npx ava test/store/
#   bash .ci/ferretdb.sh stop
#
# Or source it (nothing runs on source) and call the functions:
#   source .ci/ferretdb.sh && ferretdb_start   # exports MONGODB_TEST_URI in this shell
#   ferretdb_stop
#
# Other subcommands: build (only make sure the binary exists), status, env.
#
# Settings (environment):
#   FERRETDB_BIN       binary path   (default: $HOME/.cache/open-login/ferretdb-v1.24.2)
#   FERRETDB_PORT      listen port   (default: 27018, so a local mongod on 27017 is left alone)
#   FERRETDB_PID_FILE  pid file      (default: ${TMPDIR:-/tmp}/open-login-ferretdb-$FERRETDB_PORT.pid)
#
# stdout carries only `export` lines so `eval` is safe; progress goes to stderr.

FERRETDB_VERSION=v1.24.2
FERRETDB_MODULE=github.com/FerretDB/FerretDB

_ferretdb_bin() { printf '%s\n' "${FERRETDB_BIN:-$HOME/.cache/open-login/ferretdb-$FERRETDB_VERSION}"; }
_ferretdb_port() { printf '%s\n' "${FERRETDB_PORT:-27018}"; }
_ferretdb_pid_file() { printf '%s\n' "${FERRETDB_PID_FILE:-${TMPDIR:-/tmp}/open-login-ferretdb-$(_ferretdb_port).pid}"; }
_ferretdb_uri() { printf 'mongodb://127.0.0.1:%s/\n' "$(_ferretdb_port)"; }
_ferretdb_say() { printf 'ferretdb: %s\n' "$*" >&2; }

_ferretdb_port_open() {
  # A subshell so the probe's file descriptor never leaks into the caller.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_ferretdb_alive() {
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid belonging to something else.
  [[ ! -r /proc/$pid/cmdline ]] || [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *ferretdb* ]]
}

_ferretdb_binary_ok() {
  local bin=$1 out
  [[ -x $bin ]] || return 1
  # Captured first: `grep -q` closing the pipe early would fail the pipeline under pipefail.
  out=$("$bin" --version 2>/dev/null) || return 1
  grep -qx "version: $FERRETDB_VERSION" <<<"$out"
}

# Builds from the module source. `go install ...@version` is not used because
# some proxies refuse the module's version list; `go mod download` of an exact
# version does not need it. The release embeds build/version/version.txt,
# which the module zip lacks, so the source is copied and the file written.
ferretdb_build() {
  local bin tmp dir
  bin=$(_ferretdb_bin)
  if _ferretdb_binary_ok "$bin"; then
    return 0
  fi
  command -v go >/dev/null || { _ferretdb_say "go is required to build FerretDB $FERRETDB_VERSION"; return 1; }
  _ferretdb_say "building FerretDB $FERRETDB_VERSION into $bin (takes a minute or two the first time)"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX") || return 1
  dir=$(cd "$tmp" && GO111MODULE=on go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [[ -z $dir || ! -d $dir ]]; then
    _ferretdb_say "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
    rm -rf "$tmp"
    return 1
  fi
  cp -R "$dir/." "$tmp/src" 2>/dev/null || { mkdir -p "$tmp/src" && cp -R "$dir/." "$tmp/src"; } || return 1
  chmod -R u+w "$tmp/src"
  printf '%s\n' "$FERRETDB_VERSION" >"$tmp/src/build/version/version.txt"
  mkdir -p "$(dirname "$bin")"
  if ! (cd "$tmp/src" && GO111MODULE=on GOFLAGS=-mod=mod go build -buildvcs=false -trimpath -o "$bin.tmp" ./cmd/ferretdb); then
    _ferretdb_say "go build of FerretDB $FERRETDB_VERSION failed"
    rm -rf "$tmp" "$bin.tmp"
    return 1
  fi
  mv -f "$bin.tmp" "$bin"
  rm -rf "$tmp"
  _ferretdb_binary_ok "$bin" || { _ferretdb_say "built binary does not report $FERRETDB_VERSION"; return 1; }
}

# Prints the export lines for a running server.
ferretdb_env() {
  printf 'export MONGODB_TEST_URI=%q\n' "$(_ferretdb_uri)"
  printf 'export FERRETDB_PID_FILE=%q\n' "$(_ferretdb_pid_file)"
}

ferretdb_start() {
  local bin port pid_file data log pid i
  bin=$(_ferretdb_bin)
  port=$(_ferretdb_port)
  pid_file=$(_ferretdb_pid_file)

  if [[ -f $pid_file ]] && _ferretdb_alive "$(cat "$pid_file")" && _ferretdb_port_open "$port"; then
    _ferretdb_say "already running on 127.0.0.1:$port (pid $(cat "$pid_file"))"
    export MONGODB_TEST_URI FERRETDB_PID_FILE
    MONGODB_TEST_URI=$(_ferretdb_uri)
    FERRETDB_PID_FILE=$pid_file
    return 0
  fi
  if _ferretdb_port_open "$port"; then
    _ferretdb_say "port $port is already in use by another process; set FERRETDB_PORT"
    return 1
  fi

  ferretdb_build || return 1

  data=$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-data.XXXXXX") || return 1
  log="$data/ferretdb.log"
  # --debug-addr=- turns off the metrics listener, whose fixed port would clash between runs.
  nohup "$bin" \
    --handler=sqlite \
    --sqlite-url="file:$data/" \
    --state-dir="$data" \
    --listen-addr="127.0.0.1:$port" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level=warn \
    </dev/null >"$log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$pid_file"
  printf '%s\n' "$data" >"$pid_file.dir"

  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      _ferretdb_say "exited during start-up; last log lines:"
      tail -n 20 "$log" >&2
      rm -f "$pid_file" "$pid_file.dir"
      return 1
    fi
    if _ferretdb_port_open "$port"; then
      export MONGODB_TEST_URI FERRETDB_PID_FILE
      MONGODB_TEST_URI=$(_ferretdb_uri)
      FERRETDB_PID_FILE=$pid_file
      _ferretdb_say "FerretDB $FERRETDB_VERSION listening on 127.0.0.1:$port (pid $pid, log $log)"
      return 0
    fi
    sleep 0.1
  done
  _ferretdb_say "did not accept connections on port $port within 30 s; log: $log"
  ferretdb_stop
  return 1
}

ferretdb_stop() {
  local pid_file pid data i
  pid_file=$(_ferretdb_pid_file)
  if [[ ! -f $pid_file ]]; then
    _ferretdb_say "not running (no $pid_file)"
    return 0
  fi
  pid=$(cat "$pid_file")
  data=$(cat "$pid_file.dir" 2>/dev/null || true)
  if _ferretdb_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null
    fi
    _ferretdb_say "stopped (pid $pid)"
  fi
  # Only ever remove a directory this script created.
  if [[ -n $data && -d $data && $(basename "$data") == ferretdb-data.* ]]; then
    rm -rf "$data"
  fi
  rm -f "$pid_file" "$pid_file.dir"
}

ferretdb_status() {
  local pid_file
  pid_file=$(_ferretdb_pid_file)
  if [[ -f $pid_file ]] && _ferretdb_alive "$(cat "$pid_file")"; then
    _ferretdb_say "running on 127.0.0.1:$(_ferretdb_port) (pid $(cat "$pid_file"))"
    return 0
  fi
  _ferretdb_say "not running"
  return 1
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -uo pipefail
  case "${1:-}" in
    start) ferretdb_start && ferretdb_env ;;
    stop) ferretdb_stop ;;
    build) ferretdb_build ;;
    status) ferretdb_status ;;
    env) ferretdb_status 2>/dev/null && ferretdb_env ;;
    *)
      printf 'usage: %s start|stop|build|status|env\n' "$0" >&2
      exit 2
      ;;
  esac
fi
