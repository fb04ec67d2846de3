#!/usr/bin/env python3
"""Writes the handful of seeds of the targets that do not read Kafka frames: the shipped config
files (config/*.toml), line protocol and JSON as the agent writes them, a properties file, the
SASL exchanges of PLAIN and SCRAM, and spool segments in the agent's frame layout. Run once, by
hand, from anywhere; record_clients.py writes the broker's, the batches' and the
__consumer_offsets seeds.
"""

import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..", "..")


def write(target, seed, clients=False):
    base = os.path.join(HERE, "..", "clients", "corpus", target) if clients else os.path.join(HERE, "..", "corpus", target)
    os.makedirs(base, exist_ok=True)
    if isinstance(seed, str):
        seed = seed.encode()
    with open(os.path.join(base, hashlib.sha1(seed).hexdigest()), "wb") as f:
        f.write(seed)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def spool_frame(seq, ts, key, value):
    """agent/src/queue/spool/frame.rs: len u32 LE, crc32c u32 LE, then seq, timestamp, key."""
    body = struct.pack("<QqH", seq, ts, len(key)) + key + value
    return struct.pack("<II", len(body), crc32c(body)) + body


LINES = [
    "cpu,cpu=cpu-total,host=h1 usage_idle=98.5,usage_user=1.2 1700000000000000000\n",
    "mem,host=h1 used=1234i,available=5678i,used_percent=12.5 1700000000000000000\n"
    "disk,host=h1,path=/,fstype=ext4 free=1u,total=2u,inodes_used=3i 1700000000000000000\n",
    'sluice_agent,host=h1,note=a\\ b\\,c msg="quoted \\"text\\"",ok=true,seq=42i\n',
]
JSON = [
    '{"name":"cpu","tags":{"host":"h1","cpu":"cpu-total"},"fields":{"usage_idle":98.5},"timestamp":1700000000}',
    '{"name":"mem","tags":{},"fields":{"used":1234,"ok":true,"note":"x"},"timestamp":1700000000000000000}',
]


def main():
    for name in sorted(os.listdir(os.path.join(REPO, "config"))):
        if name.endswith(".toml"):
            with open(os.path.join(REPO, "config", name), "rb") as f:
                write("toml_config", f.read(), clients=True)
    write("toml_config", '[kafka]\nbrokers = ["${SECRET}:9092"]\nsasl_password = "${SECRET}"\n', clients=True)
    write("properties", "bootstrap.servers=127.0.0.1:9092\nsecurity.protocol=SASL_SSL\n"
          "sasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config=org.apache.kafka.common.security.scram."
          'ScramLoginModule required username="alice" password="${SECRET}";\n'
          "# a comment\nssl.truststore.location = /tmp/ca.pem\n", clients=True)
    write("properties", "client.id=x\\\n  y\nacks:all\nlinger.ms 5\n", clients=True)
    records = b"".join(spool_frame(i, 1700000000000000000 + i, b"h1" if i % 2 else b"", LINES[i % 3].encode())
                       for i in range(4))
    write("spool", records, clients=True)
    write("spool", records[:-7], clients=True)  # a torn tail
    for line in LINES:
        write("line_protocol", line)
    for text in JSON:
        write("json", text)
    # SASL: the first byte picks the mechanism (0 SCRAM-SHA-256, 1 SCRAM-SHA-512, 2 PLAIN,
    # 3 OAUTHBEARER; +0x80 for SaslHandshake v0), then the client's tokens split at 0xff.
    nonce = "fyko+d2lbbFgONRv9qkxdawL"
    for choice in (0, 1, 0x80):
        write("sasl_scram", bytes([choice]) + f"n,,n=alice,r={nonce}".encode() + b"\xff"
              + f"c=biws,r={nonce}3rfcNHYJY1ZVvWVs7j,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".encode())
    write("sasl_scram", b"\x02\x00alice\x00alice-secret")
    write("sasl_scram", b"\x03n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.\x01\x01")


if __name__ == "__main__":
    main()
