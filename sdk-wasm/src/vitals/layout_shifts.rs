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
