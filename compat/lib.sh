# Shell functions both scoreboards (compat/librdkafka/run.sh, compat/franz-go/run.sh) use to
# report and to run the bundled broker they test against. Sourced, not run.
#
# The caller sets `out` (the run's output directory, where broker.log goes) and `broker_cmd`
# (an array: the broker's command line) before start_broker, and may call stop_broker any time.

die() { echo "run.sh: $*" >&2; exit 2; }
say() { echo "run.sh: $*" >&2; }

# A port nobody listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether HOST:PORT accepts a connection.
listening() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }

# The broker binary to test: PATH (from --sluice or $SLUICE_BIN) if given, else the repo's
# target/release/sluice, built first if missing; printed as an absolute path.
resolve_sluice() {
  local path="$1" repo="$2"
  if [ -z "$path" ]; then
    path="$repo/target/release/sluice"
    [ -x "$path" ] || (cd "$repo" && cargo build --release -p sluice) >&2
  fi
  [ -x "$path" ] || die "no broker binary at $path"
  echo "$(cd "$(dirname "$path")" && pwd)/$(basename "$path")"
}

broker_pid=""

# Starts "${broker_cmd[@]}" (output appended to $out/broker.log) and waits, up to 30 s, until
# every HOST:PORT given accepts connections; dies with the log's tail if the broker exits first.
start_broker() {
  "${broker_cmd[@]}" >>"$out/broker.log" 2>&1 </dev/null &
  broker_pid=$!
  local deadline=$((SECONDS + 30)) address
  for address in "$@"; do
    until listening "$address"; do
      kill -0 "$broker_pid" 2>/dev/null || { tail -20 "$out/broker.log" >&2; die "the broker exited at start"; }
      [ $SECONDS -lt $deadline ] || die "the broker did not listen on $address within 30 s"
      sleep 0.1
    done
  done
}

# Stops the broker started by start_broker: SIGTERM, then SIGKILL after 20 s.
stop_broker() {
  [ -n "$broker_pid" ] || return 0
  kill -TERM "$broker_pid" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while kill -0 "$broker_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  kill -KILL "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}
