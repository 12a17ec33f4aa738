//! The dashboard web page, embedded in the binary: the files of the npm build's dashboard app
//! (`npm/dist/dashboard-app/`: `index.html` and hashed `assets/`), or, when the collector was
//! built without them, one built-in page saying how to build them. `build.rs` writes the table
//! at compile time; [`crate::routes::dashboard_page`] serves it.

/// One embedded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// Its path relative to the app's directory, with `/` (`index.html`,
    /// `assets/index-3f2a9c.js`).
    pub path: &'static str,
    /// Its `Content-Type` (by extension; text types with `charset=utf-8`).
    pub content_type: &'static str,
    /// Its contents.
    pub bytes: &'static [u8],
}

// `FROM_NPM_BUILD` and `ASSETS`.
include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));

/// The page's path in [`ASSETS`], always there.
pub const INDEX: &str = "index.html";

/// The file at `path` (relative, as in [`Asset::path`]), if embedded.
pub fn get(path: &str) -> Option<&'static Asset> {
    let at = ASSETS.binary_search_by(|asset| asset.path.cmp(path)).ok()?;
    ASSETS.get(at)
}

/// The page itself (`None` only if `build.rs` broke its promise).
pub fn index() -> Option<&'static Asset> {
    get(INDEX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_relative_and_holds_the_page() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
        for asset in ASSETS {
            assert!(!asset.path.starts_with('/'), "{}", asset.path);
            assert!(!asset.path.split('/').any(|part| part == ".."));
            assert_eq!(get(asset.path), Some(asset));
        }
        let page = index().expect("index.html");
        assert_eq!(page.content_type, "text/html; charset=utf-8");
        assert!(!page.bytes.is_empty());
        assert_eq!(get("assets/nope.js"), None);
        if !FROM_NPM_BUILD {
            assert_eq!(ASSETS.len(), 1);
            let text = String::from_utf8_lossy(page.bytes);
            assert!(text.contains("scripts/build.sh"), "{text}");
        }
    }
}
