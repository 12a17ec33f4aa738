//! A real, throwaway PostgreSQL server for the tests: one per test binary, started on first use,
//! with one fresh database per test ([`test_db`]) so that tests run in parallel against it.
//!
//! Start: a temp dir (owned by the `postgres` user when the tests run as root, since `initdb`
//! and `pg_ctl` refuse root; they then run through `runuser -u postgres --`), `initdb` with trust
//! authentication, and `pg_ctl start` on a free loopback port with `fsync=on`,
//! `listen_addresses=127.0.0.1` and the Unix socket inside the temp dir.
//!
//! Stop: the server lives in a `static`, whose `Drop` never runs, and libtest has no "after all
//! tests" hook. So before starting it the helper spawns a watchdog: `sh` reading its stdin, a
//! pipe whose other end only this test process holds (Rust opens pipes close-on-exec, so
//! neither `pg_ctl` nor the postmaster inherits it). When the test process ends, however it
//! ends (passing, failing, a panic that aborts, SIGKILL, Ctrl-C), the kernel closes that end,
//! the watchdog reads end-of-file, runs `pg_ctl stop -m immediate` and removes the temp dir
//! (immediate rather than fast: the cluster is deleted next, so fast's shutdown checkpoint
//! would only keep the server alive about a second longer after the tests end). The
//! watchdog is in its own process group and ignores SIGINT/SIGTERM/SIGHUP so that the Ctrl-C
//! that kills the tests does not kill it first. Stopping "when the last handle drops" was the
//! other option, but tests running one after another would then start and stop a server each.
//!
//! Without PostgreSQL's server binaries every test using this fails, naming
//! `scripts/setup-test.sh`, which installs them.
#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The server this test binary shares, or why it could not start.
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

struct Server {
    port: u16,
    /// `pg_ctl`, to stop and start the server again ([`stop_server`], [`start_server`]).
    pg_ctl: PathBuf,
    data: String,
    log: String,
    options: String,
    as_postgres: bool,
    /// Held open until the process exits: its closing tells the watchdog to stop the server.
    _watchdog: Mutex<ChildStdin>,
}

/// The running server, started if needed; panics (failing the test) when it cannot start.
fn server() -> &'static Server {
    match SERVER.get_or_init(Server::start) {
        Ok(server) => server,
        Err(why) => panic!("{why}"),
    }
}

/// Stops this test binary's server (fast shutdown), to test what an outage does. Every test
/// of the binary shares the server: use it only in a binary of its own.
pub fn stop_server() {
    let s = server();
    run_as(
        s.as_postgres,
        &s.pg_ctl,
        &["stop", "-w", "-t", "60", "-m", "fast", "-D", &s.data],
    )
    .unwrap_or_else(|why| panic!("stopping the test server: {why}"));
}

/// Starts the server [`stop_server`] stopped, on the same port and data.
pub fn start_server() {
    let s = server();
    run_as(
        s.as_postgres,
        &s.pg_ctl,
        &[
            "start", "-w", "-t", "60", "-D", &s.data, "-l", &s.log, "-o", &s.options,
        ],
    )
    .unwrap_or_else(|why| panic!("starting the test server again: {why}"));
}

/// Runs `program` with `args`, as the postgres user when `as_postgres`.
fn run_as(as_postgres: bool, program: &Path, args: &[&str]) -> Result<(), String> {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let out = command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", program.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {args:?} failed ({}):\n{}{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A fresh, empty database on the shared server.
#[derive(Debug, Clone)]
pub struct TestDb {
    /// Its name (`t_<random>`).
    pub name: String,
    /// `postgres://postgres@127.0.0.1:PORT/NAME` (trust authentication: no password).
    pub url: String,
    port: u16,
}

impl TestDb {
    /// Its URL with a password, which the server (trust authentication) ignores: to check that
    /// a password never shows.
    pub fn url_with_password(&self, password: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/{}",
            self.port, self.name
        )
    }

    /// Runs `work` with a client of this database, on a plain thread: the synchronous
    /// `postgres` client panics on a thread that drives async tasks (`#[actix_web::test]`).
    pub fn with_client<T: Send>(&self, work: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
        let url = self.url.clone();
        on_plain_thread(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)
                .unwrap_or_else(|e| panic!("connecting to the test database {url}: {e:?}"));
            work(&mut client)
        })
    }
}

/// Creates a database on the test binary's PostgreSQL server, starting it first if needed.
/// Panics (failing the test) when the server cannot start, saying why.
pub fn test_db() -> TestDb {
    let server = server();
    let name = format!("t_{:016x}", random());
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    on_plain_thread(|| {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test server: {e:?}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e:?}"));
    });
    TestDb {
        url: format!("postgres://postgres@127.0.0.1:{}/{name}", server.port),
        name,
        port: server.port,
    }
}

