#!/usr/bin/env python3
"""kcat (Debian's, librdkafka 2.0.x) and kafka-python against `sluice broker`.

Each client reads what the other wrote; content and per-partition order are checked exactly.
Usage: broker_clients.py PATH/TO/sluice
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

RECORDS = 1000
PARTITIONS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, broker):
    deadline = time.time() + 20
    while time.time() < deadline:
        if broker.poll() is not None:
            sys.exit(f"broker exited early with {broker.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("broker did not start listening")


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


def main():
    sluice = sys.argv[1]
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        broker = subprocess.Popen(
            [sluice, "broker", "--listen", bootstrap, "--data-dir", data, "--config", "/dev/null"],
            env={**os.environ, "RUST_LOG": "warn"},
        )
        try:
            wait_listening(port, broker)
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            topics = [f"from-kcat-{c}" for c in ("none", "gzip", "snappy", "lz4")]
            topics += ["from-python-none", "from-python-gzip"]
            admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
            admin.close()
            listing = kcat(bootstrap, "-L")
            assert f"broker 0 at {bootstrap}" in listing, listing
            for codec in ("none", "gzip", "snappy", "lz4"):
                kcat_to_kafka_python(bootstrap, codec)
            kafka_python_to_kcat(bootstrap, None)
            kafka_python_to_kcat(bootstrap, "gzip")
        finally:
            broker.terminate()
            code = broker.wait(timeout=15)
        assert code == 0, f"broker exited with {code} on SIGTERM"
    print("interop: all checks passed")


if __name__ == "__main__":
    main()
