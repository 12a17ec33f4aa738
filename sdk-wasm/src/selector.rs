//! A CSS-like selector naming a node, for attribution: web-vitals' `getSelector` (the element,
//! its classes sorted, joined to its ancestors by `>` up to the nearest id, at most 100
//! characters).

use crate::prelude::*;

use crate::bindings::Entry;

const MAX_LEN: usize = 100;

/// The selector of `node`, as web-vitals' `getSelector` writes it.
pub fn selector(node: &Entry) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut len = 0;
    let mut node = Some(node.clone());
    while let Some(current) = node {
        if current.num("nodeType") == 9.0 {
            break;
        }
        let id = current.string("id");
        let part = match &id {
            Some(id) => format_id(id),
            None => name_and_classes(&current),
        };
        let part_len = utf16_len(&part);
        // The joined selector would pass 99 characters: keep what fits.
        if len + part_len > MAX_LEN - 1 {
            return if parts.is_empty() { part } else { join(parts) };
        }
        // `>` between parts.
        len += part_len + usize::from(!parts.is_empty());
        parts.push(part);
        if id.is_some() {
            break;
        }
        node = current.child("parentNode");
    }
    join(parts)
}

fn format_id(id: &str) -> String {
    let mut part = String::with_capacity(id.len() + 1);
    part.push('#');
    part.push_str(id);
    part
}

/// `div.a.b` for an element (classes sorted), `#text`-style names without `#` for other nodes.
fn name_and_classes(node: &Entry) -> String {
    let name = node.string("nodeName").unwrap_or_default();
    if node.num("nodeType") != 1.0 {
        let name = name.to_ascii_uppercase();
        return name.strip_prefix('#').unwrap_or(&name).to_string();
    }
    // ASCII case mapping: element names are ASCII, and Unicode tables would cost kilobytes.
    let mut part = name.to_ascii_lowercase();
    let mut classes: Vec<String> = node
        .child("classList")
        .map(|list| {
            js_sys::Array::from(&list.0)
                .iter()
                .filter_map(|c| c.as_string())
                .collect()
        })
        .unwrap_or_default();
    crate::sort::stable_sort_by(&mut classes, |a, b| a.encode_utf16().lt(b.encode_utf16()));
    for class in classes {
        part.push('.');
        part.push_str(&class);
    }
    part
}

/// Parts were collected from the node up: join them from the top down.
fn join(parts: Vec<String>) -> String {
    let mut out = String::new();
    for part in parts.iter().rev() {
        if !out.is_empty() {
            out.push('>');
        }
        out.push_str(part);
    }
    out
}

/// String lengths as JavaScript counts them.
fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}
