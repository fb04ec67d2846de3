#!/usr/bin/env python3
"""kcat (Debian's, librdkafka 2.0.x) and kafka-python against `sluice broker`.

Each client reads what the other wrote; content and per-partition order are checked exactly.
Then both consume in one consumer group: kcat's balanced consumer (-G, librdkafka) and
kafka-python's KafkaConsumer share the partitions, commit, and the offsets, members and
assignments are checked through kafka-python's admin client.
Usage: broker_clients.py PATH/TO/sluice
"""

import os
import subprocess
import sys
import tempfile
import threading
import time

from common import free_port, wait_listening
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

RECORDS = 1000
PARTITIONS = 3


def kcat(bootstrap, *args, stdin=None):
    run = subprocess.run(
        ["kcat", "-b", bootstrap, *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )
    if run.returncode != 0:
        sys.exit(f"kcat {' '.join(args)} failed ({run.returncode}): {run.stderr}")
    return run.stdout


def kcat_to_kafka_python(bootstrap, codec):
    topic = f"from-kcat-{codec}"
    sent = [(f"host-{i % 7}", f"cpu,host=host-{i % 7} usage_idle={i}i") for i in range(RECORDS)]
    lines = "".join(f"{k}\t{v}\n" for k, v in sent)
    kcat(bootstrap, "-t", topic, "-P", "-K", "\t", "-z", codec, "-X", "acks=all", stdin=lines)

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    got = []
    deadline = time.time() + 30
    while len(got) < RECORDS and time.time() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            for r in records:
                got.append((tp.partition, r.offset, r.key.decode(), r.value.decode()))
    consumer.close()
    assert len(got) == RECORDS, f"kafka-python read {len(got)} of {RECORDS} records kcat wrote"
    assert sorted((k, v) for _, _, k, v in got) == sorted(sent), "content differs"
    # One key lives in one partition, and there its values keep the order kcat sent them in.
    for key in {k for k, _ in sent}:
        mine = sorted((p, o, v) for p, o, k, v in got if k == key)
        assert len({p for p, _, _ in mine}) == 1, f"key {key} spread over partitions"
        assert [v for _, _, v in mine] == [v for k, v in sent if k == key], f"order of {key} differs"
    print(f"ok: kcat ({codec}) wrote {RECORDS} records, kafka-python read them all in order")


def kafka_python_to_kcat(bootstrap, compression):
    topic = f"from-python-{compression or 'none'}"
    # kafka-python 3 is idempotent with acks=all by default: this also exercises InitProducerId.
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=compression, linger_ms=5)
    sent = {p: [] for p in range(PARTITIONS)}
    for i in range(RECORDS):
        p = i % PARTITIONS
        key, value = f"k{i}", f"mem,host=h{p} used={i}i"
        producer.send(topic, key=key.encode(), value=value.encode(), partition=p)
        sent[p].append((key, value))
    producer.flush()
    producer.close()

    out = kcat(bootstrap, "-t", topic, "-C", "-e", "-o", "beginning", "-f", "%p\t%o\t%k\t%s\n")
    got = {p: [] for p in range(PARTITIONS)}
    for line in out.splitlines():
        p, o, k, v = line.split("\t", 3)
        got[int(p)].append((int(o), k, v))
    for p in range(PARTITIONS):
        offsets = [o for o, _, _ in got[p]]
        assert offsets == list(range(len(sent[p]))), f"partition {p}: offsets {offsets[:5]}..."
        assert [(k, v) for _, k, v in got[p]] == sent[p], f"partition {p}: content or order differs"
    print(f"ok: kafka-python ({compression or 'uncompressed'}, idempotent) wrote {RECORDS} records, kcat read them all in order")


GROUP_TOPIC = "group-interop"
GROUP_PARTITIONS = 4
GROUP = "interop"


def until(what, seconds, ready):
    deadline = time.time() + seconds
    while not ready():
        if time.time() > deadline:
            sys.exit(f"timed out waiting until {what}")


