#!/usr/bin/env bash
# franz-go's pkg/kgo tests (the Go Kafka client's own unit and integration tests) against the
# bundled broker, one test at a time, each under a timeout. See README.md beside this file.
#
#   run.sh [--allowlist | --tests "TestA TestB ..."] [--sluice PATH | --bootstrap HOST:PORT]
#          [--timeout SECONDS] [--out DIR] [--version vX.Y.Z]
#
#   (default)     every test and fuzz target that `kgo.test -test.list` names (benchmarks are
#                 left out: -test.run does not run them)
#   --allowlist   only the tests in allowlist.txt; exit 1 naming each one that did not pass
#   --tests LIST  only these tests (space or comma separated names)
#   --sluice PATH the broker binary to start (default $SLUICE_BIN, else target/release/sluice,
#                 built with `cargo build --release -p sluice` if missing)
#   --bootstrap   use a broker that is already running instead of starting one (then the SCRAM
#                 and OAUTHBEARER tests run only if KGO_TEST_SCRAM_SEEDS / KGO_TEST_SCRAM /
#                 KGO_TEST_OAUTH_SEEDS are set in the environment, and the broker_conns column
#                 stays empty)
#   --timeout S   kill a test after S seconds (default 300)
#   --out DIR     logs and results (default compat/franz-go/out/full[-allowlist|-subset])
#   --version V   franz-go version (default v1.22.3, or $SLUICE_FRANZ_GO_VERSION)
#   --build-only  fetch franz-go through the Go module proxy and build the test binary, then stop
#                 (.ci/install runs this, so that nothing is fetched while the tests run)
#
# Writes DIR/results.csv (test,result,seconds,broker_conns,detail; result PASS, FAIL or SKIP,
# where SKIP means the test skipped itself, with its reason in detail; broker_conns is how many
# connections the broker accepted during the test, 0 for a test that never talks to a broker),
# DIR/summary.txt, DIR/logs/<test>.log and DIR/broker.log. A run of every test also copies
# results.csv and summary.txt to results/full.csv and results/full.txt beside this script.
#
# Environment passed to every test: KGO_SEEDS (the PLAINTEXT listener), KGO_TEST_RF=1,
# KGO_TEST_SCRAM_SEEDS and KGO_TEST_OAUTH_SEEDS (the SASL_PLAINTEXT listener) and
# KGO_TEST_SCRAM=testuser:testpass, as franz-go's own CI sets them for its Kafka; KGO_TEST_RECORDS,
# KGO_LOG_LEVEL, KGO_TEST_UNSAFE, KGO_TEST_MAX_TOPIC_PARTS and KGO_TEST_CHAOS pass through if set.
#
# The test binary is built once (go test -c, one package at a time) from the module that the Go
# module proxy serves, in $SLUICE_FRANZ_GO_CACHE (default ~/.cache/sluice/franz-go) and reused.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# die, say, free_port, listening, start_broker, stop_broker.
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

select=all
tests_arg=""
sluice="${SLUICE_BIN:-}"
bootstrap=""
timeout_s=300
out=""
version="${SLUICE_FRANZ_GO_VERSION:-v1.22.3}"
build_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --allowlist) select=allowlist; shift ;;
    --tests) [ $# -ge 2 ] || die "--tests needs a list"; select=subset; tests_arg="$2"; shift 2 ;;
    --sluice) [ $# -ge 2 ] || die "--sluice needs a path"; sluice="$2"; shift 2 ;;
    --bootstrap) [ $# -ge 2 ] || die "--bootstrap needs HOST:PORT"; bootstrap="$2"; shift 2 ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout_s="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --version) [ $# -ge 2 ] || die "--version needs a version"; version="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout takes a positive number of seconds"
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version takes vX.Y.Z"
case "$select" in
  all) out="${out:-$here/out/full}" ;;
  allowlist) out="${out:-$here/out/full-allowlist}" ;;
  subset) out="${out:-$here/out/full-subset}" ;;
