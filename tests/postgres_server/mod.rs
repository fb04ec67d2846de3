//! A throwaway PostgreSQL server from the distribution's binaries (Debian's `postgresql`
//! package): a fresh cluster in a temporary directory, on 127.0.0.1 and a free port, its unix
//! socket inside that directory, fsync off. (Not `synchronous_commit = off`: an immediate stop
//! would lose the last commits, and the restart test would rightly call that loss.) PostgreSQL refuses to run as root, so under root
//! it runs as the `postgres` user the package creates.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const NOT_INSTALLED: &str = "PostgreSQL not installed (initdb not found on PATH or in \
                                 /usr/lib/postgresql/*/bin); .ci/install installs it";

/// A test that needs PostgreSQL fails without it, saying what is missing: the README's test
/// command installs it first (`.ci/install`), so a missing server is a broken install, never a
/// reason to pass.
fn missing(reason: &str) -> ! {
    panic!("the PostgreSQL tests cannot run: {reason}");
}

pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// Who runs the server's programs: `Some("postgres")` when the tests run as root.
    user: Option<&'static str>,
}

impl Postgres {
    /// A running server; fails the test, saying why, if there can be none.
    pub fn start() -> Postgres {
        let Some(bin) = find_bin() else {
            missing(NOT_INSTALLED);
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let user = if unsafe { libc::geteuid() } == 0 {
            if !run(Command::new("id").args(["-u", "postgres"])).status.success() {
                missing("running as root and there is no postgres user to run PostgreSQL as");
            }
            Some("postgres")
        } else {
            None
        };
        let dir = tempfile::tempdir().unwrap();
        if let Some(user) = user {
            check(run(Command::new("chown").arg(user).arg(dir.path())), "chown");
        }
        let pg = Postgres {
            bin,
            dir,
            port: free_port(),
            user,
        };
        let data = pg.data();
        check(
            run(pg.command("initdb").arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])),
            "initdb",
        );
        pg.start_again();
        pg
    }

    /// libpq's keywords for this server, as the sink's `url` takes them.
    pub fn url(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    /// Starts the (stopped) server over the same data directory and port.
    pub fn start_again(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "30", "-o", &options, "start"]));
        if !out.status.success() {
            panic!(
                "pg_ctl start failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
        }
    }

    /// Stops the server at once, as a crash would (no shutdown checkpoint).
    pub fn stop(&self) {
        check(
            run(self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])),
            "pg_ctl stop",
        );
    }

    /// Runs `sql` with psql; rows as lines, columns separated by `|`, times in UTC.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        let out = run(Command::new(self.bin.join("psql"))
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url())
            .args(["-c", sql])
            .env("PGTZ", "UTC"));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `psql`, panicking on an error.
    pub fn query(&self, sql: &str) -> String {
        self.psql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The directory of `initdb`, `pg_ctl`, `postgres` and `psql`: where `initdb` on PATH really
/// lives (Debian keeps them in /usr/lib/postgresql/<major>/bin), else the newest major there.
fn find_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("initdb"))
            .find(|p| p.is_file())
            .and_then(|p| std::fs::canonicalize(p).ok())
            .and_then(|p| p.parent().map(Path::to_path_buf))
    });
    on_path.or_else(|| {
        let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let major = e.file_name().to_str()?.parse().ok()?;
                Some((major, e.path().join("bin")))
            })
            .filter(|(_, bin)| bin.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop().map(|(_, bin)| bin)
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(c: &mut Command) -> Output {
    c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"))
}

fn check(out: Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