/// Runs `work` on a new plain thread and returns its result (re-raising its panic).
pub fn on_plain_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| match scope.spawn(work).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Where PostgreSQL's server binaries are: Debian's `/usr/lib/postgresql/<newest>/bin`, else
/// `initdb` on the `PATH`.
fn bin_dir() -> Result<PathBuf, String> {
    let debian = Path::new("/usr/lib/postgresql");
    let newest = std::fs::read_dir(debian)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    if let Some((_, bin)) = newest {
        return Ok(bin);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file());
    on_path.ok_or_else(|| {
        "PostgreSQL's server binaries are not installed (no /usr/lib/postgresql/*/bin/initdb, \
         no initdb on the PATH): run scripts/setup-test.sh, which installs Debian's postgresql \
         package, then run the tests again"
            .to_owned()
    })
}

/// The output of `id ARGS`, trimmed.
fn id(args: &[&str]) -> Result<String, String> {
    let out = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("running id {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "id {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn uid_gid_of(user: &str) -> Result<(u32, u32), String> {
    let parse = |text: String| {
        text.parse::<u32>()
            .map_err(|e| format!("id of {user}: {text}: {e}"))
    };
    Ok((parse(id(&["-u", user])?)?, parse(id(&["-g", user])?)?))
}

/// A free loopback port (free when asked; the server binds it a moment later).
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding 127.0.0.1:0: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}

/// Stops the server in `$1/data` with `$2` (pg_ctl) as the postgres user when `$3` is 1, then
/// removes `$1`; once its stdin closes.
const WATCHDOG: &str = r#"
trap '' INT TERM HUP
cat >/dev/null
if [ -f "$1/data/postmaster.pid" ]; then
  if [ "$3" = 1 ]; then
    runuser -u postgres -- "$2" stop -D "$1/data" -m immediate -w -t 60 >/dev/null 2>&1
  else
    "$2" stop -D "$1/data" -m immediate -w -t 60 >/dev/null 2>&1
  fi
fi
rm -rf "$1"
"#;

impl Server {
    fn start() -> Result<Self, String> {
        let bin = bin_dir()?;
        let as_postgres = id(&["-u"])? == "0";
        // As root, in /tmp: the postgres user may not reach a TMPDIR under /root.
        let parent = if as_postgres {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("perfwatch-pg-")
            .tempdir_in(parent)
            .map_err(|e| format!("creating a temp dir: {e}"))?
            .keep();
        if as_postgres {
            let (uid, gid) = uid_gid_of("postgres").map_err(|e| {
                format!("{e} (the tests run as root, so PostgreSQL runs as the postgres user; run scripts/setup-test.sh)")
            })?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let pg_ctl = bin.join("pg_ctl");
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("perfwatch-pg-watchdog")
            .arg(&dir)
            .arg(&pg_ctl)
            .arg(if as_postgres { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting the watchdog shell: {e}"))?;
        let watchdog_stdin = watchdog.stdin.take().ok_or("the watchdog has no stdin")?;

        let run = |program: &Path, args: &[&str]| run_as(as_postgres, program, args);
        let data = dir.join("data");
        let data_arg = data.to_string_lossy().into_owned();
        run(
            &bin.join("initdb"),
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                // The cluster is thrown away: skip initdb's own final sync. The server itself
                // runs with fsync on.
                "--no-sync",
            ],
        )?;
        let log = dir.join("server.log");
        let log_arg = log.to_string_lossy().into_owned();
        // A port found free may be taken before the server binds it: try a few.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let options = format!(
                "-c fsync=on -c listen_addresses=127.0.0.1 -c port={port} \
                 -c unix_socket_directories='{}'",
                dir.display()
            );
            match run(
                &pg_ctl,
                &[
                    "start", "-w", "-t", "60", "-D", &data_arg, "-l", &log_arg, "-o", &options,
                ],
            ) {
                Ok(()) => {
                    return Ok(Self {
                        port,
                        pg_ctl,
                        data: data_arg,
                        log: log_arg,
                        options,
                        as_postgres,
                        _watchdog: Mutex::new(watchdog_stdin),
                    })
                }
                Err(why) => {
                    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
                    last_error = format!("{why}\nserver log:\n{server_log}");
                }
            }
        }
        // The watchdog cleans up when its stdin closes, here.
        drop(watchdog_stdin);
        let _ = watchdog.wait();
        Err(format!(
            "the test PostgreSQL server did not start: {last_error}"
        ))
    }
}
