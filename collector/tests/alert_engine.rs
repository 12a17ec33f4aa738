//! The rule engine on synthetic series, evaluation by evaluation: pending, firing after `for`,
//! flapping held by `keep_firing_for`, hysteresis, resolution, no-data handling, two
//! severities, predictions and anomalies.

use perfwatch_collector::alerts::engine::{Engine, Evaluation, Observation, NODATA_LABEL};
use perfwatch_collector::alerts::model::{fingerprint, AlertState, Labels};
use perfwatch_collector::alerts::rules::{self, Rule};
use perfwatch_collector::host_history::Thresholds;

const STEP: i64 = 15_000;

/// The one rule of `body` (an `[[alerts.rules]]` table without its header).
fn rule(body: &str) -> Rule {
    let text = format!("[alerts]\ndefault_rules = false\n[[alerts.rules]]\n{body}\n");
    let mut config = rules::parse(&text, Thresholds::default()).expect("rule parses");
    config.rules.remove(0)
}

fn host(name: &str) -> Labels {
    Labels::from([("host".to_owned(), name.to_owned())])
}

fn obs(series: Labels, value: f64) -> Observation {
    Observation {
        series,
        value: Some(value),
        count: 1,
        points: Vec::new(),
    }
}

/// Evaluates `engine` at evaluation `i` with `observations`.
fn step(engine: &mut Engine, i: i64, observations: Vec<Observation>) -> Evaluation {
    engine.evaluate(i * STEP, &mut |_| Ok(observations.clone()))
}

/// The state of the alert of `rule` on `series` at `severity`, if any is active.
fn state_of(engine: &Engine, rule: &Rule, series: &Labels, severity: &str) -> Option<AlertState> {
    let labels = rule.alert_labels(
        series,
        if severity == "critical" {
            perfwatch_collector::alerts::model::Severity::Critical
        } else {
            perfwatch_collector::alerts::model::Severity::Warning
        },
    );
    let fp = fingerprint(&labels);
    engine
        .active()
        .into_iter()
        .find(|a| a.fingerprint == fp)
        .map(|a| a.state)
}

#[test]
fn pending_then_firing_after_for_then_resolved() {
    let r = rule(
        "name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90\nfor = \"45s\"\n\
         summary = \"CPU {{ value }}% on {{ host }}\"",
    );
    let mut engine = Engine::new(vec![r.clone()]);
    let a = host("a");
    assert!(step(&mut engine, 0, vec![obs(a.clone(), 50.0)])
        .active
        .is_empty());
    let e = step(&mut engine, 1, vec![obs(a.clone(), 95.0)]);
    assert_eq!(e.active.len(), 1);
    assert_eq!(e.active[0].state, AlertState::Pending);
    assert_eq!(e.active[0].active_at_ms, STEP);
    assert_eq!(e.active[0].starts_at_ms, None);
    // 30 s held: still pending; 45 s: firing.
    step(&mut engine, 2, vec![obs(a.clone(), 96.0)]);
    assert_eq!(
        state_of(&engine, &r, &a, "critical"),
        Some(AlertState::Pending)
    );
    step(&mut engine, 3, vec![obs(a.clone(), 97.0)]);
    assert_eq!(
        state_of(&engine, &r, &a, "critical"),
        Some(AlertState::Pending)
    );
    let e = step(&mut engine, 4, vec![obs(a.clone(), 97.5)]);
    let alert = &e.active[0];
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.starts_at_ms, Some(4 * STEP));
    assert_eq!(alert.annotations["summary"], "CPU 97.5% on a");
    assert_eq!(alert.labels["alertname"], "Cpu");
    assert_eq!(alert.labels["severity"], "critical");
    assert_eq!(alert.labels["host"], "a");
    // Back to normal: resolved at once (no keep_firing_for).
    let e = step(&mut engine, 5, vec![obs(a.clone(), 40.0)]);
    assert!(e.active.is_empty());
    assert_eq!(e.resolved.len(), 1);
    assert_eq!(e.resolved[0].state, AlertState::Resolved);
    assert_eq!(e.resolved[0].ends_at_ms, Some(5 * STEP));
    assert_eq!(e.resolved[0].starts_at_ms, Some(4 * STEP));
}

