//! The SASL_SSL peer: a second sluice broker whose only listener is SASL_SSL, with a CA, a
//! certificate for 127.0.0.1 and one SCRAM-SHA-256 user made for the run, so the table shows
//! what TLS and SASL cost against PLAINTEXT on the same machine at the same time.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::broker::{free_port, Broker, TempDir};

const USER: &str = "bench";
const PASSWORD: &str = "bench-password";

/// Writes `ca.pem` and `broker.pem` (certificate and key) into `dir`.
fn certificates(dir: &Path) -> anyhow::Result<()> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "sluice-bench CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])?.signed_by(&key, &ca)?;
    std::fs::write(dir.join("ca.pem"), ca.pem())?;
    std::fs::write(dir.join("broker.pem"), format!("{}{}", cert.pem(), key.serialize_pem()))?;
    Ok(())
}

pub fn start(bin: &Path) -> anyhow::Result<Broker> {
    let port = free_port()?;
    let dir = std::env::temp_dir().join(format!("sluice-bench-secure-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let guard = TempDir(dir.clone());
    certificates(&dir)?;
    let config = dir.join("broker.toml");
    std::fs::write(
        &config,
        format!(
            "listeners = [\"SASL_SSL://127.0.0.1:{port}\"]\nlog.dirs = \"{}\"\nsluice.http.listen = \"\"\n\
             ssl.keystore.location = \"{}\"\nsasl.enabled.mechanisms = [\"SCRAM-SHA-256\"]\n",
            dir.join("data").display(),
            dir.join("broker.pem").display()
        ),
    )?;
    let mut add = Command::new(bin)
        .args(["users", "--config"])
        .arg(&config)
        .args(["--add", USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    writeln!(add.stdin.take().context("stdin")?, "{PASSWORD}")?;
    if !add.wait()?.success() {
        bail!("sluice users --add failed");
    }
    let spawned = std::time::Instant::now();
    let child = Command::new(bin)
        .args(["broker", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut broker = Broker::ready("sluice SASL_SSL", child, spawned, port, Some(guard))?;
    broker.settings = vec![
        ("security.protocol", "SASL_SSL".into()),
        ("sasl.mechanisms", "SCRAM-SHA-256".into()),
        ("sasl.username", USER.into()),
        ("sasl.password", PASSWORD.into()),
        ("ssl.ca.location", dir.join("ca.pem").display().to_string()),
    ];
    Ok(broker)
}