class KcatMember:
    """kcat's balanced consumer: records from stdout, assignments from its rebalance lines."""

    def __init__(self, bootstrap):
        self.proc = subprocess.Popen(
            ["kcat", "-b", bootstrap, "-G", GROUP, GROUP_TOPIC, "-u", "-f", "%p %o %s\n",
             "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=100"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.records = {}
        self.assigned = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._read_records, daemon=True).start()
        threading.Thread(target=self._read_rebalances, daemon=True).start()

    def _read_records(self):
        for line in self.proc.stdout:
            p, o, v = line.rstrip("\n").split(" ", 2)
            with self.lock:
                self.records[(int(p), int(o))] = v

    def _read_rebalances(self):
        # "% Group interop rebalanced (memberid ...): assigned: group-interop [0], group-interop [1]"
        for line in self.proc.stderr:
            if "rebalanced" in line and "assigned:" in line:
                parts = line.split("assigned:", 1)[1]
                with self.lock:
                    self.assigned = {int(x.split("]")[0]) for x in parts.split("[")[1:]}
            elif "rebalanced" in line and "revoked" in line:
                with self.lock:
                    self.assigned = set()

    def assignment(self):
        with self.lock:
            return set(self.assigned)

    def consumed(self):
        with self.lock:
            return dict(self.records)

    def stop(self):
        self.proc.terminate()  # kcat commits and leaves the group on SIGTERM
        self.proc.wait(timeout=30)


def consumer_group_with_kcat_and_kafka_python(bootstrap):
    kcat = KcatMember(bootstrap)
    consumer = KafkaConsumer(GROUP_TOPIC, bootstrap_servers=bootstrap, group_id=GROUP,
                             client_id="kafka-python-member", auto_offset_reset="earliest",
                             enable_auto_commit=False)
    got = {}

    def poll():
        for tp, records in consumer.poll(timeout_ms=100).items():
            for r in records:
                got[(tp.partition, r.offset)] = r.value.decode()
        if got:
            consumer.commit()

    def shared():
        poll()
        mine = {tp.partition for tp in consumer.assignment()}
        theirs = kcat.assignment()
        return len(mine) == 2 and len(theirs) == 2 and not mine & theirs

    until("kcat and kafka-python share the partitions two and two", 60, shared)

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    sent = {}
    for i in range(RECORDS // 2):
        value = f"grouped-{i}"
        meta = producer.send(GROUP_TOPIC, value=value.encode(), partition=i % GROUP_PARTITIONS).get(timeout=10)
        sent[(meta.partition, meta.offset)] = value
    producer.close()

    def all_consumed():
        poll()
        return set(sent) <= set(got) | set(kcat.consumed())

    until("every record is consumed by one of the two", 60, all_consumed)
    from_kcat = kcat.consumed()
    assert got and from_kcat, "both members consumed"
    assert not {p for p, _ in got} & {p for p, _ in from_kcat}, "each partition went to one member"
    for k, v in sent.items():
        assert got.get(k, from_kcat.get(k)) == v, f"record {k}"

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    ends = {p: 1 + max(o for (q, o) in sent if q == p) for p in range(GROUP_PARTITIONS)}

    def committed_to_the_end():
        poll()
        offsets = admin.list_group_offsets({GROUP: None})[GROUP]
        return {tp.partition: om.offset for tp, om in offsets.items()} == ends

    until("both members committed every partition to its end", 30, committed_to_the_end)
    group = admin.describe_groups([GROUP])[GROUP]
    assert group["error"] is None, group
    assert group["group_state"] == "Stable", group
    assert group["protocol_type"] == "consumer", group
    clients = sorted(m["client_id"] for m in group["members"])
    assert clients == ["kafka-python-member", "rdkafka"], clients
    assert all(m["client_host"] == "/127.0.0.1" for m in group["members"]), group
    listed = {g["group_id"]: g for g in admin.list_groups()}
    assert listed[GROUP]["protocol_type"] == "consumer", listed

    consumer.close()
    kcat.stop()
    assert admin.describe_groups([GROUP])[GROUP]["group_state"] == "Empty"
    deleted = admin.delete_groups([GROUP])
    assert deleted == {GROUP: "OK"}, deleted
    assert GROUP not in {g["group_id"] for g in admin.list_groups()}
    admin.close()
    print(f"ok: kcat -G and kafka-python shared group {GROUP!r}, consumed and committed {len(sent)} records")


def admin_apis(bootstrap):
    """kafka-python's admin calls that reach beyond topics and groups: describe_cluster,
    alter_configs both ways (AlterConfigs replaces the overrides, IncrementalAlterConfigs
    changes one) and delete_records."""
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    cluster = admin.describe_cluster()
    assert len(cluster["cluster_id"]) == 22, cluster
    assert cluster["controller_id"] == 0, cluster
    assert [(b["broker_id"], f"{b['host']}:{b['port']}") for b in cluster["brokers"]] == [(0, bootstrap)], cluster
    # Without grants every cluster operation is allowed, as on Kafka without an authorizer.
    assert set(cluster["authorized_operations"]) == {
        "CREATE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE",
    }, cluster
    topic = "admin-apis"
    admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"segment.ms": "3600000"})])
    resource = ConfigResource(ConfigResourceType.TOPIC, topic)

    def overrides():
        described = admin.describe_configs([resource])["topic"][topic]
        return {k: c["value"] for k, c in described.items() if c["config_source"] == "DYNAMIC_TOPIC_CONFIG"}

    # AlterConfigs: kafka-python carries the other overrides over itself, as the API replaces them.
    changed = admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "7200000"})], incremental=False
    )
    assert changed == {"topic": {topic: "OK"}}, changed
    assert overrides() == {"segment.ms": "3600000", "retention.ms": "7200000"}, overrides()
    changed = admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "3600000"})], incremental=True
    )
    assert changed == {"topic": {topic: "OK"}}, changed
    assert overrides() == {"segment.ms": "3600000", "retention.ms": "3600000"}, overrides()

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(3):
        producer.send(topic, b"record %d" % i)
    producer.flush()
    producer.close()
    deleted = admin.delete_records({TopicPartition(topic, 0): 2})
    assert deleted[TopicPartition(topic, 0)]["low_watermark"] == 2, deleted
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    values = [m.value for m in consumer]
    consumer.close()
    assert values == [b"record 2"], values
    admin.close()
    print("ok: kafka-python describe_cluster, alter_configs (both APIs) and delete_records")


