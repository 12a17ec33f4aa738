//! DDSketch: quantiles within a relative error, mergeable exactly (Masson, Rim and Lee,
//! "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error Guarantees",
//! VLDB 2019).
//!
//! A value x above [`ZERO_THRESHOLD`] counts in bin i = ⌈ln x / ln γ⌉ with γ = (1+α)/(1−α),
//! the bin holding (γ^(i−1), γ^i]. Answering a bin with 2γ^i/(γ+1) is within relative error α
//! of every value in it, so [`DdSketch::quantile`], which walks the bins to the nearest rank
//! ⌈q·n⌉ (like `stats::nearest_rank`), is within [`RELATIVE_ACCURACY`] of the exact value.
//! Values at or below [`ZERO_THRESHOLD`] count in a zero bin answered as 0 (clamped to min).
//! Count, sum, min and max are kept exactly; min and max also answer ranks 1 and n.
//!
//! Bins are sparse. At most [`MAX_BINS`] are kept: beyond that the lowest ones are collapsed
//! into one (the paper's collapsing variant), which loses accuracy only for the lowest
//! quantiles. 4096 bins at α = 1 % span a factor of 10^35 (1e-9 ms to 1e26 ms), so real data
//! never collapses. Merging adds the bins and collapses the same way, so merging the sketches
//! of two sets gives the sketch of their union (the float sum aside, up to rounding).
//!
//! Encoding, version 1: the version byte, the count as a varint, and when it is not 0: the
//! zero-bin count (varint), sum, min, max (f64 little-endian), the number of bins (varint),
//! then per bin in increasing order the zigzag varint of its index minus the previous one
//! (the first minus 0) and its count (varint). The encoding is canonical: equal sketches give
//! equal bytes.

use super::{put_varint, unzigzag, zigzag, Reader, SketchError};

/// The guaranteed relative error of [`DdSketch::quantile`] (1 %).
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// Values at or below this (and exactly 0) count in the zero bin.
pub const ZERO_THRESHOLD: f64 = 1e-9;
/// The most bins a sketch keeps; more are collapsed into the lowest one kept.
pub const MAX_BINS: usize = 4096;

const VERSION: u8 = 1;
/// α of the mapping: a hair under [`RELATIVE_ACCURACY`], so that the rounding of `ln` and `exp`
/// (which may differ by an ulp between platforms) cannot push an answer over it.
const MAPPING_ACCURACY: f64 = RELATIVE_ACCURACY * (1.0 - 1e-6);
const GAMMA: f64 = (1.0 + MAPPING_ACCURACY) / (1.0 - MAPPING_ACCURACY);
/// Every f64 above [`ZERO_THRESHOLD`] maps within ±36 000; decoded indexes must be within this.
const KEY_LIMIT: i64 = 1 << 16;

/// A DDSketch of non-negative values (durations in ms, CLS scores). See the module docs.
///
/// Bins are held densely: `bins[i]` counts index `offset + i`, trimmed so that the first and
/// last are not empty (so equal sketches are equal field by field). Merging is then adding two
/// arrays, which is what reading a long window of roll-ups does tens of thousands of times.
#[derive(Debug, Clone, PartialEq)]
pub struct DdSketch {
    count: u64,
    zero_count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// The index of `bins[0]` (0 while `bins` is empty).
    offset: i32,
    bins: Vec<u64>,
    /// Bins that are not empty.
    used: usize,
}