#[test]
fn a_pending_alert_that_stops_holding_is_abandoned_not_resolved() {
    let r = rule("name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90\nfor = \"1m\"");
    let mut engine = Engine::new(vec![r]);
    step(&mut engine, 0, vec![obs(host("a"), 95.0)]);
    let e = step(&mut engine, 1, vec![obs(host("a"), 10.0)]);
    assert!(e.active.is_empty());
    assert!(e.resolved.is_empty(), "it never fired");
    assert_eq!(e.abandoned.len(), 1);
}

#[test]
fn flapping_is_held_by_keep_firing_for() {
    let r = rule(
        "name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90\nkeep_firing_for = \"1m\"",
    );
    let mut engine = Engine::new(vec![r.clone()]);
    let a = host("a");
    // for = 0: fires at once.
    let e = step(&mut engine, 0, vec![obs(a.clone(), 95.0)]);
    assert_eq!(e.active[0].state, AlertState::Firing);
    let started = e.active[0].starts_at_ms;
    // Flapping every evaluation for two minutes: one alert, firing throughout, never resolved.
    for i in 1..9 {
        let value = if i % 2 == 0 { 95.0 } else { 60.0 };
        let e = step(&mut engine, i, vec![obs(a.clone(), value)]);
        assert!(e.resolved.is_empty(), "evaluation {i}");
        assert_eq!(e.active.len(), 1);
        assert_eq!(e.active[0].state, AlertState::Firing);
        assert_eq!(e.active[0].starts_at_ms, started, "the same episode");
    }
    // Calm for less than a minute: still firing; a full minute after the last breach: resolved.
    for i in 9..12 {
        assert!(
            step(&mut engine, i, vec![obs(a.clone(), 60.0)])
                .resolved
                .is_empty(),
            "{i}"
        );
    }
    let e = step(&mut engine, 12, vec![obs(a.clone(), 60.0)]);
    assert_eq!(
        e.resolved.len(),
        1,
        "60 s after the last breach at evaluation 8"
    );
}

#[test]
fn hysteresis_keeps_a_firing_alert_until_the_value_is_clearly_back() {
    let r = rule("name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90\nhysteresis = 5");
    let mut engine = Engine::new(vec![r.clone()]);
    let a = host("a");
    step(&mut engine, 0, vec![obs(a.clone(), 91.0)]);
    // 87 is under 90 but not 5 below it: still firing.
    assert!(step(&mut engine, 1, vec![obs(a.clone(), 87.0)])
        .resolved
        .is_empty());
    assert_eq!(
        state_of(&engine, &r, &a, "critical"),
        Some(AlertState::Firing)
    );
    assert_eq!(
        step(&mut engine, 2, vec![obs(a.clone(), 84.0)])
            .resolved
            .len(),
        1
    );
    // A new breach needs the threshold itself, not the margin.
    assert!(step(&mut engine, 3, vec![obs(a.clone(), 88.0)])
        .active
        .is_empty());
}

#[test]
fn warning_and_critical_are_separate_alerts_per_series() {
    let r = rule("name = \"Cpu\"\nexpr = \"system.cpu_usage\"\nwarning = 75\ncritical = 90");
    let mut engine = Engine::new(vec![r.clone()]);
    let (a, b) = (host("a"), host("b"));
    step(
        &mut engine,
        0,
        vec![obs(a.clone(), 80.0), obs(b.clone(), 95.0)],
    );
    assert_eq!(
        state_of(&engine, &r, &a, "warning"),
        Some(AlertState::Firing)
    );
    assert_eq!(state_of(&engine, &r, &a, "critical"), None);
    assert_eq!(
        state_of(&engine, &r, &b, "warning"),
        Some(AlertState::Firing)
    );
    assert_eq!(
        state_of(&engine, &r, &b, "critical"),
        Some(AlertState::Firing)
    );
    assert_eq!(engine.active().len(), 3);
    // b drops to 80: its critical resolves, its warning stays.
    let e = step(
        &mut engine,
        1,
        vec![obs(a.clone(), 80.0), obs(b.clone(), 80.0)],
    );
    assert_eq!(e.resolved.len(), 1);
    assert_eq!(e.resolved[0].labels["severity"], "critical");
    assert_eq!(e.resolved[0].labels["host"], "b");
    assert_eq!(
        state_of(&engine, &r, &b, "warning"),
        Some(AlertState::Firing)
    );
}

