//! Crash and shutdown under load, against a real collector process, for SQLite and PostgreSQL:
//! loaders post batches and record which were acknowledged (200); the collector is killed with
//! SIGKILL mid-load and restarted on the same data, or stopped with SIGTERM mid-load. Every
//! acknowledged event must then be in the store, exactly once.

mod common;

use common::load::{assert_stored_exactly_once, Collector, Load, LOAD_APP};
use common::postgres::{test_db, TestDb};
use tempfile::TempDir;

/// Acknowledged batches to wait for before interrupting, so that it lands mid-load.
const ACKED_BEFORE_INTERRUPT: usize = 100;

/// Where a test's collector keeps its data.
enum Target {
    Sqlite,
    Postgres(TestDb),
}

struct Setup {
    dir: TempDir,
    target: Target,
}

impl Setup {
    fn new(target: Target) -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            target,
        }
    }

    fn start(&self) -> Collector {
        let extra = match &self.target {
            Target::Sqlite => vec![],
            Target::Postgres(db) => vec!["--store".to_owned(), db.url.clone()],
        };
        Collector::start(self.dir.path(), &extra)
    }

    /// The metric ids of the load's stored web vitals.
    fn stored(&self) -> Vec<String> {
        const IDS: &str = "SELECT metric_id FROM web_vitals WHERE app = $1";
        match &self.target {
            Target::Sqlite => {
                let db = rusqlite::Connection::open(self.dir.path().join("perfwatch.db"))
                    .expect("open db");
                db.prepare(IDS)
                    .and_then(|mut stmt| {
                        stmt.query_map([LOAD_APP], |row| row.get(0))?
                            .collect::<Result<Vec<String>, _>>()
                    })
                    .expect("query ids")
            }
            Target::Postgres(db) => db.with_client(|client| {
                client
                    .query(IDS, &[&LOAD_APP])
                    .expect("query ids")
                    .iter()
                    .map(|row| row.get(0))
                    .collect()
            }),
        }
    }

    fn assert_acked_stored_once(&self, acked: &[String]) {
        assert!(
            acked.len() >= ACKED_BEFORE_INTERRUPT,
            "{} acked",
            acked.len()
        );
        assert_stored_exactly_once(&self.stored(), acked);
    }
}

fn sigkill_mid_load_then_restart(setup: &Setup) {
    let collector = setup.start();
    let load = Load::start(collector.addr);
    load.until_acked(ACKED_BEFORE_INTERRUPT);
    collector.sigkill();
    let acked = load.finish();

    // The collector starts again on the data the kill left behind, and stops cleanly.
    let restarted = setup.start();
    restarted.until_healthy();
    assert!(
        restarted.sigterm().success(),
        "exit 0 on SIGTERM after recovery"
    );
    setup.assert_acked_stored_once(&acked);
}

fn sigterm_mid_load(setup: &Setup) {
    let collector = setup.start();
    collector.until_healthy();
    let load = Load::start(collector.addr);
    load.until_acked(ACKED_BEFORE_INTERRUPT);
    // actix gives in-flight requests 10 s and the writer drains a bounded queue, so the wait
    // is bounded; the test asserts the outcome, not a duration (machines here are noisy).
    let status = collector.sigterm();
    let acked = load.finish();
    assert!(status.success(), "exit 0 on SIGTERM under load: {status}");
    setup.assert_acked_stored_once(&acked);
}

#[test]
fn sqlite_acknowledged_events_survive_sigkill_exactly_once() {
    sigkill_mid_load_then_restart(&Setup::new(Target::Sqlite));
}

#[test]
fn sqlite_sigterm_mid_load_drains_commits_and_exits_0() {
    sigterm_mid_load(&Setup::new(Target::Sqlite));
}

#[test]
fn postgres_acknowledged_events_survive_sigkill_exactly_once() {
    sigkill_mid_load_then_restart(&Setup::new(Target::Postgres(test_db())));
}

#[test]
fn postgres_sigterm_mid_load_drains_commits_and_exits_0() {
    sigterm_mid_load(&Setup::new(Target::Postgres(test_db())));
}

#[test]
fn sigterm_right_after_the_address_is_announced_is_graceful() {
    // The signal handlers are in place before the "listening on" line goes out: a supervisor
    // that stops the collector at once still gets a clean exit, not a kill.
    let setup = Setup::new(Target::Sqlite);
    let status = setup.start().sigterm();
    assert!(status.success(), "exit 0: {status}");
}
