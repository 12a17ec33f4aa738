//! Embeds the dashboard web page in the collector's binary, so that one file serves both the
//! API and the page (`src/dashboard_assets.rs` includes what this writes,
//! `src/routes/dashboard_page.rs` serves it).
//!
//! The page is the npm package's build: `npm/dist/dashboard-app/` (`index.html` and hashed
//! `assets/`), or the directory `PERFWATCH_DASHBOARD_DIR` names (relative to `collector/`).
//! Every file under it becomes an entry of `$OUT_DIR/dashboard_assets.rs`: its path relative
//! to the directory, its content type, and its bytes (`include_bytes!`), sorted by path so
//! that the same files give the same binary. Without that build (a fresh clone, or `cargo`
//! before `npm`), the table holds one page, `src/dashboard_fallback.html`, which says how to
//! build the real one: `cargo build` and `cargo clippy` work without Node.js.
//!
//! std only: no build dependency for a directory walk and a table.

use std::env;
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Names the dashboard app's directory instead of [`DEFAULT_DIR`].
const DIR_ENV: &str = "PERFWATCH_DASHBOARD_DIR";
/// Where the npm build puts the dashboard app, relative to `collector/`.
const DEFAULT_DIR: &str = "../npm/dist/dashboard-app";
/// The page served when the app was not built, relative to `collector/`.
const FALLBACK: &str = "src/dashboard_fallback.html";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={DIR_ENV}");
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("no OUT_DIR")?);
    let chosen = env::var_os(DIR_ENV).filter(|dir| !dir.is_empty());
    let dir = manifest_dir.join(chosen.as_deref().map_or(Path::new(DEFAULT_DIR), Path::new));

    let code = if dir.join("index.html").is_file() {
        let dir = fs::canonicalize(&dir)?;
        // (Cargo watches everything below a directory it is given.)
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        walk(&dir, &dir, &mut files)?;
        // Only what the collector serves: the page and what is below assets/.
        files.retain(|(relative, _)| relative == "index.html" || relative.starts_with("assets/"));
        files.sort();
        table(
            &format!("the dashboard app in {}", dir.display()),
            true,
            &files,
        )?
    } else {
        if let Some(chosen) = chosen {
            return Err(format!(
                "{DIR_ENV}={} holds no index.html: build the dashboard app there, or unset {DIR_ENV} to use {DEFAULT_DIR}",
                chosen.to_string_lossy()
            )
            .into());
        }
        watch_for_the_build(&dir, &manifest_dir);
        let fallback = fs::canonicalize(manifest_dir.join(FALLBACK))?;
        println!("cargo:rerun-if-changed={}", fallback.display());
        table(
            &format!("the built-in page ({FALLBACK}): {DEFAULT_DIR} was not built"),
            false,
            &[("index.html".to_owned(), fallback)],
        )?
    };
    fs::write(out_dir.join("dashboard_assets.rs"), code)?;
    Ok(())
}

/// Asks cargo to run this again once the npm build creates `dir`. A path that does not exist
/// would make cargo rerun this script, and so recompile the collector, on every build; the
/// nearest existing parent within `npm/` is watched instead (a directory is watched with
/// everything in it, so it changes when `dir` appears). Outside this repository (the crate
/// packaged alone) there is nothing to watch.
fn watch_for_the_build(dir: &Path, manifest_dir: &Path) {
    let npm = manifest_dir.join("../npm");
    let watched = dir
        .ancestors()
        .take_while(|ancestor| ancestor.starts_with(&npm))
        .find(|ancestor| ancestor.is_dir());
    if let Some(watched) = watched {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
}

/// Every file under `dir` (following links, skipping names that start with `.`), with its
/// path relative to `root` written with `/`.
fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<(), Box<dyn Error>> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_none_or(|name| name.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, files)?;
        } else if path.is_file() {
            let relative = path
                .strip_prefix(root)?
                .components()
                .map(|part| part.as_os_str().to_str())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?
                .join("/");
            files.push((relative, path));
        }
    }
    Ok(())
}

/// The Rust source of the table: `FROM_NPM_BUILD` and `ASSETS` (the `Asset` type is
/// `src/dashboard_assets.rs`').
fn table(
    what: &str,
    from_npm: bool,
    files: &[(String, PathBuf)],
) -> Result<String, Box<dyn Error>> {
    let mut code = format!(
        "// @generated by collector/build.rs from {what}.\n\n\
         /// Whether [`ASSETS`] is the npm build's dashboard app (`false`: the built-in page\n\
         /// saying how to build it).\n\
         pub const FROM_NPM_BUILD: bool = {from_npm};\n\n\
         /// Every embedded file, sorted by path (relative to the app's directory, with `/`).\n\
         pub static ASSETS: &[Asset] = &[\n"
    );
    for (relative, path) in files {
        let absolute = path
            .to_str()
            .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
        writeln!(
            code,
            "    Asset {{ path: {relative:?}, content_type: {:?}, bytes: include_bytes!({absolute:?}) }},",
            content_type(relative)
        )?;
    }
    code.push_str("];\n");
    Ok(code)
}

/// The `Content-Type` of a file, by its extension.
fn content_type(path: &str) -> &'static str {
    let extension = path
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}
