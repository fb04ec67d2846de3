//! The `sluice` command: one subcommand per component. Each parses its flags, loads its config
//! file, lets flags override it, and calls the component library's `run`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

mod tools;
mod up;

/// The metric topic `sluice up` creates for the agent and the workers.
const METRIC_TOPIC: &str = "metrics";
const METRIC_PARTITIONS: i32 = 6;

#[derive(Parser)]
#[command(name = "sluice", version, about = "Host metrics through a Kafka-wire pipeline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on this machine: broker, agent, workers and lag exporter.
    Up {
        /// Directory holding broker.toml, agent.toml, workers.toml and lag-exporter.toml.
        #[arg(long, default_value = "config")]
        config_dir: PathBuf,
        /// Where the broker's log, the agent's spool and the file sinks' relative paths go.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Run the bundled Kafka-wire broker.
    Broker {
        /// Broker config file (Kafka's setting names, in TOML).
        #[arg(long, default_value = "config/broker.toml")]
        config: PathBuf,
        /// Listen on HOST:PORT instead of the config's `listeners`.
        #[arg(long, value_name = "HOST:PORT")]
        listen: Option<String>,
        /// Keep data in DIR instead of the config's `log.dirs`.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Serve /metrics and /health on HOST:PORT instead of the config's `sluice.http.listen`
        /// ("" turns it off).
        #[arg(long, value_name = "HOST:PORT")]
        http_listen: Option<String>,
    },
    /// Add, delete and list the bundled broker's SASL users (PLAIN and SCRAM credentials).
    #[command(group(clap::ArgGroup::new("action").required(true).args(["add", "delete", "list"])))]
    Users {
        /// The broker's config file; its `log.dirs` says where `users.toml` lives.
        #[arg(long, default_value = "config/broker.toml")]
        config: PathBuf,
        /// The broker's data directory instead of the config's `log.dirs`.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Add NAME, or set a new password for it. The password is read from the first line of
        /// standard input (or the environment variable SLUICE_USER_PASSWORD), never from the
        /// command line, so it does not show in `ps` or the shell's history.
        #[arg(long, value_name = "NAME")]
        add: Option<String>,
        /// Delete NAME.
        #[arg(long, value_name = "NAME")]
        delete: Option<String>,
        /// List the users.
        #[arg(long)]
        list: bool,
    },
    /// Create, list, describe, alter and delete topics (Kafka's kafka-topics.sh).
    Topics(tools::topics::TopicsArgs),
    /// List, describe, reset and delete consumer groups (Kafka's kafka-consumer-groups.sh).
    Groups(tools::groups::GroupsArgs),
    /// Describe and change the configs of topics and brokers (Kafka's kafka-configs.sh).
    Configs(tools::configs::ConfigsArgs),
    /// Write standard input to a topic, one record per line (Kafka's console producer).
    Produce(tools::console::ProduceArgs),
    /// Print a topic's records (Kafka's console consumer).
    Consume(tools::console::ConsumeArgs),
    /// Run the agent: sample CPU and memory, produce the samples to Kafka (Telegraf's config).
    Agent {
        /// Agent config file (a subset of Telegraf's, in TOML).
        #[arg(long, default_value = "config/agent.toml")]
        config: PathBuf,
        /// Bootstrap brokers instead of the config's `brokers`.
        #[arg(long, value_name = "HOST:PORT,...")]
        brokers: Option<String>,
        /// Serve self-metrics on HOST:PORT instead of the config's `metrics_listen` ("" turns it off).
        #[arg(long, value_name = "HOST:PORT")]
        metrics_listen: Option<String>,
        /// Gather once, print line protocol to stdout and exit (like `telegraf --test`).
        #[arg(long, conflicts_with = "once")]
        test: bool,
        /// Gather once, send one batch, wait for its acknowledgement and exit.
        #[arg(long)]
        once: bool,
    },
    /// Export consumer-group lag as Prometheus metrics (any Kafka cluster).
    LagExporter {
        /// Lag exporter config file.
        #[arg(long, default_value = "config/lag-exporter.toml")]
        config: PathBuf,
        /// Bootstrap brokers instead of the config's `brokers`.
        #[arg(long, value_name = "HOST:PORT,...")]
        brokers: Option<String>,
        /// Serve /metrics on HOST:PORT instead of the config's `listen`.
        #[arg(long, value_name = "HOST:PORT")]
        listen: Option<String>,
    },
    /// Run the workers: consume the metric topic and deliver every record to every sink.
    Worker {
        /// Workers config file (brokers, topic, group, dead-letter topic, [[sinks]]).
        #[arg(long, default_value = "config/workers.toml")]
        config: PathBuf,
        /// Bootstrap brokers instead of the config's `brokers`.
        #[arg(long, value_name = "HOST:PORT,...")]
        brokers: Option<String>,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in files or the journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // The agent wakes a few times a second to do microseconds of work; one thread does it with
    // fewer wake-ups than a work-stealing pool (its overhead is benchmarked against collectd).
    let runtime = match cli.command {
        Command::Agent { .. } => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        _ => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Broker {
            config,
            listen,
            data_dir,
            http_listen,
        } => {
            let mut config = broker_config(&config, listen.as_deref(), data_dir, config_was_given())?;
            if let Some(http) = http_listen {
                config.http_listen = broker::config::parse_http_listen(&http)
                    .map_err(|expected| anyhow::anyhow!("--http-listen {http:?}: expected {expected}"))?;
            }
            broker::run(config, shutdown_signal()).await?;
        }
        Command::Users {
            config,
            data_dir,
            add,
            delete,
            list,
        } => {
            let config = broker_config(&config, None, data_dir, config_was_given())?;
            let path = config.data_dir.join(broker::auth::users::FILE_NAME);
            if let Some(name) = add {
                let password = read_password()?;
                broker::auth::users::add(&path, &name, &password)?;
                println!(
                    "User '{name}' added with SCRAM-SHA-256 and SCRAM-SHA-512 credentials in {}.",
                    path.display()
                );
            } else if let Some(name) = delete {
                broker::auth::users::delete(&path, &name)?;
                println!("User '{name}' deleted.");
            } else if list {
                for name in broker::auth::users::list(&path)? {
                    println!("{name}");
                }
            }
        }
        Command::Topics(args) => tools::topics::run(args).await?,
        Command::Groups(args) => tools::groups::run(args).await?,
        Command::Configs(args) => tools::configs::run(args).await?,
        Command::Produce(args) => tools::console::produce(args).await?,
        Command::Consume(args) => tools::console::consume(args).await?,
        Command::Agent {
            config,
            brokers,
            metrics_listen,
            test,
            once,
        } => {
            let mut config = agent::Config::load(&config)?;
            if let Some(brokers) = brokers {
                for kafka in &mut config.outputs.kafka {
                    kafka.brokers = brokers.split(',').map(|b| b.trim().to_string()).collect();
                }
            }
            if let Some(listen) = metrics_listen {
                config.agent.metrics_listen = listen;
            }
            if test {
                print!("{}", agent::test(config).await?);
            } else if once {
                let n = agent::once(config).await?;
                tracing::info!(records = n, "sent one batch; the broker acknowledged every record");
            } else {
                agent::run(config, shutdown_signal()).await?;
            }
        }
        Command::LagExporter {
            config,
            brokers,
            listen,
        } => {
            let mut config = if config_was_given() || config.exists() {
                lag_exporter::Config::load(&config)?
            } else {
                tracing::info!(path = %config.display(), "no lag exporter config file; using the defaults");
                lag_exporter::Config::default()
            };
            if let Some(brokers) = brokers {
                config.brokers = brokers.split(',').map(|b| b.trim().to_string()).collect();
            }
            if let Some(listen) = listen {
                config.listen = listen;
            }
            lag_exporter::run(config, shutdown_signal()).await?;
        }
        Command::Worker { config, brokers } => {
            let mut config = workers::Config::load(&config)?;
            if let Some(brokers) = brokers {
                config.brokers = brokers.split(',').map(|b| b.trim().to_string()).collect();
            }
            workers::run(config, shutdown_signal()).await?;
        }
        Command::Up { config_dir, data_dir } => up::run(&config_dir, data_dir).await?,
    }
    Ok(())
}

/// A new user's password: SLUICE_USER_PASSWORD, or the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("SLUICE_USER_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(
        !password.is_empty(),
        "no password: give it on standard input (echo \"$PASSWORD\" | sluice users --add NAME) or in SLUICE_USER_PASSWORD"
    );
    Ok(password)
}

/// True when `--config` was on the command line (then a missing file is an error).
fn config_was_given() -> bool {
    std::env::args().any(|a| a == "--config" || a.starts_with("--config="))
}

fn broker_config(
    path: &Path,
    listen: Option<&str>,
    data_dir: Option<PathBuf>,
    required: bool,
) -> anyhow::Result<broker::BrokerConfig> {
    let mut config = if required || path.exists() {
        let (config, warnings) = broker::BrokerConfig::load(path)?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        config
    } else {
        tracing::info!(path = %path.display(), "no broker config file; using Kafka's defaults");
        broker::BrokerConfig::default()
    };
    if let Some(listen) = listen {
        let listener = broker::Listener::parse(listen).map_err(|e| anyhow::anyhow!("--listen {listen}: {e}"))?;
        config.listeners = vec![listener];
        config.advertised_listeners = None;
    }
    if let Some(dir) = data_dir {
        config.data_dir = dir;
    }
    Ok(config)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
