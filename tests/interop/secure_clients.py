#!/usr/bin/env python3
"""kcat (librdkafka) and kafka-python against `sluice broker` over SASL_SSL and SASL_PLAINTEXT.

Certificates are made here (the `cryptography` package): a CA, the broker's certificate for
127.0.0.1, an expired one, and a second CA nobody trusts. Users are added with `sluice users`.
For PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, kcat writes and kafka-python reads, and the other
way round, with exact content checked. Then every refusal case: wrong password, unknown user,
an untrusted CA, an expired certificate, a plaintext client on the TLS port, a client that
speaks before authenticating. After each, a good client is still served. Finally no password
appears in the broker's log.
Usage: secure_clients.py PATH/TO/sluice
"""

import datetime
import ipaddress
import os
import socket
import struct
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from common import free_port, wait_listening
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

PASSWORDS = {"alice": "alice-Secret-7f3k", "bob": "bob-Secret-9q2z"}
WRONG = "not-the-Password-4x"
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
RECORDS = 200


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server(ca_key, ca_cert, expired=False):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)) if expired else (
        now - datetime.timedelta(days=1),
        now + datetime.timedelta(days=30),
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sluice broker")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


class Broker:
    def __init__(self, sluice, work, protocol, keystore=None):
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.data = os.path.join(work, f"data-{self.port}")
        self.config = os.path.join(work, f"broker-{self.port}.toml")
        lines = [
            f'listeners = ["{protocol}://{self.bootstrap}"]',
            f'log.dirs = "{self.data}"',
            'sluice.http.listen = ""',
            "num.partitions = 2",
        ]
        if keystore:
            lines.append(f'ssl.keystore.location = "{keystore}"')
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        for user, password in PASSWORDS.items():
            run = subprocess.run(
                [sluice, "users", "--config", self.config, "--add", user],
                input=password + "\n", capture_output=True, text=True, timeout=30,
            )
            assert run.returncode == 0, run.stderr
            assert password not in run.stdout + run.stderr
        listed = subprocess.run(
            [sluice, "users", "--config", self.config, "--list"], capture_output=True, text=True, timeout=30
        )
        assert listed.stdout.split() == sorted(PASSWORDS), listed.stdout
        self.log = os.path.join(work, f"broker-{self.port}.log")
        self.process = subprocess.Popen(
            [sluice, "broker", "--config", self.config],
            env={**os.environ, "RUST_LOG": "debug"},
            stderr=open(self.log, "w"),
        )
        wait_listening(self.port, self.process)

    def stop(self):
        self.process.terminate()
        code = self.process.wait(timeout=15)
        assert code == 0, f"broker exited with {code} on SIGTERM"


def kcat_args(broker, protocol, mechanism, user, password, ca):
    args = ["kcat", "-b", broker.bootstrap, "-X", f"security.protocol={protocol}"]
    if mechanism:
        args += ["-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user}", "-X", f"sasl.password={password}"]
    if ca:
        args += ["-X", f"ssl.ca.location={ca}"]
    return args


def kcat(args, *more, stdin=None, expect_ok=True):
    run = subprocess.run([*args, *more], input=stdin, capture_output=True, text=True, timeout=60)
    if expect_ok and run.returncode != 0:
        sys.exit(f"kcat {' '.join(more)} failed ({run.returncode}): {run.stderr}")
    return run


def python_config(protocol, mechanism, user, password, ca):
    c = {"security_protocol": protocol, "request_timeout_ms": 10000}
    if mechanism:
        c.update(sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password)
    if ca:
        c.update(ssl_cafile=ca, ssl_check_hostname=True)
    return c


def round_trip(broker, protocol, mechanism, ca):
    """kcat → kafka-python and kafka-python → kcat on one mechanism, exact content."""
    user = "alice" if mechanism != "SCRAM-SHA-512" else "bob"
    password = PASSWORDS[user]
    args = kcat_args(broker, protocol, mechanism, user, password, ca)
    topic = f"kcat-{protocol}-{mechanism}".lower()
    sent = [f"cpu,host=h{i % 5} usage_idle={i}i" for i in range(RECORDS)]
    kcat(args, "-t", topic, "-P", "-p", "0", "-X", "acks=all", stdin="".join(v + "\n" for v in sent))
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
        consumer_timeout_ms=10000, **python_config(protocol, mechanism, user, password, ca),
    )
    consumer.assign([TopicPartition(topic, 0)])
    got = [m.value.decode() for m in consumer]
    consumer.close()
    assert got == sent, f"{mechanism}: kafka-python read {len(got)} of {len(sent)}"

    topic = f"python-{protocol}-{mechanism}".lower()
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", **python_config(protocol, mechanism, user, password, ca)
    )
    for v in sent:
        producer.send(topic, value=v.encode(), partition=0)
    producer.flush(timeout=30)
    producer.close()
    out = kcat(args, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q").stdout
    assert out.splitlines() == sent, f"{mechanism}: kcat read {len(out.splitlines())} of {len(sent)}"
    print(f"ok: {protocol} {mechanism}: kcat -> kafka-python and kafka-python -> kcat, {RECORDS} records each")


def refused(what, args, needle):
    run = kcat(args, "-L", "-m", "5", expect_ok=False)
    text = run.stdout + run.stderr
    assert run.returncode != 0 and needle.lower() in text.lower(), f"{what}: kcat said {text!r}"
    print(f"ok: refused: {what}")


def still_serving(broker, protocol, ca):
    args = kcat_args(broker, protocol, "SCRAM-SHA-256", "alice", PASSWORDS["alice"], ca)
    listing = kcat(args, "-L", "-m", "10").stdout
    assert f"broker 0 at {broker.bootstrap}" in listing, listing


def speak_before_handshake(broker):
    """A Metadata v1 request as the first thing on a SASL_PLAINTEXT connection: closed, unanswered."""
    header = struct.pack(">hhih", 3, 1, 7, 4) + b"test"
    body = struct.pack(">i", -1)
    frame = header + body
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        assert s.recv(4) == b"", "the broker answered a request made before authentication"
    print("ok: refused: a request before SASL authentication closes the connection unanswered")


def main():
    sluice = sys.argv[1]
    with tempfile.TemporaryDirectory() as work:
        ca_key, ca_cert = make_ca("sluice test CA")
        _, stranger_cert = make_ca("a CA nobody trusts")
        server_key, server_cert = make_server(ca_key, ca_cert)
        old_key, old_cert = make_server(ca_key, ca_cert, expired=True)
        paths = {}
        for name, data in {
            "ca.pem": cert_pem(ca_cert),
            "stranger.pem": cert_pem(stranger_cert),
            "broker.pem": cert_pem(server_cert) + key_pem(server_key),
            "expired.pem": cert_pem(old_cert) + key_pem(old_key),
        }.items():
            paths[name] = os.path.join(work, name)
            with open(paths[name], "wb") as f:
                f.write(data)

        secure = Broker(sluice, work, "SASL_SSL", paths["broker.pem"])
        plain = Broker(sluice, work, "SASL_PLAINTEXT")
        expired = Broker(sluice, work, "SASL_SSL", paths["expired.pem"])
        try:
            for mechanism in MECHANISMS:
                round_trip(secure, "SASL_SSL", mechanism, paths["ca.pem"])
            round_trip(plain, "SASL_PLAINTEXT", "SCRAM-SHA-256", None)

            ca = paths["ca.pem"]
            for mechanism in MECHANISMS:
                refused(f"wrong password ({mechanism})",
                        kcat_args(secure, "SASL_SSL", mechanism, "alice", WRONG, ca), "Authentication failed")
                still_serving(secure, "SASL_SSL", ca)
            refused("unknown user (SCRAM-SHA-512)",
                    kcat_args(secure, "SASL_SSL", "SCRAM-SHA-512", "mallory", WRONG, ca), "Authentication failed")
            refused("untrusted CA",
                    kcat_args(secure, "SASL_SSL", "PLAIN", "alice", PASSWORDS["alice"], paths["stranger.pem"]),
                    "certificate verify failed")
            refused("expired certificate",
                    kcat_args(expired, "SASL_SSL", "PLAIN", "alice", PASSWORDS["alice"], ca),
                    "certificate verify failed")
            refused("plaintext client on the TLS port",
                    kcat_args(secure, "SASL_PLAINTEXT", "PLAIN", "alice", PASSWORDS["alice"], None),
                    "Local: ")
            refused("TLS without SASL on the SASL_SSL port",
                    kcat_args(secure, "SSL", None, None, None, ca), "Local: ")
            still_serving(secure, "SASL_SSL", ca)
            speak_before_handshake(plain)
            still_serving(plain, "SASL_PLAINTEXT", None)

            try:
                KafkaProducer(bootstrap_servers=secure.bootstrap,
                              **python_config("SASL_SSL", "SCRAM-SHA-256", "alice", WRONG, ca)).close()
                sys.exit("kafka-python connected with a wrong password")
            except KafkaError as e:
                print(f"ok: refused: kafka-python with a wrong password ({type(e).__name__})")
            still_serving(secure, "SASL_SSL", ca)
        finally:
            for b in (secure, plain, expired):
                b.stop()
        logs = "".join(open(b.log).read() for b in (secure, plain, expired))
        for secret in [*PASSWORDS.values(), WRONG]:
            assert secret not in logs, "a password appears in the broker's log"
        assert "SASL authentication of user" in logs, "refusals were not logged"
        print(f"ok: no password in {len(logs.splitlines())} lines of broker log (RUST_LOG=debug)")
    print("secure interop: all checks passed")


if __name__ == "__main__":
    main()