def main():
    sluice = sys.argv[1]
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        broker = subprocess.Popen(
            [sluice, "broker", "--listen", bootstrap, "--data-dir", data, "--config", "/dev/null", "--http-listen", ""],
            env={**os.environ, "RUST_LOG": "warn"},
        )
        try:
            wait_listening(port, broker)
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            topics = [f"from-kcat-{c}" for c in ("none", "gzip", "snappy", "lz4")]
            topics += ["from-python-none", "from-python-gzip"]
            admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
            admin.create_topics([NewTopic(GROUP_TOPIC, GROUP_PARTITIONS, 1)])
            admin.close()
            listing = kcat(bootstrap, "-L")
            assert f"broker 0 at {bootstrap}" in listing, listing
            for codec in ("none", "gzip", "snappy", "lz4"):
                kcat_to_kafka_python(bootstrap, codec)
            kafka_python_to_kcat(bootstrap, None)
            kafka_python_to_kcat(bootstrap, "gzip")
            consumer_group_with_kcat_and_kafka_python(bootstrap)
            admin_apis(bootstrap)
        finally:
            broker.terminate()
            code = broker.wait(timeout=15)
        assert code == 0, f"broker exited with {code} on SIGTERM"
    print("interop: all checks passed")


if __name__ == "__main__":
    main()
