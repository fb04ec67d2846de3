//! The agent, the workers, the lag exporter and the admin tools, each a librdkafka client, over
//! SASL_SSL to the bundled broker: samples travel agent → broker → file sink, the exporter
//! reports the workers' lag, and no password appears in any log or output of the run.
//!
//! Every password reaches its client through `${VAR}` in a config file, as users are told to.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use support::{free_port, scrape, terminate, wait_for, KillOnDrop};

/// (user, mechanism, password, environment variable the config reads it from).
const USERS: [(&str, &str, &str, &str); 4] = [
    (
        "agent",
        "SCRAM-SHA-256",
        "agent-pw-7d1f\"q",
        "SLUICE_TEST_AGENT_PASSWORD",
    ),
    (
        "worker",
        "SCRAM-SHA-512",
        "worker-pw-93ab",
        "SLUICE_TEST_WORKER_PASSWORD",
    ),
    ("exporter", "PLAIN", "exporter-pw-c0de", "SLUICE_TEST_EXPORTER_PASSWORD"),
    ("admin", "SCRAM-SHA-512", "admin-pw-55aa", "SLUICE_TEST_ADMIN_PASSWORD"),
];

/// A CA and the broker's certificate for 127.0.0.1, as PEM files in `dir`: (ca, keystore).
fn make_pki(dir: &Path) -> (PathBuf, PathBuf) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "sluice test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut broker = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    broker.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let cert = broker.signed_by(&key, &ca).unwrap();
    let ca_path = dir.join("ca.pem");
    let keystore = dir.join("broker.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();
    std::fs::write(&keystore, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    (ca_path, keystore)
}

fn sluice() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    for (_, _, password, var) in USERS {
        c.env(var, password);
    }
    c
}

