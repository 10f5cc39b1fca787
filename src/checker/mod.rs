//! The history checker: reads a history (docs/history-format.md) and reports ordering and
//! causality violations with minimal witnesses. It depends on nothing else in ordo.
//!
//! ```
//! use ordo::checker::{check_reader, Guarantee};
//! let history = r#"{"format":"ordo-history","version":1,"expect":["per_key_order"]}
//! {"type":"create","t":1,"node":"p0","id":1,"entity":"a","deps":[]}
//! {"type":"create","t":2,"node":"p0","id":2,"entity":"a","deps":[1]}
//! {"type":"apply","t":3,"node":"c0","group":"g","id":2}
//! {"type":"apply","t":4,"node":"c0","group":"g","id":1}
//! {"type":"end","t":5,"reason":"quiescent"}
//! "#;
//! let report = check_reader(history.as_bytes(), "h.jsonl", None).unwrap();
//! assert_eq!(report.exit_code(), 1);
//! assert_eq!(report.counts_json(), serde_json::json!({"per_key_reorder": 1}));
//! ```
//!
//! # Code map
//! - `record.rs`: one line → a borrowed flat view ([`record::Raw`]); ids `17` = `"17"`.
//! - `scan.rs`: the fast path of that parse, for the lines it is sure of (else serde).
//! - `tables.rs`: interning, the struct-of-arrays event table, the offset map.
//! - `ingest.rs`: validation with line numbers, and the checks decided while streaming
//!   (logs, consumer positions, commits, clocks).
//! - `analysis.rs`: the checks that need the whole history (loss, producer order,
//!   happens-before passes, final state, cycles).
//! - `report.rs`: [`Guarantee`], [`Kind`], [`Violation`], [`Report`] and their renderings.
//!
//! # Invariants
//! - Never panics on any input: every problem with the input is a [`CheckError`].
//! - Deterministic: hash maps are only looked up, never iterated for output.
//! - Sound before complete: where the history lacks information the check is listed in
//!   [`Report::unknown`] instead of guessed.
//! - Two records with the same `t` on different nodes are never treated as ordered.

// The checker interns ids in hash maps for speed on 10^7-record histories. They are only
// ever looked up, never iterated, so no output depends on hash order (the invariant above);
// the project-wide ban on HashMap (clippy.toml) guards the simulated world.
#![allow(clippy::disallowed_types)]

mod analysis;
mod error;
mod ingest;
mod record;
mod report;
mod scan;
mod tables;
#[cfg(test)]
mod tests;

use std::io::BufRead;
use std::path::Path;

pub use error::CheckError;
#[cfg(test)]
pub(crate) use ingest::END_REASONS;
pub use report::{Class, Guarantee, Kind, Report, Status, Unknown, Violation, Witness};

/// Checks a history read from `input`. `source_name` names it in errors and the report.
/// `expect` overrides the header's `expect` (absent in both: all guarantees).
pub fn check_reader<R: BufRead>(
    mut input: R,
    source_name: &str,
    expect: Option<&[Guarantee]>,
) -> Result<Report, CheckError> {
    let mut ingest = ingest::Ingest::new(source_name);
    // Lines are parsed where they lie in the reader's buffer; only a line that straddles
    // two buffer fills is copied (into `carry`).
    let mut carry = Vec::new();
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(CheckError::Io { source_name: source_name.to_string(), line: ingest.line + 1, error })
            }
        };
        if available.is_empty() {
            break;
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', available) {
            if carry.is_empty() {
                one_line(&mut ingest, &available[start..end], expect)?;
            } else {
                carry.extend_from_slice(&available[start..end]);
                one_line(&mut ingest, &carry, expect)?;
                carry.clear();
            }
            start = end + 1;
        }
        carry.extend_from_slice(&available[start..]);
        let used = available.len();
        input.consume(used);
    }
    if !carry.is_empty() {
        one_line(&mut ingest, &carry, expect)?;
    }
    if ingest.line == 0 {
        ingest.line = 1;
        return Err(ingest
            .err("the history is empty; expected a header line {\"format\":\"ordo-history\",\"version\":1,…}".into()));
    }
    conclude(ingest, source_name)
}

