//! Predictive alerts: a least-squares line through a series' recent points, extended ahead, as
//! Prometheus' `predict_linear` does ("the disk is full within 24 hours").

/// The value the least-squares line through `points` (epoch ms, value) reaches at `at_ms`.
/// `None` with fewer than two points, or when they all share one time.
pub fn predict_linear(points: &[(i64, f64)], at_ms: i64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    // Times relative to the first point, in hours, to keep the sums well conditioned.
    let origin = points[0].0;
    let hours = |t: i64| (t - origin) as f64 / 3.6e6;
    let n = points.len() as f64;
    let mean_t = points.iter().map(|(t, _)| hours(*t)).sum::<f64>() / n;
    let mean_v = points.iter().map(|(_, v)| v).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (t, v) in points {
        let dt = hours(*t) - mean_t;
        covariance += dt * (v - mean_v);
        variance += dt * dt;
    }
    if variance <= f64::EPSILON {
        return None;
    }
    let slope = covariance / variance;
    Some(mean_v + slope * (hours(at_ms) - mean_t))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_steady_rise_is_extended() {
        // A disk filling 1 % an hour from 70 %: 94 % 24 hours after the last point.
        let points: Vec<(i64, f64)> = (0..=6).map(|h| (h * HOUR, 70.0 + h as f64)).collect();
        let predicted = predict_linear(&points, 30 * HOUR).unwrap();
        assert!((predicted - 100.0).abs() < 1e-9, "{predicted}");
    }

    #[test]
    fn noise_around_a_level_predicts_the_level() {
        let points: Vec<(i64, f64)> = (0..100)
            .map(|i| (i * 60_000, 50.0 + if i % 2 == 0 { 1.0 } else { -1.0 }))
            .collect();
        let predicted = predict_linear(&points, 100 * 60_000 + 24 * HOUR).unwrap();
        assert!((predicted - 50.0).abs() < 2.0, "{predicted}");
    }

    #[test]
    fn too_few_points_predict_nothing() {
        assert_eq!(predict_linear(&[(0, 1.0)], HOUR), None);
        assert_eq!(predict_linear(&[(5, 1.0), (5, 2.0)], HOUR), None);
    }
}