esac
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# --- go and the test binary -----------------------------------------------------------------
go="${GO:-$(command -v go || true)}"
[ -n "$go" ] || go=/usr/local/go/bin/go
[ -x "$go" ] || die "no go toolchain (set GO=/path/to/go)"
cache="${SLUICE_FRANZ_GO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/franz-go}"
src="$cache/src-$version"
bin="$cache/kgo-$version.test"
stamp="franz-go $version; $("$go" env GOVERSION)"
mkdir -p "$cache"
(
  flock 9
  if [ -x "$bin" ] && [ -d "$src/pkg/kgo" ] && [ "$(cat "$bin.stamp" 2>/dev/null)" = "$stamp" ]; then
    exit 0
  fi
  say "building franz-go $version's pkg/kgo test binary in $cache (about a minute on 2 cores)"
  # Outside any module, `go mod download` of a path@version fetches that module from GOPROXY
  # into the (read-only) module cache; the tests run from a writable copy of it.
  dir="$(cd "$cache" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/twmb/franz-go@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
  [ -n "$dir" ] && [ -d "$dir/pkg/kgo" ] || die "the Go module proxy did not serve github.com/twmb/franz-go@$version"
  rm -rf "$src" "$bin" "$bin.stamp"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  (cd "$src/pkg/kgo" && GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=1" "$go" test -c -o "$bin" .) \
    >"$cache/build-$version.log" 2>&1 || { tail -30 "$cache/build-$version.log" >&2; die "building the kgo test binary failed (see $cache/build-$version.log)"; }
  echo "$stamp" >"$bin.stamp"
) 9>"$cache/.lock"
kgo_dir="$src/pkg/kgo"
[ $build_only = 0 ] || { say "franz-go $version's test binary: $bin"; exit 0; }

# --- the tests ------------------------------------------------------------------------------
all_tests() { (cd "$kgo_dir" && "$bin" -test.list '.*') | grep -E '^(Test|Fuzz)' ; }
case "$select" in
  all) tests="$(all_tests)" ;;
  allowlist) tests="$(sed 's/#.*//' "$here/allowlist.txt" | tr -s ' \t' '\n\n' | grep -E '.' || true)" ;;
  subset) tests="$(echo "$tests_arg" | tr ', ' '\n\n' | grep -E '.' || true)" ;;
esac
[ -n "$tests" ] || die "no tests selected"
if [ $select != all ]; then
  known=" $(all_tests | tr '\n' ' ') "
  for t in $tests; do
    [[ $known == *" $t "* ]] || die "franz-go $version's pkg/kgo has no test $t"
  done
fi