impl Default for DdSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl DdSketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self {
            count: 0,
            zero_count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            offset: 0,
            bins: Vec::new(),
            used: 0,
        }
    }

    /// Adds `value` and returns true, or ignores it and returns false when it is negative,
    /// NaN or infinite. -0.0 is added as 0.
    pub fn add(&mut self, value: f64) -> bool {
        if !value.is_finite() || value < 0.0 {
            return false;
        }
        let value = value.abs();
        // Saturating: a decoded sketch may already hold u64::MAX values.
        if value <= ZERO_THRESHOLD {
            self.zero_count = self.zero_count.saturating_add(1);
        } else {
            self.add_to_bin(key(value), 1);
        }
        self.count = self.count.saturating_add(1);
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        true
    }

    /// Adds every value of `other`: afterwards `self` answers as one sketch fed both.
    pub fn merge(&mut self, other: &DdSketch) {
        if other.used > 0 {
            let last = other.offset + other.bins.len() as i32 - 1;
            self.cover(other.offset, last);
            let start = (other.offset - self.offset) as usize;
            let mut newly_used = 0;
            for (bin, &count) in self.bins[start..].iter_mut().zip(&other.bins) {
                newly_used += usize::from(*bin == 0 && count > 0);
                *bin = bin.saturating_add(count);
            }
            self.used += newly_used;
            self.collapse();
        }
        self.count = self.count.saturating_add(other.count);
        self.zero_count = self.zero_count.saturating_add(other.zero_count);
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// How many values were added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of the values added (0 when empty).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest value added, or `None` when empty.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest value added, or `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// The value at 1-based rank ⌈q·n⌉ (rank 1 for q = 0) of the sorted values, within
    /// [`RELATIVE_ACCURACY`], or `None` when empty or `q` is outside [0, 1].
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = nearest_rank(q, self.count);
        if rank == 1 {
            return Some(self.min);
        }
        if rank == self.count {
            return Some(self.max);
        }
        let estimate = if rank <= self.zero_count {
            0.0
        } else {
            let mut seen = self.zero_count;
            self.bins()
                .find(|&(_, count)| {
                    seen = seen.saturating_add(count);
                    seen >= rank
                })
                .map_or(self.max, |(index, _)| bin_value(index))
        };
        Some(estimate.max(self.min).min(self.max))
    }

    /// The canonical encoding described in the module docs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 3 * self.bins.len());
        out.push(VERSION);
        put_varint(&mut out, self.count);
        if self.count == 0 {
            return out;
        }
        put_varint(&mut out, self.zero_count);
        for field in [self.sum, self.min, self.max] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        put_varint(&mut out, self.used as u64);
        let mut previous = 0;
        for (index, count) in self.bins() {
            put_varint(&mut out, zigzag(i64::from(index) - previous));
            put_varint(&mut out, count);
            previous = i64::from(index);
        }
        out
    }

    /// Decodes [`to_bytes`](Self::to_bytes)' output, refusing any input that is truncated,
    /// has trailing bytes, another version, more than [`MAX_BINS`] bins, indexes out of order
    /// or range, empty bins, counts that do not add up, or min, max and sum that do not fit.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SketchError> {
        let invalid = SketchError::Invalid;
        let mut reader = Reader::new(bytes);
        let version = reader.u8()?;
        if version != VERSION {
            return Err(SketchError::UnsupportedVersion(version));
        }
        let count = reader.varint()?;
        let mut sketch = Self::new();
        if count == 0 {
            reader.finish()?;
            return Ok(sketch);
        }
        let zero_count = reader.varint()?;
        let (sum, min, max) = (reader.f64_le()?, reader.f64_le()?, reader.f64_le()?);
        if !(min.is_finite() && max.is_finite() && 0.0 <= min && min <= max && sum >= max) {
            return Err(invalid("min, max or sum out of range"));
        }
        let bin_count = reader.varint()?;
        if bin_count > MAX_BINS as u64 {
            return Err(invalid("too many bins"));
        }
        let (mut total, mut index) = (zero_count, 0i64);
        for i in 0..bin_count {
            let delta = unzigzag(reader.varint()?);
            if i > 0 && delta <= 0 {
                return Err(invalid("bin indexes are not increasing"));
            }
            index = index
                .checked_add(delta)
                .ok_or(invalid("bin index out of range"))?;
            let key = i32::try_from(index)
                .ok()
                .filter(|key| i64::from(*key).abs() <= KEY_LIMIT)
                .ok_or(invalid("bin index out of range"))?;
            let bin = reader.varint()?;
            if bin == 0 {
                return Err(invalid("empty bin"));
            }
            total = total.checked_add(bin).ok_or(invalid("counts overflow"))?;
            // Indexes are increasing and within ±KEY_LIMIT: at most 2 · KEY_LIMIT + 1 bins.
            if i == 0 {
                sketch.offset = key;
                sketch.bins.reserve(bin_count as usize);
            }
            sketch.bins.resize((key - sketch.offset) as usize, 0);
            sketch.bins.push(bin);
        }
        reader.finish()?;
        sketch.used = bin_count as usize;
        if total != count {
            return Err(invalid("bin counts do not add up to the count"));
        }
        if (zero_count > 0) != (min <= ZERO_THRESHOLD)
            || (sketch.used == 0) != (max <= ZERO_THRESHOLD)
        {
            return Err(invalid("min or max contradicts the bins"));
        }
        sketch.count = count;
        sketch.zero_count = zero_count;
        (sketch.sum, sketch.min, sketch.max) = (sum, min, max);
        Ok(sketch)
    }

    /// The bins that are not empty, as `(index, count)`, lowest first.
    fn bins(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        (self.offset..)
            .zip(self.bins.iter().copied())
            .filter(|&(_, count)| count > 0)
    }

    /// Adds `count` values to bin `index`.
    fn add_to_bin(&mut self, index: i32, count: u64) {
        if self.used >= MAX_BINS && index < self.offset {
            // A new lowest bin would be folded into the lowest one at once.
            self.bins[0] = self.bins[0].saturating_add(count);
            return;
        }
        self.cover(index, index);
        let bin = &mut self.bins[(index - self.offset) as usize];
        self.used += usize::from(*bin == 0);
        *bin = bin.saturating_add(count);
        self.collapse();
    }

    /// Grows `bins` to hold the indexes `low..=high`.
    fn cover(&mut self, low: i32, high: i32) {
        if self.bins.is_empty() {
            self.offset = low;
            self.bins = vec![0; (high - low) as usize + 1];
            return;
        }
        if low < self.offset {
            let grow = (self.offset - low) as usize;
            self.bins.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = low;
        }
        let last = self.offset + self.bins.len() as i32 - 1;
        if high > last {
            self.bins
                .resize(self.bins.len() + (high - last) as usize, 0);
        }
    }

    /// Folds the lowest bins into the next one up until at most [`MAX_BINS`] remain, and trims
    /// empty bins off both ends.
    fn collapse(&mut self) {
        if self.used > MAX_BINS {
            let mut excess = self.used - MAX_BINS;
            let mut folded = 0u64;
            let mut cut = 0;
            for (i, &count) in self.bins.iter().enumerate() {
                if count == 0 {
                    continue;
                }
                if excess == 0 {
                    cut = i;
                    break;
                }
                folded = folded.saturating_add(count);
                excess -= 1;
            }
            self.bins.drain(..cut);
            self.offset += cut as i32;
            self.bins[0] = self.bins[0].saturating_add(folded);
            self.used = MAX_BINS;
        }
        let leading = self.bins.iter().take_while(|&&count| count == 0).count();
        if leading > 0 {
            self.bins.drain(..leading);
            self.offset += leading as i32;
        }
        while self.bins.last() == Some(&0) {
            self.bins.pop();
        }
        if self.bins.is_empty() {
            self.offset = 0;
        }
    }
}