#[test]
fn below_thresholds_fire_on_low_values() {
    let r = rule(
        "name = \"AiSuccessLow\"\nexpr = \"ai.success_rate_percent\"\nop = \"<\"\nwarning = 99\ncritical = 95",
    );
    let mut engine = Engine::new(vec![r.clone()]);
    let model = Labels::from([("model".to_owned(), "gpt-4o".to_owned())]);
    step(&mut engine, 0, vec![obs(model.clone(), 97.0)]);
    assert_eq!(
        state_of(&engine, &r, &model, "warning"),
        Some(AlertState::Firing)
    );
    assert_eq!(state_of(&engine, &r, &model, "critical"), None);
}

#[test]
fn no_data_keeps_resolves_or_alerts_as_configured() {
    let base = "expr = \"api.latency_p95_ms\"\ncritical = 100";
    let ep = Labels::from([("endpoint".to_owned(), "GET /a".to_owned())]);
    // keep: the firing alert stays while the series is gone.
    let keep = rule(&format!("name = \"K\"\n{base}\nno_data = \"keep\""));
    let mut engine = Engine::new(vec![keep.clone()]);
    step(&mut engine, 0, vec![obs(ep.clone(), 500.0)]);
    for i in 1..5 {
        assert!(step(&mut engine, i, vec![]).resolved.is_empty());
    }
    assert_eq!(
        state_of(&engine, &keep, &ep, "critical"),
        Some(AlertState::Firing)
    );
    // resolve (the default): it resolves when its series has no data.
    let resolve = rule(&format!("name = \"R\"\n{base}"));
    let mut engine = Engine::new(vec![resolve]);
    step(&mut engine, 0, vec![obs(ep.clone(), 500.0)]);
    assert_eq!(step(&mut engine, 1, vec![]).resolved.len(), 1);
    // Too few calls count as no data (min_count).
    let counted = rule(&format!("name = \"C\"\n{base}\nmin_count = 5"));
    let mut engine = Engine::new(vec![counted]);
    let few = Observation {
        count: 4,
        ..obs(ep.clone(), 500.0)
    };
    assert!(step(&mut engine, 0, vec![few]).active.is_empty());
    // alert: no data at all fires a `nodata` alert after `for`, which ends when data returns.
    let alert = rule(&format!(
        "name = \"A\"\n{base}\nno_data = \"alert\"\nfor = \"30s\""
    ));
    let mut engine = Engine::new(vec![alert]);
    assert_eq!(
        step(&mut engine, 0, vec![]).active[0].state,
        AlertState::Pending
    );
    step(&mut engine, 1, vec![]);
    let e = step(&mut engine, 2, vec![]);
    assert_eq!(e.active.len(), 1);
    assert_eq!(e.active[0].state, AlertState::Firing);
    assert_eq!(e.active[0].labels[NODATA_LABEL], "true");
    assert!(e.active[0].annotations["summary"].contains("no data"));
    let e = step(&mut engine, 3, vec![obs(ep.clone(), 10.0)]);
    assert!(e.active.is_empty());
    assert_eq!(e.resolved.len(), 1);
}

#[test]
fn a_failed_reading_changes_nothing() {
    let r = rule("name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90");
    let mut engine = Engine::new(vec![r]);
    step(&mut engine, 0, vec![obs(host("a"), 95.0)]);
    let e = engine.evaluate(STEP, &mut |_| Err("the store is down".into()));
    assert_eq!(e.failed.len(), 1);
    assert!(e.resolved.is_empty());
    assert_eq!(e.active.len(), 1);
}

#[test]
fn reloading_keeps_state_and_resolves_alerts_of_removed_rules() {
    let cpu = rule("name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90\nfor = \"30s\"");
    let mem = rule("name = \"Mem\"\nexpr = \"system.memory_usage\"\ncritical = 90");
    let mut engine = Engine::new(vec![cpu.clone(), mem.clone()]);
    step(&mut engine, 0, vec![obs(host("a"), 95.0)]);
    let pending_since = engine
        .active()
        .iter()
        .find(|a| a.name() == "Cpu")
        .unwrap()
        .active_at_ms;
    // The same Cpu rule with a new summary; Mem gone.
    let cpu2 = rule("name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90\nfor = \"30s\"\nsummary = \"new\"");
    engine.set_rules(vec![cpu2]);
    step(&mut engine, 1, vec![obs(host("a"), 95.0)]);
    let e = step(&mut engine, 2, vec![obs(host("a"), 95.0)]);
    let alert = e.active.iter().find(|a| a.name() == "Cpu").unwrap();
    assert_eq!(
        alert.active_at_ms, pending_since,
        "pending time carried over the reload"
    );
    assert_eq!(
        alert.state,
        AlertState::Firing,
        "30 s after it became pending"
    );
    assert_eq!(alert.annotations["summary"], "new");
    assert!(engine.active().iter().all(|a| a.name() != "Mem"));
}

