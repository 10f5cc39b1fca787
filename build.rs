//! Bundles every `scenarios/*.toml` into the binary (`ordo list`, `explain`, `run NAME`,
//! `matrix` work from any directory once installed). A file added to `scenarios/` is
//! picked up by the next build: cargo reruns this script when the directory changes.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/ is readable")
        .map(|entry| entry.expect("scenarios/ entry").path())
        .filter(|path| path.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut code =
        String::from("/// Every `scenarios/*.toml` at build time: (file stem, text), sorted by file name.\n");
    code.push_str("pub static BUNDLED: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name");
        let _ = writeln!(code, "    ({stem:?}, include_str!({:?})),", path.display().to_string());
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bundled_scenarios.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
