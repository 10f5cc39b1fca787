//! ordo: a deterministic simulator for event-stream ordering.
//!
//! See `ARCHITECTURE.md` for the map of the crate.

pub mod checker;
