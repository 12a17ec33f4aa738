//! Alerts: rules over the stored series, their states, and the notifications they send.

pub mod model;
pub mod notify;
