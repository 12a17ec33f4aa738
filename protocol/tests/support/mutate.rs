//! A proptest strategy the property tests share (`protocol/tests/properties.rs`,
//! `collector/tests/otlp_properties.rs`, each including this file with `#[path]`).

use proptest::prelude::*;

/// A body made from a valid one: bytes replaced, inserted or removed at generated places, so
/// that the parser sees almost-valid input more often than random bytes would make it.
pub fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), any::<u8>(), 0..3u8);
    proptest::collection::vec(edit, 1..8).prop_map(move |edits| {
        let mut body = valid.clone();
        for (at, byte, kind) in edits {
            let i = at.index(body.len().max(1));
            match kind {
                0 if !body.is_empty() => body[i] = byte,
                1 => body.insert(i.min(body.len()), byte),
                _ if !body.is_empty() => {
                    body.remove(i);
                }
                _ => {}
            }
        }
        body
    })
}