#[test]
fn a_restarted_engine_takes_up_stored_alerts() {
    let r = rule("name = \"Cpu\"\nexpr = \"system.cpu_usage\"\ncritical = 90");
    let mut first = Engine::new(vec![r.clone()]);
    let fired = step(&mut first, 0, vec![obs(host("a"), 95.0)]).active;
    let mut second = Engine::new(vec![r]);
    second.restore(fired.clone());
    let e = step(&mut second, 1, vec![obs(host("a"), 96.0)]);
    assert_eq!(
        e.active[0].starts_at_ms, fired[0].starts_at_ms,
        "no new episode"
    );
    assert_eq!(
        step(&mut second, 2, vec![obs(host("a"), 10.0)])
            .resolved
            .len(),
        1
    );
}

#[test]
fn a_predict_rule_fires_before_the_disk_is_full() {
    let r = rule(
        "name = \"DiskSoon\"\nkind = \"predict\"\nexpr = \"system.disk_usage\"\nwindow = \"6h\"\n\
         horizon = \"24h\"\nop = \">=\"\ncritical = 100",
    );
    let mut engine = Engine::new(vec![r.clone()]);
    let hour = 3_600_000;
    // Filling 2 % an hour from 40 %: 52 % now, 100 % in 24 h.
    let now = 6 * hour;
    let rising: Vec<(i64, f64)> = (0..=36)
        .map(|i| (i * hour / 6, 40.0 + 2.0 * i as f64 / 6.0))
        .collect();
    let flat: Vec<(i64, f64)> = (0..=36)
        .map(|i| (i * hour / 6, 52.0 + if i % 2 == 0 { 0.5 } else { -0.5 }))
        .collect();
    let series = |name: &str, points: &[(i64, f64)]| Observation {
        series: host(name),
        value: points.last().map(|p| p.1),
        count: points.len() as u64,
        points: points.to_vec(),
    };
    let e = engine.evaluate(now, &mut |_| {
        Ok(vec![series("filling", &rising), series("steady", &flat)])
    });
    assert_eq!(e.active.len(), 1, "{:?}", e.active);
    let alert = &e.active[0];
    assert_eq!(alert.labels["host"], "filling");
    assert!(
        (alert.value.unwrap() - 100.0).abs() < 1e-6,
        "{:?}",
        alert.value
    );
    assert!(
        alert.annotations["summary"].contains("within 1day"),
        "{}",
        alert.annotations["summary"]
    );
}

#[test]
fn an_anomaly_rule_finds_an_injected_anomaly_and_stays_quiet_on_noise() {
    let r = rule(
        "name = \"LatencyAnomaly\"\nkind = \"anomaly\"\nexpr = \"api.latency_p95_ms\"\ndeviations = 4\n\
         half_life = \"1h\"\nmin_samples = 40\nfor = \"45s\"",
    );
    let mut engine = Engine::new(vec![r]);
    let ep = |name: &str| Labels::from([("endpoint".to_owned(), name.to_owned())]);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    };
    let mut fired = Vec::new();
    // Six hours every 15 s; "GET /a" gets +400 ms for 2 minutes at evaluation 1000, and a
    // single 1-evaluation blip at 1200 (shorter than `for`); "GET /b" is noise throughout.
    for i in 0..1440 {
        let mut a = 200.0 + 20.0 * noise();
        if (1000..1008).contains(&i) {
            a += 400.0;
        }
        if i == 1200 {
            a += 400.0;
        }
        let b = 300.0 + 30.0 * noise();
        let e = step(
            &mut engine,
            i,
            vec![obs(ep("GET /a"), a), obs(ep("GET /b"), b)],
        );
        for alert in e.active.iter().filter(|a| a.state == AlertState::Firing) {
            fired.push((i, alert.labels["endpoint"].clone()));
        }
    }
    assert!(!fired.is_empty(), "the injected anomaly is found");
    assert!(
        fired.iter().all(|(_, ep)| ep == "GET /a"),
        "noise never alerts: {fired:?}"
    );
    assert!(
        fired.iter().all(|(i, _)| (1003..1008).contains(i)),
        "only during the anomaly, after `for`: {fired:?}"
    );
}