/// The bin of `value` (> [`ZERO_THRESHOLD`], finite): ⌈ln value / ln γ⌉.
fn key(value: f64) -> i32 {
    (value.ln() / GAMMA.ln()).ceil() as i32
}

/// The value answered for bin `index`: 2γ^index/(γ+1), within α of all of (γ^(index−1), γ^index].
fn bin_value(index: i32) -> f64 {
    (f64::from(index) * GAMMA.ln()).exp() * (2.0 / (1.0 + GAMMA))
}

/// ⌈q·n⌉ clamped to [1, n]. q·n within rounding of an integer counts as that integer: a
/// percentage p/100 is not exact in binary, and 0.07 · 100 = 7.000000000000001 must give rank
/// 7, the rank `stats::nearest_rank` computes in integers.
fn nearest_rank(q: f64, n: u64) -> u64 {
    let exact = q * n as f64;
    let nearest = exact.round();
    let rank = if (exact - nearest).abs() <= 4.0 * f64::EPSILON * exact {
        nearest
    } else {
        exact.ceil()
    };
    (rank as u64).clamp(1, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a dependency-free, reproducible source of test data.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn unit(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn sketch_of(values: &[f64]) -> DdSketch {
        let mut sketch = DdSketch::new();
        assert!(values.iter().all(|&v| sketch.add(v)));
        sketch
    }

    /// Checks the quantiles at every per-mille `levels` against the exact nearest rank
    /// (computed in integers) and returns the largest relative error.
    fn check_quantiles(values: &[f64], levels: impl Iterator<Item = u64>) -> f64 {
        let sketch = sketch_of(values);
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as u64;
        let mut worst = 0.0f64;
        for p in levels {
            let exact = sorted[((p * n).div_ceil(1000).clamp(1, n) - 1) as usize];
            let estimate = sketch.quantile(p as f64 / 1000.0).unwrap();
            let error = (estimate - exact).abs();
            assert!(
                error <= RELATIVE_ACCURACY * exact,
                "p{p}: {estimate} vs {exact}"
            );
            worst = worst.max(if exact > 0.0 { error / exact } else { 0.0 });
        }
        worst
    }

    fn distributions() -> Vec<(&'static str, Vec<f64>)> {
        let mut rng = Rng(7);
        let uniform = (0..10_000).map(|_| rng.unit() * 10_000.0).collect();
        let normal = |rng: &mut Rng| (0..12).map(|_| rng.unit()).sum::<f64>() - 6.0;
        let log_normal = (0..10_000)
            .map(|_| (6.0 + 1.2 * normal(&mut rng)).exp())
            .collect();
        let mut equal: Vec<f64> = [1.0, 250.0, 2500.0].repeat(1000);
        equal.extend((0..100).map(|_| (rng.unit() * 3000.0).round()));
        let cls = (0..5_000)
            .map(|_| (rng.unit() - 0.3).max(0.0) * rng.unit() * 0.7)
            .collect();
        vec![
            ("uniform 0..10000", uniform),
            ("log-normal", log_normal),
            ("many equal", equal),
            ("CLS-like, 30 % zeros", cls),
            ("seven values", (0..7).map(|_| rng.unit() * 100.0).collect()),
            ("single value", vec![42.5]),
            ("single zero", vec![0.0]),
            ("single CLS", vec![0.05]),
        ]
    }

    #[test]
    fn quantiles_are_within_the_relative_accuracy() {
        // Every percent, which includes p0, p50, p75, p90, p99 and p100.
        for (name, values) in distributions() {
            let error = check_quantiles(&values, (0..=1000).step_by(10));
            println!("{name}: max relative error {error:.5}");
        }
    }

    #[test]
    fn rank_matches_the_integer_nearest_rank() {
        for n in 1..=1000u64 {
            for p in 0..=100u64 {
                let expected = (p * n).div_ceil(100).clamp(1, n);
                assert_eq!(nearest_rank(p as f64 / 100.0, n), expected, "p{p} of {n}");
            }
        }
    }

    #[test]
    fn exact_fields_and_refused_values() {
        let mut sketch = DdSketch::new();
        assert_eq!(
            (sketch.count(), sketch.min(), sketch.quantile(0.5)),
            (0, None, None)
        );
        for bad in [-1.0, -1e-300, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(!sketch.add(bad));
        }
        assert!(sketch.add(-0.0) && sketch.add(3.0) && sketch.add(0.25));
        assert_eq!((sketch.count(), sketch.sum()), (3, 3.25));
        assert_eq!((sketch.min(), sketch.max()), (Some(0.0), Some(3.0)));
        assert!(sketch.min().unwrap().is_sign_positive());
        for q in [-0.1, 1.1, f64::NAN] {
            assert_eq!(sketch.quantile(q), None);
        }
    }

    #[test]
    fn merging_parts_equals_the_whole() {
        let mut rng = Rng(11);
        let mut cases = distributions();
        let wide = (0..100_000).map(|_| 10f64.powf(-9.0 + 309.0 * rng.unit()));
        cases.push(("1e-9..1e300, collapsed", wide.collect()));
        // Equal fields but the float sum give equal quantiles and encodings.
        let without_sum = |sketch: &DdSketch| DdSketch {
            sum: 0.0,
            ..sketch.clone()
        };
        for (name, values) in cases {
            let whole = sketch_of(&values);
            let (left, right) = values.split_at(values.len() / 3);
            let (mut merged, mut reversed) = (sketch_of(left), sketch_of(right));
            merged.merge(&sketch_of(right));
            reversed.merge(&sketch_of(left));
            for candidate in [merged, reversed] {
                assert_eq!(without_sum(&candidate), without_sum(&whole), "{name}");
                assert!(
                    (candidate.sum - whole.sum).abs() <= 1e-9 * whole.sum,
                    "{name}"
                );
            }
        }
        let mut empty = DdSketch::new();
        empty.merge(&DdSketch::new());
        assert_eq!(empty, DdSketch::new());
        empty.merge(&sketch_of(&[5.0]));
        assert_eq!(empty, sketch_of(&[5.0]));
    }

    #[test]
    fn bins_stay_capped_over_a_huge_range() {
        let mut rng = Rng(3);
        let values: Vec<f64> = (0..200_000)
            .map(|_| 10f64.powf(-9.0 + 309.0 * rng.unit()))
            .collect();
        let sketch = sketch_of(&values);
        assert_eq!(sketch.used, MAX_BINS);
        assert_eq!(sketch.bins().count(), MAX_BINS);
        assert_eq!(sketch.count(), 200_000);
        assert_eq!(
            sketch.bins().map(|(_, count)| count).sum::<u64>() + sketch.zero_count,
            200_000
        );
        // Only the lowest quantiles are collapsed: the top 4096 bins span 1e264..1e300.
        check_quantiles(&values, [900, 950, 990, 1000].into_iter());
        assert_eq!(DdSketch::from_bytes(&sketch.to_bytes()), Ok(sketch));
    }

    #[test]
    fn bytes_roundtrip_and_stay_compact() {
        let mut rng = Rng(5);
        for n in [0, 1, 50, 5000] {
            let values: Vec<f64> = (0..n).map(|_| rng.unit() * 10_000.0).collect();
            let sketch = sketch_of(&values);
            let bytes = sketch.to_bytes();
            println!("{n} values uniform 0..10000 ms: {} bytes", bytes.len());
            assert_eq!(DdSketch::from_bytes(&bytes), Ok(sketch));
        }
        let forty: Vec<f64> = (0..40).map(|_| rng.unit() * 4000.0).collect();
        assert!(sketch_of(&forty).to_bytes().len() < 150);
        for (_, values) in distributions() {
            let sketch = sketch_of(&values);
            assert_eq!(DdSketch::from_bytes(&sketch.to_bytes()), Ok(sketch));
        }
    }

    /// Any accepted input must be a consistent sketch that re-encodes to the same bytes.
    fn check_decode(bytes: &[u8]) -> bool {
        let Ok(sketch) = DdSketch::from_bytes(bytes) else {
            return false;
        };
        assert_eq!(sketch.to_bytes(), bytes);
        let total = sketch.bins().map(|(_, count)| count).sum::<u64>() + sketch.zero_count;
        assert!(sketch.used <= MAX_BINS && total == sketch.count);
        true
    }

    #[test]
    fn malformed_bytes_are_errors() {
        let mut rng = Rng(9);
        let values: Vec<f64> = (0..300).map(|_| rng.unit() * 1000.0).collect();
        let valid = sketch_of(&values).to_bytes();
        assert!((0..valid.len()).all(|len| DdSketch::from_bytes(&valid[..len]).is_err()));
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut mutated = valid.clone();
            mutated[(rng.next_u64() % valid.len() as u64) as usize] = rng.next_u64() as u8;
            accepted += usize::from(check_decode(&mutated));
            let length = rng.next_u64() % 64;
            check_decode(
                &(0..length)
                    .map(|_| rng.next_u64() as u8)
                    .collect::<Vec<_>>(),
            );
        }
        assert!(
            accepted > 0,
            "no mutation was consistent: the check never ran"
        );
        let decode = DdSketch::from_bytes;
        assert_eq!(
            decode(&[valid.as_slice(), &[0]].concat()),
            Err(SketchError::TrailingBytes(1))
        );
        assert_eq!(decode(&[2, 0]), Err(SketchError::UnsupportedVersion(2)));
        let mut many_bins = [&[1, 1, 0][..], &[0; 24]].concat();
        put_varint(&mut many_bins, u64::MAX);
        assert!(matches!(decode(&many_bins), Err(SketchError::Invalid(_))));
        let mut nan_sum = sketch_of(&[1.0]).to_bytes();
        nan_sum[3..11].copy_from_slice(&f64::NAN.to_le_bytes());
        assert!(matches!(decode(&nan_sum), Err(SketchError::Invalid(_))));
    }
}