# --- the broker -----------------------------------------------------------------------------
broker_cmd=()
sasl_bootstrap=""
metrics=""
# Connections the broker has accepted so far (its Prometheus counter), empty if unknown.
accepted() {
  [ -n "$metrics" ] || return 0
  curl -s --max-time 5 "http://$metrics/metrics" 2>/dev/null |
    awk '$1 == "sluice_broker_connections_accepted_total" { printf "%d", $2 }' || true
}
test_pid=""
cleanup() {
  [ -z "$test_pid" ] || kill -TERM "$test_pid" 2>/dev/null || true
  stop_broker
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: >"$out/broker.log"
test_env=(KGO_TEST_RF=1)
if [ -n "$bootstrap" ]; then
  broker_desc="an existing broker at $bootstrap"
  listening "$bootstrap" || die "nothing listens on $bootstrap"
  test_env+=(KGO_SEEDS="$bootstrap")
else
  sluice="$(resolve_sluice "$sluice" "$repo")" || exit 2
  bootstrap="127.0.0.1:$(free_port)"
  sasl_bootstrap="127.0.0.1:$(free_port)"
  metrics="127.0.0.1:$(free_port)"
  [ "$bootstrap" != "$sasl_bootstrap" ] && [ "$bootstrap" != "$metrics" ] && [ "$sasl_bootstrap" != "$metrics" ] ||
    die "got the same free port twice; run again"
  {
    echo "# written by compat/franz-go/run.sh: its listeners, then compat/franz-go/broker.toml"
    echo "listeners = [\"PLAINTEXT://$bootstrap\", \"SASL_PLAINTEXT://$sasl_bootstrap\"]"
    echo "sasl.enabled.mechanisms = [\"PLAIN\", \"SCRAM-SHA-256\", \"SCRAM-SHA-512\", \"OAUTHBEARER\"]"
    cat "$here/broker.toml"
  } >"$out/broker.toml"
  rm -rf "$out/broker-data"
  mkdir -p "$out/broker-data"
  # franz-go's CI user (SCRAM-SHA-256, testuser:testpass) for TestSCRAMAuth.
  SLUICE_USER_PASSWORD=testpass "$sluice" users --config "$out/broker.toml" --data-dir "$out/broker-data" \
    --add testuser </dev/null >>"$out/broker.log" 2>&1 || { tail -5 "$out/broker.log" >&2; die "sluice users --add failed"; }
  broker_cmd=("$sluice" broker --config "$out/broker.toml" --http-listen "$metrics" --data-dir "$out/broker-data")
  broker_desc="$sluice broker --config compat/franz-go/broker.toml, PLAINTEXT $bootstrap, SASL_PLAINTEXT $sasl_bootstrap"
  start_broker "$bootstrap" "$sasl_bootstrap"
  test_env+=(KGO_SEEDS="$bootstrap" KGO_TEST_SCRAM_SEEDS="$sasl_bootstrap" KGO_TEST_SCRAM=testuser:testpass
    KGO_TEST_OAUTH_SEEDS="$sasl_bootstrap")
fi

rm -rf "$out/logs" "$out/res"
mkdir -p "$out/logs" "$out/res"
count=$(echo "$tests" | wc -w)
say "franz-go $version pkg/kgo, $count tests one at a time against $broker_desc, ${timeout_s}s each; logs in $out"

# One test: the binary with -test.run for that test alone, its log, and one line of results.
run_one() {
  local t="$1" log="$out/logs/$1.log" t0 rc=0 secs c0 c1 conns="" detail="" result reasons subs
  t0=$(date +%s.%N)
  c0="$(accepted)"
  (
    cd "$kgo_dir"
    # The test's own deadline (-test.timeout) panics with every goroutine's stack; timeout(1)
    # is the backstop if that hangs.
    exec env "${test_env[@]}" timeout -k 10 $((timeout_s + 30)) \
      "$bin" -test.run "^$t\$" -test.v -test.count 1 -test.timeout "${timeout_s}s"
  ) >"$log" 2>&1 </dev/null &
  test_pid=$!
  wait "$test_pid" || rc=$?
  test_pid=""
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  c1="$(accepted)"
  [ -z "$c0" ] || [ -z "$c1" ] || conns=$((c1 - c0))
  if grep -q '^panic: test timed out' "$log" || [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    result=FAIL detail="timed out after ${timeout_s}s"
  elif [ $rc -ne 0 ]; then
    result=FAIL detail="exit $rc"
    if grep -q '^panic: ' "$log"; then
      detail="$detail: $(grep -m1 '^panic: ' "$log")"
    else
      # The test's last message before its first "--- FAIL" line: usually the t.Fatal.
      detail="$detail: $(awk '/^ *--- FAIL: / { exit } /^ +[a-z_0-9]+\.go:[0-9]+: / { m = $0 } END { print m }' "$log" | sed 's/^ *//')"
    fi
  elif grep -q "^--- SKIP: $t " "$log"; then
    result=SKIP
    # The test's t.Skip message: its last *_test.go message before "--- SKIP: Name (…)" (the
    # cleanups' "deleting topic" lines come from panic.go).
    detail="$(awk -v t="$t" 'index($0, "--- SKIP: " t " ") == 1 { print m; exit } /^ +[a-z_0-9]+_test\.go:[0-9]+: / { m = $0 }' "$log" | sed 's/^ *//')"
  elif grep -q "^--- PASS: $t " "$log"; then
    result=PASS
  else
    result=FAIL detail="exit 0 without a PASS line"
  fi
  detail="$(echo "$detail" | tr ',\n' '; ' | sed 's/ *$//' | cut -c1-200)"
  # Subtests that failed or skipped themselves ("    --- SKIP: TestGroupETL/range/848 (0.00s)").
  subs="$(sed -n 's/^ \{4,\}--- \(FAIL\|SKIP\): \([^ ]*\) .*/\2=\1/p' "$log" | sort -u | paste -sd' ' || true)"
  [ -z "$subs" ] || detail="${detail:+$detail; }$subs"
  if [ -n "$broker_pid" ] && ! kill -0 "$broker_pid" 2>/dev/null; then
    detail="${detail:+$detail; }the broker exited during the test"
  fi
  echo "$t,$result,$secs,$conns,$detail" >"$out/res/$t"
  printf '%-55s %-4s %6ss %5s  %s\n' "$t" "$result" "$secs" "${conns:--}" "$detail"
}

run_start=$(date +%s)
for t in $tests; do
  if [ -n "$broker_pid" ] && ! kill -0 "$broker_pid" 2>/dev/null; then
    say "the broker exited (see $out/broker.log); starting it again on the same data"
    wait "$broker_pid" 2>/dev/null || true
    start_broker "$bootstrap" "$sasl_bootstrap"
  fi
  run_one "$t"
done
elapsed=$(($(date +%s) - run_start))

echo "test,result,seconds,broker_conns,detail" >"$out/results.csv"
pass=0 fail=0 skip=0 failed=() skipped=() broker_pass=0
for t in $tests; do
  line="$(cat "$out/res/$t")"
  echo "$line" >>"$out/results.csv"
  case "$(echo "$line" | cut -d, -f2)" in
    PASS) pass=$((pass + 1))
          c="$(echo "$line" | cut -d, -f4)"; [ -z "$c" ] || [ "$c" -eq 0 ] || broker_pass=$((broker_pass + 1)) ;;
    SKIP) skip=$((skip + 1)); skipped+=("$t") ;;
    *) fail=$((fail + 1)); failed+=("$t") ;;
  esac
