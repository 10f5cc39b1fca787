//! The scenarios bundled in the binary, and how a scenario argument is found.
//!
//! `build.rs` embeds every `scenarios/*.toml` of the source tree at build time, so an
//! installed `ordo` lists, explains, runs and sweeps them from any directory; a file added
//! to `scenarios/` is bundled by the next build. A bundled scenario is shown (in errors,
//! `ordo list` and reproduce commands) as `scenarios/NAME.toml`, the path it has in the
//! repository, and that path finds it again from anywhere; its text is the file's, so it
//! runs the same history.
//!
//! A user's own folder of scenarios is named by `--scenarios DIR` (`list`, `explain`,
//! `matrix`) or the `ORDO_SCENARIOS` variable (every command); it replaces the bundled set
//! in `list` and `matrix`, and is searched before it for a name.

use std::path::{Path, PathBuf};

use crate::scenario::{Scenario, ScenarioError};

include!(concat!(env!("OUT_DIR"), "/bundled_scenarios.rs"));

/// The variable naming a folder of the user's own scenarios.
pub const ENV: &str = "ORDO_SCENARIOS";

/// A scenario's text and where it came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// The path it is shown under: the file's, or `scenarios/NAME.toml` when bundled.
    pub path: PathBuf,
    /// The file stem: the scenario's name when the file sets none.
    pub stem: String,
    pub text: String,
    pub bundled: bool,
}

impl Source {
    /// Parses and validates it, with `--set` overrides.
    pub fn load(&self, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        Scenario::parse_with(&self.text, &self.path.display().to_string(), &self.stem, overrides)
    }

    fn file(path: &Path) -> Result<Source, std::io::Error> {
        let text = std::fs::read_to_string(path)?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario").to_string();
        Ok(Source { path: path.to_path_buf(), stem, text, bundled: false })
    }

    fn bundled(stem: &str, text: &str) -> Source {
        Source {
            path: Path::new("scenarios").join(format!("{stem}.toml")),
            stem: stem.to_string(),
            text: text.to_string(),
            bundled: true,
        }
    }
}

/// The user's folder: `flag`, else `$ORDO_SCENARIOS` when set and not empty.
pub fn user_folder(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| std::env::var_os(ENV).filter(|v| !v.is_empty()).map(PathBuf::from))
}

/// Finds the scenario `arg` names: a file at that path; else `NAME.toml` in the user's
/// folder; else the bundled scenario `NAME` (`arg` is `NAME`, `NAME.toml` or
/// `scenarios/NAME.toml`).
pub fn resolve(arg: &str, folder: Option<&Path>) -> Result<Source, ScenarioError> {
    let path = Path::new(arg);
    let read_error = match Source::file(path) {
        Ok(source) => return Ok(source),
        Err(error) => error,
    };
    if path.is_dir() {
        return Err(ScenarioError::Read { file: arg.to_string(), reason: read_error });
    }
    let name = arg.strip_prefix("scenarios/").unwrap_or(arg);
    let name = name.strip_suffix(".toml").unwrap_or(name);
    let plain = !name.is_empty() && !name.contains(['/', '\\']);
    if let (Some(folder), true) = (folder, plain) {
        let candidate = folder.join(format!("{name}.toml"));
        if candidate.is_file() {
            return Source::file(&candidate)
                .map_err(|reason| ScenarioError::Read { file: candidate.display().to_string(), reason });
        }
    }
    if plain {
        if let Some((stem, text)) = BUNDLED.iter().find(|(stem, _)| *stem == name) {
            return Ok(Source::bundled(stem, text));
        }
    }
    Err(ScenarioError::Parse {
        file: arg.to_string(),
        message: format!(
            "cannot read: {read_error}; nor is it the name of a bundled scenario (`ordo list` names them)"
        ),
    })
}

/// Every scenario: the `*.toml` files of `folder` (sorted by name) when given, else the
/// bundled ones.
pub fn catalog(folder: Option<&Path>) -> Result<Vec<Source>, ScenarioError> {
    let Some(folder) = folder else {
        return Ok(BUNDLED.iter().map(|(stem, text)| Source::bundled(stem, text)).collect());
    };
    let listing = |reason| ScenarioError::Read { file: folder.display().to_string(), reason };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(listing)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            Source::file(path).map_err(|reason| ScenarioError::Read { file: path.display().to_string(), reason })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_file_is_bundled_with_its_text() {
        let on_disk = catalog(Some(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")))).unwrap();
        assert_eq!(on_disk.len(), BUNDLED.len());
        for (file, (stem, text)) in on_disk.iter().zip(BUNDLED) {
            assert_eq!(&file.stem, stem);
            assert_eq!(&file.text, text, "{stem} differs from scenarios/{stem}.toml: rebuild");
        }
    }
}
