//! The maintenance commands: `perfwatch-collector backup --to FILE` and
//! `perfwatch-collector export [--from T] [--to T] [--hours H] [--out FILE]`.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use thiserror::Error;

use crate::clock::{self, MS_PER_HOUR};
use crate::config::{Command, Config};
use crate::store::{self, StoreError};

/// Why a command failed; the binary prints it and exits 1.
#[derive(Debug, Error)]
pub enum CommandError {
    /// The store could not be opened or could not do it.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A time argument is neither RFC 3339 nor epoch milliseconds.
    #[error("`{flag}` must be an RFC 3339 time (2026-11-26T07:00:00Z) or epoch milliseconds, got `{got}`")]
    Time {
        /// The flag.
        flag: &'static str,
        /// What was given.
        got: String,
    },
    /// The window is empty or reversed, or `--hours` is not a positive number.
    #[error("the export window is empty: {0}")]
    Window(String),
    /// The output file could not be created.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// Runs `command` against the store `config` names.
pub fn run(command: Command, config: &Config) -> Result<(), CommandError> {
    match command {
        Command::Backup { to } => {
            let store = store::open_with(&config.store, config.postgres_options())?;
            store.backup(&to)?;
            tracing::info!(to = %to.display(), "backup written");
            Ok(())
        }
        Command::Export {
            from,
            to,
            hours,
            out,
        } => {
            let to_ms = match to {
                Some(text) => parse_time("--to", &text)?,
                None => clock::to_epoch_ms(clock::now_ms()),
            };
            let from_ms = match from {
                Some(text) => parse_time("--from", &text)?,
                None => {
                    let hours = hours.unwrap_or(24.0);
                    if !(hours.is_finite() && hours > 0.0) {
                        return Err(CommandError::Window(format!(
                            "--hours must be a positive number, got {hours}"
                        )));
                    }
                    to_ms - (hours * MS_PER_HOUR) as i64
                }
            };
            if from_ms >= to_ms {
                return Err(CommandError::Window(format!(
                    "--from ({from_ms}) is not before --to ({to_ms})"
                )));
            }
            let store = store::open_with(&config.store, config.postgres_options())?;
            let mut writer: Box<dyn Write> = match &out {
                Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|source| {
                    CommandError::Output {
                        path: path.display().to_string(),
                        source,
                    }
                })?)),
                None => Box::new(BufWriter::new(io::stdout().lock())),
            };
            let lines = store.export(from_ms, to_ms, &mut writer)?;
            writer.flush().map_err(StoreError::Io)?;
            tracing::info!(lines, from_ms, to_ms, "export written");
            Ok(())
        }
    }
}

/// Epoch milliseconds from RFC 3339 or from a number of milliseconds.
fn parse_time(flag: &'static str, text: &str) -> Result<i64, CommandError> {
    crate::clock::parse_time(text).ok_or_else(|| CommandError::Time {
        flag,
        got: text.chars().take(64).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_epoch_ms() {
        assert_eq!(
            parse_time("--from", "1795676400000").unwrap(),
            1_795_676_400_000
        );
        assert_eq!(
            parse_time("--from", "2026-11-26T07:00:00Z").unwrap(),
            1_795_676_400_000
        );
        assert!(matches!(
            parse_time("--to", "yesterday"),
            Err(CommandError::Time { flag: "--to", .. })
        ));
    }
}
