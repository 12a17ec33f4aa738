//! From a parsed batch to records ready to store: each event's page resolved (an event's own
//! `page_view_id`, `url` and `route` override the batch's) and its time moved to the collector's
//! clock (see [`crate::clock`]).

use perfwatch_protocol::{EventBody, ParsedBatch};

use crate::clock::{to_epoch_ms, ClockSkew};

/// The accepted events of one browser batch, as the store takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserRecords {
    /// The application's name.
    pub app: String,
    /// The browser session.
    pub session_id: String,
    /// The application's release, if the SDK was told it.
    pub release: Option<String>,
    /// The signed-in user, if the application said who.
    pub user_id: Option<String>,
    /// When the collector received the batch, epoch ms.
    pub received_at_ms: i64,
    /// The accepted events, in batch order.
    pub records: Vec<Record>,
}

/// One accepted event, with its page and time resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Set when the SDK gave the event an id: the store keeps it once per session.
    pub event_id: Option<String>,
    /// The page view the event belongs to.
    pub page_view_id: String,
    /// The page's URL.
    pub url: String,
    /// The page's route pattern (`/chat/:id`), if the application names routes.
    pub route: Option<String>,
    /// When the event happened, epoch ms on the collector's clock.
    pub at_ms: i64,
    /// What happened.
    pub body: EventBody,
}

/// The records of `batch`, received at `received_at_ms` (collector clock).
pub fn browser_records(batch: ParsedBatch, received_at_ms: f64) -> BrowserRecords {
    let header = batch.header;
    let skew = ClockSkew::new(&header, received_at_ms);
    let records = batch
        .accepted
        .into_iter()
        .map(|(_, event)| Record {
            at_ms: skew.event_epoch_ms(&event),
            event_id: event.event_id,
            page_view_id: event
                .page_view_id
                .unwrap_or_else(|| header.page_view_id.clone()),
            url: event.url.unwrap_or_else(|| header.url.clone()),
            route: event.route.or_else(|| header.route.clone()),
            body: event.body,
        })
        .collect();
    BrowserRecords {
        app: header.app,
        session_id: header.session_id,
        release: header.release,
        user_id: header.user_id,
        received_at_ms: to_epoch_ms(received_at_ms),
        records,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfwatch_protocol::parse_browser_batch;
    use serde_json::json;

    #[test]
    fn events_override_the_page_and_move_by_the_clock_skew() {
        // The client's clock is 10 s behind: it says it sent at 1_000_000 when it was 1_010_000.
        let body = json!({
            "v": 1, "app": "a", "session_id": "s", "page_view_id": "p1",
            "url": "https://x/a", "route": "/a",
            "time_origin": 990_000.0, "sent_at": 1_000_000.0,
            "events": [
                {"type": "page_view", "start_time": 500.0},
                {"type": "page_view", "start_time": 2000.0, "page_view_id": "p2",
                 "url": "https://x/b", "route": "/b", "event_id": "e2"}
            ]
        });
        let parsed = parse_browser_batch(body.to_string().as_bytes()).unwrap();
        let out = browser_records(parsed, 1_010_000.0);
        assert_eq!(out.received_at_ms, 1_010_000);
        let [first, second] = &out.records[..] else {
            panic!("{:?}", out.records)
        };
        assert_eq!(
            (first.page_view_id.as_str(), first.route.as_deref()),
            ("p1", Some("/a"))
        );
        assert_eq!(first.at_ms, 990_000 + 500 + 10_000);
        assert_eq!(
            (second.page_view_id.as_str(), second.url.as_str()),
            ("p2", "https://x/b")
        );
        assert_eq!(second.event_id.as_deref(), Some("e2"));
        assert_eq!(second.at_ms, 990_000 + 2000 + 10_000);
    }
}
