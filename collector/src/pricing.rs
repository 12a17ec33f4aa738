//! The AI model price table and the cost of an AI call (CONTRACT.md, "AI call record").
//!
//! When an AI call record arrives with `cost_usd: null`, the collector prices it from a dated
//! price table; both the sent and the computed cost are kept. The table ships with the collector
//! (`collector/prices.toml`, [`PriceTable::builtin`]) and the user's own table, in the same
//! format ([`PriceTable::from_toml`]), overrides and extends it ([`PriceTable::extend`]).
//!
//! ## The table
//!
//! One entry per model and effective date: the provider, the model's canonical name and its
//! aliases (dated snapshots, `-latest` names), the first day (UTC) the prices apply, the source
//! of the prices, and prices in USD per million tokens for uncached input, output, cache reads,
//! cache writes and, where the model has one, reasoning; optionally long-prompt tiers. The
//! format is documented at the top of `prices.toml`. History is priced at the price of its day:
//! a call is priced at its model's entry with the latest effective date not after the call's
//! UTC day, and a call older than the model's first entry is not priced.
//!
//! Providers are compared after aliasing: the OpenTelemetry `gen_ai.provider.name` values
//! `gcp.gemini`, `gcp.vertex_ai` and `gcp.gen_ai` are `google`, and `mistral_ai` is `mistral`.
//! Model names and aliases are compared without regard to case.
//!
//! ## The formula
//!
//! Token counts follow the OpenTelemetry GenAI convention: `input_tokens` includes the cached
//! and cache-write tokens, `output_tokens` includes the reasoning tokens. With the prices `p`
//! of the applicable entry (or of its tier):
//!
//! ```text
//! uncached input = input_tokens − cached_input_tokens − cache_write_tokens
//! other output   = output_tokens − reasoning_tokens
//! cost_usd = ( uncached input     × p.input
//!            + cached_input_tokens × p.cache_read   (p.input when the entry has none)
//!            + cache_write_tokens  × p.cache_write  (p.input when the entry has none)
//!            + other output        × p.output
//!            + reasoning_tokens    × p.reasoning    (p.output when the entry has none)
//!            ) / 1 000 000
//! ```
//!
//! Tiers: an entry may carry tiers `above_input_tokens = N`; the tier with the largest `N` that
//! the prompt size exceeds replaces all the entry's prices for the whole call (this is how
//! Gemini 2.5 Pro and Claude Sonnet 4/4.5 price prompts over 200K tokens). The prompt size is
//! `input_tokens` (for an inconsistent record, see below, at least the cache counts' sum).
//!
//! Inconsistent counts: when `cached_input_tokens + cache_write_tokens > input_tokens` the cache
//! counts are priced as sent and the uncached input is 0; likewise when `reasoning_tokens >
//! output_tokens` the reasoning tokens are priced as sent and the other output is 0. Such a
//! result is flagged ([`Priced::usage_inconsistent`]); nothing panics.
//!
//! An unknown model gives no price ([`PriceTable::cost`] returns `None`): the caller stores the
//! call with its cost unknown and counts it, and never prices it as 0.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// The built-in table, parsed once.
static BUILTIN: std::sync::LazyLock<PriceTable> = std::sync::LazyLock::new(|| {
    PriceTable::from_toml(BUILTIN_TOML)
        .expect("the built-in price table parses: checked by the unit test builtin_table_parses_and_is_consistent")
});

/// The built-in table's text, shipped with the collector.
const BUILTIN_TOML: &str = include_str!("../prices.toml");

/// Tokens per unit of the table's prices (prices are USD per million tokens).
const TOKENS_PER_PRICE_UNIT: f64 = 1_000_000.0;

/// Milliseconds in a day.
const MS_PER_DAY: i64 = 86_400_000;

/// The canonical provider names of the OpenTelemetry `gen_ai.provider.name` values (and other
/// spellings) that mean the same provider. Other names are kept as they are (lowercased).
const PROVIDER_ALIASES: &[(&str, &str)] = &[
    ("gcp.gemini", "google"),
    ("gcp.vertex_ai", "google"),
    ("gcp.gen_ai", "google"),
    ("mistral_ai", "mistral"),
];

/// The keys of an entry (`[[model]]`) of the table.
const ENTRY_KEYS: &[&str] = &[
    "provider",
    "model",
    "aliases",
    "effective",
    "source",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
    "tier",
];

/// The keys of a tier (`[[model.tier]]`).
const TIER_KEYS: &[&str] = &[
    "above_input_tokens",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
];

/// A day of the proleptic Gregorian calendar (UTC), as days since 1970-01-01.
///
/// Written and read as `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    days: i64,
}

impl Date {
    /// The date of `year-month-day`, or `None` when there is no such day (years 1 to 9999).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            days: days_from_civil(i64::from(year), i64::from(month), i64::from(day)),
        })
    }

    /// Parses `YYYY-MM-DD` (exactly: four-digit year, two-digit month and day).
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = i32::try_from(digits(0..4)?).ok()?;
        Date::from_ymd(year, digits(5..7)?, digits(8..10)?)
    }

    /// The UTC day of the instant `ms` milliseconds after 1970-01-01T00:00:00Z (negative: before).
    pub fn from_epoch_ms(ms: i64) -> Date {
        Date {
            days: ms.div_euclid(MS_PER_DAY),
        }
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        self.days
    }

    /// The date as (year, month, day).
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.days)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid civil date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of days since 1970-01-01 (H. Hinnant's `civil_from_days`). Every `i64` day
/// that [`Date::from_epoch_ms`] can make is in range.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is in 1..=31 and month in 1..=12 by construction.
    (year, month as u32, day as u32)
}

/// The prices of an entry or of a tier, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prices {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens (and reasoning tokens when `reasoning` is `None`).
    pub output: f64,
    /// Input tokens read from the prompt cache; `None`: at the input price.
    pub cache_read: Option<f64>,
    /// Input tokens written to the prompt cache; `None`: at the input price.
    pub cache_write: Option<f64>,
    /// Reasoning tokens; `None`: at the output price.
    pub reasoning: Option<f64>,
}

impl Prices {
    /// The cache-read price in force: `cache_read`, else the input price.
    pub fn effective_cache_read(&self) -> f64 {
        self.cache_read.unwrap_or(self.input)
    }

    /// The cache-write price in force: `cache_write`, else the input price.
    pub fn effective_cache_write(&self) -> f64 {
        self.cache_write.unwrap_or(self.input)
    }

    /// The reasoning price in force: `reasoning`, else the output price.
    pub fn effective_reasoning(&self) -> f64 {
        self.reasoning.unwrap_or(self.output)
    }

    /// Every price given, with its field name.
    #[cfg(test)]
    fn given(&self) -> impl Iterator<Item = (&'static str, f64)> {
        [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("reasoning", self.reasoning),
        ]
        .into_iter()
        .filter_map(|(name, price)| price.map(|p| (name, p)))
    }
}

/// Long-prompt prices: they replace all the entry's prices when the prompt is longer than
/// `above_input_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tier {
    /// The tier applies when the call's input tokens are more than this.
    pub above_input_tokens: u64,
    /// The tier's prices (absent cache prices fall back to the tier's input price, an absent
    /// reasoning price to the tier's output price).
    pub prices: Prices,
}