/// Checks a history whose records arrive already split into fields: `next` fills a
/// `Raw::default()` with the next record and says whether there was one. The header is
/// given as its line. Everything after the parse is [`check_reader`]'s: the same checks,
/// errors and report. ordo's compact in-memory history uses it (`history::fields`).
pub(crate) fn check_fields<'c>(
    header_line: &[u8],
    source_name: &str,
    expect: Option<&[Guarantee]>,
    mut next: impl FnMut(&mut record::Raw<'c>) -> bool,
) -> Result<Report, CheckError> {
    let mut check = FieldCheck::new(header_line, source_name, expect)?;
    loop {
        let mut raw = record::Raw::default();
        if !next(&mut raw) {
            break;
        }
        check.record(&raw)?;
    }
    check.finish()
}

/// [`check_fields`] in steps, for a caller that frees its records between the last one
/// and the whole-history checks (`run::run_checked`): the checker keeps nothing of a
/// record's fields but what it copies into its own tables.
pub(crate) struct FieldCheck<'s> {
    ingest: ingest::Ingest<'s>,
    source_name: &'s str,
}

impl<'s> FieldCheck<'s> {
    /// Reads the header line (line 1).
    pub(crate) fn new(
        header_line: &[u8],
        source_name: &'s str,
        expect: Option<&[Guarantee]>,
    ) -> Result<FieldCheck<'s>, CheckError> {
        let mut ingest = ingest::Ingest::new(source_name);
        ingest.line = 1;
        ingest.header(header_line, expect)?;
        Ok(FieldCheck { ingest, source_name })
    }

    /// The next record (lines 2, 3, …).
    pub(crate) fn record(&mut self, raw: &record::Raw<'_>) -> Result<(), CheckError> {
        self.ingest.line += 1;
        self.ingest.fields(raw)
    }

    /// After the last record: the whole-history checks and the report.
    pub(crate) fn finish(self) -> Result<Report, CheckError> {
        conclude(self.ingest, self.source_name)
    }
}

/// After the last record: the whole-history checks and the finished report.
fn conclude(mut ingest: ingest::Ingest<'_>, source_name: &str) -> Result<Report, CheckError> {
    ingest.finish_input()?;
    ingest.analyze();
    let mut report = std::mem::replace(&mut ingest.report, Report::new(source_name));
    report.lines = ingest.line;
    report.finish();
    Ok(report)
}

/// The field-level view of a record, for `check_fields`.
pub(crate) mod fields {
    pub(crate) use super::record::{CowStr, GroupMember, IdRef, Meta, Pairs, Raw};
    pub(crate) use super::FieldCheck;
}

/// One line without its `\n`: the header if it is the first.
fn one_line(ingest: &mut ingest::Ingest<'_>, mut line: &[u8], expect: Option<&[Guarantee]>) -> Result<(), CheckError> {
    ingest.line += 1;
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    if ingest.line == 1 {
        ingest.header(line, expect)
    } else {
        ingest.record(line)
    }
}

/// Checks the history file at `path`, then reads it a second time to attach the verbatim
/// witness lines (see [`Report::attach_records`]). The source name is the path as given.
pub fn check_path(path: &Path, expect: Option<&[Guarantee]>) -> Result<Report, CheckError> {
    let name = path.display().to_string();
    let open = || {
        std::fs::File::open(path)
            .map(|file| std::io::BufReader::with_capacity(1 << 20, file))
            .map_err(|error| CheckError::Io { source_name: name.clone(), line: 0, error })
    };
    let mut report = check_reader(open()?, &name, expect)?;
    report.attach_records(open()?).map_err(|error| CheckError::Io { source_name: name.clone(), line: 0, error })?;
    Ok(report)
}
