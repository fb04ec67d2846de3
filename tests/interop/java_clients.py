#!/usr/bin/env python3
"""Apache Kafka's Java client (kafka-clients 4.4.0) with kcat and kafka-python, against `sluice broker`
and, with --kafka, against single-node Apache Kafka 4.4.0 (tests/kafka/kafka.sh) as the reference.

The Java side is tests/interop/java/InteropClient.java, run through Java's source launcher.
Against each broker:
- The Java producer (idempotent, acks=all) writes keyed records with headers (a repeated key, an
  empty and a null value, non-ASCII) to one topic per codec: none, gzip, snappy, lz4, zstd. It
  reports each record's partition and offset; per partition the offsets follow send order from 0.
  kcat and kafka-python each read every topic back: exactly the records at the offsets the
  producer was told, keys, values and headers intact, each partition in offset order.
- kcat and kafka-python write one topic per codec (kcat with its -H headers, kafka-python
  idempotent to given partitions with headers); the Java consumer reads them all back exactly.
- For every writer and codec, the broker's segment files show the records really were stored
  compressed with it: a client may fall back to uncompressed without an error (librdkafka 2.0,
  Debian's kcat, does for gzip, snappy and lz4 unless ApiVersions lists Produce v0).
- A classic consumer group: two Java members (group.protocol=classic, commitSync after each poll
  and on revocation), kcat -G (librdkafka) and kafka-python (commit after each poll) consume an
  8-partition topic while the Java producer writes to it. What is asserted:
  * The group was seen Stable with all 4 members at once, each holding partitions, the
    assignments disjoint and covering the topic (DescribeGroups), with the range assignor: the
    only one all three clients offer, so the eager protocol (revoke everything, then rejoin).
  * Every record the producer had acknowledged was consumed, each consumption with its content.
  * Within one generation no record is consumed twice by the Java members, and each consumes
    only from the partitions it was assigned in that generation.
  * Duplicates only as at-least-once allows. A consumption counts as committed when the member
    that made it then saw a commit covering it succeed while still owning the partition (the
    Java members' commitSync after a poll or on revocation, kafka-python's commit after the
    poll that returned it). A committed record is never handed to a later owner: its commit
    succeeded before the rebalance completed, and the next owner starts at the committed offset.
    So every record has at most one committed consumption, and a member never consumes a record
    again after its commit of it. kcat's auto-commits are not observable, so kcat's consumptions
    never count as committed, and records read again after kcat held them are allowed.
  * The committed offsets equal the log end offsets (kafka-python's admin client), while the
    four are members and again after all have left (the group is then Empty).
- A KIP-848 consumer group: three Java members with group.protocol=consumer join one by one
  while the Java producer writes to a 6-partition topic, then the first leaves. What is asserted:
  * The partitions split 2/2/2 among the three, then 3/3 between the two left, as the members'
    own assignment callbacks tell (incremental: assigned adds, revoked and lost take away), and
    Kafka's kafka-consumer-groups --describe --members (ConsumerGroupDescribe) agrees.
  * Each member consumes only from partitions it holds at that moment.
  * Every acknowledged record is consumed, with its content; at most one consumption of each
    is committed (commitSync after each poll and on revocation), and the committed offsets
    reach the log end.
- Exactly once: a Java consume-transform-produce copier (a read_committed group member and a
  transactional producer committing the consumed offsets in each transaction) is SIGKILLed
  after three commits; a second copier with the same transactional.id fences it and aborts what
  it left open. A read_committed reader then finds every source record copied exactly once.
Usage: java_clients.py PATH/TO/sluice [--kafka]
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from common import free_port, wait_listening
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic, OffsetSpec
from kafka.codec import has_lz4, has_snappy, has_zstd
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "tests/kafka/kafka.sh"
JAVA_SOURCE = ROOT / "tests/interop/java/InteropClient.java"
LOG4J = ROOT / "tests/kafka/log4j2.properties"

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
RECORDS = 1000
PARTITIONS = 3
GROUP_TOPIC = "java-group"
GROUP_PARTITIONS = 8
GROUP = "java-interop"
RATE = 300  # records a second from the Java producer while the group forms and consumes


def check(ok, message):
    if not ok:
        sys.exit(message)


def until(what, seconds, ready, step=0.1, detail=lambda: ""):
    deadline = time.time() + seconds
    while not ready():
        if time.time() > deadline:
            sys.exit(f"timed out after {seconds} s waiting until {what}{detail()}")
        time.sleep(step)


class Processes:
    """Every process a target's checks start; whatever still runs at the end is stopped."""

    def __init__(self):
        self.running = []
        self.cleanups = []

    def start(self, argv, **kwargs):
        proc = subprocess.Popen(argv, **kwargs)
        self.running.append(proc)
        return proc

    def stop_all(self):
        for cleanup in self.cleanups:
            cleanup()
        for proc in self.running:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.running:
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


_classpath = None