/// One entry of the table: a model's prices from a given day on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceEntry {
    /// Canonical provider name (lowercase, aliases resolved): `openai`, `anthropic`, `google`,
    /// `mistral` or a user's own.
    pub provider: String,
    /// Canonical model name, as written in the table.
    pub model: String,
    /// Other names of the model, as written in the table.
    pub aliases: Vec<String>,
    /// The first UTC day these prices apply.
    pub effective: Date,
    /// Where the prices come from.
    pub source: String,
    /// The prices below every tier.
    pub prices: Prices,
    /// Long-prompt tiers, by ascending `above_input_tokens`.
    pub tiers: Vec<Tier>,
}

impl PriceEntry {
    /// The prices for a prompt of `prompt_tokens`: those of the tier with the largest threshold
    /// below it, else the entry's own; with the tier's threshold.
    pub fn prices_for(&self, prompt_tokens: u64) -> (&Prices, Option<u64>) {
        self.tiers
            .iter()
            .rev()
            .find(|tier| prompt_tokens > tier.above_input_tokens)
            .map_or((&self.prices, None), |tier| {
                (&tier.prices, Some(tier.above_input_tokens))
            })
    }

    fn key(&self) -> (String, String, Date) {
        (
            self.provider.clone(),
            self.model.to_lowercase(),
            self.effective,
        )
    }

    fn label(&self) -> String {
        format!(
            "{} {} effective {}",
            self.provider, self.model, self.effective
        )
    }
}

/// The token counts of an AI call, as in the contract: `input_tokens` includes the cached and
/// cache-write tokens, `output_tokens` includes the reasoning tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// All prompt tokens, cached and cache-write tokens included.
    pub input_tokens: u64,
    /// All generated tokens, reasoning tokens included.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Prompt tokens written to the provider's prompt cache.
    pub cache_write_tokens: u64,
    /// Generated tokens spent on reasoning.
    pub reasoning_tokens: u64,
}

/// What each kind of token cost, in USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CostBreakdown {
    /// Uncached input tokens at the input price.
    pub uncached_input_usd: f64,
    /// Cache reads at the cache-read price.
    pub cache_read_usd: f64,
    /// Cache writes at the cache-write price.
    pub cache_write_usd: f64,
    /// Output tokens other than reasoning at the output price.
    pub output_usd: f64,
    /// Reasoning tokens at the reasoning price.
    pub reasoning_usd: f64,
}

/// A computed cost and what explains it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Priced {
    /// The call's cost in USD.
    pub cost_usd: f64,
    /// The cost of each kind of token; they add up to `cost_usd`.
    pub breakdown: CostBreakdown,
    /// The canonical provider of the entry used.
    pub provider: String,
    /// The canonical model name of the entry used.
    pub model: String,
    /// The effective date of the entry used.
    pub effective: Date,
    /// The source of the entry used.
    pub source: String,
    /// The threshold of the tier used, `None` for the entry's own prices.
    pub tier_above_input_tokens: Option<u64>,
    /// The prices used (the tier's when a tier applied).
    pub prices: Prices,
    /// The counts did not add up (cache counts above the input, or reasoning above the
    /// output); the parts were priced as sent (see the module documentation).
    pub usage_inconsistent: bool,
}

/// Why a price table was refused. Each message names the entry and the field to fix.
#[derive(Debug, Error)]
pub enum PricingError {
    /// The user's price table cannot be read.
    #[error("cannot read the price table {path}: {source}")]
    ReadFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The text is not TOML.
    #[error("the price table is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A top-level key other than `as_of` and `model`.
    #[error("the price table has an unknown top-level key `{key}`; the keys are `as_of` (a date) and `model` (the entries, [[model]])")]
    UnknownTopLevelKey {
        /// The key found.
        key: String,
    },
    /// `as_of` is not a date.
    #[error("the price table's `as_of` must be a date YYYY-MM-DD, got {got}")]
    BadAsOf {
        /// The value found, as TOML.
        got: String,
    },
    /// `model` is not an array of tables.
    #[error("the price table's `model` must be an array of tables, written [[model]], got {got}")]
    BadModelArray {
        /// The TOML type found.
        got: String,
    },
    /// A field of an entry is missing or wrong.
    #[error("price table entry {entry}: field `{field}` {problem}")]
    Entry {
        /// Which entry: its position among the [[model]] entries (from 1) and what is known of
        /// it (provider, model, effective date).
        entry: String,
        /// The field, `tier[N].field` for a tier's.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Two entries with the same provider, model and effective date.
    #[error("price table entries {first} and {second} are both for {what}; an entry is one provider, model and effective date, keep one of them")]
    DuplicateEntry {
        /// The first entry's position.
        first: String,
        /// The second entry's position.
        second: String,
        /// The provider, model and effective date.
        what: String,
    },
    /// One name given to two models of one provider.
    #[error("price table entry {entry} gives its model the name `{name}`, which already means the model `{first}` of provider `{provider}`; a name must mean one model")]
    NameClash {
        /// The provider.
        provider: String,
        /// The name (lowercase).
        name: String,
        /// The model that had the name first.
        first: String,
        /// The position and label of the entry that claims it too.
        entry: String,
    },
}

/// The model price table: entries by provider and model, each model's entries by date.
///
/// Lookups go through an index of every name (canonical and alias, lowercase) to its models.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    as_of: Option<Date>,
    models: Vec<ModelHistory>,
    /// Lowercase name (canonical or alias) → indexes into `models` (one per provider).
    names: HashMap<String, Vec<usize>>,
}

/// A model's entries, by ascending effective date.
#[derive(Debug, Clone)]
struct ModelHistory {
    provider: String,
    /// Lowercase canonical name.
    key: String,
    entries: Vec<PriceEntry>,
}

impl PriceTable {
    /// The table shipped with the collector (`collector/prices.toml`).
    ///
    /// It never fails at run time: the unit test `builtin_table_parses_and_is_consistent`
    /// parses the same text, compiled in, and checks every entry.
    pub fn builtin() -> PriceTable {
        BUILTIN.clone()
    }

