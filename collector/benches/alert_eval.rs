//! The rule engine's cost per evaluation, apart from reading the store: the default rules plus
//! an anomaly rule, each over 100 series (1,100 series, 2,100 alert candidates), with every
//! value past its thresholds (every alert firing: the most work) and with every value normal,
//! against the baseline of handing the same observations over without evaluating them, in the
//! same run. And one anomaly baseline update.
//!
//! `cargo bench -p perfwatch-collector --bench alert_eval`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use perfwatch_collector::alerts::anomaly::Detector;
use perfwatch_collector::alerts::engine::{Engine, Observation};
use perfwatch_collector::alerts::model::Labels;
use perfwatch_collector::alerts::rules::{self, AnomalyParams, Direction, Rule};
use perfwatch_collector::host_history::Thresholds;

const SERIES: usize = 100;

fn rules() -> Vec<Rule> {
    let text = r#"
[[alerts.rules]]
name = "LatencyAnomaly"
kind = "anomaly"
expr = "api.latency_p95_ms"
min_samples = 2
"#;
    rules::parse(text, Thresholds::default())
        .expect("rules")
        .rules
}

/// One observation per series of `rule`, valued `value`.
fn observations(rule: &Rule, value: f64) -> Vec<Observation> {
    let label = rule.expr.metric.source.label();
    (0..SERIES)
        .map(|i| Observation {
            series: Labels::from([(label.to_owned(), format!("series-{i}"))]),
            value: Some(value),
            count: 1_000,
            points: (0..36)
                .map(|p| (p * 600_000, value - 36.0 + p as f64))
                .collect(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    let mut group = c.benchmark_group(format!("alert_evaluation_{}_series", rules.len() * SERIES));
    for (name, value) in [("all_firing", 1e9), ("all_normal", 0.0)] {
        let prepared: Vec<Vec<Observation>> =
            rules.iter().map(|r| observations(r, value)).collect();
        let index = |rule: &Rule| rules.iter().position(|r| r.name == rule.name).unwrap_or(0);
        group.bench_function(format!("baseline_handover_{name}"), |b| {
            b.iter(|| {
                let mut n = 0;
                for rule in &rules {
                    n += prepared[index(rule)].clone().len();
                }
                n
            })
        });
        group.bench_function(format!("evaluate_{name}"), |b| {
            b.iter_batched(
                || {
                    let mut engine = Engine::new(rules.clone());
                    // Warm: the alerts exist (and the anomaly baselines have samples).
                    for t in 0..3 {
                        engine.evaluate(t * 15_000, &mut |rule| Ok(prepared[index(rule)].clone()));
                    }
                    engine
                },
                |mut engine| engine.evaluate(60_000, &mut |rule| Ok(prepared[index(rule)].clone())),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
    c.bench_function("anomaly_observe", |b| {
        let mut detector = Detector::new(AnomalyParams {
            deviations: 3.0,
            half_life: std::time::Duration::from_secs(3600),
            min_samples: 30,
            daily: true,
            direction: Direction::Both,
            min_deviation: 0.0,
        });
        let mut t = 0;
        b.iter(|| {
            t += 15_000;
            detector.observe(t, 100.0 + (t % 7) as f64)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
