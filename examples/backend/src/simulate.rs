//! The simulated AI models: the catalogue `GET /api/models` lists, and what one chat call does
//! (a latency drawn at random, sometimes a failure, a canned reply and its token counts).

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Serialize;

/// One model of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Model {
    pub id: &'static str,
    pub name: &'static str,
    pub provider: &'static str,
}

/// The models the example offers: ids the collector's price table knows, so that the
/// dashboard shows costs.
pub const MODELS: [Model; 4] = [
    Model {
        id: "gpt-4o",
        name: "GPT-4o",
        provider: "openai",
    },
    Model {
        id: "gpt-4o-mini",
        name: "GPT-4o mini",
        provider: "openai",
    },
    Model {
        id: "claude-sonnet-4",
        name: "Claude Sonnet 4",
        provider: "anthropic",
    },
    Model {
        id: "gemini-2.5-flash",
        name: "Gemini 2.5 Flash",
        provider: "google",
    },
];

/// The model named `id`.
pub fn model(id: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.id == id)
}

/// The error type an AI call record carries when the simulated model is overloaded.
pub const OVERLOADED: &str = "overloaded";

/// Tokens a simulated system prompt adds to every request.
const SYSTEM_PROMPT_TOKENS: u64 = 24;

/// How simulated model calls behave.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// A call's latency is drawn uniformly from this range, ms.
    pub latency_ms: RangeInclusive<u64>,
    /// Share of calls that fail (0 to 1).
    pub failure_rate: f64,
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation {
            latency_ms: 200..=1500,
            failure_rate: 0.1,
        }
    }
}

/// What one simulated call will do, drawn before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub latency: Duration,
    pub fails: bool,
}

/// A successful call's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub reply: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Simulation {
    /// Draws the latency and the outcome of one call.
    pub fn plan(&self) -> Plan {
        Plan {
            latency: Duration::from_millis(fastrand::u64(self.latency_ms.clone())),
            fails: fastrand::f64() < self.failure_rate,
        }
    }
}

/// Roughly what a tokenizer counts: about four bytes of English a token, at least one.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4).max(1)
}

/// The canned reply of `model` to `message`, with its token counts.
pub fn complete(model: &Model, message: &str) -> Completion {
    const OPENINGS: [&str; 4] = [
        "Good question.",
        "Here is a short answer.",
        "Let me think about that.",
        "Sure.",
    ];
    let opening = OPENINGS[fastrand::usize(..OPENINGS.len())];
    let topic: String = message
        .split_whitespace()
        .take(8)
        .collect::<Vec<_>>()
        .join(" ");
    let reply = format!(
        "{opening} This is {name} (simulated by the perfwatch example backend) answering \
         \"{topic}\": no model was called, but the latency, the tokens and the occasional \
         failure are reported to perfwatch as if one had been.",
        name = model.name,
    );
    Completion {
        input_tokens: SYSTEM_PROMPT_TOKENS + estimate_tokens(message),
        output_tokens: estimate_tokens(&reply),
        reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_spans_three_providers() {
        let mut providers: Vec<&str> = MODELS.iter().map(|m| m.provider).collect();
        providers.dedup();
        assert_eq!(providers, ["openai", "anthropic", "google"]);
        assert_eq!(model("gpt-4o").map(|m| m.name), Some("GPT-4o"));
        assert!(model("gpt-5-turbo-ultra").is_none());
    }

    #[test]
    fn plans_stay_in_range_and_fail_at_about_the_rate() {
        let simulation = Simulation {
            latency_ms: 10..=20,
            failure_rate: 0.1,
        };
        let plans: Vec<Plan> = (0..2000).map(|_| simulation.plan()).collect();
        assert!(plans
            .iter()
            .all(|p| (10..=20).contains(&(p.latency.as_millis() as u64))));
        let failures = plans.iter().filter(|p| p.fails).count();
        assert!((100..=300).contains(&failures), "{failures} of 2000");
        let never = Simulation {
            latency_ms: 0..=0,
            failure_rate: 0.0,
        };
        assert!((0..100).all(|_| !never.plan().fails));
    }

    #[test]
    fn tokens_grow_with_the_text() {
        assert_eq!(estimate_tokens(""), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        let short = complete(&MODELS[0], "hi");
        let long = complete(&MODELS[0], &"word ".repeat(400));
        assert!(long.input_tokens > short.input_tokens + 400);
        assert!(short.reply.contains("GPT-4o"));
        assert_eq!(short.output_tokens, estimate_tokens(&short.reply));
    }
}
