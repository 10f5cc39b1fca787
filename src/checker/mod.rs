//! The history checker: reads a history (docs/history-format.md) and reports ordering and
//! causality violations with minimal witnesses. It depends on nothing else in ordo.
