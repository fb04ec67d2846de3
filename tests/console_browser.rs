//! `sluice up`'s console in a real browser: Debian's Chromium, driven by playwright-core
//! (`tests/console/check.mjs`), loads the page of a running `sluice up`, waits for host data, and
//! reads back every table and chart. The figures must be those of `/api/console` for the same
//! snapshot, of this machine (`/proc/meminfo`), and of `sluice groups --describe`.
//!
//! Chromium and playwright-core come from `.ci/install`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::up::{up, write_configs, Ports};
use support::{repo, table_rows, wait_for, KillOnDrop};

const GROUP: &str = "sluice-workers-archive";

fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    // "HTTP/1.0 200 OK": the server answers in the request's version.
    (head.split_whitespace().nth(1) == Some("200")).then(|| body.to_string())
}

/// A figure the page shows: its exact value (`data-value`, or the cell's text).
fn number(row: &Value, field: &str) -> f64 {
    row[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{field} is not a number in {row}"))
}

fn mem_total_bytes() -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024.0
}

#[test]
fn the_console_shows_this_hosts_topics_and_groups_as_sluices_tools_see_them() {
    let check = repo("tests/console/check.mjs");
    assert!(
        repo("tests/console/node_modules/playwright-core").exists() && Path::new("/usr/bin/chromium").exists(),
        "Chromium and playwright-core are missing: run .ci/install"
    );
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::free();
    let config = write_configs(dir.path(), &ports);
    let log = dir.path().join("up.log");
    let _up = KillOnDrop(up(&config, &dir.path().join("data"), &log));

    // The API first, so the browser starts once there is something to show.
    wait_for(
        "a host and the archive group's lag on /api/console",
        Duration::from_secs(60),
        std::slice::from_ref(&log),
        || {
            get(ports.console, "/api/console")
                .and_then(|body| serde_json::from_str::<Value>(&body).ok())
                .is_some_and(|v| {
                    v["hosts"].as_array().is_some_and(|h| !h.is_empty())
                        && v["groups"].as_array().is_some_and(|gs| {
                            gs.iter()
                                .any(|g| g["group"] == GROUP && g["lag_history"][0]["points"][1].is_array())
                        })
                })
        },
    );

    let screenshot = dir.path().join("console.png");
    let url = format!("http://127.0.0.1:{}/", ports.console);
    let out = Command::new("node")
        .arg(&check)
        .arg(&url)
        .arg(&screenshot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Read the group with sluice's tool right after the browser did, so offsets barely moved.
    let describe = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["groups", "--bootstrap-server", &format!("127.0.0.1:{}", ports.broker)])
        .args(["--describe", "--group", GROUP])
        .output()
        .unwrap();
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (dom, api) = (&seen["dom"], &seen["api"]);

    // Hosts: this machine, with its real memory size, and the API's figures to the last bit.
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let hosts = dom["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    let (host, api_host) = (&hosts[0], &api["hosts"][0]);
    assert_eq!(host["host"], hostname.trim());
    let cpu = number(host, "cpu_usage_percent");
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    assert_eq!(Some(cpu), api_host["cpu_usage_percent"].as_f64());
    assert_eq!(number(host, "mem_total_bytes"), mem_total_bytes());
    let used = number(host, "mem_used_bytes");
    assert!(used > 0.0 && used < mem_total_bytes(), "{used}");
    assert_eq!(Some(used), api_host["mem_used_bytes"].as_f64());

    // Topics: the metric topic's six partitions, their sizes adding up, records coming in.
    let topic = dom["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "metrics")
        .unwrap_or_else(|| panic!("no metrics row: {dom}"));
    assert_eq!(number(topic, "partitions"), 6.0);
    assert!(number(topic, "records_in_per_second") > 0.0, "{topic}");
    let partitions: Vec<&Value> = dom["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["topic"] == "metrics")
        .collect();
    assert_eq!(partitions.len(), 6);
    let size: f64 = partitions.iter().map(|p| number(p, "size_bytes")).sum();
    assert_eq!(size, number(topic, "size_bytes"));
    assert!(size > 0.0);
    let api_topic = api["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "metrics")
        .unwrap();
    for (p, a) in partitions
        .iter()
        .zip(api_topic["partition_offsets"].as_array().unwrap())
    {
        assert_eq!(Some(number(p, "log_end_offset")), a["log_end_offset"].as_f64());
        assert_eq!(Some(number(p, "log_start_offset")), a["log_start_offset"].as_f64());
    }

    // Groups: the archive group as `sluice groups --describe` lists it: the same partitions,
    // owners and (as the agent goes on producing between the two reads) nearly the same offsets.
    let group = dom["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == GROUP && g["topic"] == "metrics")
        .unwrap_or_else(|| panic!("no {GROUP} row: {dom}"));
    assert_eq!(group["state"], "Stable");
    assert_eq!(number(group, "members"), 1.0);
    assert_eq!(group["lagging"], "false");
    let text = String::from_utf8_lossy(&describe.stdout);
    assert!(describe.status.success(), "{text}");
    let tool: BTreeMap<String, Vec<String>> = table_rows(
        &text,
        "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID",
    )
    .into_iter()
    .map(|row| (row[2].clone(), row))
    .collect();
    let page: Vec<&Value> = dom["group_partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["group"] == GROUP)
        .collect();
    assert_eq!(page.len(), tool.len(), "{page:?}\n{text}");
    for row in page {
        let partition = row["partition"].as_str().unwrap();
        let t = &tool[partition];
        for (field, column) in [("member_id", 6), ("host", 7), ("client_id", 8)] {
            assert_eq!(row[field], t[column].as_str(), "partition {partition}: {field}");
        }
        for (field, column) in [("committed_offset", 3), ("log_end_offset", 4)] {
            // A partition the group never committed on shows "-" in both.
            if t[column] == "-" {
                assert_eq!(row[field], "-", "partition {partition}: {field}");
                continue;
            }
            let (shown, listed): (f64, f64) = (number(row, field), t[column].parse().unwrap());
            // Records arrive at about two a second, on one partition: a few seconds apart, the
            // two reads may differ by a handful; an idle partition's offsets must be equal.
            assert!(
                listed >= shown && listed - shown <= 20.0,
                "partition {partition}: {field} {shown} on the page, {listed} from sluice groups"
            );
        }
    }

    // Charts: CPU, memory and the group's lag, each drawn with its points.
    let charts = dom["charts"].as_array().unwrap();
    for title in ["CPU usage", "Memory used", &format!("records-lag-max of {GROUP}")] {
        let chart = charts
            .iter()
            .find(|c| c["title"] == title)
            .unwrap_or_else(|| panic!("no chart {title}: {charts:?}"));
        // One line each (one host, one topic); its legend's sample is a 2-point line too, so
        // the data line is the one with as many points as the chart says it has, at least 3.
        let points = chart["points"].as_u64().unwrap();
        assert!(points >= 3, "{chart}");
        let drawn = chart["drawn"].as_array().unwrap();
        assert!(
            drawn.iter().any(|n| n.as_u64() == Some(points)),
            "{title}: the line is not drawn: {chart}"
        );
    }
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{} bytes", png.len());
    if let Ok(keep) = std::env::var("SLUICE_CONSOLE_SCREENSHOT") {
        std::fs::copy(&screenshot, keep).unwrap();
    }
}
