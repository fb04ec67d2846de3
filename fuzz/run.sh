#!/usr/bin/env bash
# Runs a fuzz target for SECONDS, or every target two at a time (two cores):
#
#   fuzz/run.sh TARGET SECONDS
#   fuzz/run.sh all SECONDS
#
# With the address sanitizer (LeakSanitizer included), except the targets of fuzz/clients/,
# which link librdkafka and run with --sanitizer none (librdkafka does not build under ASAN
# here; FUZZING.md). Each run mutates a scratch copy of the committed corpus, so the corpus in
# git changes only by hand. A crash, a leak, a timeout (-timeout) or running out of memory
# (-rss_limit_mb) ends the run with a non-zero exit and leaves the input in
# fuzz/artifacts/TARGET/; every run's log is fuzz/artifacts/TARGET/last.log.
set -euo pipefail
cd "$(dirname "$0")"

CLIENT_TARGETS="spool properties toml_config"
BROKER_TARGETS="broker_requests record_batch consumer_offsets sasl_scram line_protocol json"
# Any input that takes this long is a finding (a fetch's max_wait_ms passes at once on the
# broker target's paused clock).
TIMEOUT_S=10
RSS_LIMIT_MB=2048

usage() { echo "usage: fuzz/run.sh TARGET|all SECONDS (targets: $BROKER_TARGETS $CLIENT_TARGETS)" >&2; exit 2; }
[ $# -eq 2 ] || usage
target=$1 seconds=$2

# Which cargo-fuzz project holds TARGET, and its sanitizer.
project() {
  case " $CLIENT_TARGETS " in
    *" $1 "*) echo "clients none" ;;
    *) case " $BROKER_TARGETS " in *" $1 "*) echo ". address" ;; *) usage ;; esac ;;
  esac
}

build() {
  nice -n 10 cargo +nightly fuzz build --sanitizer address -O
  nice -n 10 cargo +nightly fuzz build --fuzz-dir clients --sanitizer none -O
}

run_one() {
  local t=$1 dir sanitizer
  read -r dir sanitizer < <(project "$t")
  local artifacts=$PWD/artifacts/$t work scratch status=0
  mkdir -p "$artifacts"
  work=$(mktemp -d)
  scratch=$work/corpus
  mkdir -p "$scratch"
  # The broker target keeps its data dir in TMPDIR for the process' life; it goes with $work.
  TMPDIR=$work nice -n 10 cargo +nightly fuzz run --fuzz-dir "$dir" --sanitizer "$sanitizer" -O "$t" \
    "$scratch" "$dir/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=$TIMEOUT_S -rss_limit_mb=$RSS_LIMIT_MB \
    -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$artifacts/last.log" 2>&1 || status=$?
  rm -rf "$work"
  local execs rate cov
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$artifacts/last.log" | grep -o '[0-9]*$' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$artifacts/last.log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$artifacts/last.log" | tail -1 || true)
  if [ "$status" -eq 0 ]; then
    echo "$t: ok, ${execs:-?} executions in ${seconds}s (${rate:-?}/s), $cov, sanitizer $sanitizer"
  else
    echo "$t: FAILED (exit $status), see fuzz/artifacts/$t/last.log:"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written|ALARM|.*panicked at)' "$artifacts/last.log" | head -8
  fi
  return "$status"
}

if [ "$target" = all ]; then
  build
  export -f run_one project usage
  export CLIENT_TARGETS BROKER_TARGETS TIMEOUT_S RSS_LIMIT_MB seconds
  # Two at a time; xargs exits non-zero if any run did.
  echo $BROKER_TARGETS $CLIENT_TARGETS | tr ' ' '\n' | xargs -P 2 -I{} bash -c 'run_one {}'
else
  project "$target" >/dev/null
  run_one "$target"
fi
