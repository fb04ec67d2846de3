#!/usr/bin/env bash
# Apache Kafka 4.x as a test fixture: the reference broker that sluice's broker, tools and clients
# are held against. Kafka's Maven artifacts are resolved once into the local Maven repository; the
# broker runs as `kafka.Kafka` and the tools by their main classes on the same classpath, because
# Kafka's bin/*.sh scripts are not published to Maven.
#
#   kafka.sh install                 resolve Kafka (tests/kafka/pom.xml) and write its classpath
#   kafka.sh run TOOL ARGS...        run a Kafka tool by its bin/ name (also: tests/kafka/kafka-run)
#   kafka.sh start DIR [--nodes 1|3] [--set key=value]...
#                                    start a KRaft cluster of combined broker+controller nodes on
#                                    free loopback ports, data and logs in DIR; waits until every
#                                    node has started; prints the bootstrap servers (also in
#                                    DIR/bootstrap). 3 nodes: replication factor 3, min.insync.replicas 2
#   kafka.sh stop DIR                SIGTERM every node of DIR, SIGKILL after 20 s
#   kafka.sh kill DIR NODE           SIGKILL one node (by node.id: 0, 1, 2)
#   kafka.sh restart DIR NODE        start that node again on its ports and data; waits until started
#
# Node ids start at 0, as the bundled broker's does, so tools print the same ids against both.
#
# KAFKA_HEAP_OPTS sets the brokers' heap (default -Xms256m -Xmx512m; Kafka's scripts use 1G).
# SLUICE_KAFKA_CACHE is where the classpath file lives (default ~/.cache/sluice/kafka).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
cache="${SLUICE_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/kafka}"
classpath_file="$cache/kafka-$version.classpath"
log4j="-Dlog4j2.configurationFile=$here/log4j2.properties"

die() { echo "kafka.sh: $*" >&2; exit 1; }

classpath() {
  [ -s "$classpath_file" ] || die "Apache Kafka $version is not installed; run: bash .ci/install (or tests/kafka/kafka.sh install)"
  cat "$classpath_file"
}

install() {
  if [ -s "$classpath_file" ] && tr ':' '\n' <"$classpath_file" | while read -r jar; do [ -f "$jar" ] || exit 1; done; then
    return 0
  fi
  echo "resolving Apache Kafka $version from Maven Central"
  mkdir -p "$cache"
  mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$classpath_file.tmp" >/dev/null
  mv "$classpath_file.tmp" "$classpath_file"
}

# The bin/ name of each tool the tests use, and its main class in Kafka 4.x.
main_class() {
  case "$1" in
    kafka-topics) echo org.apache.kafka.tools.TopicCommand ;;
    kafka-console-producer) echo org.apache.kafka.tools.ConsoleProducer ;;
    kafka-console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    kafka-configs) echo org.apache.kafka.tools.ConfigCommand ;;
    kafka-get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    kafka-log-dirs) echo org.apache.kafka.tools.LogDirsCommand ;;
    kafka-acls) echo org.apache.kafka.tools.AclCommand ;;
    kafka-delete-records) echo org.apache.kafka.tools.DeleteRecordsCommand ;;
    kafka-broker-api-versions) echo org.apache.kafka.tools.BrokerApiVersionsCommand ;;
    kafka-cluster) echo org.apache.kafka.tools.ClusterTool ;;
    kafka-metadata-quorum) echo org.apache.kafka.tools.MetadataQuorumCommand ;;
    kafka-features) echo org.apache.kafka.tools.FeatureCommand ;;
    kafka-transactions) echo org.apache.kafka.tools.TransactionsCommand ;;
    kafka-producer-perf-test) echo org.apache.kafka.tools.ProducerPerformance ;;
    kafka-consumer-perf-test) echo org.apache.kafka.tools.ConsumerPerformance ;;
    kafka-storage) echo kafka.tools.StorageTool ;;
    *) die "unknown tool '$1' (add its main class to main_class in ${BASH_SOURCE[0]})" ;;
  esac
}

run_tool() {
  [ $# -ge 1 ] || die "usage: kafka.sh run TOOL ARGS..."
  local tool="${1%.sh}" class opts
  shift
  class="$(main_class "$tool")"
  case "$tool" in
    # The perf tests measure throughput: the JIT as Kafka ships it.
    kafka-*-perf-test) opts="-Xmx512m" ;;
    # Everything else is a short-lived admin command: start fast.
    *) opts="-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" ;;
  esac
  # shellcheck disable=SC2086
  exec java $opts -Djava.awt.headless=true "$log4j" -cp "$(classpath)" "$class" "$@"
}

# N distinct loopback ports that were free a moment ago.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

