#!/usr/bin/env bash
# Agent overhead: sluice agent vs collectd (cpu + memory + write_kafka) vs
# prometheus-node-exporter (cpu + meminfo collectors, scraped at the interval), all three running
# at the same time in the same window, at each interval. Reads CPU time (utime + stime, all
# threads) from /proc/<pid>/stat over the window and VmHWM / VmRSS from /proc/<pid>/status at
# the end. The sluice broker (release build, on a spare port) receives both agents' records;
# its own cost is not counted.
#
#   bench/agent-overhead.sh [WINDOW_SECONDS=600] [INTERVALS="10 1"]
#
# Installs collectd-core and prometheus-node-exporter from Debian if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-600}
intervals=${2:-"10 1"}
port=19092
exporter_port=19100

if ! command -v collectd >/dev/null || ! command -v prometheus-node-exporter >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends collectd-core prometheus-node-exporter >/dev/null
fi
cargo build --release --quiet --bin sluice
sluice=target/release/sluice
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$sluice" broker --listen 127.0.0.1:$port --data-dir "$work/broker" --config /dev/null --http-listen "" 2>"$work/broker.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

echo "# window ${window}s per interval; $(nproc) CPUs; $(uname -r); $(date -u +%FT%TZ)"
echo
echo "| interval | program | CPU time (s) | % of one core | VmHWM (MiB) | VmRSS (MiB) |"
echo "|---|---|---|---|---|---|"
notes=()
for interval in $intervals; do
  cat >"$work/agent.toml" <<TOML
[agent]
  interval = "${interval}s"
  flush_interval = "${interval}s"
  metrics_listen = "127.0.0.1:19273"
[[inputs.cpu]]
  percpu = true
  totalcpu = true
  fielddrop = ["time_*"]
[[inputs.mem]]
[[outputs.kafka]]
  brokers = ["127.0.0.1:$port"]
  topic = "bench-sluice"
TOML
  cat >"$work/collectd.conf" <<CONF
Interval $interval
FQDNLookup false
LoadPlugin logfile
<Plugin logfile>
  LogLevel warning
  File STDERR
</Plugin>
LoadPlugin cpu
<Plugin cpu>
  ReportByCpu true
  ReportByState true
  ValuesPercentage true
</Plugin>
LoadPlugin memory
LoadPlugin write_kafka
<Plugin write_kafka>
  Property "metadata.broker.list" "127.0.0.1:$port"
  <Topic "bench-collectd">
    Format JSON
  </Topic>
</Plugin>
CONF
  RUST_LOG=warn "$sluice" agent --config "$work/agent.toml" 2>"$work/agent-$interval.log" &
  agent=$!
  collectd -f -C "$work/collectd.conf" 2>"$work/collectd-$interval.log" &
  collectd=$!
  prometheus-node-exporter --web.listen-address=127.0.0.1:$exporter_port --collector.disable-defaults \
    --collector.cpu --collector.meminfo 2>"$work/exporter-$interval.log" &
  exporter=$!
  pids+=("$agent" "$collectd" "$exporter")
  ( while sleep "$interval"; do curl -s -o /dev/null "http://127.0.0.1:$exporter_port/metrics" || true; done ) &
  scraper=$!
  pids+=("$scraper")
  sleep 5 # start-up is not what is measured
  declare -A start
  for name in agent collectd exporter; do start[$name]=$(cpu_ticks "${!name}"); done
  sleep "$window"
  for name in agent collectd exporter; do
    pid=${!name}
    ticks=$(( $(cpu_ticks "$pid") - ${start[$name]} ))
    label=$name
    [ "$name" = agent ] && label="sluice agent"
    [ "$name" = exporter ] && label="node-exporter (scraped every ${interval}s)"
    awk -v i="$interval" -v l="$label" -v t="$ticks" -v hz="$hz" -v w="$window" \
      -v hwm="$(status_kib "$pid" VmHWM)" -v rss="$(status_kib "$pid" VmRSS)" \
      'BEGIN { printf "| %ss | %s | %.2f | %.3f %% | %.1f | %.1f |\n", i, l, t/hz, 100*t/hz/w, hwm/1024, rss/1024 }'
  done
  sent=$(curl -s http://127.0.0.1:19273/metrics | awk '$1 == "sluice_agent_records_sent_total" {print $2}')
  dropped=$(curl -s http://127.0.0.1:19273/metrics | awk '$1 ~ /^sluice_agent_records_dropped_total/ {s += $2} END {print s + 0}')
  notes+=("${interval}s: the sluice agent's broker acknowledged ${sent:-0} records, ${dropped} dropped")
  kill "$scraper" "$agent" "$collectd" "$exporter" 2>/dev/null || true
  wait "$agent" "$collectd" "$exporter" 2>/dev/null || true
done
echo
for n in "${notes[@]}"; do echo "- $n"; done
