//! CLS's session windows (web-vitals' `LayoutShiftManager`): layout shifts less than a second
//! apart, in a window of at most five seconds, add up; shifts right after user input do not
//! count. Pure data, so it is tested natively and in the browser alike.

use crate::prelude::*;

/// One layout shift and what the caller keeps with it (the entry and its target).
#[derive(Debug, Clone, PartialEq)]
pub struct Shift<T> {
    pub start_time: f64,
    pub value: f64,
    pub data: T,
}

/// The current session window.
#[derive(Debug)]
pub struct SessionWindow<T> {
    value: f64,
    shifts: Vec<Shift<T>>,
}

impl<T> Default for SessionWindow<T> {
    fn default() -> Self {
        SessionWindow {
            value: 0.0,
            shifts: Vec::new(),
        }
    }
}

/// A new window starts after a gap of a second or more, or five seconds after its first shift.
const MAX_GAP_MS: f64 = 1000.0;
const MAX_WINDOW_MS: f64 = 5000.0;

impl<T> SessionWindow<T> {
    /// Adds a shift: to this window, or as the first of a new one. Shifts with recent input
    /// are ignored.
    pub fn add(&mut self, had_recent_input: bool, shift: Shift<T>) {
        if had_recent_input {
            return;
        }
        let joins = self.value != 0.0
            && match (self.shifts.first(), self.shifts.last()) {
                (Some(first), Some(last)) => {
                    shift.start_time - last.start_time < MAX_GAP_MS
                        && shift.start_time - first.start_time < MAX_WINDOW_MS
                }
                _ => false,
            };
        if joins {
            self.value += shift.value;
            self.shifts.push(shift);
        } else {
            self.value = shift.value;
            self.shifts.clear();
            self.shifts.push(shift);
        }
    }

    /// The window's layout shift score.
    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn shifts(&self) -> &[Shift<T>] {
        &self.shifts
    }

    /// Forgets the window (a new page view starts).
    pub fn reset(&mut self) {
        self.value = 0.0;
    }
}

/// The shift with the highest value; of equal ones the later (web-vitals'
/// `getLargestLayoutShiftEntry` reduce).
pub fn largest<T>(shifts: &[Shift<T>]) -> Option<&Shift<T>> {
    shifts
        .iter()
        .reduce(|a, b| if a.value > b.value { a } else { b })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `(start_time, value, had_recent_input)` and tracks CLS as onCLS does: the largest
    /// window value seen.
    pub fn cls(shifts: &[(f64, f64, bool)]) -> f64 {
        let mut window = SessionWindow::default();
        let mut cls: f64 = 0.0;
        for &(start_time, value, input) in shifts {
            window.add(
                input,
                Shift {
                    start_time,
                    value,
                    data: (),
                },
            );
            cls = cls.max(window.value());
        }
        cls
    }

    #[test]
    fn shifts_less_than_a_second_apart_add_up() {
        assert!((cls(&[(100.0, 0.1, false), (900.0, 0.05, false)]) - 0.15).abs() < 1e-12);
    }

    #[test]
    fn a_gap_of_a_second_starts_a_new_window_and_the_largest_counts() {
        let value = cls(&[
            (0.0, 0.1, false),
            (500.0, 0.1, false),
            (1500.0, 0.05, false), // 1000 ms after the last: a new window
            (2000.0, 0.05, false),
        ]);
        assert!((value - 0.2).abs() < 1e-12);
    }

    #[test]
    fn a_window_ends_five_seconds_after_its_first_shift() {
        let shifts: Vec<_> = (0..8).map(|i| (f64::from(i) * 900.0, 0.1, false)).collect();
        // 0, 900, ..., 4500 in the first window (6 shifts); 5400 starts a new one.
        assert!((cls(&shifts) - 0.6).abs() < 1e-9);
    }

    #[test]
    fn shifts_after_input_are_ignored() {
        assert_eq!(cls(&[(100.0, 0.3, true)]), 0.0);
        assert!(
            (cls(&[(100.0, 0.1, false), (200.0, 0.3, true), (300.0, 0.1, false)]) - 0.2).abs()
                < 1e-12
        );
    }

    #[test]
    fn the_largest_shift_of_equal_ones_is_the_later() {
        let shifts = [
            Shift {
                start_time: 1.0,
                value: 0.1,
                data: 'a',
            },
            Shift {
                start_time: 2.0,
                value: 0.2,
                data: 'b',
            },
            Shift {
                start_time: 3.0,
                value: 0.2,
                data: 'c',
            },
        ];
        assert_eq!(largest(&shifts).map(|s| s.data), Some('c'));
    }
}