def java_argv(*args):
    global _classpath
    if _classpath is None:
        run = subprocess.run(["bash", str(KAFKA_SH), "classpath"], capture_output=True, text=True)
        check(run.returncode == 0, f"no Kafka classpath: {run.stderr.strip()}")
        _classpath = run.stdout.strip()
    # Short-lived clients: start fast rather than run fast.
    return ["java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={LOG4J}", "-cp", _classpath, str(JAVA_SOURCE), *args]


def parse_json_lines(text, who):
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            sys.exit(f"{who} printed a line that is not JSON: {line!r}")
    return lines


def java(*args, timeout=90):
    """Runs one InteropClient subcommand to its end; its JSON lines."""
    try:
        run = subprocess.run(java_argv(*args), capture_output=True, text=True, encoding="utf-8",
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"InteropClient {args[0]} did not finish within {timeout} s")
    check(run.returncode == 0,
          f"InteropClient {' '.join(args[:3])} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return parse_json_lines(run.stdout, f"InteropClient {args[0]}")


class JavaProcess:
    """An InteropClient subcommand in the background: its JSON lines collected as they come;
    closing its stdin asks it to stop."""

    def __init__(self, procs, name, *args):
        self.name = name
        self.stderr = tempfile.TemporaryFile()
        self.proc = procs.start(java_argv(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=self.stderr, text=True, encoding="utf-8")
        self.lines = []
        self.bad = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError:
                self.bad.append(line)
                continue
            with self.lock:
                self.lines.append(parsed)

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def stderr_tail(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-3000:]

    def alive(self):
        if self.proc.poll() is not None:
            sys.exit(f"{self.name} exited early ({self.proc.returncode}):\n{self.stderr_tail()}")
        return True

    def stop(self, seconds=40):
        """Closes stdin and waits; the process must exit 0 and its output is complete."""
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            sys.exit(f"{self.name} did not stop within {seconds} s of its stdin closing")
        self.reader.join(timeout=10)
        check(self.proc.returncode == 0,
              f"{self.name} exited with {self.proc.returncode}:\n{self.stderr_tail()}")
        check(not self.bad, f"{self.name} printed lines that are not JSON: {self.bad[:3]}")
        return self.snapshot()


def kcat(bootstrap, *args, stdin=None):
    run = subprocess.run(["kcat", "-b", bootstrap, *args], input=stdin, capture_output=True,
                         text=True, encoding="utf-8", timeout=60)
    check(run.returncode == 0, f"kcat {' '.join(args)} failed ({run.returncode}): {run.stderr}")
    return run.stdout


def kcat_headers(flat):
    """kcat -J writes headers as [key, value, key, value, ...], a null value as null."""
    flat = flat or []
    return [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]


def python_headers(headers):
    return [[k, None if v is None else v.decode()] for k, v in headers]


def stored_batches(log_dir, topic):
    """(codec id, record count) of every batch stored for `topic`, from its segment files: sluice
    and Kafka both keep a partition as `TOPIC-P/*.log` files of Kafka record batches. A running
    sluice writes zeros ahead of the active segment's last batch (docs/broker.md#durability); a
    header of zeros ends the log, as it does for the broker's own recovery."""
    batches = []
    for p in range(PARTITIONS):
        segments = sorted(Path(log_dir, f"{topic}-{p}").glob("*.log"))
        check(segments, f"no segment files for {topic}-{p} under {log_dir}")
        for segment in segments:
            data = segment.read_bytes()
            at = 0
            # base offset i64, length i32, leader epoch i32, magic i8, crc u32, attributes i16,
            # last offset delta i32, 2 timestamps i64, producer id i64, epoch i16, sequence i32,
            # record count i32
            while at + 61 <= len(data) and any(data[at:at + 61]):
                length = struct.unpack_from(">i", data, at + 8)[0]
                check(data[at + 16] == 2, f"{segment}: batch at byte {at} has magic {data[at + 16]}")
                codec = struct.unpack_from(">h", data, at + 21)[0] & 7
                batches.append((codec, struct.unpack_from(">i", data, at + 57)[0]))
                at += 12 + length
    return batches


def check_stored_codec(target, topic, codec, writer):
    """The records were stored compressed with `codec`, but for a few left uncompressed:
    librdkafka and kafka-python send a batch uncompressed when compressing does not make it
    smaller, as with a lone record, and a loaded machine can make the first batches small. At
    least 90% compressed shows the codec was negotiated and used."""
    batches = stored_batches(target.log_dir, topic)
    want = CODECS[codec]
    total = sum(n for _, n in batches)
    compressed = sum(n for c, n in batches if c == want)
    others = [(c, n) for c, n in batches if c != want]
    check(total == RECORDS and all(c == 0 for c, _ in others) and compressed * 10 >= total * 9,
          f"{topic}: {writer} asked for {codec} (id {want}); {compressed} of {total} records stored "
          f"so, the other batches (codec id, records): {others[:20]}")


def same_records(got, sent, reader, topic):
    """`got`: (partition, offset, key, value, headers) in the order `reader` read them; `sent`:
    {(partition, offset): (key, value, headers)}. Exactly the same records, each partition in
    offset order."""
    seen = {}
    last = {}
    for p, o, k, v, h in got:
        check((p, o) not in seen, f"{reader} read {topic} [{p}] offset {o} twice")
        check(o > last.get(p, -1), f"{reader} read {topic} [{p}] offset {o} after {last.get(p)}")
        last[p] = o
        seen[(p, o)] = (k, v, h)
    missing = sorted(set(sent) - set(seen))
    extra = sorted(set(seen) - set(sent))
    check(not missing and not extra,
          f"{reader} read {len(seen)} records of {topic}, the writer sent {len(sent)}: "
          f"missing {missing[:5]}, unexpected {extra[:5]}")
    for at, record in sent.items():
        check(seen[at] == record, f"{reader}: {topic} [{at[0]}] offset {at[1]} is {seen[at]!r}, "
                                  f"the writer sent {record!r}")


def read_with_kcat(bootstrap, topic):
    out = kcat(bootstrap, "-C", "-J", "-e", "-o", "beginning", "-t", topic)
    got = []
    for r in parse_json_lines(out, "kcat -J"):
        got.append((r["partition"], r["offset"], r["key"], r["payload"], kcat_headers(r.get("headers"))))
    return got


def read_with_kafka_python(bootstrap, topic, partitions, count):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    got = []
    deadline = time.time() + 30
    while len(got) < count and time.time() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            for r in records:
                got.append((tp.partition, r.offset, r.key.decode(), r.value.decode(), python_headers(r.headers)))
    # A last poll: records beyond `count` would be a failure too.
    for tp, records in consumer.poll(timeout_ms=300).items():
        got.extend((tp.partition, r.offset, None, None, None) for r in records)
    consumer.close()
    # kafka-python returns each partition's records in order; merged order across partitions is
    # arbitrary, so order is checked per partition by same_records.
    return got


def java_writes_codecs(target):
    topics = {codec: f"java-{codec}" for codec in CODECS}
    lines = java("produce", target.bootstrap, str(RECORDS), *(f"{t}:{c}" for c, t in topics.items()))
    for codec, topic in topics.items():
        mine = [r for r in lines if r["topic"] == topic]
        check(len(mine) == RECORDS, f"Java producer reported {len(mine)} of {RECORDS} records to {topic}")
        by_partition = defaultdict(list)
        partitions_of_key = defaultdict(set)
        for r in mine:
            by_partition[r["partition"]].append(r["offset"])
            partitions_of_key[r["key"]].add(r["partition"])
        for p, offsets in by_partition.items():
            check(offsets == list(range(len(offsets))),
                  f"{topic} [{p}]: offsets in send order are {offsets[:8]}..., not 0, 1, 2, ...")
        check(all(len(ps) == 1 for ps in partitions_of_key.values()), f"{topic}: a key spread over partitions")
        check_stored_codec(target, topic, codec, "the Java producer")
        sent = {(r["partition"], r["offset"]): (r["key"], r["value"], r["headers"]) for r in mine}
        same_records(read_with_kcat(target.bootstrap, topic), sent, "kcat", topic)
        same_records(read_with_kafka_python(target.bootstrap, topic, PARTITIONS, RECORDS), sent,
                     "kafka-python", topic)
        print(f"ok: Java ({codec}, idempotent, acks=all) wrote {RECORDS} records with headers; "
              f"kcat and kafka-python read them back exactly, in order")


KCAT_HEADERS = [["source", "kcat"], ["hop", "agent"], ["hop", "relay-é"], ["empty", ""], ["nil", None]]
PYTHON_HEADERS = [["source", "kafka-python"], ["hop", "agent"], ["hop", "relay-é"], ["empty", ""]]


def clients_write_java_reads(target):
    kcat_sent = {}
    for codec in CODECS:
        topic = f"kcat-{codec}"
        sent = [(f"host-{i % 7}", f"disk,host=host-{i % 7},codec={codec} used={i}i,dev=\"sdé\"") for i in range(RECORDS)]
        header_args = []
        for k, v in KCAT_HEADERS:
            header_args += ["-H", k if v is None else f"{k}={v}"]
        kcat(target.bootstrap, "-P", "-t", topic, "-K", "\t", "-z", codec, "-X", "acks=all",
             *header_args, stdin="".join(f"{k}\t{v}\n" for k, v in sent))
        kcat_sent[topic] = (codec, sent)

    python_sent = {}
    for codec in CODECS:
        topic = f"python-{codec}"
        producer = KafkaProducer(bootstrap_servers=target.bootstrap, linger_ms=5,
                                 compression_type=None if codec == "none" else codec)
        futures = []
        for i in range(RECORDS):
            key, value = f"k{i}", f"mem,host=h{i % 5},codec={codec} used={i}i"
            headers = [(k, v.encode()) for k, v in PYTHON_HEADERS]
            futures.append((key, value, producer.send(topic, key=key.encode(), value=value.encode(),
                                                      headers=headers, partition=i % PARTITIONS)))
        producer.flush()
        sent = {}
        for key, value, future in futures:
            meta = future.get(timeout=10)
            sent[(meta.partition, meta.offset)] = (key, value, PYTHON_HEADERS)
        producer.close()
        python_sent[topic] = (codec, sent)

    lines = java("read", target.bootstrap, "60", *kcat_sent, *python_sent)
    read = defaultdict(list)
    for r in lines:
        read[r["topic"]].append((r["partition"], r["offset"], r["key"], r["value"], r["headers"]))

    for topic, (codec, sent) in kcat_sent.items():
        check_stored_codec(target, topic, codec, "kcat")
        got = read[topic]
        check(sorted((k, v) for _, _, k, v, _ in got) == sorted(sent),
              f"{topic}: the Java consumer read {len(got)} records, not what kcat wrote")
        check(all(h == KCAT_HEADERS for *_, h in got), f"{topic}: headers differ from kcat's -H")
        for p in {p for p, *_ in got}:
            offsets = [o for q, o, *_ in got if q == p]
            check(offsets == list(range(len(offsets))), f"{topic} [{p}]: Java read offsets {offsets[:8]}...")
        # kcat partitions by key: one key in one partition, its values in the order written.
        for key in {k for k, _ in sent}:
            mine = [(p, v) for p, _, k, v, _ in got if k == key]
            check(len({p for p, _ in mine}) == 1, f"{topic}: key {key} spread over partitions")
            check([v for _, v in mine] == [v for k, v in sent if k == key], f"{topic}: order of {key} differs")
    print(f"ok: kcat wrote {RECORDS} records with headers per codec ({', '.join(CODECS)}); "
          f"the Java consumer read them back exactly, in order")

    for topic, (codec, sent) in python_sent.items():
        check_stored_codec(target, topic, codec, "kafka-python")
        same_records(read[topic], sent, "the Java consumer", topic)
    print(f"ok: kafka-python (idempotent) wrote {RECORDS} records with headers per codec; "
          f"the Java consumer read them back exactly, in order")


class KcatMember:
    """kcat's balanced consumer (-G, librdkafka, auto-commit): its records from -J lines."""

    def __init__(self, procs, bootstrap):
        self.proc = procs.start(
            ["kcat", "-b", bootstrap, "-G", GROUP, GROUP_TOPIC, "-u", "-J",
             "-X", "client.id=kcat-member", "-X", "auto.offset.reset=earliest",
             "-X", "auto.commit.interval.ms=100"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8",
        )
        self.consumed = []
        self.errors = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read_records, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read_records(self):
        for line in self.proc.stdout:
            r = json.loads(line)
            with self.lock:
                self.consumed.append({"partition": r["partition"], "offset": r["offset"], "key": r["key"],
                                      "value": r["payload"], "headers": kcat_headers(r.get("headers")),
                                      "committed": False})

    def _read_errors(self):
        for line in self.proc.stderr:
            if "ERROR" in line or "FAIL" in line:
                with self.lock:
                    self.errors.append(line.strip())

    def snapshot(self):
        with self.lock:
            return list(self.consumed)

    def alive(self):
        check(self.proc.poll() is None, f"kcat -G exited early ({self.proc.returncode}): {self.errors}")
        return True

    def stop(self):
        self.proc.terminate()  # kcat commits and leaves the group on SIGTERM
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sys.exit("kcat -G did not stop within 30 s of SIGTERM")
        return self.snapshot()


class PythonMember:
    """kafka-python's KafkaConsumer in a thread: commits what each poll returned, synchronously."""

    def __init__(self, bootstrap):
        self.consumer = KafkaConsumer(GROUP_TOPIC, bootstrap_servers=bootstrap, group_id=GROUP,
                                      client_id="kafka-python-member", auto_offset_reset="earliest",
                                      enable_auto_commit=False)
        self.consumed = []
        self.commit_failures = []
        self.failure = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stopping.is_set():
                batch = []
                offsets = {}
                for tp, records in self.consumer.poll(timeout_ms=100).items():
                    for r in records:
                        batch.append({"partition": tp.partition, "offset": r.offset, "key": r.key.decode(),
                                      "value": r.value.decode(), "headers": python_headers(r.headers),
                                      "committed": False})
                        offsets[tp] = OffsetAndMetadata(r.offset + 1, "", -1)
                with self.lock:
                    self.consumed.extend(batch)
                if not offsets:
                    continue
                try:
                    self.consumer.commit(offsets)
                except KafkaError as e:
                    # The group moved on: these records may go to the next owner again.
                    with self.lock:
                        self.commit_failures.append(repr(e))
                    continue
                with self.lock:
                    for c in batch:
                        c["committed"] = True
        except Exception as e:  # reported by alive(); a thread cannot exit the script
            self.failure = e
        finally:
            self.consumer.close()

    def snapshot(self):
        with self.lock:
            return [dict(c) for c in self.consumed]

    def alive(self):
        check(self.failure is None and self.thread.is_alive(), f"kafka-python member failed: {self.failure!r}")
        return True

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=30)
        check(not self.thread.is_alive(), "kafka-python member did not stop within 30 s")
        check(self.failure is None, f"kafka-python member failed: {self.failure!r}")
        return self.snapshot()


def java_consumptions(name, lines):
    """A Java member's lines: its consumptions (each marked committed per the rule in the module
    docstring), its assignment per generation, and its failed commits."""
    consumed = []
    assigned = {}
    pending = defaultdict(list)  # partition -> consumptions not yet covered by a commit
    failed = []
    for line in lines:
        event = line.get("event")
        if event is None:
            c = dict(line, committed=False)
            consumed.append(c)
            pending[c["partition"]].append(c)
        elif event == "assigned":
            check(line["generation"] not in assigned,
                  f"{name} was assigned twice in generation {line['generation']}")
            assigned[line["generation"]] = set(line["partitions"])
        elif event == "committed":
            for p, offset in line["offsets"].items():
                p = int(p)
                for c in pending[p]:
                    if c["offset"] < offset:
                        c["committed"] = True
                pending[p] = [c for c in pending[p] if not c["committed"]]
        elif event == "commit-failed":
            failed.append(line)
        elif event in ("revoked", "lost"):
            # A later commit by this member no longer speaks for what it read before.
            for p in line["partitions"]:
                pending[p] = []
    return consumed, assigned, failed


def group_assignments(admin):
    group = admin.describe_groups([GROUP])[GROUP]
    check(group["error"] is None, f"DescribeGroups: {group}")
    members = {}
    for m in group["members"]:
        parts = []
        # Empty (not yet synced) or undecodable: no partitions to count.
        assignment = m["member_assignment"]
        if not isinstance(assignment, dict):
            assignment = {"assigned_partitions": []}
        for t in assignment["assigned_partitions"]:
            check(t["topic"] == GROUP_TOPIC, f"member {m['client_id']} assigned {t}")
            parts += t["partitions"]
        members[m["member_id"]] = (m["client_id"], sorted(parts))
    return group, members


def committed_and_ends(admin):
    offsets = admin.list_group_offsets({GROUP: None})[GROUP]
    committed = {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == GROUP_TOPIC}
    latest = admin.list_partition_offsets(
        {TopicPartition(GROUP_TOPIC, p): OffsetSpec.LATEST for p in range(GROUP_PARTITIONS)})
    ends = {tp.partition: o.offset for tp, o in latest.items()}
    return committed, ends


def consumer_group(target, procs):
    admin = KafkaAdminClient(bootstrap_servers=target.bootstrap)
    b = target.bootstrap
    java_1 = JavaProcess(procs, "Java member 1", "member", b, GROUP_TOPIC, GROUP, "java-member-1", "150")
    until("Java member 1 has its first assignment", 60,
          lambda: java_1.alive() and any(line.get("event") == "assigned" for line in java_1.snapshot()))
    producer = JavaProcess(procs, "Java producer", "stream", b, GROUP_TOPIC, "snappy", str(RATE), "java-streamer")
    kcat_member = KcatMember(procs, b)
    time.sleep(1)
    python_member = PythonMember(b)
    procs.cleanups.append(python_member.stopping.set)
    time.sleep(1)
    java_2 = JavaProcess(procs, "Java member 2", "member", b, GROUP_TOPIC, GROUP, "java-member-2", "150")
    members = [java_1, java_2, kcat_member, python_member]

    seen = {}

    def four_members():
        for m in members + [producer]:
            m.alive()
        group, assignments = group_assignments(admin)
        clients = sorted(c for c, _ in assignments.values())
        if group["group_state"] != "Stable" or clients != sorted(
                ["java-member-1", "java-member-2", "kcat-member", "kafka-python-member"]):
            return False
        parts = [p for _, ps in assignments.values() for p in ps]
        if sorted(parts) != list(range(GROUP_PARTITIONS)) or not all(ps for _, ps in assignments.values()):
            return False
        seen.update(group=group, assignments=assignments)
        return True

    until("the group is Stable with all four members, the partitions shared among them", 60, four_members, 0.25)
    check(seen["group"]["protocol_type"] == "consumer", f"protocol type {seen['group']['protocol_type']}")
    check(seen["group"]["protocol_data"] == "range", f"group protocol {seen['group']['protocol_data']}, not range")
    described = ", ".join(f"{c} {ps}" for c, ps in sorted(seen["assignments"].values()))
    print(f"ok: group {GROUP!r} Stable with 4 members at once (range): {described}")

    # Records keep coming while all four hold partitions, so each of them consumes some.
    time.sleep(3)
    sent_lines = producer.stop(60)
    check(len(sent_lines) > RATE, f"the Java producer sent only {len(sent_lines)} records")
    sent = {}
    for r in sent_lines:
        sent[(r["partition"], r["offset"])] = (r["key"], r["value"], r["headers"])
    for p in range(GROUP_PARTITIONS):
        offsets = sorted(o for q, o in sent if q == p)
        check(offsets == list(range(len(offsets))), f"{GROUP_TOPIC} [{p}]: producer offsets {offsets[:8]}...")
    ends = {p: sum(1 for q, _ in sent if q == p) for p in range(GROUP_PARTITIONS)}
    check(all(ends.values()), f"records per partition {ends}: some partition got none, so it proves nothing")

    def consumed_keys():
        keys = set()
        for m in (java_1, java_2):
            keys |= {(r["partition"], r["offset"]) for r in m.snapshot() if "event" not in r}
        for m in (kcat_member, python_member):
            keys |= {(c["partition"], c["offset"]) for c in m.snapshot()}
        return keys

    until("every record the producer sent is consumed by a member", 60,
          lambda: all(m.alive() for m in members) and set(sent) <= consumed_keys(), 0.25)

    last = {}

    def committed_to_the_end():
        committed, latest = committed_and_ends(admin)
        check(latest == ends, f"log end offsets {latest}, the producer was acknowledged up to {ends}")
        last["committed"] = committed
        return committed == ends

    until("the members committed every partition to its log end", 30, committed_to_the_end, 0.25,
          lambda: f": committed {last.get('committed')}, log end {ends}")
    group, assignments = group_assignments(admin)
    check(group["group_state"] == "Stable" and len(assignments) == 4,
          f"after consuming, the group is {group['group_state']} with {len(assignments)} members")

    java_1_lines = java_1.stop()
    java_2_lines = java_2.stop()
    from_kcat = kcat_member.stop()
    from_python = python_member.stop()
    check(java_1_lines[-1] == {"event": "closed"} and java_2_lines[-1] == {"event": "closed"},
          "a Java member did not close cleanly")
    group = admin.describe_groups([GROUP])[GROUP]
    check(group["group_state"] == "Empty" and not group["members"], f"after all left: {group}")
    committed, _ = committed_and_ends(admin)
    check(committed == ends, f"after all left, committed {committed}, log end {ends}")
    admin.close()

    consumptions = {}  # member -> [consumption]
    java_generations = {}
    failed_commits = {}
    for name, lines in (("java-member-1", java_1_lines), ("java-member-2", java_2_lines)):
        consumptions[name], java_generations[name], failed_commits[name] = java_consumptions(name, lines)
    consumptions["kcat-member"] = from_kcat
    consumptions["kafka-python-member"] = from_python
    failed_commits["kafka-python-member"] = python_member.commit_failures

    by_record = defaultdict(list)
    for name, cs in consumptions.items():
        check(cs, f"{name} consumed nothing")
        for c in cs:
            at = (c["partition"], c["offset"])
            check(at in sent, f"{name} consumed {GROUP_TOPIC} [{at[0]}] offset {at[1]}, which was never produced")
            check((c["key"], c["value"], c["headers"]) == sent[at],
                  f"{name} consumed {at} as {(c['key'], c['value'], c['headers'])!r}, sent {sent[at]!r}")
            by_record[at].append((name, c))

    # The Java members, generation by generation: disjoint assignments, own partitions only.
    for name, generations in java_generations.items():
        for c in consumptions[name]:
            g = c["generation"]
            check(g in generations and c["partition"] in generations[g],
                  f"{name} consumed partition {c['partition']} in generation {g}, assigned {generations.get(g)}")
    shared = set(java_generations["java-member-1"]) & set(java_generations["java-member-2"])
    for g in shared:
        both = java_generations["java-member-1"][g] & java_generations["java-member-2"][g]
        check(not both, f"generation {g}: both Java members were assigned partitions {sorted(both)}")
    java_seen = set()
    for name in ("java-member-1", "java-member-2"):
        for c in consumptions[name]:
            key = (c["generation"], c["partition"], c["offset"])
            check(key not in java_seen, f"generation {key[0]}: {key[1:]} consumed twice by the Java members")
            java_seen.add(key)

    # At-least-once: at most one committed consumption per record, and nothing read again by a
    # member after that member's own commit of it.
    duplicates = 0
    for at, cs in by_record.items():
        duplicates += len(cs) - 1
        committed_by = [name for name, c in cs if c["committed"]]
        check(len(committed_by) <= 1, f"{at} was committed by {committed_by}: a committed record was read again")
        for i, (name, c) in enumerate(cs):
            check(not (c["committed"] and any(n == name for n, _ in cs[i + 1:])),
                  f"{name} read {at} again after committing it")
    generations = sorted(set(java_generations["java-member-1"]) | set(java_generations["java-member-2"]))
    counts = ", ".join(f"{name} {len(cs)}" for name, cs in consumptions.items())
    failures = sum(len(f) for f in failed_commits.values())
    print(f"ok: {len(sent)} records produced while the group formed, all consumed ({counts}); "
          f"{duplicates} read twice, none after a commit of it; {failures} commits refused by rebalances; "
          f"Java generations {generations}; committed offsets at the log end {ends}")


class Sluice:
    name = "sluice broker"

    def __init__(self, binary):
        self.binary = binary

    def __enter__(self):
        self.data = tempfile.TemporaryDirectory()
        self.log_dir = self.data.name
        port = free_port()
        self.bootstrap = f"127.0.0.1:{port}"
        self.broker = subprocess.Popen(
            [self.binary, "broker", "--listen", self.bootstrap, "--data-dir", self.data.name,
             "--config", "/dev/null", "--http-listen", ""],
            env={**os.environ, "RUST_LOG": "warn"},
        )
        try:
            wait_listening(port, self.broker)
        except SystemExit:
            self.__exit__(SystemExit, None, None)
            raise
        return self

    def __exit__(self, *failure):
        self.broker.terminate()
        try:
            code = self.broker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.broker.kill()
            code = "none (killed after 15 s)"
        self.data.cleanup()
        if failure[0] is None:
            check(code == 0, f"broker exited with {code} on SIGTERM")


class Kafka:
    name = "Apache Kafka 4.4.0"

    def __enter__(self):
        self.dir = tempfile.TemporaryDirectory()
        # The 3 s delay before a new group's first rebalance is for big deployments; a test has
        # no use for it.
        run = subprocess.run(["bash", str(KAFKA_SH), "start", self.dir.name,
                              "--set", "group.initial.rebalance.delay.ms=0"],
                             capture_output=True, text=True, timeout=180)
        if run.returncode != 0:
            self._stop()
            sys.exit(f"Kafka did not start: {run.stderr}")
        self.bootstrap = run.stdout.strip()
        # The one node's log.dirs, from the properties file the fixture wrote for it.
        (props,) = Path(self.dir.name).glob("node-*.properties")
        dirs = [line.split("=", 1)[1] for line in props.read_text().splitlines() if line.startswith("log.dirs=")]
        self.log_dir = dirs[0]
        return self

    def _stop(self):
        subprocess.run(["bash", str(KAFKA_SH), "stop", self.dir.name], timeout=60)
        self.dir.cleanup()

    def __exit__(self, *failure):
        self._stop()


EOS_IN, EOS_OUT, EOS_RECORDS = "eos-in", "eos-out", 2000
KIP848_TOPIC, KIP848_GROUP, KIP848_PARTITIONS = "java-kip848", "java-kip848-group", 6


def held_partitions(lines):
    """What a member holds after its lines so far, from its incremental callbacks; raises if it
    consumed from a partition it did not hold at the time."""
    held = set()
    for line in lines:
        event = line.get("event")
        if event == "assigned":
            held |= set(line["partitions"])
        elif event in ("revoked", "lost"):
            held -= set(line["partitions"])
        elif event is None:
            check(line["partition"] in held,
                  f"consumed partition {line['partition']} while holding {sorted(held)}")
    return held


def described_members(target, group):
    """Kafka's kafka-consumer-groups --describe --members: client id -> partition count."""
    out = subprocess.run(["bash", str(KAFKA_SH), "run", "kafka-consumer-groups", "--bootstrap-server",
                          target.bootstrap, "--describe", "--group", group, "--members"],
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, f"kafka-consumer-groups --describe: {out.stderr[-500:]}")
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("GROUP"))
    check(lines[header].split() == ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"], lines[header])
    return {row.split()[3]: int(row.split()[4]) for row in lines[header + 1:] if row.strip()}


def consumer_protocol_group(target, procs):
    b = target.bootstrap
    producer = JavaProcess(procs, "Java producer", "stream", b, KIP848_TOPIC, "lz4", str(RATE), "kip848-streamer")
    members = {}

    def join(n):
        name = f"kip848-member-{n}"
        members[name] = JavaProcess(procs, name, "member", b, KIP848_TOPIC, KIP848_GROUP, name, "150", "consumer")

    def split(expected):
        for m in list(members.values()) + [producer]:
            m.alive()
        held = {name: held_partitions(m.snapshot()) for name, m in members.items()}
        everything = [p for ps in held.values() for p in ps]
        return sorted(len(ps) for ps in held.values()) == expected and sorted(everything) == list(
            range(KIP848_PARTITIONS))

    join(1)
    until("the first consumer-protocol member holds all 6 partitions", 90, lambda: split([6]), 0.25)
    join(2)
    until("two members hold 3 partitions each", 90, lambda: split([3, 3]), 0.25)
    join(3)
    until("three members hold 2 partitions each", 90, lambda: split([2, 2, 2]), 0.25)
    described = described_members(target, KIP848_GROUP)
    check(described == {name: 2 for name in members}, f"kafka-consumer-groups describes {described}")
    print(f"ok: KIP-848 group {KIP848_GROUP!r}: 6 partitions split 2/2/2 by the broker, as "
          f"kafka-consumer-groups --describe --members also shows")
    first = members.pop("kip848-member-1")
    first_lines = first.stop()
    check(first_lines[-1] == {"event": "closed"}, "the first member did not close cleanly")
    until("the two left hold 3 partitions each", 90, lambda: split([3, 3]), 0.25)

    time.sleep(2)
    sent_lines = producer.stop(60)
    sent = {(r["partition"], r["offset"]): (r["key"], r["value"], r["headers"]) for r in sent_lines}
    ends = {p: sum(1 for q, _ in sent if q == p) for p in range(KIP848_PARTITIONS)}
    check(all(ends.values()), f"records per partition {ends}: some partition got none")

    def consumed():
        keys = {(r["partition"], r["offset"]) for r in first_lines if "event" not in r}
        for m in members.values():
            keys |= {(r["partition"], r["offset"]) for r in m.snapshot() if "event" not in r}
        return keys

    until("every record the producer sent is consumed", 60, lambda: set(sent) <= consumed(), 0.25)
    admin = KafkaAdminClient(bootstrap_servers=b)
    until("the members committed every partition to its log end", 60,
          lambda: admin.list_group_offsets({KIP848_GROUP: None})[KIP848_GROUP] and {
              tp.partition: om.offset for tp, om in admin.list_group_offsets({KIP848_GROUP: None})[KIP848_GROUP].items()
          } == ends, 0.5)
    admin.close()
    lines = {"kip848-member-1": first_lines}
    lines.update({name: m.stop() for name, m in members.items()})
    by_record = defaultdict(list)
    for name, member_lines in lines.items():
        held_partitions(member_lines)
        consumptions, _, _ = java_consumptions(name, [line for line in member_lines if line.get("event") != "assigned"])
        for c in consumptions:
            at = (c["partition"], c["offset"])
            check(at in sent and (c["key"], c["value"], c["headers"]) == sent[at],
                  f"{name} consumed {at} as {(c['key'], c['value'])!r}, which was not what was sent")
            by_record[at].append((name, c))
    for at, cs in by_record.items():
        committed_by = [name for name, c in cs if c["committed"]]
        check(len(committed_by) <= 1, f"{at} was committed by {committed_by}: a committed record was read again")
    duplicates = sum(len(cs) - 1 for cs in by_record.values())
    print(f"ok: {len(sent)} records consumed by the KIP-848 members across two joins and a leave "
          f"({duplicates} read twice, none after a commit of it); committed offsets at the log end {ends}")


def exactly_once_copy(target, procs):
    """A Java consume-transform-produce copier (sendOffsetsToTransaction) SIGKILLed after a few
    commits, then a second one with the same transactional.id, which fences the first and aborts
    what it left open: a read_committed reader finds every record copied exactly once."""
    sent = java("produce", target.bootstrap, str(EOS_RECORDS), f"{EOS_IN}:none")
    copier = ("copy", target.bootstrap, EOS_IN, EOS_OUT, "eos-copiers", "eos-copier")
    first = JavaProcess(procs, "copier 1", *copier)
    until("the first copier to commit three transactions", 90,
          lambda: first.alive() and len(first.snapshot()) >= 3, detail=first.stderr_tail)
    first.proc.kill()
    first.proc.wait()
    killed_after = sum(line["committed"] for line in first.snapshot())
    second = JavaProcess(procs, "copier 2", *copier)
    until("every record to be copied", 120,
          lambda: second.alive()
          and len(java("read-committed", target.bootstrap, "30", EOS_OUT)) >= EOS_RECORDS,
          step=1, detail=second.stderr_tail)
    second.stop()
    copies = sorted(r["value"] for r in java("read-committed", target.bootstrap, "30", EOS_OUT))
    check(copies == sorted("copy of " + r["value"] for r in sent),
          f"{len(copies)} copies of {EOS_RECORDS} records, each once? "
          f"(the first copier was killed after committing {killed_after})")
    everything = java("read", target.bootstrap, "30", EOS_OUT)
    print(f"exactly-once copy: {EOS_RECORDS} records copied once each; the killed copier had "
          f"committed {killed_after}, and {len(everything) - EOS_RECORDS} records of aborted "
          f"transactions are in the log, invisible to read_committed")


def run_checks(target):
    procs = Processes()
    try:
        admin = KafkaAdminClient(bootstrap_servers=target.bootstrap)
        topics = [f"{writer}-{codec}" for writer in ("java", "kcat", "python") for codec in CODECS]
        admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
        admin.create_topics([NewTopic(GROUP_TOPIC, GROUP_PARTITIONS, 1)])
        admin.create_topics([NewTopic(t, 3, 1) for t in (EOS_IN, EOS_OUT)])
        admin.create_topics([NewTopic(KIP848_TOPIC, KIP848_PARTITIONS, 1)])
        admin.close()
        java_writes_codecs(target)
        clients_write_java_reads(target)
        consumer_group(target, procs)
        consumer_protocol_group(target, procs)
        exactly_once_copy(target, procs)
    finally:
        procs.stop_all()


def main():
    args = sys.argv[1:]
    kafka = "--kafka" in args
    binaries = [a for a in args if a != "--kafka"]
    if len(binaries) != 1:
        sys.exit(__doc__.split("Usage: ")[1])
    missing = [name for name, has in (("snappy", has_snappy), ("lz4", has_lz4), ("zstd", has_zstd)) if not has()]
    check(not missing, f"kafka-python cannot decode {', '.join(missing)}: "
                       "python3 -m pip install python-snappy lz4 zstandard")
    targets = [Sluice(binaries[0])] + ([Kafka()] if kafka else [])
    results = []
    for target in targets:
        print(f"--- against {target.name}")
        start = time.time()
        try:
            with target:
                run_checks(target)
            results.append((target.name, None, time.time() - start))
        except SystemExit as failure:
            # Run every target: whether the reference broker passes tells a gap from a test bug.
            print(f"FAILED against {target.name}: {failure.code}", file=sys.stderr)
            results.append((target.name, failure.code, time.time() - start))
    for name, failure, seconds in results:
        print(f"java interop against {name}: {'passed' if failure is None else 'FAILED'} in {seconds:.0f} s")
    if any(failure is not None for _, failure, _ in results):
        sys.exit(1)
    print("java interop: all checks passed")


if __name__ == "__main__":
    main()
