//! ordo: a deterministic simulator for event-stream ordering.
//!
//! See `ARCHITECTURE.md` for the map of the crate: `scenario` (TOML → validated
//! configuration), `strategy` (named ordering strategies), `model` (producers, brokers,
//! consumers on the `ordo-sim` engine), `history` (recording), `checker` (judging a
//! history), `run` (one run end to end), `sweep` (one scenario over many seeds, in
//! parallel), `cli`.

pub mod bundled;
pub mod checker;
pub mod cli;
pub mod counters;
pub mod diagram;
pub mod explore;
pub mod history;
pub mod matrix;
pub mod model;
pub mod quiz;
pub mod run;
pub mod scenario;
pub mod shard;
pub mod shrink;
pub mod strategy;
pub mod sweep;
pub mod trace;

pub use checker::{CheckError, Guarantee, Kind, Report, Violation};
