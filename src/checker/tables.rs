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

/// A fast non-cryptographic hash for the short names and integer ids the checker interns:
/// one 64×64→128-bit multiply per word, folded (high half xor low half), as in `foldhash`.
/// Much cheaper than SipHash; not resistant to crafted collisions, which would cost a
/// hostile history time, never correctness. The maps are only looked up, never iterated,
/// so their order never reaches the output.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const FX_MUL: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        let full = u128::from(self.0 ^ word ^ FX_SEED) * u128::from(FX_MUL);
        self.0 = (full as u64) ^ ((full >> 64) as u64);
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
        self.0
    }
}

/// A hash map with [`FxHasher`], for lookups only.
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Interned strings (node, group, entity, field names) with dense ids in first-seen order.
/// Names of up to 7 bytes (`c1`, `g`, `status`) are keyed by their bytes and length packed
/// in one integer: no string hashing or comparison.
#[derive(Debug, Default)]
pub(crate) struct Names {
    short: FxHashMap<u64, u32>,
    map: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

/// `s` packed with its length in the top byte, if it has at most 7 bytes.
#[inline]
fn packed(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() > 7 {
        return None;
    }
    let mut word = [0u8; 8];
    word[..b.len()].copy_from_slice(b);
    word[7] = b.len() as u8;
    Some(u64::from_le_bytes(word))
}

impl Names {
    #[inline]
    pub fn intern(&mut self, s: &str) -> u32 {
        let next = self.names.len() as u32;
        let i = match packed(s) {
            Some(key) => *self.short.entry(key).or_insert(next),
            None => match self.map.get(s) {
                Some(&i) => i,
                None => {
                    self.map.insert(s.into(), next);
                    next
                }
            },
        };
        if i == next {
            self.names.push(s.into());
        }
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
