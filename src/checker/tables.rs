//! Compact tables: string interning, the event table (struct of arrays indexed by a dense
//! `u32`), sparse integer columns and the per-partition offset map.
//!
//! Hash maps here are used for lookups only; nothing iterates them, so hashing never
//! decides output order.

use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::record::IdRef;

/// "No such index" for `u32` columns.
pub(crate) const NONE: u32 = u32::MAX;

/// The multiplicative hash of rustc (FxHash, as in the `rustc-hash` crate): much cheaper
/// than SipHash on the short names and integer ids the checker interns. Not resistant to
/// crafted collisions, which costs a hostile history time, never correctness; and the
/// maps are only looked up, never iterated, so their order never reaches the output.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX_SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = self.0.wrapping_add(word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // hashbrown takes the top bits for its tags and the low bits for the bucket: the
        // rotation moves the well-mixed high bits of the product down.
        self.0.rotate_left(26)
    }
}

/// A hash map with [`FxHasher`], for lookups only.
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Interned strings (node, group, entity, field names) with dense ids in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct Names {
    map: FxHashMap<Box<str>, u32>,
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
///
/// Integer ids below `2 × len + DENSE_IDS` (ordo numbers events and batches from 0) are
/// found by indexing `dense`; larger ones go to the `ints` map. An integer lives in exactly
/// one of the two: `dense` only grows over integers not seen before.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    dense: Vec<u32>,
    ints: FxHashMap<u64, u32>,
    strs: FxHashMap<Box<str>, u32>,
    names: Vec<IdName>,
}

/// Slack for dense integer ids: memory stays below 4 × (2 × ids + this) bytes.
const DENSE_IDS: u64 = 1 << 16;

#[derive(Debug)]
enum IdName {
    Int(u64),
    Str(Box<str>),
}

impl Ids {
    #[inline]
    fn int(&self, n: u64) -> Option<u32> {
        match self.dense.get(n as usize) {
            Some(&i) if i != NONE => Some(i),
            _ if self.ints.is_empty() => None,
            _ => self.ints.get(&n).copied(),
        }
    }
    pub fn lookup(&self, id: &IdRef<'_>) -> Option<u32> {
        match id {
            IdRef::Int(n) => self.int(*n),
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
                let bound = 2 * self.names.len() as u64 + DENSE_IDS;
                if *n < bound {
                    let n = *n as usize;
                    if self.dense.len() <= n {
                        self.dense.resize(n + 1, NONE);
                    }
                    self.dense[n] = i;
                } else {
                    self.ints.insert(*n, i);
                }
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