    /// The built-in table extended by the user's table at `path` (the config's `prices_file`),
    /// or the built-in table alone without one.
    pub fn with_user_file(path: Option<&std::path::Path>) -> Result<PriceTable, PricingError> {
        let mut table = PriceTable::builtin();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path).map_err(|source| PricingError::ReadFile {
                path: path.to_path_buf(),
                source,
            })?;
            table.extend(PriceTable::from_toml(&text)?);
        }
        Ok(table)
    }

    /// Reads a table in the format of `prices.toml`. Every problem is reported with the entry
    /// (its position and provider, model, effective date) and the field.
    pub fn from_toml(text: &str) -> Result<PriceTable, PricingError> {
        let root: toml::Table = toml::from_str(text)?;
        let mut as_of = None;
        let mut raw_entries: &[toml::Value] = &[];
        for (key, value) in &root {
            match key.as_str() {
                "as_of" => {
                    as_of = Some(date_value(value).ok_or_else(|| PricingError::BadAsOf {
                        got: value.to_string(),
                    })?);
                }
                "model" => match value {
                    toml::Value::Array(items) => raw_entries = items.as_slice(),
                    other => {
                        return Err(PricingError::BadModelArray {
                            got: other.type_str().to_owned(),
                        })
                    }
                },
                _ => return Err(PricingError::UnknownTopLevelKey { key: key.clone() }),
            }
        }
        let mut entries = Vec::with_capacity(raw_entries.len());
        let mut seen: HashMap<(String, String, Date), usize> = HashMap::new();
        for (i, raw) in raw_entries.iter().enumerate() {
            let position = i + 1;
            let entry = parse_entry(position, raw)?;
            if let Some(first) = seen.insert(entry.key(), position) {
                return Err(PricingError::DuplicateEntry {
                    first: format!("#{first}"),
                    second: format!("#{position}"),
                    what: entry.label(),
                });
            }
            entries.push((position, entry));
        }
        let mut table = PriceTable {
            as_of,
            ..PriceTable::default()
        };
        for (position, entry) in entries {
            table
                .insert(entry, false)
                .map_err(|clash| clash.at(position))?;
        }
        Ok(table)
    }

    /// Adds `other`'s entries to this table: an entry with the same provider, model and
    /// effective date as one here replaces it, the others are added. When `other` gives a name
    /// (canonical or alias) to a model while this table gives it to another model of the same
    /// provider, `other` wins: the name leaves the model here. This table's `as_of` is kept.
    pub fn extend(&mut self, other: PriceTable) {
        for entry in other.models.into_iter().flat_map(|model| model.entries) {
            // With `take_names`, insert never refuses.
            let _ = self.insert(entry, true);
        }
    }

    /// The date the table's prices were last checked (`as_of`), when it has one.
    pub fn as_of(&self) -> Option<Date> {
        self.as_of
    }

    /// Every entry: model by model (in the order the models were first added), each model's
    /// entries by effective date.
    pub fn entries(&self) -> impl Iterator<Item = &PriceEntry> {
        self.models.iter().flat_map(|model| model.entries.iter())
    }

    /// The entry that prices a call to `model` of `provider` on the UTC day of `at_ms` (epoch
    /// milliseconds): among the entries of the model named `model` (canonical name or alias,
    /// any case) of `provider` (after aliasing, any case; `None`: any provider), the one with
    /// the latest effective date not after that day.
    ///
    /// `None` when no model has that name, when the name is ambiguous (no provider given and
    /// models of several providers have it), or when the call is older than the model's first
    /// entry.
    pub fn entry_at(&self, provider: Option<&str>, model: &str, at_ms: i64) -> Option<&PriceEntry> {
        let name = model.trim().to_lowercase();
        let candidates = self.names.get(&name)?;
        let history = match provider {
            Some(provider) => {
                let provider = canonical_provider(provider);
                candidates
                    .iter()
                    .map(|&i| &self.models[i])
                    .find(|m| m.provider == provider)?
            }
            None => match candidates.as_slice() {
                [only] => &self.models[*only],
                _ => return None,
            },
        };
        let day = Date::from_epoch_ms(at_ms);
        history
            .entries
            .iter()
            .rev()
            .find(|entry| entry.effective <= day)
    }

    /// The cost of a call to `model` of `provider` with `usage`, made at `at_ms` (epoch
    /// milliseconds), by the formula of the module documentation and the entry of
    /// [`PriceTable::entry_at`].
    ///
    /// `None` when there is no such entry (unknown model, ambiguous name, call older than the
    /// model's first entry): the cost is unknown, never 0.
    pub fn cost(
        &self,
        provider: Option<&str>,
        model: &str,
        usage: &TokenUsage,
        at_ms: i64,
    ) -> Option<Priced> {
        let entry = self.entry_at(provider, model, at_ms)?;
        let cache_tokens = usage
            .cached_input_tokens
            .saturating_add(usage.cache_write_tokens);
        let prompt_tokens = usage.input_tokens.max(cache_tokens);
        let (prices, tier) = entry.prices_for(prompt_tokens);

        let uncached_input = usage.input_tokens.saturating_sub(cache_tokens);
        let other_output = usage.output_tokens.saturating_sub(usage.reasoning_tokens);
        let usage_inconsistent =
            cache_tokens > usage.input_tokens || usage.reasoning_tokens > usage.output_tokens;

        let usd = |tokens: u64, price: f64| tokens as f64 * price / TOKENS_PER_PRICE_UNIT;
        let breakdown = CostBreakdown {
            uncached_input_usd: usd(uncached_input, prices.input),
            cache_read_usd: usd(usage.cached_input_tokens, prices.effective_cache_read()),
            cache_write_usd: usd(usage.cache_write_tokens, prices.effective_cache_write()),
            output_usd: usd(other_output, prices.output),
            reasoning_usd: usd(usage.reasoning_tokens, prices.effective_reasoning()),
        };
        let cost_usd = breakdown.uncached_input_usd
            + breakdown.cache_read_usd
            + breakdown.cache_write_usd
            + breakdown.output_usd
            + breakdown.reasoning_usd;
        Some(Priced {
            cost_usd,
            breakdown,
            provider: entry.provider.clone(),
            model: entry.model.clone(),
            effective: entry.effective,
            source: entry.source.clone(),
            tier_above_input_tokens: tier,
            prices: *prices,
            usage_inconsistent,
        })
    }

    /// Adds `entry`, replacing one with the same provider, model and effective date, and
    /// indexes its names. A name that already means another model of the same provider is a
    /// clash: refused, or (with `take_names`) taken from that model.
    fn insert(&mut self, entry: PriceEntry, take_names: bool) -> Result<(), NameClash> {
        let key = entry.model.to_lowercase();
        let existing = self
            .models
            .iter()
            .position(|m| m.provider == entry.provider && m.key == key);
        let index = existing.unwrap_or(self.models.len());

        let mut names: Vec<String> = std::iter::once(key.clone())
            .chain(entry.aliases.iter().map(|alias| alias.to_lowercase()))
            .collect();
        names.sort();
        names.dedup();
        for name in &names {
            let owners = self.names.entry(name.clone()).or_default();
            let clash = owners
                .iter()
                .position(|&i| i != index && self.models[i].provider == entry.provider);
            if let Some(at) = clash {
                if !take_names {
                    return Err(NameClash {
                        provider: entry.provider.clone(),
                        name: name.clone(),
                        first: self.models[owners[at]].key.clone(),
                        entry: entry.label(),
                    });
                }
                owners.remove(at);
            }
        }

        if existing.is_none() {
            self.models.push(ModelHistory {
                provider: entry.provider.clone(),
                key,
                entries: Vec::new(),
            });
        }
        for name in names {
            let owners = self.names.entry(name).or_default();
            if !owners.contains(&index) {
                owners.push(index);
            }
        }
        let history = &mut self.models[index];
        match history
            .entries
            .binary_search_by(|e| e.effective.cmp(&entry.effective))
        {
            Ok(at) => history.entries[at] = entry,
            Err(at) => history.entries.insert(at, entry),
        }
        Ok(())
    }
}

/// A name given to two models of one provider (before the entry's position is known).
struct NameClash {
    provider: String,
    name: String,
    first: String,
    entry: String,
}

impl NameClash {
    fn at(self, position: usize) -> PricingError {
        PricingError::NameClash {
            provider: self.provider,
            name: self.name,
            first: self.first,
            entry: format!("#{position} ({})", self.entry),
        }
    }
}

/// The canonical name of a provider: lowercase, OpenTelemetry aliases resolved.
pub fn canonical_provider(provider: &str) -> String {
    let lower = provider.trim().to_lowercase();
    PROVIDER_ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower, |(_, canonical)| (*canonical).to_owned())
}