done

{
  echo "franz-go $version pkg/kgo tests ($("$go" env GOVERSION)), KGO_TEST_RF=1${KGO_TEST_RECORDS:+, KGO_TEST_RECORDS=$KGO_TEST_RECORDS}"
  echo "broker: $broker_desc"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "tests: $count, one at a time, ${timeout_s}s timeout each; took ${elapsed}s"
  if [ -n "$metrics" ]; then
    echo "passed: $pass ($broker_pass of them talked to the broker), failed: $fail, skipped: $skip"
  else
    echo "passed: $pass, failed: $fail, skipped: $skip (connections not counted: --bootstrap)"
  fi
} >"$out/summary.txt"
if [ $select = all ]; then
  mkdir -p "$here/results"
  cp "$out/results.csv" "$here/results/full.csv"
  cp "$out/summary.txt" "$here/results/full.txt"
fi
cat "$out/summary.txt"
echo "franz-go: $pass passed, $fail failed, $skip skipped"

if [ $select = allowlist ] && [ $((fail + skip)) -gt 0 ]; then
  for t in "${failed[@]}" "${skipped[@]}"; do
    echo
    echo "--- allowlisted test $t did not pass; the end of $out/logs/$t.log:"
    grep -v '^$' "$out/logs/$t.log" | tail -25
  done
  echo
  echo "run.sh: REGRESSION: allowlisted franz-go tests did not pass: ${failed[*]} ${skipped[*]}" >&2
  exit 1
fi
exit 0
