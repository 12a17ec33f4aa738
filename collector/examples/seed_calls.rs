//! Fills a data directory's SQLite store with backend calls spread evenly over the last days,
//! half API calls and half AI calls, then rolls them up into minutes, hours and days as a
//! collector that had received them live would have: the history `scripts/bench-stats.sh`
//! times the statistics endpoints on.
//!
//! `cargo run --release -p perfwatch-collector --example seed_calls -- DATA_DIR [CALLS] [DAYS]`
//! (default 10 000 000 calls over 30 days).
//!
//! The calls look like a busy AI product's: 40 endpoints and 12 models of 4 providers with a
//! few much busier than the rest, 5 000 users (one call in five anonymous), mostly fast answers
//! with a long tail, 8 % client errors and 2 % server errors. A small xorshift generator with a
//! fixed seed makes every run store the same calls.

use std::path::PathBuf;
use std::time::Instant;

use perfwatch_collector::normalize::{AiCallRecord, ApiCallRecord, Batch};
use perfwatch_collector::pricing::{PriceTable, TokenUsage};
use perfwatch_collector::rollup::{roll_once, RollupPolicy};
use perfwatch_collector::store::{SqliteStore, Store};

const ENDPOINTS: usize = 40;
const USERS: u64 = 5_000;
const MODELS: [(&str, &str); 12] = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("openai", "gpt-5"),
    ("openai", "gpt-5-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("anthropic", "claude-opus-4-5"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("mistral", "mistral-large-latest"),
    ("mistral", "mistral-small-latest"),
];
/// Records written per transaction.
const GROUP: usize = 20_000;

/// xorshift64*: deterministic, fast, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index below `n`, small ones much more often (about Zipf's law).
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.unit();
        ((n as f64).powf(u) - 1.0) as usize % n
    }

    /// A duration with a median of `median` ms and a long tail.
    fn latency(&mut self, median: f64) -> f64 {
        let u = self.unit().max(1e-9);
        (median * (-u.ln()).powf(1.5) / 0.58).max(0.1)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: seed_calls DATA_DIR [CALLS] [DAYS]")?,
    );
    let calls: u64 = args.next().map_or(Ok(10_000_000), |n| n.parse())?;
    let days: i64 = args.next().map_or(Ok(30), |n| n.parse())?;
    let store = SqliteStore::open(&dir.join("perfwatch.db"))?;
    let prices = PriceTable::builtin();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    // Up to a minute ago, so that nothing lies in the future when the bench starts.
    let span = days * 86_400_000 - 120_000;
    let start = now - 60_000 - span;
    let step = span as f64 / calls as f64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let endpoints: Vec<String> = (0..ENDPOINTS)
        .map(|i| format!("/api/v1/resource{i}/{{id}}"))
        .collect();

    let began = Instant::now();
    let (mut api, mut ai) = (Vec::with_capacity(GROUP), Vec::with_capacity(GROUP));
    for i in 0..calls {
        let at_ms = start + (i as f64 * step) as i64;
        let user = (rng.unit() >= 0.2).then(|| format!("user-{}", rng.skewed(USERS as usize)));
        if i % 2 == 0 {
            let roll = rng.unit();
            let status = match roll {
                r if r < 0.02 => [500, 502, 503][rng.skewed(3)],
                r if r < 0.10 => [400, 401, 404, 429][rng.skewed(4)],
                _ => [200, 201, 204][rng.skewed(3)],
            };
            api.push(ApiCallRecord {
                service: "api".to_owned(),
                event_id: None,
                endpoint: endpoints[rng.skewed(ENDPOINTS)].clone(),
                method: ["GET", "POST", "PUT", "DELETE"][rng.skewed(4)].to_owned(),
                status,
                duration_ms: rng.latency(40.0),
                user_id: user,
                trace_id: None,
                at_ms,
                received_at_ms: at_ms,
            });
        } else {
            let (provider, model) = MODELS[rng.skewed(MODELS.len())];
            let input = 200 + (rng.unit() * 4000.0) as u64;
            let cached = if rng.unit() < 0.4 { input / 2 } else { 0 };
            let output = 50 + (rng.unit() * 800.0) as u64;
            let usage = TokenUsage {
                input_tokens: input,
                output_tokens: output,
                cached_input_tokens: cached,
                ..TokenUsage::default()
            };
            let success = rng.unit() >= 0.03;
            ai.push(AiCallRecord {
                service: "api".to_owned(),
                event_id: None,
                model: model.to_owned(),
                provider: Some(provider.to_owned()),
                operation: Some("chat".to_owned()),
                input_tokens: input as i64,
                output_tokens: output as i64,
                cached_input_tokens: cached as i64,
                cache_write_tokens: 0,
                reasoning_tokens: 0,
                duration_ms: rng.latency(900.0),
                success,
                error_type: (!success).then(|| "rate_limit_exceeded".to_owned()),
                user_id: user,
                trace_id: None,
                sent_cost_usd: None,
                computed_cost_usd: prices
                    .cost(Some(provider), model, &usage, at_ms)
                    .map(|p| p.cost_usd),
                at_ms,
                received_at_ms: at_ms,
            });
        }
        if api.len() + ai.len() >= GROUP {
            let group = [
                Batch::ApiCalls(std::mem::take(&mut api)),
                Batch::AiCalls(std::mem::take(&mut ai)),
            ];
            store.write_group(&group.iter().collect::<Vec<_>>())?;
        }
    }
    let group = [Batch::ApiCalls(api), Batch::AiCalls(ai)];
    store.write_group(&group.iter().collect::<Vec<_>>())?;
    println!(
        "{calls} calls over {days} days written in {:.0?}",
        began.elapsed()
    );

    // As live: every minute rolled while its raw calls exist, every hour while its minutes do.
    let policy = RollupPolicy {
        minute_days: u32::try_from(days + 1)?,
        ..RollupPolicy::default()
    };
    let began = Instant::now();
    let stats = roll_once(&store, policy, u32::try_from(days + 1)?, now)?;
    println!(
        "{} buckets rolled in {:.0?} (minutes, hours and days)",
        stats.rolled,
        began.elapsed()
    );
    Ok(())
}
