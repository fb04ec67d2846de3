#!/usr/bin/env bash
# The soak of issue #20: `sluice up` with simulated agents (default 1,000, each sending a 2-CPU
# host's cpu and mem lines every 10 s) for a long run (default one hour), reading the process's
# resident memory, open file descriptors and threads every minute. It ends with a table row and
# a verdict for each floor: resident memory grows less than 10 %, descriptors and threads do not
# grow. Every reading goes to stderr.
#
#   bench/soak.sh [AGENTS] [DURATION] [EVERY]      e.g. bench/soak.sh 1000 1h 60s
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-1000}
duration=${2:-1h}
every=${3:-60s}
cargo build --release -q -p sluice -p bench
exec target/release/sluice-fleet --agents "$agents" --interval 10s --duration "$duration" --sample-every "$every"
