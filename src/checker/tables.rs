//! Compact tables: string interning, the event table (struct of arrays indexed by a dense
//! `u32`), sparse integer columns and the per-partition offset map.
//!
//! Hash maps here are used for lookups only; nothing iterates them, so hashing never
//! decides output order.

use std::collections::{BTreeMap, HashMap};

use super::record::IdRef;

/// "No such index" for `u32` columns.
pub(crate) const NONE: u32 = u32::MAX;

/// Interned strings (node, group, entity, field names) with dense ids in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct Names {
    map: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Names {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.into());
        self.map.insert(s.into(), i);
        i
    }
    pub fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map_or("?", |s| s)
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// Ids (events or batches): integers and strings interned to dense `u32`.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    ints: HashMap<u64, u32>,
    strs: HashMap<Box<str>, u32>,
    names: Vec<IdName>,
}

#[derive(Debug)]
enum IdName {
    Int(u64),
    Str(Box<str>),
}

impl Ids {
    pub fn lookup(&self, id: &IdRef<'_>) -> Option<u32> {
        match id {
            IdRef::Int(n) => self.ints.get(n).copied(),
            IdRef::Str(s) => self.strs.get(s.as_ref()).copied(),
        }
    }
    /// Returns (index, newly interned).
    pub fn intern(&mut self, id: &IdRef<'_>) -> (u32, bool) {
        if let Some(i) = self.lookup(id) {
            return (i, false);
        }
        let i = self.names.len() as u32;
        match id {
            IdRef::Int(n) => {
                self.ints.insert(*n, i);
                self.names.push(IdName::Int(*n));
            }
            IdRef::Str(s) => {
                self.strs.insert(s.as_ref().into(), i);
                self.names.push(IdName::Str(s.as_ref().into()));
            }
        }
        (i, true)
    }
    pub fn name(&self, i: u32) -> String {
        match self.names.get(i as usize) {
            Some(IdName::Int(n)) => n.to_string(),
            Some(IdName::Str(s)) => s.to_string(),
            None => "?".into(),
        }
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// A sparse `i64` column over events, allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct Col(Vec<i64>);

impl Col {
    const ABSENT: i64 = i64::MIN;
    pub fn set(&mut self, i: u32, v: Option<i64>) {
        let Some(v) = v else { return };
        let v = if v == Col::ABSENT { Col::ABSENT + 1 } else { v };
        let i = i as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, Col::ABSENT);
        }
        self.0[i] = v;
    }
    pub fn get(&self, i: u32) -> Option<i64> {
        match self.0.get(i as usize) {
            Some(&v) if v != Col::ABSENT => Some(v),
            _ => None,
        }
    }
}

/// Map from offset to `T`: a dense vector from the first offset seen, with a B-tree for
/// offsets far outside it. Memory is proportional to the offsets stored for dense logs.
#[derive(Debug)]
pub(crate) struct OffsetMap<T> {
    base: u64,
    dense: Vec<Option<T>>,
    sparse: BTreeMap<u64, T>,
}

impl<T> Default for OffsetMap<T> {
    fn default() -> Self {
        OffsetMap { base: 0, dense: Vec::new(), sparse: BTreeMap::new() }
    }
}

const DENSE_SLACK: u64 = 1 << 16;

impl<T: Copy> OffsetMap<T> {
    pub fn get(&self, offset: u64) -> Option<T> {
        if offset >= self.base {
            if let Some(slot) = self.dense.get((offset - self.base) as usize) {
                if slot.is_some() {
                    return *slot;
                }
            }
        }
        self.sparse.get(&offset).copied()
    }
    pub fn insert(&mut self, offset: u64, v: T) {
        if self.dense.is_empty() && self.sparse.is_empty() {
            self.base = offset;
        }
        if offset >= self.base {
            let i = offset - self.base;
            if i < self.dense.len() as u64 + DENSE_SLACK {
                let i = i as usize;
                if self.dense.len() <= i {
                    self.dense.resize_with(i + 1, || None);
                }
                self.dense[i] = Some(v);
                self.sparse.remove(&offset);
                return;
            }
        }
        self.sparse.insert(offset, v);
    }
    /// Removes every entry at offsets `>= from`.
    pub fn truncate_from(&mut self, from: u64) {
        if from <= self.base {
            self.dense.clear();
        } else {
            let keep = (from - self.base).min(self.dense.len() as u64) as usize;
            self.dense.truncate(keep);
        }
        let _ = self.sparse.split_off(&from);
    }
    /// True if any offset in `[from, to)` holds an entry. Scans at most `limit` dense
    /// slots and answers `true` (the conservative answer for a skip) beyond that.
    pub fn any_in(&self, from: u64, to: u64, limit: u64) -> bool {
        if to <= from {
            return false;
        }
        if to - from > limit {
            return true;
        }
        (from..to).any(|o| self.get(o).is_some())
    }
}