/// Starts `sluice <args>` with debug logging to `log`; killed if the test fails before stopping it.
fn spawn(args: &[&str], log: &Path) -> KillOnDrop {
    let file = std::fs::File::create(log).unwrap();
    let child = sluice()
        .args(args)
        .env("RUST_LOG", "debug")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

fn stop(mut running: KillOnDrop, what: &str) {
    terminate(&mut running.0, what);
}

fn security_keys(ca: &Path, user: &str) -> String {
    let (_, mechanism, _, var) = USERS.iter().find(|u| u.0 == user).unwrap();
    format!(
        "tls_ca = \"{}\"\nsasl_mechanism = \"{mechanism}\"\nsasl_username = \"{user}\"\nsasl_password = \"${{{var}}}\"\n",
        ca.display()
    )
}

fn tool(args: &[&str], properties: &Path) -> Output {
    sluice()
        .args(args)
        .arg("--command-config")
        .arg(properties)
        .output()
        .unwrap()
}

#[test]
fn agent_workers_exporter_and_tools_work_over_sasl_ssl_and_never_show_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ca, keystore) = make_pki(d);
    let port = free_port();
    let bootstrap = format!("127.0.0.1:{port}");
    let broker_toml = d.join("broker.toml");
    std::fs::write(
        &broker_toml,
        format!(
            "listeners = [\"SASL_SSL://{bootstrap}\"]\nlog.dirs = \"{}\"\nsluice.http.listen = \"\"\n\
             ssl.keystore.location = \"{}\"\n",
            d.join("data").display(),
            keystore.display()
        ),
    )
    .unwrap();
    for (user, _, password, _) in USERS {
        let mut add = sluice()
            .args(["users", "--config"])
            .arg(&broker_toml)
            .args(["--add", user])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(add.stdin.take().unwrap(), "{password}").unwrap();
        let out = add.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let mut logs = vec![d.join("broker.log")];
    let broker = spawn(&["broker", "--config", broker_toml.to_str().unwrap()], &logs[0]);
    wait_for("the broker to listen", Duration::from_secs(20), &logs, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });

    // The admin tools read Kafka's client properties file, JAAS line and all.
    let admin = d.join("admin.properties");
    std::fs::write(
        &admin,
        format!(
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"admin\" password=\"${{SLUICE_TEST_ADMIN_PASSWORD}}\";\n\
             ssl.truststore.type=PEM\nssl.truststore.location={}\n",
            ca.display()
        ),
    )
    .unwrap();
    let mut outputs = Vec::new();
    let created = tool(
        &[
            "topics",
            "--bootstrap-server",
            &bootstrap,
            "--create",
            "--topic",
            "metrics",
            "--partitions",
            "2",
        ],
        &admin,
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    outputs.push(created);

    let agent_toml = d.join("agent.toml");
    std::fs::write(
        &agent_toml,
        format!(
            "[agent]\ninterval = \"1s\"\nflush_interval = \"1s\"\nmetrics_listen = \"\"\nspool_dir = \"{}\"\n\
             [[inputs.cpu]]\n[[inputs.mem]]\n[[outputs.kafka]]\nbrokers = [\"{bootstrap}\"]\n{}",
            d.join("spool").display(),
            security_keys(&ca, "agent")
        ),
    )
    .unwrap();
    let sink = d.join("sink.lp");
    let workers_toml = d.join("workers.toml");
    std::fs::write(
        &workers_toml,
        format!(
            "brokers = [\"{bootstrap}\"]\ngroup = \"secure\"\nmetrics_listen = \"\"\n{}\
             [[sinks]]\ntype = \"file\"\nname = \"archive\"\npath = \"{}\"\n",
            security_keys(&ca, "worker"),
            sink.display()
        ),
    )
    .unwrap();
    let exporter_port = free_port();
    let exporter_toml = d.join("lag-exporter.toml");
    std::fs::write(
        &exporter_toml,
        format!(
            "brokers = [\"{bootstrap}\"]\ninterval = \"1s\"\nlisten = \"127.0.0.1:{exporter_port}\"\n{}",
            security_keys(&ca, "exporter")
        ),
    )
    .unwrap();
    logs.extend(["agent.log", "workers.log", "exporter.log"].map(|l| d.join(l)));
    let agent = spawn(&["agent", "--config", agent_toml.to_str().unwrap()], &logs[1]);
    let workers = spawn(&["worker", "--config", workers_toml.to_str().unwrap()], &logs[2]);
    let exporter = spawn(&["lag-exporter", "--config", exporter_toml.to_str().unwrap()], &logs[3]);

    wait_for(
        "cpu and mem samples in the file sink",
        Duration::from_secs(60),
        &logs,
        || {
            let text = std::fs::read_to_string(&sink).unwrap_or_default();
            text.lines().any(|l| l.starts_with("cpu,")) && text.lines().any(|l| l.starts_with("mem,"))
        },
    );
    let series = "kafka_consumergroup_records_lag_max{group=\"secure-archive\",topic=\"metrics\"}";
    wait_for(
        "the exporter to report the workers' lag",
        Duration::from_secs(60),
        &logs,
        || {
            let body = scrape(exporter_port);
            body.contains(series) && body.contains("sluice_lag_exporter_up 1")
        },
    );

    let described = tool(
        &[
            "groups",
            "--bootstrap-server",
            &bootstrap,
            "--describe",
            "--group",
            "secure-archive",
        ],
        &admin,
    );
    let text = String::from_utf8_lossy(&described.stdout).into_owned();
    assert!(
        described.status.success(),
        "{}",
        String::from_utf8_lossy(&described.stderr)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("secure-archive") && l.contains("metrics")),
        "{text}"
    );
    outputs.push(described);

    // A wrong password is refused with one line, and the broker keeps serving the others.
    let wrong = d.join("wrong.properties");
    std::fs::write(
        &wrong,
        std::fs::read_to_string(&admin)
            .unwrap()
            .replace("${SLUICE_TEST_ADMIN_PASSWORD}", "not-the-admin-pw"),
    )
    .unwrap();
    let refused = tool(&["topics", "--bootstrap-server", &bootstrap, "--list"], &wrong);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "a wrong password listed topics");
    assert!(stderr.contains("authentication"), "{stderr}");
    assert!(!stderr.contains("not-the-admin-pw"), "{stderr}");
    let listed = tool(&["topics", "--bootstrap-server", &bootstrap, "--list"], &admin);
    let names = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(names.lines().any(|l| l == "metrics"), "{names}");
    outputs.push(listed);

    stop(agent, "the agent");
    stop(workers, "the workers");
    stop(exporter, "the lag exporter");
    stop(broker, "the broker");

    let mut everything = String::new();
    for log in &logs {
        everything += &std::fs::read_to_string(log).unwrap();
    }
    for o in &outputs {
        everything += &String::from_utf8_lossy(&o.stdout);
        everything += &String::from_utf8_lossy(&o.stderr);
    }
    assert!(
        everything.len() > 10_000,
        "debug logs were written ({} bytes)",
        everything.len()
    );
    for (user, _, password, _) in USERS {
        assert!(
            !everything.contains(password),
            "{user}'s password appears in a log or an output"
        );
    }
}