/// A date from a TOML string `YYYY-MM-DD` or a bare TOML local date.
fn date_value(value: &toml::Value) -> Option<Date> {
    match value {
        toml::Value::String(text) => Date::parse(text),
        toml::Value::Datetime(datetime) => match (datetime.date, datetime.time, datetime.offset) {
            (Some(date), None, None) => Date::from_ymd(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// Reads the `position`th `[[model]]` entry.
fn parse_entry(position: usize, raw: &toml::Value) -> Result<PriceEntry, PricingError> {
    let Some(table) = raw.as_table() else {
        return Err(PricingError::Entry {
            entry: format!("#{position}"),
            field: "model".to_owned(),
            problem: format!(
                "must hold tables, written [[model]], got {}",
                raw.type_str()
            ),
        });
    };
    // What is known of the entry, for the messages: read leniently first.
    let label = {
        let text = |key: &str| table.get(key).and_then(toml::Value::as_str);
        let mut parts = Vec::new();
        if let Some(provider) = text("provider") {
            parts.push(canonical_provider(provider));
        }
        if let Some(model) = text("model") {
            parts.push(model.to_owned());
        }
        if let Some(date) = table.get("effective").and_then(date_value) {
            parts.push(format!("effective {date}"));
        }
        if parts.is_empty() {
            format!("#{position}")
        } else {
            format!("#{position} ({})", parts.join(" "))
        }
    };
    let fail = |field: &str, problem: String| PricingError::Entry {
        entry: label.clone(),
        field: field.to_owned(),
        problem,
    };

    if let Some(key) = table.keys().find(|key| !ENTRY_KEYS.contains(&key.as_str())) {
        return Err(fail(
            key,
            format!("is not known; the keys are {}", ENTRY_KEYS.join(", ")),
        ));
    }
    let required_text = |key: &str| -> Result<String, PricingError> {
        match table.get(key) {
            None => Err(fail(key, "is missing".to_owned())),
            Some(toml::Value::String(text)) if !text.trim().is_empty() => {
                Ok(text.trim().to_owned())
            }
            Some(other) => Err(fail(
                key,
                format!("must be a non-empty string, got {other}"),
            )),
        }
    };
    let provider = canonical_provider(&required_text("provider")?);
    let model = required_text("model")?;
    let source = required_text("source")?;
    let effective = match table.get("effective") {
        None => return Err(fail("effective", "is missing".to_owned())),
        Some(value) => date_value(value).ok_or_else(|| {
            fail(
                "effective",
                format!("must be a date YYYY-MM-DD, got {value}"),
            )
        })?,
    };
    let aliases = match table.get("aliases") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => {
            let mut aliases = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str().map(str::trim) {
                    Some(alias) if !alias.is_empty() => aliases.push(alias.to_owned()),
                    _ => {
                        return Err(fail(
                            "aliases",
                            format!("must be a list of non-empty strings, got {item} in it"),
                        ))
                    }
                }
            }
            aliases
        }
        Some(other) => {
            return Err(fail(
                "aliases",
                format!("must be a list of strings, got {other}"),
            ))
        }
    };
    let prices = parse_prices(table, "", &fail)?;

    let mut tiers = Vec::new();
    match table.get("tier") {
        None => {}
        Some(toml::Value::Array(items)) => {
            for (t, item) in items.iter().enumerate() {
                let prefix = format!("tier[{}].", t + 1);
                let Some(tier) = item.as_table() else {
                    return Err(fail(
                        "tier",
                        format!(
                            "must hold tables, written [[model.tier]], got {}",
                            item.type_str()
                        ),
                    ));
                };
                if let Some(key) = tier.keys().find(|key| !TIER_KEYS.contains(&key.as_str())) {
                    return Err(fail(
                        &format!("{prefix}{key}"),
                        format!("is not known; the keys are {}", TIER_KEYS.join(", ")),
                    ));
                }
                let field = format!("{prefix}above_input_tokens");
                let above_input_tokens = match tier.get("above_input_tokens") {
                    None => return Err(fail(&field, "is missing".to_owned())),
                    Some(toml::Value::Integer(n)) if *n > 0 => n.unsigned_abs(),
                    Some(other) => {
                        return Err(fail(
                            &field,
                            format!("must be a whole number of tokens above 0, got {other}"),
                        ))
                    }
                };
                if tiers
                    .iter()
                    .any(|t: &Tier| t.above_input_tokens == above_input_tokens)
                {
                    return Err(fail(
                        &field,
                        format!("{above_input_tokens} is the threshold of another tier too"),
                    ));
                }
                let prices = parse_prices(tier, &prefix, &fail)?;
                tiers.push(Tier {
                    above_input_tokens,
                    prices,
                });
            }
        }
        Some(other) => {
            return Err(fail(
                "tier",
                format!(
                    "must hold tables, written [[model.tier]], got {}",
                    other.type_str()
                ),
            ))
        }
    }
    tiers.sort_by_key(|tier| tier.above_input_tokens);

    Ok(PriceEntry {
        provider,
        model,
        aliases,
        effective,
        source,
        prices,
        tiers,
    })
}

/// Reads the prices of an entry or a tier (`prefix` names a tier's fields in messages).
fn parse_prices(
    table: &toml::Table,
    prefix: &str,
    fail: &dyn Fn(&str, String) -> PricingError,
) -> Result<Prices, PricingError> {
    let price = |key: &str| -> Result<Option<f64>, PricingError> {
        let value = match table.get(key) {
            None => return Ok(None),
            Some(toml::Value::Float(x)) => *x,
            Some(toml::Value::Integer(n)) => *n as f64,
            Some(other) => {
                return Err(fail(
                    &format!("{prefix}{key}"),
                    format!("must be a number of USD per million tokens, got {other}"),
                ))
            }
        };
        if value.is_finite() && value >= 0.0 {
            Ok(Some(value))
        } else {
            Err(fail(
                &format!("{prefix}{key}"),
                format!("must be a price of USD per million tokens, at least 0, got {value}"),
            ))
        }
    };
    let required = |key: &str| -> Result<f64, PricingError> {
        price(key)?.ok_or_else(|| fail(&format!("{prefix}{key}"), "is missing".to_owned()))
    };
    Ok(Prices {
        input: required("input")?,
        output: required("output")?,
        cache_read: price("cache_read")?,
        cache_write: price("cache_write")?,
        reasoning: price("reasoning")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Epoch milliseconds of `YYYY-MM-DD` 00:00:00 UTC plus `ms`.
    fn at(date: &str, ms: i64) -> i64 {
        Date::parse(date)
            .expect("a valid test date")
            .days_since_epoch()
            * MS_PER_DAY
            + ms
    }

    /// Noon UTC of `YYYY-MM-DD`.
    fn noon(date: &str) -> i64 {
        at(date, MS_PER_DAY / 2)
    }

    fn entry<'a>(
        table: &'a PriceTable,
        provider: &str,
        model: &str,
        effective: &str,
    ) -> &'a PriceEntry {
        let effective = Date::parse(effective).expect("a valid test date");
        table
            .entries()
            .find(|e| e.provider == provider && e.model == model && e.effective == effective)
            .unwrap_or_else(|| panic!("the table has {provider} {model} effective {effective}"))
    }

    fn assert_close(actual: f64, expected: f64) {
        let tolerance = 1e-12 * expected.abs().max(1.0);
        assert!(
            (actual - expected).abs() <= tolerance,
            "cost {actual} differs from the expected {expected}"
        );
    }

    fn usage(input: u64, cached: u64, writes: u64, output: u64, reasoning: u64) -> TokenUsage {
        TokenUsage {
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: cached,
            cache_write_tokens: writes,
            reasoning_tokens: reasoning,
        }
    }

    /// The formula, written out independently of `cost`.
    fn by_hand(p: &Prices, u: &TokenUsage) -> f64 {
        let uncached = (u.input_tokens - u.cached_input_tokens - u.cache_write_tokens) as f64;
        let cache_read = p.cache_read.unwrap_or(p.input);
        let cache_write = p.cache_write.unwrap_or(p.input);
        let reasoning = p.reasoning.unwrap_or(p.output);
        let other_output = (u.output_tokens - u.reasoning_tokens) as f64;
        (uncached * p.input
            + u.cached_input_tokens as f64 * cache_read
            + u.cache_write_tokens as f64 * cache_write
            + other_output * p.output
            + u.reasoning_tokens as f64 * reasoning)
            / 1e6
    }

    const TWO_DATES: &str = r#"
        as_of = "2026-01-01"

        [[model]]
        provider = "openai"
        model = "test-model"
        aliases = ["test-model-2025-01-01"]
        effective = "2025-01-01"
        source = "https://example.test/pricing"
        input = 10.0
        cache_read = 1.0
        output = 40.0

        [[model]]
        provider = "openai"
        model = "test-model"
        effective = 2025-06-10
        source = "https://example.test/pricing"
        input = 2
        cache_read = 0.5
        output = 8.0
    "#;

    #[test]
    fn builtin_table_parses_and_is_consistent() {
        let table = PriceTable::from_toml(BUILTIN_TOML).expect("the built-in table parses");
        let as_of = table.as_of().expect("the built-in table has as_of");
        let mut seen = HashSet::new();
        let mut providers = HashSet::new();
        let mut count = 0;
        for e in table.entries() {
            count += 1;
            let what = e.label();
            assert!(
                e.source.starts_with("https://"),
                "{what}: source {}",
                e.source
            );
            assert!(
                e.effective <= as_of,
                "{what}: effective after as_of {as_of}"
            );
            assert!(seen.insert(e.key()), "{what}: duplicate");
            providers.insert(e.provider.clone());
            let all_prices = std::iter::once(&e.prices).chain(e.tiers.iter().map(|t| &t.prices));
            for prices in all_prices {
                for (field, price) in prices.given() {
                    assert!(
                        price > 0.0 && price.is_finite(),
                        "{what}: {field} = {price}"
                    );
                }
                assert!(
                    prices.effective_cache_read() <= prices.input,
                    "{what}: a cache read costs more than uncached input"
                );
            }
            for pair in e.tiers.windows(2) {
                assert!(pair[0].above_input_tokens < pair[1].above_input_tokens);
            }
            // Each entry is found by its own name and aliases on its effective day.
            for name in std::iter::once(&e.model).chain(&e.aliases) {
                let found = table
                    .entry_at(Some(&e.provider), name, at(&e.effective.to_string(), 0))
                    .unwrap_or_else(|| panic!("{what}: not found by {name}"));
                assert_eq!(found.effective, e.effective, "{what} by {name}");
                assert_eq!(found.model, e.model, "{what} by {name}");
                // No name is ambiguous without a provider in the built-in table.
                assert!(table
                    .entry_at(None, name, at(&e.effective.to_string(), 0))
                    .is_some());
            }
        }
        assert!(count >= 30, "the built-in table has {count} entries");
        for provider in ["openai", "anthropic", "google", "mistral"] {
            assert!(providers.contains(provider), "no {provider} entry");
        }
        // The requested models are there today.
        let today = noon(&as_of.to_string());
        for (provider, model) in [
            ("openai", "gpt-5"),
            ("openai", "gpt-5-mini"),
            ("openai", "gpt-5-nano"),
            ("openai", "gpt-4.1"),
            ("openai", "gpt-4.1-mini"),
            ("openai", "gpt-4o"),
            ("openai", "gpt-4o-mini"),
            ("openai", "o3"),
            ("openai", "o4-mini"),
            ("anthropic", "claude-opus-4-1"),
            ("anthropic", "claude-sonnet-4-5"),
            ("anthropic", "claude-sonnet-4"),
            ("anthropic", "claude-haiku-4-5"),
            ("anthropic", "claude-3-5-haiku"),
            ("google", "gemini-2.5-pro"),
            ("google", "gemini-2.5-flash"),
            ("google", "gemini-2.5-flash-lite"),
            ("google", "gemini-2.0-flash"),
            ("mistral", "mistral-large-latest"),
            ("mistral", "mistral-medium-latest"),
            ("mistral", "mistral-small-latest"),
            ("mistral", "codestral-latest"),
        ] {
            assert!(
                table.entry_at(Some(provider), model, today).is_some(),
                "{provider} {model} is not priced on {as_of}"
            );
        }
        // builtin() is the same table.
        assert_eq!(PriceTable::builtin().entries().count(), count);
    }

    #[test]
    fn cached_and_cache_write_tokens_are_priced_from_the_tables_own_numbers() {
        let table = PriceTable::builtin();
        // An entry with both cache prices.
        let e = entry(&table, "anthropic", "claude-sonnet-4-5", "2025-09-29");
        let p = e.prices;
        assert!(p.cache_read.is_some() && p.cache_write.is_some());
        let u = usage(12_000, 3_000, 2_000, 1_500, 400);
        let priced = table
            .cost(
                Some("anthropic"),
                "claude-sonnet-4-5",
                &u,
                noon("2025-10-01"),
            )
            .expect("priced");
        let expected = (7_000.0 * p.input
            + 3_000.0 * p.cache_read.unwrap_or(f64::NAN)
            + 2_000.0 * p.cache_write.unwrap_or(f64::NAN)
            + 1_500.0 * p.output)
            / 1e6;
        assert_close(priced.cost_usd, expected);
        assert_close(priced.cost_usd, by_hand(&p, &u));
        assert_eq!(priced.effective, e.effective);
        assert_eq!(priced.source, e.source);
        assert_eq!(priced.model, "claude-sonnet-4-5");
        assert_eq!(priced.tier_above_input_tokens, None);
        assert!(!priced.usage_inconsistent);
        let b = priced.breakdown;
        assert_close(
            b.uncached_input_usd
                + b.cache_read_usd
                + b.cache_write_usd
                + b.output_usd
                + b.reasoning_usd,
            priced.cost_usd,
        );
        assert_close(
            b.cache_write_usd,
            2_000.0 * p.cache_write.unwrap_or(f64::NAN) / 1e6,
        );

        // An entry without a cache-write price: cache writes at the input price.
        let e = entry(&table, "openai", "gpt-4.1", "2025-04-14");
        let p = e.prices;
        assert!(p.cache_write.is_none() && p.cache_read.is_some());
        let u = usage(5_000, 1_000, 500, 700, 0);
        let priced = table
            .cost(Some("openai"), "gpt-4.1", &u, noon("2025-12-01"))
            .expect("priced");
        let expected = (3_500.0 * p.input
            + 1_000.0 * p.cache_read.unwrap_or(f64::NAN)
            + 500.0 * p.input
            + 700.0 * p.output)
            / 1e6;
        assert_close(priced.cost_usd, expected);

        // An entry without any cache price: cache reads at the input price too.
        let e = entry(&table, "mistral", "mistral-medium", "2025-05-07");
        let p = e.prices;
        assert!(p.cache_read.is_none());
        let u = usage(2_000, 800, 0, 100, 0);
        let priced = table
            .cost(None, "mistral-medium-latest", &u, noon("2025-06-01"))
            .expect("priced");
        assert_close(
            priced.cost_usd,
            (2_000.0 * p.input + 100.0 * p.output) / 1e6,
        );

        // Nothing used, nothing paid.
        let priced = table
            .cost(None, "gpt-5", &TokenUsage::default(), noon("2025-09-01"))
            .expect("priced");
        assert_eq!(priced.cost_usd, 0.0);
    }

    #[test]
    fn a_price_change_applies_from_its_day_on() {
        let table = PriceTable::from_toml(TWO_DATES).expect("parses");
        let old = entry(&table, "openai", "test-model", "2025-01-01").prices;
        let new = entry(&table, "openai", "test-model", "2025-06-10").prices;
        let u = usage(10_000, 4_000, 0, 2_000, 0);
        let cost = |ms| {
            table
                .cost(Some("openai"), "test-model", &u, ms)
                .map(|p| (p.cost_usd, p.effective.to_string()))
        };

        let before = cost(noon("2025-06-09")).expect("priced");
        assert_close(before.0, by_hand(&old, &u));
        assert_eq!(before.1, "2025-01-01");
        // The last millisecond of the day before, and the first of the day.
        assert_eq!(cost(at("2025-06-10", -1)).expect("priced").1, "2025-01-01");
        let on = cost(at("2025-06-10", 0)).expect("priced");
        assert_eq!(on.1, "2025-06-10");
        assert_close(on.0, by_hand(&new, &u));
        let after = cost(noon("2027-03-01")).expect("priced");
        assert_close(after.0, by_hand(&new, &u));
        // The alias written on the first entry names the model at every date.
        let alias = table
            .cost(
                Some("openai"),
                "test-model-2025-01-01",
                &u,
                noon("2025-07-01"),
            )
            .expect("priced");
        assert_eq!(alias.effective.to_string(), "2025-06-10");
        // Before the first entry: not priced.
        assert!(cost(at("2025-01-01", -1)).is_none());
        assert!(cost(i64::MIN).is_none());
        assert!(cost(i64::MAX).is_some());

        // The built-in o3 price cut of 2025-06-10, from the table's own numbers.
        let builtin = PriceTable::builtin();
        let launch = entry(&builtin, "openai", "o3", "2025-04-16").prices;
        let cut = entry(&builtin, "openai", "o3", "2025-06-10").prices;
        assert!(cut.input < launch.input);
        let o3 = |ms| {
            builtin
                .cost(Some("openai"), "o3-2025-04-16", &u, ms)
                .map(|p| p.cost_usd)
        };
        assert_close(
            o3(noon("2025-05-01")).expect("priced"),
            by_hand(&launch, &u),
        );
        assert_close(o3(noon("2025-06-10")).expect("priced"), by_hand(&cut, &u));
    }

    #[test]
    fn an_unknown_model_has_no_price() {
        let table = PriceTable::builtin();
        let u = usage(1_000, 0, 0, 100, 0);
        assert!(table
            .cost(None, "no-such-model", &u, noon("2025-10-01"))
            .is_none());
        assert!(table
            .cost(Some("openai"), "", &u, noon("2025-10-01"))
            .is_none());
        // A known model under another provider is unknown there.
        assert!(table
            .cost(Some("anthropic"), "gpt-4o", &u, noon("2025-10-01"))
            .is_none());
        assert!(table
            .cost(Some("azure.ai.openai"), "gpt-4o", &u, noon("2025-10-01"))
            .is_none());
        // A known model before its first entry.
        assert!(table.cost(None, "gpt-5", &u, noon("2025-08-06")).is_none());
        assert!(table.cost(None, "gpt-5", &u, at("2025-08-07", 0)).is_some());
    }

    #[test]
    fn a_long_prompt_is_priced_at_its_tier() {
        let table = PriceTable::builtin();
        let e = entry(&table, "google", "gemini-2.5-pro", "2025-06-17");
        let tier = e
            .tiers
            .first()
            .expect("gemini-2.5-pro has a long-prompt tier");
        let threshold = tier.above_input_tokens;
        let when = noon("2025-09-01");

        // At the threshold: the base prices.
        let u = usage(threshold, 50_000, 0, 3_000, 1_000);
        let priced = table
            .cost(Some("gcp.gemini"), "gemini-2.5-pro", &u, when)
            .expect("priced");
        assert_eq!(priced.tier_above_input_tokens, None);
        assert_eq!(priced.prices, e.prices);
        assert_close(priced.cost_usd, by_hand(&e.prices, &u));

        // One token above: every token at the tier's prices, output included.
        let u = usage(threshold + 1, 50_000, 0, 3_000, 1_000);
        let priced = table
            .cost(Some("google"), "gemini-2.5-pro", &u, when)
            .expect("priced");
        assert_eq!(priced.tier_above_input_tokens, Some(threshold));
        assert_eq!(priced.prices, tier.prices);
        assert_close(priced.cost_usd, by_hand(&tier.prices, &u));
        assert!(tier.prices.output > e.prices.output);

        // Several tiers: the largest threshold exceeded wins.
        let text = r#"
            [[model]]
            provider = "acme"
            model = "tiered"
            effective = "2025-01-01"
            source = "https://example.test"
            input = 1
            output = 2
            [[model.tier]]
            above_input_tokens = 1_000_000
            input = 3
            output = 6
            [[model.tier]]
            above_input_tokens = 100_000
            input = 2
            output = 4
        "#;
        let table = PriceTable::from_toml(text).expect("parses");
        let price_of = |input| {
            table
                .cost(
                    None,
                    "tiered",
                    &usage(input, 0, 0, 0, 0),
                    noon("2025-02-01"),
                )
                .map(|p| p.prices.input)
        };
        assert_eq!(price_of(100_000), Some(1.0));
        assert_eq!(price_of(100_001), Some(2.0));
        assert_eq!(price_of(1_000_000), Some(2.0));
        assert_eq!(price_of(1_000_001), Some(3.0));
    }

    #[test]
    fn aliases_and_provider_aliases_find_the_model() {
        let table = PriceTable::builtin();
        let u = usage(10_000, 2_000, 0, 500, 0);
        let when = noon("2025-11-01");
        let model_of = |provider: Option<&str>, model: &str| {
            table.cost(provider, model, &u, when).map(|p| p.model)
        };
        assert_eq!(
            model_of(Some("openai"), "GPT-4o-2024-11-20").as_deref(),
            Some("gpt-4o")
        );
        assert_eq!(
            model_of(Some("OpenAI"), " gpt-4o ").as_deref(),
            Some("gpt-4o")
        );
        assert_eq!(
            model_of(Some("anthropic"), "claude-sonnet-4-5-20250929").as_deref(),
            Some("claude-sonnet-4-5")
        );
        for provider in ["gcp.gemini", "gcp.vertex_ai", "GCP.Gemini", "google"] {
            assert_eq!(
                model_of(Some(provider), "gemini-2.5-flash").as_deref(),
                Some("gemini-2.5-flash"),
                "{provider}"
            );
        }
        for provider in ["mistral_ai", "mistral"] {
            assert_eq!(
                model_of(Some(provider), "mistral-large-latest").as_deref(),
                Some("mistral-large"),
                "{provider}"
            );
        }
        assert_eq!(
            model_of(None, "codestral-2501").as_deref(),
            Some("codestral")
        );

        // Same price by any name.
        let by_alias = table.cost(
            Some("gcp.gemini"),
            "gemini-2.5-flash-preview-09-2025",
            &u,
            when,
        );
        let by_name = table.cost(Some("google"), "gemini-2.5-flash", &u, when);
        assert_eq!(by_alias.map(|p| p.cost_usd), by_name.map(|p| p.cost_usd));

        // A dated snapshot keeps its own price while the moving name changes.
        let snapshot = table
            .cost(None, "gpt-4o-2024-05-13", &u, when)
            .expect("priced");
        let moving = table.cost(None, "gpt-4o", &u, when).expect("priced");
        assert!(snapshot.cost_usd > moving.cost_usd);
        assert_eq!(canonical_provider(" Mistral_AI "), "mistral");
        assert_eq!(canonical_provider("x_ai"), "x_ai");
    }

    #[test]
    fn reasoning_tokens_have_their_own_price_when_the_entry_has_one() {
        let text = r#"
            [[model]]
            provider = "openai"
            model = "thinker"
            effective = "2025-01-01"
            source = "https://example.test"
            input = 1.0
            output = 4.0
            reasoning = 10.0
        "#;
        let table = PriceTable::from_toml(text).expect("parses");
        let p = entry(&table, "openai", "thinker", "2025-01-01").prices;
        let u = usage(1_000, 0, 0, 3_000, 2_000);
        let priced = table
            .cost(None, "thinker", &u, noon("2025-02-01"))
            .expect("priced");
        let expected =
            (1_000.0 * p.input + 1_000.0 * p.output + 2_000.0 * p.reasoning.unwrap_or(f64::NAN))
                / 1e6;
        assert_close(priced.cost_usd, expected);
        assert_close(priced.breakdown.reasoning_usd, 2_000.0 * 10.0 / 1e6);
        assert_close(priced.breakdown.output_usd, 1_000.0 * 4.0 / 1e6);

        // Without a reasoning price, reasoning tokens are output tokens.
        let builtin = PriceTable::builtin();
        let p = entry(&builtin, "openai", "o4-mini", "2025-04-16").prices;
        assert!(p.reasoning.is_none());
        let priced = builtin
            .cost(None, "o4-mini", &u, noon("2025-05-01"))
            .expect("priced");
        assert_close(
            priced.cost_usd,
            (1_000.0 * p.input + 3_000.0 * p.output) / 1e6,
        );
    }

    #[test]
    fn inconsistent_or_huge_counts_do_not_panic() {
        let table = PriceTable::builtin();
        let when = noon("2025-10-01");
        let p = entry(&table, "anthropic", "claude-haiku-4-5", "2025-10-15").prices;
        let when_haiku = noon("2025-10-20");

        // Cache counts above the input: priced as sent, no uncached input, flagged.
        let u = usage(1_000, 900, 300, 10, 0);
        let priced = table
            .cost(None, "claude-haiku-4-5", &u, when_haiku)
            .expect("priced");
        assert!(priced.usage_inconsistent);
        assert_eq!(priced.breakdown.uncached_input_usd, 0.0);
        let expected = (900.0 * p.cache_read.unwrap_or(f64::NAN)
            + 300.0 * p.cache_write.unwrap_or(f64::NAN)
            + 10.0 * p.output)
            / 1e6;
        assert_close(priced.cost_usd, expected);

        // Reasoning above the output: priced as sent, no other output, flagged.
        let u = usage(100, 0, 0, 10, 50);
        let priced = table
            .cost(None, "claude-haiku-4-5", &u, when_haiku)
            .expect("priced");
        assert!(priced.usage_inconsistent);
        assert_close(priced.cost_usd, (100.0 * p.input + 50.0 * p.output) / 1e6);

        // The largest counts: finite, and no overflow in the cache sum.
        let u = usage(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX);
        let priced = table
            .cost(None, "claude-sonnet-4", &u, when)
            .expect("priced");
        assert!(priced.cost_usd.is_finite() && priced.cost_usd > 0.0);
        assert_eq!(priced.tier_above_input_tokens, Some(200_000));

        // The cache counts alone push a prompt into the tier.
        let u = usage(1_000, 250_000, 0, 0, 0);
        let priced = table
            .cost(None, "claude-sonnet-4", &u, when)
            .expect("priced");
        assert_eq!(priced.tier_above_input_tokens, Some(200_000));
    }

    #[test]
    fn a_name_of_several_providers_needs_the_provider() {
        let text = r#"
            [[model]]
            provider = "openai"
            model = "shared"
            effective = "2025-01-01"
            source = "https://example.test/a"
            input = 1
            output = 1
            [[model]]
            provider = "acme"
            model = "other"
            aliases = ["shared"]
            effective = "2025-01-01"
            source = "https://example.test/b"
            input = 2
            output = 2
        "#;
        let table = PriceTable::from_toml(text).expect("parses");
        let u = usage(1_000_000, 0, 0, 0, 0);
        let when = noon("2025-02-01");
        assert!(table.cost(None, "shared", &u, when).is_none());
        assert_eq!(
            table
                .cost(Some("openai"), "shared", &u, when)
                .map(|p| p.cost_usd),
            Some(1.0)
        );
        assert_eq!(
            table
                .cost(Some("acme"), "shared", &u, when)
                .map(|p| p.cost_usd),
            Some(2.0)
        );
    }

    /// `from_toml` of `text`, which must fail; its message.
    fn refused(text: &str) -> String {
        match PriceTable::from_toml(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    const GOOD_ENTRY: &str = r#"
        [[model]]
        provider = "openai"
        model = "fine"
        effective = "2025-01-01"
        source = "https://example.test"
        input = 1
        output = 2
    "#;

    #[test]
    fn from_toml_errors_name_the_entry_and_the_field() {
        let second = |body: &str| format!("{GOOD_ENTRY}\n[[model]]\n{body}");

        let message = refused(&second(
            r#"provider = "anthropic"
               model = "bad"
               effective = "2025-02-01"
               input = 1
               output = 2"#,
        ));
        assert!(
            message.contains("#2 (anthropic bad effective 2025-02-01)"),
            "{message}"
        );
        assert!(message.contains("`source` is missing"), "{message}");

        let message = refused(&second(
            r#"provider = "openai"
               model = "bad"
               effective = "2025-02-01"
               source = "https://example.test"
               input = -1
               output = 2"#,
        ));
        assert!(message.contains("#2 (openai bad"), "{message}");
        assert!(
            message.contains("`input`") && message.contains("at least 0"),
            "{message}"
        );

        let message = refused(&second(
            r#"provider = "openai"
               model = "bad"
               effective = "2025-02-30"
               source = "https://example.test"
               input = 1
               output = 2"#,
        ));
        assert!(message.contains("#2 (openai bad)"), "{message}");
        assert!(
            message.contains("`effective`") && message.contains("YYYY-MM-DD"),
            "{message}"
        );

        let message = refused(&second(
            r#"provider = "openai"
               model = "bad"
               effective = "2025-02-01"
               source = "https://example.test"
               input = "1.0"
               output = 2"#,
        ));
        assert!(message.contains("`input` must be a number"), "{message}");

        let message = refused(&second(
            r#"provider = "openai"
               model = "bad"
               effective = "2025-02-01"
               source = "https://example.test"
               input = 1
               output = 2
               cache_reads = 0.1"#,
        ));
        assert!(message.contains("`cache_reads` is not known"), "{message}");

        let message = refused(&second(
            r#"provider = "openai"
               model = "bad"
               effective = "2025-02-01"
               source = "https://example.test"
               input = 1
               output = 2
               [[model.tier]]
               above_input_tokens = 0
               input = 2
               output = 4"#,
        ));
        assert!(
            message.contains("#2 (openai bad effective 2025-02-01)"),
            "{message}"
        );
        assert!(
            message.contains("`tier[1].above_input_tokens`"),
            "{message}"
        );

        let message = refused(&second(
            r#"provider = "openai"
               model = "bad"
               effective = "2025-02-01"
               source = "https://example.test"
               input = 1
               output = 2
               [[model.tier]]
               above_input_tokens = 1000
               input = 2"#,
        ));
        assert!(message.contains("`tier[1].output` is missing"), "{message}");

        let message = refused(&second(
            r#"provider = "openai"
               model = "bad"
               aliases = ["ok", 3]
               effective = "2025-02-01"
               source = "https://example.test"
               input = 1
               output = 2"#,
        ));
        assert!(message.contains("`aliases`"), "{message}");

        // The same provider, model and effective date twice (provider and name case aside).
        let message = refused(&second(
            r#"provider = "OpenAI"
               model = "FINE"
               effective = 2025-01-01
               source = "https://example.test"
               input = 1
               output = 2"#,
        ));
        assert!(message.contains("#1 and #2"), "{message}");

        // A name given to two models of one provider.
        let message = refused(&second(
            r#"provider = "openai"
               model = "other"
               aliases = ["Fine"]
               effective = "2025-02-01"
               source = "https://example.test"
               input = 1
               output = 2"#,
        ));
        assert!(
            message.contains("`fine`") && message.contains("#2 (openai other"),
            "{message}"
        );

        let message = refused("as_of = 2025\n");
        assert!(message.contains("`as_of`"), "{message}");
        let message = refused("models = []\n");
        assert!(message.contains("`models`"), "{message}");
        let message = refused("model = 1\n");
        assert!(message.contains("[[model]]"), "{message}");
        let message = refused("[[model]\n");
        assert!(message.contains("not valid TOML"), "{message}");

        // An empty table is a table.
        assert_eq!(
            PriceTable::from_toml("").expect("parses").entries().count(),
            0
        );
    }

    #[test]
    fn extend_overrides_and_adds() {
        let mut table = PriceTable::builtin();
        let builtin_count = table.entries().count();
        let builtin_as_of = table.as_of();
        let old = entry(&table, "openai", "gpt-4o", "2024-10-02").prices;
        let user = PriceTable::from_toml(
            r#"
            as_of = "2030-01-01"

            # Overrides the built-in entry (same provider, model, effective date).
            [[model]]
            provider = "openai"
            model = "GPT-4o"
            effective = "2024-10-02"
            source = "https://example.test/our-contract"
            input = 2.0
            output = 9.0

            # A new price for a built-in model from a new date.
            [[model]]
            provider = "anthropic"
            model = "claude-haiku-4-5"
            effective = "2026-03-01"
            source = "https://example.test/negotiated"
            input = 0.5
            output = 2.5

            # A model of our own.
            [[model]]
            provider = "acme"
            model = "acme-chat"
            aliases = ["acme-chat-v2"]
            effective = "2025-01-01"
            source = "https://example.test/acme"
            input = 0.2
            output = 0.8

            # A name the built-in table gives to gpt-4o, taken for a model of its own.
            [[model]]
            provider = "openai"
            model = "gpt-4o-2024-11-20"
            effective = "2024-11-20"
            source = "https://example.test/snapshot"
            input = 3.0
            output = 11.0
        "#,
        )
        .expect("the user's table parses");
        table.extend(user);

        assert_eq!(table.entries().count(), builtin_count + 3);
        assert_eq!(table.as_of(), builtin_as_of);

        let u = usage(1_000_000, 0, 0, 1_000_000, 0);
        let gpt_4o = table
            .cost(Some("openai"), "gpt-4o", &u, noon("2025-01-01"))
            .expect("priced");
        assert!(gpt_4o.model.eq_ignore_ascii_case("gpt-4o"));
        assert_eq!(gpt_4o.source, "https://example.test/our-contract");
        assert_close(gpt_4o.cost_usd, 2.0 + 9.0);
        assert!(old.input != 2.0);
        // The user's entry has no cache price: cache reads at its input price, not the old one.
        assert_eq!(gpt_4o.prices.cache_read, None);
        // The earlier built-in entry of gpt-4o is still there.
        let early = table
            .cost(Some("openai"), "gpt-4o", &u, noon("2024-06-01"))
            .expect("priced");
        assert_eq!(early.effective.to_string(), "2024-05-13");

        let haiku = |date| table.cost(None, "claude-haiku-4-5-20251001", &u, noon(date));
        let builtin_haiku = entry(
            &PriceTable::builtin(),
            "anthropic",
            "claude-haiku-4-5",
            "2025-10-15",
        )
        .prices;
        assert_close(
            haiku("2026-02-28").expect("priced").cost_usd,
            builtin_haiku.input + builtin_haiku.output,
        );
        assert_close(haiku("2026-03-01").expect("priced").cost_usd, 0.5 + 2.5);

        let acme = table
            .cost(Some("acme"), "ACME-chat-v2", &u, noon("2025-06-01"))
            .expect("priced");
        assert_close(acme.cost_usd, 0.2 + 0.8);

        let snapshot = table
            .cost(None, "gpt-4o-2024-11-20", &u, noon("2025-01-01"))
            .expect("priced");
        assert_eq!(snapshot.model, "gpt-4o-2024-11-20");
        assert_close(snapshot.cost_usd, 3.0 + 11.0);
        // gpt-4o itself keeps its other names.
        assert_eq!(
            table
                .cost(None, "gpt-4o", &u, noon("2024-06-01"))
                .map(|p| p.effective.to_string())
                .as_deref(),
            Some("2024-05-13")
        );
    }

    #[test]
    fn dates_parse_and_print() {
        assert_eq!(
            Date::parse("1970-01-01").map(Date::days_since_epoch),
            Some(0)
        );
        assert_eq!(
            Date::parse("2000-03-01").map(|d| d.to_string()).as_deref(),
            Some("2000-03-01")
        );
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2025-02-29").is_none());
        assert!(Date::parse("1900-02-29").is_none());
        assert!(Date::parse("2000-02-29").is_some());
        for bad in [
            "2025-13-01",
            "2025-00-10",
            "2025-01-32",
            "2025-1-01",
            "25-01-01",
            "2025/01/01",
            "+202-01-01",
            "２０２５-01-01",
            "",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        // 2026-11-26T... : the contract's example timestamp.
        assert_eq!(
            Date::from_epoch_ms(1_795_676_400_000).to_string(),
            "2026-11-26"
        );
        assert_eq!(Date::from_epoch_ms(-1).to_string(), "1969-12-31");
        assert_eq!(Date::from_epoch_ms(0).to_string(), "1970-01-01");
        // Every day of a few centuries round-trips.
        let start = Date::parse("1899-12-25").expect("valid").days_since_epoch();
        for days in start..start + 200 * 366 {
            let date = Date { days };
            assert_eq!(Date::parse(&date.to_string()), Some(date));
        }
        // The extremes print without panicking.
        let _ = Date::from_epoch_ms(i64::MIN).to_string();
        let _ = Date::from_epoch_ms(i64::MAX).to_string();
    }
}
