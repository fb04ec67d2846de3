#!/usr/bin/env python3
"""Records the frames real clients send to `sluice broker`, as seeds for fuzz/broker_requests.

A recording proxy sits in front of the broker, which advertises the proxy's address so every
connection of every client goes through it. kcat (librdkafka) and kafka-python create topics,
produce with every codec, consume, join a group and commit; each client connection's bytes, as
the broker received them, become one corpus file (an input of broker_requests is what a client
sent on one connection), and so does each kind of request alone (its first frame of each API
key and version). Files are named by the SHA-1 of their content, as libFuzzer does, and
capped at 64 KiB (a longer connection is cut at a frame boundary).

Run once, by hand: record_clients.py PATH/TO/sluice [OUT_DIR]  (default fuzz/corpus/broker_requests)
"""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "interop"))
from common import free_port, wait_listening  # noqa: E402

MAX_FILE = 64 * 1024


class Recorder:
    """Accepts on `listen`, forwards to `upstream`, keeps what each client sent."""

    def __init__(self, listen, upstream):
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", listen))
        self.connections = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.server.accept()
            broker = socket.create_connection(("127.0.0.1", self.upstream))
            sent = bytearray()
            with self.lock:
                self.connections.append(sent)
            threading.Thread(target=pipe, args=(client, broker, sent), daemon=True).start()
            threading.Thread(target=pipe, args=(broker, client, None), daemon=True).start()


def pipe(src, dst, record):
    try:
        while data := src.recv(65536):
            if record is not None:
                record.extend(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def whole_frames(data, limit):
    """The longest prefix of `data` made of whole size-prefixed frames and at most `limit` bytes."""
    end = 0
    while end + 4 <= len(data):
        size = struct.unpack(">i", data[end:end + 4])[0]
        if size < 0 or end + 4 + size > min(len(data), limit):
            break
        end += 4 + size
    return bytes(data[:end])


def run(*cmd, stdin=None):
    subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, check=True)


def clients(bootstrap):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("seeds", 3, 1), NewTopic("seeds-deleted", 1, 1)])
    admin.close()
    lines = "".join(f"host-{i % 3}\tcpu,host=host-{i % 3} usage_idle={i}i\n" for i in range(20))
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        run("kcat", "-b", bootstrap, "-t", "seeds", "-P", "-K", "\t", "-z", codec, "-X", "acks=all", stdin=lines)
    for compression in (None, "gzip", "lz4"):
        producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=compression)
        for i in range(10):
            producer.send("seeds", key=b"k%d" % i, value=b"mem,host=h used=%di" % i)
        producer.flush()
        producer.close()
    run("kcat", "-b", bootstrap, "-t", "seeds", "-C", "-e", "-o", "beginning")
    run("kcat", "-b", bootstrap, "-L")
    consumer = KafkaConsumer("seeds", bootstrap_servers=bootstrap, group_id="seed-group",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    deadline = time.time() + 20
    got = 0
    while got < 95 and time.time() < deadline:
        got += sum(len(r) for r in consumer.poll(timeout_ms=500).values())
    consumer.commit()
    consumer.close()
    # librdkafka's balanced consumer: JoinGroup, SyncGroup, Heartbeat, OffsetCommit, LeaveGroup.
    kcat = subprocess.Popen(["kcat", "-b", bootstrap, "-G", "seed-kcat", "seeds", "-e",
                             "-X", "auto.offset.reset=earliest"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    kcat.wait(timeout=60)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.describe_groups(["seed-group"])
    admin.list_group_offsets("seed-group")
    admin.delete_topics(["seeds-deleted"])
    admin.close()


def batches(segment):
    """The record batches of a log segment: [base_offset i64][length i32][the rest]."""
    at = 0
    while at + 12 <= len(segment):
        length = struct.unpack(">i", segment[at + 8:at + 12])[0]
        yield segment[at:at + 12 + length]
        at += 12 + length


def varint(data, at):
    shift = value = 0
    while True:
        b = data[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), at


def records(batch):
    """(key, value) of each record of an uncompressed v2 batch."""
    data, at = batch[61:], 0
    while at < len(data):
        length, at = varint(data, at)
        end = at + length
        at += 1  # attributes
        _, at = varint(data, at)  # timestamp delta
        _, at = varint(data, at)  # offset delta
        key_len, at = varint(data, at)
        key = data[at:at + max(key_len, 0)]
        at += max(key_len, 0)
        value_len, at = varint(data, at)
        yield key, data[at:at + max(value_len, 0)]
        at = end


def stored_seeds(log_dir, corpus):
    """Seeds for record_batch (each stored batch of the topic, every codec) and for
    consumer_offsets (each record of __consumer_offsets as `key_len: u16`, key, value)."""
    for target in ("record_batch", "consumer_offsets"):
        os.makedirs(os.path.join(corpus, target), exist_ok=True)
    for root, _, files in os.walk(log_dir):
        for name in files:
            if not name.endswith(".log"):
                continue
            with open(os.path.join(root, name), "rb") as f:
                segment = f.read()
            for batch in batches(segment):
                if "__consumer_offsets" in root:
                    if batch[21:23] == b"\0\0":  # attributes: uncompressed
                        for key, value in records(batch):
                            write(os.path.join(corpus, "consumer_offsets"), struct.pack(">H", len(key)) + key + value)
                elif "seeds" in root:
                    write(os.path.join(corpus, "record_batch"), batch)


def write(directory, seed):
    with open(os.path.join(directory, hashlib.sha1(seed).hexdigest()), "wb") as f:
        f.write(seed)


def main():
    sluice = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "corpus", "broker_requests")
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        port, proxy = free_port(), free_port()
        config = os.path.join(data, "broker.toml")
        with open(config, "w") as f:
            f.write(f'listeners = ["PLAINTEXT://127.0.0.1:{port}"]\n'
                    f'advertised.listeners = ["PLAINTEXT://127.0.0.1:{proxy}"]\n')
        broker = subprocess.Popen(
            [sluice, "broker", "--data-dir", os.path.join(data, "log"), "--config", config, "--http-listen", ""],
            env={**os.environ, "RUST_LOG": "warn"},
        )
        try:
            wait_listening(port, broker)
            recorder = Recorder(proxy, port)
            clients(f"127.0.0.1:{proxy}")
            time.sleep(1)
        finally:
            broker.terminate()
            broker.wait()
        stored_seeds(os.path.join(data, "log"), os.path.join(out, ".."))
    written = 0
    with recorder.lock:
        for sent in recorder.connections:
            seed = whole_frames(sent, MAX_FILE)
            if not seed:
                continue
            name = hashlib.sha1(seed).hexdigest()
            with open(os.path.join(out, name), "wb") as f:
                f.write(seed)
            written += 1
        # And each kind of request alone (one per API key and version), a small seed to mutate.
        kinds = {}
        for sent in recorder.connections:
            at = 0
            while at + 8 <= len(sent):
                size = struct.unpack(">i", sent[at:at + 4])[0]
                frame = bytes(sent[at:at + 4 + size])
                if size < 4 or len(frame) < 4 + size:
                    break
                if size <= MAX_FILE:
                    kinds.setdefault(frame[4:8], frame)
                at += 4 + size
        for frame in kinds.values():
            with open(os.path.join(out, hashlib.sha1(frame).hexdigest()), "wb") as f:
                f.write(frame)
            written += 1
    print(f"{written} seeds from {len(recorder.connections)} connections in {out}")


if __name__ == "__main__":
    main()
