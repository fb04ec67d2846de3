#!/usr/bin/env python3
"""Lag exporter benchmark: 200 groups over a 1,000-partition topic on the bundled broker.

    cargo build --release --bin sluice
    python3 bench/lag-exporter.py [target/release/sluice]

Starts `sluice broker` and `sluice lag-exporter` as separate processes (so the exporter's CPU and
memory are its own), produces 20 records to each of 1,000 partitions with known timestamps, has
200 groups commit offsets 0..19 (group i at i % 20, so every partition of every group lags and lag
in seconds needs 20,000 first-unconsumed records), then scrapes /metrics back to back for
MEASURE seconds while the exporter collects every INTERVAL. Needs kafka-python (`.ci/install`).
"""
import os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

SLUICE = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/sluice")
PARTITIONS, RECORDS, GROUPS = 1000, 20, 200
INTERVAL, MEASURE = 1, 20


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def scrape(port):
    t = time.perf_counter()
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return time.perf_counter() - t, body


def value(body, name):
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # MiB


def main():
    d = tempfile.mkdtemp(prefix="lag-bench-")
    kport, mport = free_port(), free_port()
    bootstrap = f"127.0.0.1:{kport}"
    broker = subprocess.Popen([SLUICE, "broker", "--listen", bootstrap, "--data-dir", f"{d}/data", "--http-listen", ""],
                              stdout=subprocess.DEVNULL, stderr=open(f"{d}/broker.log", "w"))
    exporter = None
    try:
        time.sleep(1.5)
        subprocess.run([SLUICE, "topics", "--bootstrap-server", bootstrap, "--create", "--topic", "bench",
                        "--partitions", str(PARTITIONS)], check=True, stdout=subprocess.DEVNULL)
        t0 = int(time.time() * 1000) - 3_600_000
        t = time.time()
        producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
        for p in range(PARTITIONS):
            for o in range(RECORDS):
                producer.send("bench", b"x", partition=p, timestamp_ms=t0 + o * 1000)
        producer.flush(); producer.close()
        print(f"produced {PARTITIONS * RECORDS} records in {time.time() - t:.1f}s", file=sys.stderr)
        t = time.time()
        tps = [TopicPartition("bench", p) for p in range(PARTITIONS)]
        for g in range(GROUPS):
            c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=f"group-{g:03}", enable_auto_commit=False)
            c.commit({tp: OffsetAndMetadata(g % RECORDS, "", -1) for tp in tps})
            c.close()
        print(f"{GROUPS} groups committed in {time.time() - t:.1f}s", file=sys.stderr)

        with open(f"{d}/lag-exporter.toml", "w") as f:
            f.write(f'brokers = ["{bootstrap}"]\ninterval = "{INTERVAL}s"\ntimeout = "60s"\nlisten = "127.0.0.1:{mport}"\n')
        exporter = subprocess.Popen([SLUICE, "lag-exporter", "--config", f"{d}/lag-exporter.toml"],
                                    stdout=subprocess.DEVNULL, stderr=open(f"{d}/exporter.log", "w"),
                                    env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "info")})
        deadline = time.time() + 120
        while True:
            try:
                _, body = scrape(mport)
                if value(body, "sluice_lag_exporter_up") == 1:
                    break
            except OSError:
                pass
            assert time.time() < deadline, "no successful collection"
            time.sleep(0.05)
        cold = value(body, "sluice_lag_exporter_collect_duration_seconds")
        series = value(body, "sluice_lag_exporter_series")
        lag_max = [l for l in body.splitlines() if l.startswith('kafka_consumergroup_records_lag_max{group="group-007"')]
        lag_s = [l for l in body.splitlines() if l.startswith('kafka_consumergroup_lag_seconds{group="group-007"')]
        print(f"check: {lag_max} {lag_s} (expect lag 13, about 3600 - 7 s)", file=sys.stderr)

        if os.environ.get("PERF"):
            subprocess.run(["perf", "record", "-g", "-o", f"{d}/perf.data", "-p", str(exporter.pid), "--", "sleep", "5"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"perf data: {d}/perf.data", file=sys.stderr)

        if os.environ.get("RSS_WATCH"):
            for _ in range(int(os.environ["RSS_WATCH"]) // 5):
                time.sleep(5)
                print(f"RSS {status(exporter.pid, 'VmRSS'):.0f} MiB", file=sys.stderr)

        def measure(seconds, pause):
            cpu0, w0 = cpu_seconds(exporter.pid), time.time()
            latencies, durations, last = [], [], None
            while time.time() - w0 < seconds:
                dt, body = scrape(mport)
                latencies.append(dt)
                ls = value(body, "sluice_lag_exporter_last_success_timestamp_seconds")
                if ls != last:
                    last = ls
                    durations.append(value(body, "sluice_lag_exporter_collect_duration_seconds"))
                time.sleep(pause)
            latencies.sort()
            return latencies, durations[1:], (cpu_seconds(exporter.pid) - cpu0) / (time.time() - w0), body

        def q(lat, x):
            return lat[min(len(lat) - 1, int(x * len(lat)))] * 1000

        # Phase 1: 4 scrapes a second (light) while collections run every INTERVAL.
        lat, durations, cpu, body = measure(MEASURE, 0.25)
        print(f"groups {GROUPS}, partitions {PARTITIONS}, series served {series:.0f}, body {len(body)} bytes")
        print(f"collection: first (cold timestamp cache) {cold:.3f} s; later: median {statistics.median(durations):.3f} s, "
              f"max {max(durations):.3f} s over {len(durations)} collections")
        print(f"light scraping (4/s) during back-to-back collections: {len(lat)} scrapes, p50 {q(lat, 0.5):.1f} ms, "
              f"p99 {q(lat, 0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms; exporter CPU {cpu * 100:.0f}% of one core, "
              f"RSS {status(exporter.pid, 'VmRSS'):.0f} MiB, peak {status(exporter.pid, 'VmHWM'):.0f} MiB")
        # Phase 2: scrapes back to back (a scrape is always concurrent with a collection).
        lat, durations, cpu, body = measure(10, 0)
        print(f"back-to-back scraping: {len(lat)} scrapes in 10 s, p50 {q(lat, 0.5):.1f} ms, p99 {q(lat, 0.99):.1f} ms, "
              f"max {lat[-1] * 1000:.1f} ms; collections meanwhile: median {statistics.median(durations):.3f} s; "
              f"exporter CPU {cpu * 100:.0f}% of one core")
        print(f"exporter log: {d}/exporter.log", file=sys.stderr)
    finally:
        for p in (exporter, broker):
            if p:
                p.terminate(); p.wait()


if __name__ == "__main__":
    main()