node_java() {
  local dir="$1" node="$2"
  # shellcheck disable=SC2086
  nohup java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "$log4j" -cp "$(classpath)" kafka.Kafka "$dir/node-$node.properties" \
    >>"$dir/node-$node.log" 2>&1 </dev/null &
  echo $! >"$dir/node-$node.pid"
}

wait_started() {
  local dir="$1" node="$2" deadline=$((SECONDS + 120))
  until grep -q "Kafka Server started" "$dir/node-$node.log" 2>/dev/null; do
    kill -0 "$(cat "$dir/node-$node.pid")" 2>/dev/null || { tail -20 "$dir/node-$node.log" >&2; die "node $node of $dir exited"; }
    [ $SECONDS -lt $deadline ] || die "node $node of $dir did not start within 120 s (see $dir/node-$node.log)"
    sleep 0.2
  done
}

start() {
  local dir="" nodes=1 sets=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes="$2"; shift 2 ;;
      --set) sets+=("$2"); shift 2 ;;
      *) [ -z "$dir" ] || die "one DIR only"; dir="$1"; shift ;;
    esac
  done
  [ -n "$dir" ] || die "usage: kafka.sh start DIR [--nodes 1|3] [--set key=value]..."
  [ "$nodes" = 1 ] || [ "$nodes" = 3 ] || die "--nodes is 1 or 3"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  local cp rf isr ports voters="" bootstrap="" i
  cp="$(classpath)"
  read -r -a ports <<<"$(free_ports $((2 * nodes)))"
  rf=$nodes
  isr=$((nodes == 3 ? 2 : 1))
  for ((i = 0; i < nodes; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:${ports[$((2 * i + 1))]}"
    bootstrap+="${bootstrap:+,}127.0.0.1:${ports[$((2 * i))]}"
  done
  for ((i = 0; i < nodes; i++)); do
    cat >"$dir/node-$i.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${ports[$((2 * i))]},CONTROLLER://127.0.0.1:${ports[$((2 * i + 1))]}
advertised.listeners=PLAINTEXT://127.0.0.1:${ports[$((2 * i))]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data-$i
num.partitions=1
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
EOF
    # Set only where they differ from Kafka's defaults (1 and 1), so a single node's topics
    # describe with no broker-level overrides, like the bundled broker's.
    if [ "$nodes" = 3 ]; then
      printf 'default.replication.factor=%s\nmin.insync.replicas=%s\n' "$rf" "$isr" >>"$dir/node-$i.properties"
    fi
    local kv
    for kv in ${sets[@]+"${sets[@]}"}; do echo "$kv" >>"$dir/node-$i.properties"; done
  done
  local cluster_id
  cluster_id="$(java -Xmx128m -XX:TieredStopAtLevel=1 "$log4j" -cp "$cp" kafka.tools.StorageTool random-uuid)"
  for ((i = 0; i < nodes; i++)); do
    java -Xmx256m -XX:TieredStopAtLevel=1 "$log4j" -cp "$cp" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$dir/node-$i.properties" >"$dir/node-$i.format.log" 2>&1 ||
      { cat "$dir/node-$i.format.log" >&2; die "formatting node $i failed"; }
  done
  for ((i = 0; i < nodes; i++)); do node_java "$dir" "$i"; done
  for ((i = 0; i < nodes; i++)); do wait_started "$dir" "$i"; done
  echo "$bootstrap" >"$dir/bootstrap"
  echo "$bootstrap"
}

stop() {
  local dir="$1" pidfile pid deadline
  for pidfile in "$dir"/node-*.pid; do
    [ -f "$pidfile" ] || continue
    kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
  done
  for pidfile in "$dir"/node-*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

kill_node() {
  local dir="$1" node="$2"
  kill -KILL "$(cat "$dir/node-$node.pid")"
  while kill -0 "$(cat "$dir/node-$node.pid")" 2>/dev/null; do sleep 0.1; done
}

restart_node() {
  local dir="$1" node="$2" before
  before=$(grep -c "Kafka Server started" "$dir/node-$node.log" || true)
  mv "$dir/node-$node.log" "$dir/node-$node.log.$before"
  node_java "$dir" "$node"
  wait_started "$dir" "$node"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  install) install ;;
  classpath) classpath ;;
  run) run_tool "$@" ;;
  start) start "$@" ;;
  stop) [ $# -eq 1 ] || die "usage: kafka.sh stop DIR"; stop "$1" ;;
  kill) [ $# -eq 2 ] || die "usage: kafka.sh kill DIR NODE"; kill_node "$1" "$2" ;;
  restart) [ $# -eq 2 ] || die "usage: kafka.sh restart DIR NODE"; restart_node "$1" "$2" ;;
  *) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
