//! Property tests of the checker against a correct sequential model.
//!
//! The model creates events of a few entities (each a causal chain, with some cross-entity
//! causes), sends each as its own batch, appends it at the next offset of its entity's
//! partition, acknowledges it, and has two groups consume it: `g` (one to three members,
//! maybe a rebalance to generation 2 in the middle) and `h` (one member reading every
//! partition). Every consumer delivers, applies and commits each record right after it is
//! appended, so every order is causal. The history ends with the final states.
//!
//! Properties:
//! - the model's histories have no anomaly at all;
//! - each injection (one per kind) gives exactly that kind, once, with a witness line on
//!   the injected records;
//! - interleaving records of different nodes with equal `t` does not change the verdict;
//! - arbitrary bytes and mutated histories give `Ok` or `Err`, never a panic.
//!
//! A second, smaller model writes **queue** histories (`"kind":"queue"`): competing
//! consumers take the messages in journal order but each consumer sees gaps, a message may
//! be taken out of order (when nothing ties it to its neighbour), nacked and received
//! again, or lost with a crashed consumer and received again after its lease; every apply
//! is causal and every ack follows its apply. Such histories have no anomaly (no position
//! check fires on a queue), and the queue injections (a late apply, a redelivery applied
//! twice, an ack before the apply) give exactly their kind.

use std::collections::BTreeMap;

use ordo::checker::{check_reader, Report};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A tiny deterministic generator for the model's choices (proptest picks the seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Debug, Clone)]
struct Params {
    events: usize,
    entities: usize,
    partitions: usize,
    consumers: usize,
    rebalance: bool,
    /// Benign noise: idempotent retries answered by dedup, sends given up for good,
    /// consumer crash and restart. Off for injections (they pick their own records).
    noise: bool,
    /// With noise: the failover's retries land in the other order (a real
    /// `nonmonotonic_send`, judged on the final landings).
    reorder_failover: bool,
    seed: u64,
}

fn params() -> impl Strategy<Value = Params> {
    (2usize..24, 1usize..5, 1usize..4, 1usize..4, any::<bool>(), any::<bool>(), any::<u64>()).prop_map(
        |(events, entities, partitions, consumers, rebalance, noise, seed)| Params {
            events,
            entities,
            partitions,
            consumers,
            rebalance,
            noise,
            reorder_failover: false,
            seed,
        },
    )
}

/// Parameters for injections: the same, without noise.
fn clean_params() -> impl Strategy<Value = Params> {
    params().prop_map(|p| Params { noise: false, ..p })
}

/// What a record is, so injections can find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Other,
    Create(usize),
    Send(usize),
    Append(usize),
    Ack(usize),
    Deliver(char, usize),
    Apply(char, usize),
    Commit(char, usize),
    Seek(usize),
    /// h0's first position in a partition.
    StartSeek(usize),
    State(char, usize),
}

#[derive(Debug, Clone)]
struct Rec {
    t: u64,
    order: u64,
    tag: Tag,
    key: bool,
    v: Value,
}

/// One event of the model.
#[derive(Debug, Clone)]
struct Ev {
    /// The producer gave this send up for good (noise).
    gone: bool,
    /// Attempt 1 was appended but its response lost; attempt 2 is deduplicated (noise).
    retried: bool,
    /// Failover (noise): attempt 1 landed at this offset on a leader that lost its place
    /// before replicating it; attempt 2 lands at `offset`, after other producers' records.
    phantom: Option<u64>,
    /// When a delayed (failover) event's records after its send start, instead of `t`.
    late_t: Option<u64>,
    entity: usize,
    deps: Vec<usize>,
    part: usize,
    offset: u64,
    t: u64,
}

struct Model {
    p: Params,
    evs: Vec<Ev>,
    recs: Vec<Rec>,
    order: u64,
    /// Group g owner of each partition in generation 1 and 2.
    owner: [Vec<usize>; 2],
    rebalance_at: Option<usize>,
    /// (event index, consumer): that consumer of g crashes and restarts before the event.
    crash_at: Option<(usize, usize)>,
    /// The first of the four events of a failover (see `plan_failover`).
    failover: Option<usize>,
}

/// Failover noise: events `i`, `i+1` of producer P and `i+2`, `i+3` of the other producer,
/// consecutive in one partition and causally unrelated across the two pairs. P's two
/// batches land at offsets `o`, `o+1` on the leader, which is replaced before replicating
/// them; the new leader appends the other producer's records at `o`, `o+1`, and P's
/// retries at `o+2`, `o+3`, in P's order. The first landings are truncated away: nothing
/// here is an anomaly (comparing them with the final ones would be a false
/// `nonmonotonic_send`). With `reorder`, P's two events are unrelated and their retries
/// land in the other order (`i+1` at `o+2`, `i` at `o+3`): one real `nonmonotonic_send`.
fn plan_failover(
    evs: &mut [Ev],
    rebalance_at: Option<usize>,
    crash_at: Option<(usize, usize)>,
    rng: &mut Rng,
    reorder: bool,
) -> Option<usize> {
    let n = evs.len();
    let producer = |e: &Ev| e.entity % 2;
    let fits = |i: usize| {
        if i + 4 > n {
            return false;
        }
        let w = &evs[i..i + 4];
        let related = |y: usize| {
            // y (i+2 or i+3) depends on i or i+1, directly or through i+2.
            let direct = |z: usize| evs[z].deps.iter().any(|&d| d == i || d == i + 1);
            direct(y) || (y == i + 3 && evs[y].deps.contains(&(i + 2)) && direct(i + 2))
        };
        w.iter().all(|e| e.part == w[0].part && !e.gone && !e.retried)
            && producer(&w[0]) == producer(&w[1])
            && producer(&w[2]) == producer(&w[3])
            && producer(&w[0]) != producer(&w[2])
            && !related(i + 2)
            && !related(i + 3)
            && (!reorder || (w[0].entity != w[1].entity && !w[1].deps.contains(&i)))
            && rebalance_at.map_or(true, |k| k < i || k > i + 4)
            && crash_at.map_or(true, |(k, _)| k < i || k > i + 4)
    };
    let candidates: Vec<usize> = (0..n).filter(|&i| fits(i)).collect();
    if candidates.is_empty() {
        return None;
    }
    let i = candidates[rng.below(candidates.len())];
    let o = evs[i].offset;
    let late = evs[i + 3].t + 1_000;
    for (j, k) in [(i, 0u64), (i + 1, 1)] {
        // The order P's retries land in: P's order, or the other with `reorder`.
        let landing = if reorder { 1 - k } else { k };
        evs[j].phantom = Some(o + k);
        evs[j].offset = o + 2 + landing;
        evs[j].late_t = Some(late + 10 * landing);
    }
    evs[i + 2].offset = o;
    evs[i + 3].offset = o + 1;
    Some(i)
}

fn consumer(c: usize) -> String {
    format!("c{c}")
}

impl Model {
    fn push(&mut self, t: u64, tag: Tag, v: Value) {
        self.order += 1;
        self.recs.push(Rec { t, order: self.order, tag, key: false, v });
    }

    fn build(p: Params) -> Model {
        let mut rng = Rng(p.seed);
        let mut evs: Vec<Ev> = Vec::new();
        let mut next_offset = vec![0u64; p.partitions];
        let mut last_of_entity: Vec<Option<usize>> = vec![None; p.entities];
        for i in 0..p.events {
            let entity = rng.below(p.entities);
            let mut deps: Vec<usize> = last_of_entity[entity].into_iter().collect();
            if i > 0 && rng.chance(30) {
                let c = rng.below(i);
                if evs[c].entity != entity && !deps.contains(&c) {
                    deps.push(c);
                }
            }
            let part = entity % p.partitions;
            let gone = p.noise && rng.chance(8);
            let retried = p.noise && !gone && rng.chance(15);
            let t = 10_000 * (i as u64 + 1);
            evs.push(Ev {
                gone,
                retried,
                phantom: None,
                late_t: None,
                entity,
                deps,
                part,
                offset: next_offset[part],
                t,
            });
            if !gone {
                next_offset[part] += 1;
            }
            last_of_entity[entity] = Some(i);
        }
        let owner = [
            (0..p.partitions).map(|q| q % p.consumers).collect(),
            (0..p.partitions).map(|q| (q + 1) % p.consumers).collect(),
        ];
        let rebalance_at = (p.rebalance && p.events > 1).then(|| 1 + rng.below(p.events - 1));
        let crash_at = (p.noise && p.events > 1 && rng.chance(50))
            .then(|| (1 + rng.below(p.events - 1), rng.below(p.consumers)))
            .filter(|&(k, _)| Some(k) != rebalance_at);
        let failover =
            if p.noise { plan_failover(&mut evs, rebalance_at, crash_at, &mut rng, p.reorder_failover) } else { None };
        let mut m = Model { p, evs, recs: Vec::new(), order: 0, owner, rebalance_at, crash_at, failover };
        m.emit();
        m
    }

    fn gen_at(&self, i: usize) -> usize {
        match self.rebalance_at {
            Some(k) if i >= k => 1,
            _ => 0,
        }
    }

    fn emit(&mut self) {
        let parts: Vec<usize> = (0..self.p.partitions).collect();
        for c in 0..self.p.consumers {
            let mine: Vec<usize> = parts.iter().copied().filter(|&q| self.owner[0][q] == c).collect();
            self.push(0, Tag::Other, json!({"type":"assign","t":0,"node":consumer(c),"group":"g","generation":1,"topic":"t","partitions":mine}));
            for q in mine {
                self.push(0, Tag::Other, json!({"type":"seek","t":0,"node":consumer(c),"group":"g","topic":"t","partition":q,"offset":0,"reason":"reset"}));
            }
        }
        self.push(
            0,
            Tag::Other,
            json!({"type":"assign","t":0,"node":"h0","group":"h","generation":1,"topic":"t","partitions":parts}),
        );
        for q in 0..self.p.partitions {
            self.push(0, Tag::StartSeek(q), json!({"type":"seek","t":0,"node":"h0","group":"h","topic":"t","partition":q,"offset":0,"reason":"reset"}));
        }
        let mut entity_seq = vec![0i64; self.p.entities];
        let mut lamport: Vec<i64> = Vec::new();
        let mut committed: Vec<Option<u64>> = vec![None; self.p.partitions];
        // The leader of each partition: node and the epoch of its `leader` record (none
        // before the first failover).
        let mut leader: Vec<(&str, Option<i64>)> = vec![("b0", None); self.p.partitions];
        for i in 0..self.evs.len() {
            if self.failover == Some(i) {
                let (part, o) = (self.evs[i].part, self.evs[i].phantom.unwrap_or(0));
                let (old, epoch) = leader[part];
                for j in [i, i + 1] {
                    let (e, producer) = (self.evs[j].clone(), format!("p{}", self.evs[j].entity % 2));
                    let pid = e.entity % 2 + 1;
                    let (t, offset) = (e.t + 100, e.phantom.unwrap_or(0));
                    let mut v = json!({"type":"append","t":t,"node":old,"topic":"t","partition":part,"offset":offset,"id":j,"batch":j,"attempt":1,"pid":pid,"seq":j});
                    if let Some(epoch) = epoch {
                        v["leader_epoch"] = json!(epoch);
                    }
                    self.push(t, Tag::Other, v);
                    let late = e.late_t.unwrap_or(t);
                    self.push(late + 50, Tag::Other, json!({"type":"fail","t":late+50,"node":producer,"batch":j,"attempt":1,"reason":"not_leader","retry":true}));
                    self.push(late + 50, Tag::Other, json!({"type":"send","t":late+50,"node":producer,"batch":j,"attempt":2,"topic":"t","partition":part,"events":[j],"acks":-1,"pid":pid,"epoch":0,"seq":j}));
                }
                let new = if old == "b0" { "b1" } else { "b0" };
                let epoch = epoch.unwrap_or(1) + 1;
                let tl = self.evs[i + 2].t + 50;
                self.push(
                    tl,
                    Tag::Other,
                    json!({"type":"leader","t":tl,"node":new,"topic":"t","partition":part,"leader_epoch":epoch}),
                );
                let tt = self.evs[i + 3].t + 50;
                self.push(
                    tt,
                    Tag::Other,
                    json!({"type":"truncate","t":tt,"node":old,"topic":"t","partition":part,"offset":o}),
                );
                leader[part] = (new, Some(epoch));
            }
            if self.rebalance_at == Some(i) {
                self.rebalance(self.evs[i].t - 5_000, &committed);
            }
            if let Some((k, c)) = self.crash_at.filter(|&(k, _)| k == i) {
                let r = self.evs[i].t - 3_000;
                let node = consumer(c);
                self.push(r, Tag::Other, json!({"type":"crash","t":r,"node":node}));
                self.push(r + 100, Tag::Other, json!({"type":"restart","t":r+100,"node":node}));
                let gen = self.gen_at(k);
                for (q, done) in committed.iter().enumerate() {
                    if self.owner[gen][q] == c {
                        let (offset, reason) = done.map_or((0, "reset"), |o| (o, "committed"));
                        self.push(r + 200, Tag::Other, json!({"type":"seek","t":r+200,"node":node,"group":"g","topic":"t","partition":q,"offset":offset,"reason":reason}));
                    }
                }
            }
            let e = self.evs[i].clone();
            let t = e.t;
            let (broker, epoch) = leader[e.part];
            entity_seq[e.entity] += 1;
            let lam = e.deps.iter().map(|&d| lamport[d]).max().unwrap_or(0) + 1;
            lamport.push(lam);
            let producer = format!("p{}", e.entity % 2);
            let entity = format!("e{}", e.entity);
            self.push(
                t,
                Tag::Create(i),
                json!({"type":"create","t":t,"node":producer,"id":i,"entity":entity,"key":entity,"deps":e.deps,
                "writes":{"v":format!("v{i}")},"meta":{"seq":entity_seq[e.entity],"lamport":lam,"ts":t}}),
            );
            let pid = e.entity % 2 + 1;
            self.push(t, Tag::Send(i), json!({"type":"send","t":t,"node":producer,"batch":i,"attempt":1,"topic":"t","partition":e.part,"events":[i],"acks":-1,"pid":pid,"epoch":0,"seq":i}));
            if e.gone {
                self.push(t + 150, Tag::Other, json!({"type":"fail","t":t+150,"node":producer,"batch":i,"attempt":1,"reason":"delivery_timeout","retry":false}));
                continue;
            }
            // A delayed event's records after its send happen at `late_t`, as attempt 2.
            let (t, attempt) = match e.late_t {
                Some(late) => (late, 2),
                None => (t, 1),
            };
            let mut append = json!({"type":"append","t":t+100,"node":broker,"topic":"t","partition":e.part,"offset":e.offset,"id":i,"batch":i,"attempt":attempt,"pid":pid,"seq":i});
            if let Some(epoch) = epoch {
                append["leader_epoch"] = json!(epoch);
            }
            self.push(t + 100, Tag::Append(i), append);
            if e.retried {
                self.push(t + 150, Tag::Other, json!({"type":"fail","t":t+150,"node":producer,"batch":i,"attempt":1,"reason":"request_timeout","retry":true}));
                self.push(t + 150, Tag::Other, json!({"type":"send","t":t+150,"node":producer,"batch":i,"attempt":2,"topic":"t","partition":e.part,"events":[i],"acks":-1,"pid":pid,"epoch":0,"seq":i}));
                self.push(t + 160, Tag::Other, json!({"type":"dedup","t":t+160,"node":broker,"topic":"t","partition":e.part,"batch":i,"attempt":2,"pid":pid,"seq":i,"offset":e.offset}));
                self.push(t + 170, Tag::Ack(i), json!({"type":"ack","t":t+170,"node":producer,"batch":i,"attempt":2,"topic":"t","partition":e.part,"offset":e.offset}));
            } else {
                // Same t as the append on another node: unordered with it.
                self.push(t + 100, Tag::Ack(i), json!({"type":"ack","t":t+100,"node":producer,"batch":i,"attempt":attempt,"topic":"t","partition":e.part,"offset":e.offset}));
            }
            let gen = self.gen_at(i);
            let c = consumer(self.owner[gen][e.part]);
            // g and h receive at the same t on different nodes: unordered.
            for (group, node, dt) in [('g', c, 300u64), ('h', "h0".to_string(), 300)] {
                let g = group.to_string();
                self.push(t + dt, Tag::Deliver(group, i), json!({"type":"deliver","t":t+dt,"node":node,"group":g,"topic":"t","partition":e.part,"offset":e.offset,"id":i}));
                self.push(t + dt + 100, Tag::Apply(group, i), json!({"type":"apply","t":t+dt+100,"node":node,"group":g,"id":i,"topic":"t","partition":e.part,"offset":e.offset}));
                let generation = if group == 'g' { gen + 1 } else { 1 };
                self.push(t + dt + 200, Tag::Commit(group, i), json!({"type":"commit","t":t+dt+200,"node":node,"group":g,"generation":generation,"topic":"t","partition":e.part,"offset":e.offset + 1,"ok":true}));
            }
            committed[e.part] = committed[e.part].max(Some(e.offset + 1));
        }
        let end = self.evs.last().map_or(10_000, |e| e.t) + 10_000;
        for group in ['g', 'h'] {
            for entity in 0..self.p.entities {
                if let Some(last) =
                    (0..self.evs.len()).rev().find(|&i| self.evs[i].entity == entity && !self.evs[i].gone)
                {
                    self.push(end, Tag::State(group, entity), json!({"type":"state","t":end,"group":group.to_string(),"entity":format!("e{entity}"),"fields":{"v":format!("v{last}")}}));
                }
            }
        }
        self.push(end, Tag::Other, json!({"type":"end","t":end,"reason":"quiescent"}));
    }

    fn rebalance(&mut self, r: u64, committed: &[Option<u64>]) {
        let parts: Vec<usize> = (0..self.p.partitions).collect();
        for c in 0..self.p.consumers {
            let mine: Vec<usize> = parts.iter().copied().filter(|&q| self.owner[0][q] == c).collect();
            self.push(r, Tag::Other, json!({"type":"revoke","t":r,"node":consumer(c),"group":"g","generation":1,"topic":"t","partitions":mine}));
        }
        for c in 0..self.p.consumers {
            let mine: Vec<usize> = parts.iter().copied().filter(|&q| self.owner[1][q] == c).collect();
            self.push(r + 100, Tag::Other, json!({"type":"assign","t":r+100,"node":consumer(c),"group":"g","generation":2,"topic":"t","partitions":mine}));
            for q in mine {
                let (offset, reason) = match committed[q] {
                    Some(o) => (o, "committed"),
                    None => (0, "reset"),
                };
                self.push(r + 200, Tag::Seek(q), json!({"type":"seek","t":r+200,"node":consumer(c),"group":"g","topic":"t","partition":q,"offset":offset,"reason":reason}));
            }
        }
    }

    fn find(&self, tag: Tag) -> Option<usize> {
        self.recs.iter().position(|r| r.tag == tag)
    }

    fn remove(&mut self, tag: Tag) {
        self.recs.retain(|r| r.tag != tag);
    }

    fn set_time(&mut self, tag: Tag, t: u64) {
        if let Some(i) = self.find(tag) {
            self.recs[i].t = t;
            self.recs[i].v["t"] = json!(t);
            self.order += 1;
            self.recs[i].order = self.order;
        }
    }

    fn mark(&mut self, tag: Tag) {
        if let Some(i) = self.find(tag) {
            self.recs[i].key = true;
        }
    }

    fn add_key(&mut self, t: u64, v: Value) {
        self.push(t, Tag::Other, v);
        if let Some(r) = self.recs.last_mut() {
            r.key = true;
        }
    }

    fn strip_seq(&mut self) {
        for r in &mut self.recs {
            if let Tag::Create(_) = r.tag {
                if let Some(m) = r.v.get_mut("meta").and_then(Value::as_object_mut) {
                    m.remove("seq");
                }
            }
        }
    }

    /// Sets the final state of `entity` in `group` to the last event it applied.
    fn restate(&mut self, group: char, entity: usize, applied: &[usize]) {
        let last = applied.iter().copied().filter(|&i| self.evs[i].entity == entity).max();
        if let Some(i) = self.find(Tag::State(group, entity)) {
            self.recs[i].v["fields"] = match last {
                Some(l) => json!({"v": format!("v{l}")}),
                None => json!({}),
            };
        }
    }

    /// Descendants (through deps) of `x`.
    fn descendants(&self, x: usize) -> Vec<bool> {
        let mut d = vec![false; self.evs.len()];
        for i in x + 1..self.evs.len() {
            d[i] = self.evs[i].deps.iter().any(|&p| p == x || d[p]);
        }
        d
    }

    fn render(&self) -> (String, Vec<u64>) {
        let mut recs = self.recs.clone();
        recs.sort_by_key(|r| (r.t, r.order));
        let mut out = String::from("{\"format\":\"ordo-history\",\"version\":1,\"source\":\"model\"}\n");
        let mut key_lines = Vec::new();
        for (i, r) in recs.iter().enumerate() {
            out.push_str(&r.v.to_string());
            out.push('\n');
            if r.key {
                key_lines.push(i as u64 + 2);
            }
        }
        (out, key_lines)
    }
}

/// Every injection, named by the kind it produces (`kind@variant` for a second way to
/// produce a kind), in the order they are tried.
const INJECTIONS: &[&str] = &[
    "per_key_reorder",
    "reapply_reorder",
    "rebalance_skip@start",
    "causality_inversion",
    "causal_delivery",
    "duplicate_apply",
    "duplicate_append",
    "divergent_log",
    "lost_write",
    "unseen_write",
    "nonmonotonic_send",
    "poll_skip",
    "nonmonotonic_poll",
    "sequence_gap",
    "commit_regression",
    "commit_ahead",
    "zombie_commit",
    "rebalance_skip",
    "rebalance_rewind",
    "clock_condition",
    "timestamp_inversion",
    "observed_cycle",
    "final_state",
];

/// The kind an injection produces: its name up to `@`.
fn injected_kind(injection: &str) -> &str {
    injection.split('@').next().unwrap_or(injection)
}

/// Applies one injection; `None` when the model has no suitable place for it. Returns the
/// expected counts per kind.
fn inject(m: &mut Model, kind: &str, pick: usize) -> Option<BTreeMap<String, u64>> {
    let n = m.evs.len();
    let mut expected = BTreeMap::from([(injected_kind(kind).to_string(), 1u64)]);
    let choose = |c: Vec<usize>| -> Option<usize> { (!c.is_empty()).then(|| c[pick % c.len()]) };
    match kind {
        "per_key_reorder" | "causality_inversion" => {
            // x's apply in g is delayed until after y's, y deps x and is x's only
            // descendant created up to y.
            let same = kind == "per_key_reorder";
            let cands: Vec<(usize, usize)> = (0..n)
                .flat_map(|y| m.evs[y].deps.iter().map(move |&x| (x, y)))
                .filter(|&(x, y)| (m.evs[x].entity == m.evs[y].entity) == same)
                .filter(|&(x, y)| {
                    let d = m.descendants(x);
                    m.gen_at(x) == m.gen_at(y) && (x + 1..y).all(|i| !d[i] && m.evs[i].part != m.evs[x].part)
                })
                .collect();
            let (x, y) = *cands.get(pick % cands.len().max(1))?;
            let ty = m.evs[y].t;
            m.set_time(Tag::Apply('g', x), ty + 450);
            m.set_time(Tag::Commit('g', x), ty + 460);
            m.mark(Tag::Apply('g', x));
        }
        "causal_delivery" => {
            // g's owner of both partitions polls effect y before cause x, but applies
            // causally.
            let cands: Vec<(usize, usize)> = (0..n)
                .flat_map(|y| m.evs[y].deps.iter().map(move |&x| (x, y)))
                .filter(|&(x, y)| {
                    let (px, py) = (m.evs[x].part, m.evs[y].part);
                    let d = m.descendants(x);
                    px != py
                        && m.gen_at(x) == m.gen_at(y)
                        && m.owner[m.gen_at(x)][px] == m.owner[m.gen_at(y)][py]
                        && (x + 1..y).all(|i| !d[i] && m.evs[i].part != px)
                })
                .collect();
            let (x, y) = *cands.get(pick % cands.len().max(1))?;
            let ty = m.evs[y].t;
            m.set_time(Tag::Deliver('g', x), ty + 350);
            m.set_time(Tag::Apply('g', x), ty + 360);
            m.set_time(Tag::Commit('g', x), ty + 370);
            m.mark(Tag::Deliver('g', x));
        }
        "duplicate_apply" | "reapply_reorder" => {
            // g applies x again at the end. If a later event of x's entity (a descendant:
            // entities are chains) was applied, the side effects see x after it.
            let later = |x: usize| (x + 1..n).any(|i| m.evs[i].entity == m.evs[x].entity);
            let x = choose((0..n).filter(|&x| later(x) == (kind == "reapply_reorder")).collect())?;
            let i = m.find(Tag::Apply('g', x))?;
            let mut v = m.recs[i].v.clone();
            let t = m.evs[n - 1].t + 5_000;
            v["t"] = json!(t);
            m.add_key(t, v);
            if kind == "reapply_reorder" {
                expected.insert("duplicate_apply".into(), 1);
            }
        }
        "rebalance_skip@start" => {
            // Group h has no commit when it starts partition q; it starts at k > 0 (a seek
            // to k, or no seek and a first delivery at k): the records below k are never
            // processed by h, though g reads them all.
            let q = pick % m.p.partitions;
            let in_q: Vec<usize> = (0..n).filter(|&i| m.evs[i].part == q).collect();
            if in_q.is_empty() {
                return None;
            }
            let k = 1 + (pick / m.p.partitions) % in_q.len();
            m.strip_seq();
            for &x in &in_q[..k] {
                m.remove(Tag::Deliver('h', x));
                m.remove(Tag::Apply('h', x));
                m.remove(Tag::Commit('h', x));
            }
            let applied: Vec<usize> = (0..n).filter(|i| !in_q[..k].contains(i)).collect();
            for entity in 0..m.p.entities {
                m.restate('h', entity, &applied);
            }
            let seek = m.find(Tag::StartSeek(q))?;
            match in_q.get(k) {
                Some(&first) if (pick / 7) % 2 == 0 => {
                    m.recs.remove(seek);
                    m.mark(Tag::Deliver('h', first));
                }
                _ => {
                    m.recs[seek].v["offset"] = json!(k);
                    m.recs[seek].key = true;
                }
            }
        }
        "duplicate_append" => {
            let x = pick % n;
            let part = m.evs[x].part;
            let offset = m.evs.iter().filter(|e| e.part == part).count() as u64;
            let t = m.evs[n - 1].t + 5_000;
            m.add_key(t, json!({"type":"append","t":t,"node":"b0","topic":"t","partition":part,"offset":offset,"id":x,"batch":x,"attempt":2}));
        }
        "divergent_log" => {
            // A fresh group reads offset 0 of x's partition as another event.
            let x = pick % n;
            let other = choose((0..n).filter(|&i| m.evs[i].part == m.evs[x].part && m.evs[i].offset != 0).collect())
                .or_else(|| choose((0..n).filter(|&i| m.evs[i].part != m.evs[x].part).collect()))?;
            let t = m.evs[n - 1].t + 5_000;
            m.add_key(t, json!({"type":"deliver","t":t,"node":"z0","group":"z","topic":"t","partition":m.evs[x].part,"offset":0,"id":other}));
        }
        "lost_write" => {
            // x is acknowledged but never appended; later records of its partition reuse
            // its offset, and both groups read past it.
            let x = choose((0..n).filter(|&x| (x + 1..n).any(|i| m.evs[i].part == m.evs[x].part)).collect())?;
            m.strip_seq();
            m.remove(Tag::Append(x));
            for g in ['g', 'h'] {
                m.remove(Tag::Deliver(g, x));
                m.remove(Tag::Apply(g, x));
                m.remove(Tag::Commit(g, x));
            }
            let part = m.evs[x].part;
            for i in x + 1..n {
                if m.evs[i].part == part {
                    let o = m.evs[i].offset - 1;
                    for idx in 0..m.recs.len() {
                        match m.recs[idx].tag {
                            Tag::Append(j) | Tag::Deliver(_, j) | Tag::Apply(_, j) if j == i => {
                                m.recs[idx].v["offset"] = json!(o)
                            }
                            Tag::Ack(j) if j == i => m.recs[idx].v["offset"] = json!(o),
                            Tag::Commit(_, j) if j == i => m.recs[idx].v["offset"] = json!(o + 1),
                            _ => {}
                        }
                    }
                }
            }
            for idx in 0..m.recs.len() {
                if let Tag::Seek(q) = m.recs[idx].tag {
                    let o = m.recs[idx].v["offset"].as_u64().unwrap_or(0);
                    if q == part && o > m.evs[x].offset {
                        m.recs[idx].v["offset"] = json!(o - 1);
                    }
                }
            }
            let applied: Vec<usize> = (0..n).filter(|&i| i != x).collect();
            m.restate('g', m.evs[x].entity, &applied);
            m.restate('h', m.evs[x].entity, &applied);
            m.mark(Tag::Ack(x));
        }
        "unseen_write" => {
            // The last record of a partition is never read by anyone.
            let x = choose(
                (0..n)
                    .filter(|&x| {
                        !(x + 1..n).any(|i| m.evs[i].part == m.evs[x].part)
                            && m.evs[x].offset > 0
                            && m.gen_at(x) == m.gen_at(n - 1)
                    })
                    .collect(),
            )?;
            m.strip_seq();
            for g in ['g', 'h'] {
                m.remove(Tag::Deliver(g, x));
                m.remove(Tag::Apply(g, x));
                m.remove(Tag::Commit(g, x));
            }
            let applied: Vec<usize> = (0..n).filter(|&i| i != x).collect();
            m.restate('g', m.evs[x].entity, &applied);
            m.restate('h', m.evs[x].entity, &applied);
            m.mark(Tag::Ack(x));
        }
        "nonmonotonic_send" => {
            // x (created right before y, same producer and partition, unrelated) is retried
            // after y was appended, so the two swap offsets.
            let x = choose(
                (0..n.saturating_sub(1))
                    .filter(|&x| {
                        let y = x + 1;
                        m.evs[x].part == m.evs[y].part
                            && m.evs[x].entity % 2 == m.evs[y].entity % 2
                            && !m.evs[y].deps.contains(&x)
                            && m.gen_at(x) == m.gen_at(y)
                    })
                    .collect(),
            )?;
            let y = x + 1;
            let (ox, ty) = (m.evs[x].offset, m.evs[y].t);
            let producer = format!("p{}", m.evs[x].entity % 2);
            m.remove(Tag::Append(x));
            m.remove(Tag::Ack(x));
            for (tag, t) in [(Tag::Append(y), ty + 100), (Tag::Ack(y), ty + 200)] {
                m.set_time(tag, t);
            }
            for idx in 0..m.recs.len() {
                match m.recs[idx].tag {
                    Tag::Append(j) | Tag::Ack(j) | Tag::Deliver(_, j) | Tag::Apply(_, j) if j == y => {
                        m.recs[idx].v["offset"] = json!(ox)
                    }
                    Tag::Commit(_, j) if j == y => m.recs[idx].v["offset"] = json!(ox + 1),
                    Tag::Deliver(_, j) | Tag::Apply(_, j) if j == x => m.recs[idx].v["offset"] = json!(ox + 1),
                    Tag::Commit(_, j) if j == x => m.recs[idx].v["offset"] = json!(ox + 2),
                    _ => {}
                }
            }
            m.add_key(ty + 150, json!({"type":"fail","t":ty+150,"node":producer,"batch":x,"attempt":1,"reason":"request_timeout","retry":true}));
            m.push(ty + 150, Tag::Other, json!({"type":"send","t":ty+150,"node":producer,"batch":x,"attempt":2,"topic":"t","partition":m.evs[x].part,"events":[x],"acks":-1}));
            m.add_key(ty + 160, json!({"type":"append","t":ty+160,"node":"b0","topic":"t","partition":m.evs[x].part,"offset":ox+1,"id":x,"batch":x,"attempt":2}));
            m.push(ty + 170, Tag::Other, json!({"type":"ack","t":ty+170,"node":producer,"batch":x,"attempt":2,"topic":"t","partition":m.evs[x].part,"offset":ox+1}));
            // Both groups read y then x.
            for (g, dt) in [('g', 300u64), ('h', 310)] {
                m.set_time(Tag::Deliver(g, y), ty + dt);
                m.set_time(Tag::Deliver(g, x), ty + dt + 1);
                m.set_time(Tag::Apply(g, y), ty + dt + 100);
                m.set_time(Tag::Apply(g, x), ty + dt + 101);
                m.remove(Tag::Commit(g, y));
                m.set_time(Tag::Commit(g, x), ty + dt + 200);
            }
        }
        "poll_skip" => {
            // g's consumer never receives x, which h reads.
            let x = choose(
                (0..n)
                    .filter(|&x| (x + 1..n).any(|i| m.evs[i].part == m.evs[x].part && m.gen_at(i) == m.gen_at(x)))
                    .collect(),
            )?;
            m.strip_seq();
            m.remove(Tag::Deliver('g', x));
            m.remove(Tag::Apply('g', x));
            m.remove(Tag::Commit('g', x));
            let next = (x + 1..n).find(|&i| m.evs[i].part == m.evs[x].part)?;
            let applied: Vec<usize> = (0..n).filter(|&i| i != x).collect();
            m.restate('g', m.evs[x].entity, &applied);
            m.mark(Tag::Deliver('g', next));
        }
        "nonmonotonic_poll" => {
            let x = pick % n;
            let i = m.find(Tag::Deliver('h', x))?;
            let last_of_part = !(x + 1..n).any(|j| m.evs[j].part == m.evs[x].part);
            if !last_of_part {
                return None;
            }
            let mut v = m.recs[i].v.clone();
            let t = m.recs[i].t + 1;
            v["t"] = json!(t);
            m.add_key(t, v);
        }
        "sequence_gap" => {
            // g discards a middle event of an entity's chain instead of applying it.
            let x = choose(
                (0..n)
                    .filter(|&x| {
                        let en = m.evs[x].entity;
                        (0..x).any(|i| m.evs[i].entity == en) && (x + 1..n).any(|i| m.evs[i].entity == en)
                    })
                    .collect(),
            )?;
            let i = m.find(Tag::Apply('g', x))?;
            m.recs[i].v["type"] = json!("discard");
            m.recs[i].v["reason"] = json!("gap_timeout");
            let next = (x + 1..n).find(|&i| m.evs[i].entity == m.evs[x].entity)?;
            m.mark(Tag::Apply('g', next));
        }
        "commit_regression" | "commit_ahead" | "zombie_commit" => {
            let q = pick % m.p.partitions;
            let last = (0..n).rev().find(|&i| m.evs[i].part == q)?;
            let committed = m.evs[last].offset + 1;
            let gen = m.gen_at(n - 1);
            let owner = consumer(m.owner[gen][q]);
            let (offset, generation) = match kind {
                "commit_regression" => (committed - 1, gen + 1),
                "commit_ahead" => (committed + 5, gen + 1),
                _ if gen == 1 => (committed, 1),
                _ => return None,
            };
            let t = m.evs[n - 1].t + 5_000;
            m.add_key(t, json!({"type":"commit","t":t,"node":owner,"group":"g","generation":generation,"topic":"t","partition":q,"offset":offset,"ok":true}));
        }
        "rebalance_skip" | "rebalance_rewind" => {
            let k = m.rebalance_at?;
            // A partition with a commit before the rebalance.
            let q = choose((0..m.p.partitions).filter(|&q| (0..k).any(|i| m.evs[i].part == q)).collect())?;
            let i = m.recs.iter().position(|r| r.tag == Tag::Seek(q))?;
            let committed = m.recs[i].v["offset"].as_u64()?;
            m.recs[i].key = true;
            if kind == "rebalance_skip" {
                m.strip_seq();
                m.recs[i].v["offset"] = json!(committed + 1);
                // Something must actually be skipped: the partition's first record after
                // the rebalance.
                let x = (k..n).find(|&x| m.evs[x].part == q)?;
                m.remove(Tag::Deliver('g', x));
                m.remove(Tag::Apply('g', x));
                m.remove(Tag::Commit('g', x));
                let applied: Vec<usize> = (0..n).filter(|&i| i != x).collect();
                m.restate('g', m.evs[x].entity, &applied);
            } else {
                let x = (0..k).rev().find(|&x| m.evs[x].part == q)?;
                // The new owner must not have received an effect of x already.
                let new_owner = m.owner[1][q];
                let d = m.descendants(x);
                if (0..k).any(|i| d[i] && m.owner[0][m.evs[i].part] == new_owner) {
                    return None;
                }
                m.recs[i].v["offset"] = json!(committed - 1);
                let (t, node) = (m.recs[i].t, m.recs[i].v["node"].clone());
                m.push(t, Tag::Other, json!({"type":"deliver","t":t,"node":node,"group":"g","topic":"t","partition":q,"offset":committed-1,"id":x}));
                m.push(
                    t,
                    Tag::Other,
                    json!({"type":"discard","t":t,"node":node,"group":"g","id":x,"reason":"duplicate"}),
                );
            }
        }
        "clock_condition" => {
            let y = choose((0..n).filter(|&y| m.evs[y].deps.len() == 1).collect())?;
            let x = m.evs[y].deps[0];
            let i = m.find(Tag::Create(x))?;
            let lx = m.recs[i].v["meta"]["lamport"].clone();
            let j = m.find(Tag::Create(y))?;
            m.recs[j].v["meta"]["lamport"] = lx;
            m.recs[j].key = true;
        }
        "timestamp_inversion" => {
            // Raise x's ts above its only direct dependent y's.
            let x = choose((0..n).filter(|&x| (0..n).filter(|&y| m.evs[y].deps.contains(&x)).count() == 1).collect())?;
            let y = (0..n).find(|&y| m.evs[y].deps.contains(&x))?;
            let i = m.find(Tag::Create(x))?;
            m.recs[i].v["meta"]["ts"] = json!(m.evs[y].t + 1);
            m.recs[i].key = true;
        }
        "observed_cycle" => {
            // y (created right after x, deps x, same partition, another producer) is
            // appended first; consumers buffer and apply causally. Whoever reads the log
            // necessarily receives y before its cause: causal_delivery comes with it.
            let x = choose(
                (0..n.saturating_sub(1))
                    .filter(|&x| {
                        let y = x + 1;
                        m.evs[x].part == m.evs[y].part
                            && m.evs[x].entity % 2 != m.evs[y].entity % 2
                            && m.evs[y].deps.contains(&x)
                            && m.gen_at(x) == m.gen_at(y)
                    })
                    .collect(),
            )?;
            let y = x + 1;
            let (ox, ty) = (m.evs[x].offset, m.evs[y].t);
            m.set_time(Tag::Append(x), ty + 110);
            m.set_time(Tag::Ack(x), ty + 210);
            for idx in 0..m.recs.len() {
                match m.recs[idx].tag {
                    Tag::Append(j) | Tag::Ack(j) | Tag::Deliver(_, j) | Tag::Apply(_, j) if j == y => {
                        m.recs[idx].v["offset"] = json!(ox)
                    }
                    Tag::Commit(_, j) if j == y => m.recs[idx].v["offset"] = json!(ox + 1),
                    Tag::Append(j) | Tag::Ack(j) | Tag::Deliver(_, j) | Tag::Apply(_, j) if j == x => {
                        m.recs[idx].v["offset"] = json!(ox + 1)
                    }
                    Tag::Commit(_, j) if j == x => m.recs[idx].v["offset"] = json!(ox + 2),
                    _ => {}
                }
            }
            for (g, dt) in [('g', 300u64), ('h', 310)] {
                m.set_time(Tag::Deliver(g, y), ty + dt);
                m.set_time(Tag::Deliver(g, x), ty + dt + 1);
                m.set_time(Tag::Apply(g, x), ty + dt + 100);
                m.set_time(Tag::Apply(g, y), ty + dt + 101);
                m.remove(Tag::Commit(g, y));
                m.set_time(Tag::Commit(g, x), ty + dt + 200);
            }
            m.mark(Tag::Append(x));
            m.mark(Tag::Create(y));
            expected.insert("causal_delivery".into(), 2);
        }
        "final_state" => {
            let x = choose((0..n).filter(|&x| (x + 1..n).any(|i| m.evs[i].entity == m.evs[x].entity)).collect())?;
            let i = m.find(Tag::State('g', m.evs[x].entity))?;
            m.recs[i].v["fields"] = json!({"v": format!("v{x}")});
            m.recs[i].key = true;
        }
        _ => unreachable!("unknown injection {kind}"),
    }
    Some(expected)
}

fn check(text: &str) -> Report {
    match check_reader(text.as_bytes(), "model.jsonl", None) {
        Ok(r) => r,
        Err(e) => panic!("model history rejected: {e}\n{text}"),
    }
}

fn counts(r: &Report) -> BTreeMap<String, u64> {
    r.all_counts().into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Interleaves records of different nodes that share `t`, keeping each node's order.
fn shuffle_same_t(text: &str, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut lines = text.lines();
    let mut out = String::new();
    out.push_str(lines.next().unwrap_or(""));
    out.push('\n');
    let recs: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut i = 0;
    while i < recs.len() {
        let t = recs[i]["t"].as_u64();
        let mut j = i;
        while j < recs.len() && recs[j]["t"].as_u64() == t {
            j += 1;
        }
        // Per-node queues in first-appearance order; `end` stays last.
        let mut queues: Vec<(String, Vec<&Value>)> = Vec::new();
        for r in &recs[i..j] {
            let node = r["node"].as_str().unwrap_or("").to_string();
            match queues.iter_mut().find(|(n, _)| *n == node) {
                Some((_, q)) => q.push(r),
                None => queues.push((node, vec![r])),
            }
        }
        let mut heads = vec![0usize; queues.len()];
        loop {
            let live: Vec<usize> = (0..queues.len()).filter(|&q| heads[q] < queues[q].1.len()).collect();
            if live.is_empty() {
                break;
            }
            let q = live[rng.below(live.len())];
            out.push_str(&queues[q].1[heads[q]].to_string());
            out.push('\n');
            heads[q] += 1;
        }
        i = j;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn correct_histories_have_no_anomaly(p in params()) {
        let m = Model::build(p);
        let (text, _) = m.render();
        let r = check(&text);
        prop_assert!(r.violations.is_empty(), "{}\n{}", r.render_text(10), text);
        prop_assert!(r.unknown.is_empty(), "{:?}", r.unknown);
        prop_assert_eq!(r.exit_code(), 0);
    }

    #[test]
    fn each_injection_gives_exactly_its_kind(p in clean_params(), which in 0..INJECTIONS.len(), pick in any::<usize>()) {
        let kind = INJECTIONS[which];
        let mut m = Model::build(p);
        let Some(expected) = inject(&mut m, kind, pick) else { return Ok(()) };
        let (text, key_lines) = m.render();
        let r = check(&text);
        prop_assert_eq!(&counts(&r), &expected, "{}\n{}", r.render_text(10), text);
        let v = r.violations.iter().find(|v| v.kind.name() == injected_kind(kind)).unwrap();
        prop_assert!(
            v.witness.iter().any(|w| key_lines.contains(&w.line)),
            "witness {:?} misses the injected lines {:?}\n{}", v.witness, key_lines, text
        );
    }

    #[test]
    fn same_t_interleaving_does_not_change_the_verdict(p in params(), which in 0..=INJECTIONS.len(), pick in any::<usize>(), seed in any::<u64>()) {
        let mut m = Model::build(p);
        if which < INJECTIONS.len() && !m.p.noise {
            let _ = inject(&mut m, INJECTIONS[which], pick);
        }
        let (text, _) = m.render();
        let base = check(&text);
        let shuffled = shuffle_same_t(&text, seed);
        let again = check(&shuffled);
        prop_assert_eq!(counts(&base), counts(&again), "{}\n---\n{}", text, shuffled);
        prop_assert_eq!(base.exit_code(), again.exit_code());
        // Deterministic output for identical input.
        prop_assert_eq!(base.render_text(100), check(&text).render_text(100));
        prop_assert_eq!(base.to_json(), check(&text).to_json());
    }

    #[test]
    fn arbitrary_bytes_never_panic(header in 0..=HEADERS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Mostly behind a valid header, so the bytes are read as records.
        let mut text = HEADERS.get(header).map_or(Vec::new(), |h| format!("{h}\n").into_bytes());
        text.extend_from_slice(&bytes);
        if let Err(e) = check_reader(text.as_slice(), "garbage", None) {
            prop_assert!(e.line() >= 1 && e.line() <= 1 + bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1, "{}", e);
        }
    }

    #[test]
    fn record_shaped_bytes_never_panic(header in 0..HEADERS.len(), lines in proptest::collection::vec((0..RECORD_TYPES.len(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..40)), 1..8)) {
        // Lines that start like a record of a known type, then random bytes.
        let mut text = format!("{}\n", HEADERS[header]).into_bytes();
        for (ty, t, tail) in lines {
            text.extend_from_slice(format!("{{\"type\":\"{}\",\"t\":{t},", RECORD_TYPES[ty]).as_bytes());
            text.extend_from_slice(&tail);
            text.push(b'\n');
        }
        let _ = check_reader(text.as_slice(), "record-shaped", None);
    }

    #[test]
    fn mutated_real_histories_never_panic(file in any::<usize>(), edits in proptest::collection::vec((0u8..7, any::<usize>(), any::<usize>(), 0..VALUES.len()), 1..5)) {
        let files = real_histories();
        let (name, original) = &files[file % files.len()];
        let mut lines: Vec<String> = original.lines().map(String::from).collect();
        for (op, a, b, value) in edits {
            mutate(&mut lines, op, a, b, value);
        }
        let text = lines.join("\n") + "\n";
        match check_reader(text.as_bytes(), name, None) {
            Ok(r) => {
                // Whatever is found has a witness inside the history.
                for v in &r.violations {
                    prop_assert!(!v.witness.is_empty() && v.witness.iter().all(|w| w.line >= 1 && w.line <= lines.len() as u64), "{:?}", v);
                }
            }
            Err(e) => prop_assert!(e.line() >= 1 && e.line() <= lines.len() as u64, "{}", e),
        }
    }

    #[test]
    fn mutated_histories_never_panic(p in params(), which in 0..=INJECTIONS.len(), pick in any::<usize>(), cuts in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..6)) {
        let mut m = Model::build(p);
        if which < INJECTIONS.len() && !m.p.noise {
            let _ = inject(&mut m, INJECTIONS[which], pick);
        }
        let (text, _) = m.render();
        let mut bytes = text.into_bytes();
        for (at, b, op) in cuts {
            if bytes.is_empty() {
                break;
            }
            let at = at % bytes.len();
            match op {
                0 => bytes[at] = b,
                1 => { bytes.remove(at); }
                2 => bytes.truncate(at),
                _ => {
                    // Swap two lines' worth of bytes: move a slice to the end.
                    let tail: Vec<u8> = bytes.drain(at..).collect();
                    let cut = tail.iter().position(|&c| c == b'\n').map_or(tail.len(), |i| i + 1);
                    bytes.extend_from_slice(&tail[cut..]);
                    bytes.extend_from_slice(&tail[..cut]);
                }
            }
        }
        let _ = check_reader(bytes.as_slice(), "mutated", None);
    }

    #[test]
    fn arbitrary_json_lines_never_panic(lines in proptest::collection::vec(json_record(), 0..12)) {
        let mut text = String::from("{\"format\":\"ordo-history\",\"version\":1}\n");
        for l in lines {
            text.push_str(&l.to_string());
            text.push('\n');
        }
        let _ = check_reader(text.as_bytes(), "json", None);
    }
}

/// Headers the checker accepts, for bodies that must get past line 1.
const HEADERS: &[&str] = &[
    r#"{"format":"ordo-history","version":1}"#,
    r#"{"format":"ordo-history","version":1,"expect":["per_key_order","no_loss"],"topics":[{"name":"t","partitions":3}]}"#,
    r#"{"format":"ordo-history","version":1,"topics":[{"name":"t","partitions":2},{"name":"q","partitions":1,"kind":"queue"}]}"#,
];

/// Record types of format v1.
const RECORD_TYPES: &[&str] = &[
    "create",
    "producer_init",
    "send",
    "ack",
    "fail",
    "append",
    "dedup",
    "reject",
    "leader",
    "truncate",
    "assign",
    "revoke",
    "seek",
    "deliver",
    "apply",
    "discard",
    "commit",
    "queue_ack",
    "nack",
    "state",
    "crash",
    "restart",
    "pause",
    "resume",
    "net_partition",
    "net_heal",
    "clock_step",
    "end",
];

/// Values a structured mutation writes into a field (right and wrong types, edges).
const VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "3000",
    "18446744073709551615",
    "18446744073709551616",
    "1.5",
    "1e3",
    "\"1\"",
    "\"x\"",
    "\"017\"",
    "null",
    "true",
    "[]",
    "[1,2]",
    "[\"1\"]",
    "{}",
    "{\"lamport\":1,\"seq\":1}",
    "{\"v\":\"x\"}",
    "\"quiescent\"",
    "\"t\"",
    "\"g\"",
    "\"c0\"",
];

/// The hand-written histories that the checker accepts (the valid ones), name and text.
fn real_histories() -> &'static [(String, String)] {
    static FILES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir("tests/histories")
            .expect("tests/histories")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path).expect("read");
            if check_reader(text.as_bytes(), "h", None).is_ok() {
                out.push((path.display().to_string(), text));
            }
        }
        assert!(out.len() >= 40, "only {} valid histories", out.len());
        out
    })
}

/// One structured edit of a history's lines: drop, duplicate or swap lines (the header
/// included), or, in one record, set a field to one of [`VALUES`], remove a field, change
/// the record type, or copy a field from another line.
fn mutate(lines: &mut Vec<String>, op: u8, a: usize, b: usize, value: usize) {
    if lines.is_empty() {
        return;
    }
    let (i, j) = (a % lines.len(), b % lines.len());
    let parse = |l: &str| serde_json::from_str::<serde_json::Map<String, Value>>(l).ok();
    match op {
        0 => {
            lines.remove(i);
        }
        1 => {
            let copy = lines[i].clone();
            lines.insert(j, copy);
        }
        2 => lines.swap(i, j),
        _ => {
            let Some(mut rec) = parse(&lines[i]) else { return };
            let keys: Vec<String> = rec.keys().cloned().collect();
            if keys.is_empty() {
                return;
            }
            let key = keys[b % keys.len()].clone();
            match op {
                3 => {
                    rec.insert(key, serde_json::from_str(VALUES[value]).unwrap_or(Value::Null));
                }
                4 => {
                    rec.remove(&key);
                }
                5 => {
                    rec.insert("type".into(), json!(RECORD_TYPES[value % RECORD_TYPES.len()]));
                }
                _ => {
                    let Some(other) = parse(&lines[j]) else { return };
                    let okeys: Vec<&String> = other.keys().collect();
                    let k = okeys[value % okeys.len().max(1)].clone();
                    rec.insert(k.clone(), other[&k].clone());
                }
            }
            // Integers beyond u64 do not survive serde_json::Value: write them as text.
            let text = Value::Object(rec).to_string();
            lines[i] = if VALUES[value] == "18446744073709551616" {
                text.replacen("1.8446744073709552e19", "18446744073709551616", 1)
            } else {
                text
            };
        }
    }
}

/// The queue model's parameters.
#[derive(Debug, Clone)]
struct QParams {
    events: usize,
    entities: usize,
    consumers: usize,
    /// Nacks, crashed consumers, swapped receives.
    noise: bool,
    seed: u64,
}

fn qparams() -> impl Strategy<Value = QParams> {
    (2usize..20, 1usize..5, 1usize..4, any::<bool>(), any::<u64>())
        .prop_map(|(events, entities, consumers, noise, seed)| QParams { events, entities, consumers, noise, seed })
}

/// A correct queue history. Event `i` is created at `10_000 (i + 1)`, appended at offset
/// `i` (journal order is creation order, a topological order of deps), and received,
/// applied and acknowledged in the 10 µs slot that follows, by a consumer drawn at random.
struct QModel {
    entity: Vec<usize>,
    deps: Vec<Vec<usize>>,
    /// (apply line tag, record) per event, for injections.
    recs: Vec<Rec>,
    order: u64,
}

impl QModel {
    fn push(&mut self, t: u64, tag: Tag, v: Value) {
        self.order += 1;
        self.recs.push(Rec { t, order: self.order, tag, key: false, v });
    }

    fn build(p: &QParams) -> QModel {
        let mut rng = Rng(p.seed);
        let mut m = QModel { entity: Vec::new(), deps: Vec::new(), recs: Vec::new(), order: 0 };
        let mut last_of_entity: Vec<Option<usize>> = vec![None; p.entities];
        for i in 0..p.events {
            let entity = rng.below(p.entities);
            let mut deps: Vec<usize> = last_of_entity[entity].into_iter().collect();
            if i > 0 && rng.chance(30) {
                let c = rng.below(i);
                if m.entity[c] != entity && !deps.contains(&c) {
                    deps.push(c);
                }
            }
            last_of_entity[entity] = Some(i);
            m.entity.push(entity);
            m.deps.push(deps);
        }
        // Slots: event i is handled in slot i, unless swapped with its successor (taken,
        // applied and acknowledged before it: allowed when neither depends on the other's
        // entity chain or causes).
        let mut slot_of: Vec<usize> = (0..p.events).collect();
        let mut i = 0;
        while i + 1 < p.events {
            let independent = m.entity[i] != m.entity[i + 1] && !m.deps[i + 1].contains(&i);
            if p.noise && independent && rng.chance(30) {
                slot_of.swap(i, i + 1);
                i += 2;
            } else {
                i += 1;
            }
        }
        for i in 0..p.events {
            let t = 10_000 * (i as u64 + 1);
            let entity = format!("e{}", m.entity[i]);
            let producer = format!("p{}", m.entity[i] % 2);
            m.push(t, Tag::Create(i), json!({"type":"create","t":t,"node":producer,"id":i,"entity":entity,"key":entity,"deps":m.deps[i],"writes":{"v":format!("v{i}")}}));
            m.push(
                t + 10,
                Tag::Append(i),
                json!({"type":"append","t":t+10,"node":"b0","topic":"q","partition":0,"offset":i,"id":i}),
            );
        }
        let base = 10_000 * (p.events as u64 + 1);
        for i in 0..p.events {
            let slot = slot_of.iter().position(|&s| s == i).unwrap_or(i);
            let t = base + 10_000 * slot as u64;
            let c = consumer(rng.below(p.consumers));
            let mut receive = 1;
            let mut at = t;
            if p.noise && rng.chance(25) {
                // A first receive that does not apply: a nack, or a crash of the receiver
                // (its lease runs out). The retry may go to the same consumer.
                let first = consumer(rng.below(p.consumers));
                m.push(at, Tag::Other, json!({"type":"deliver","t":at,"node":first,"group":"g","topic":"q","partition":0,"offset":i,"id":i,"receive":1}));
                if rng.chance(50) {
                    m.push(at + 100, Tag::Other, json!({"type":"nack","t":at+100,"node":first,"group":"g","topic":"q","partition":0,"offset":i,"id":i,"ok":true}));
                } else {
                    m.push(at + 100, Tag::Other, json!({"type":"crash","t":at+100,"node":first}));
                    m.push(at + 150, Tag::Other, json!({"type":"restart","t":at+150,"node":first}));
                }
                receive = 2;
                at += 1_000;
            }
            m.push(at, Tag::Deliver('g', i), json!({"type":"deliver","t":at,"node":c,"group":"g","topic":"q","partition":0,"offset":i,"id":i,"receive":receive}));
            m.push(
                at + 200,
                Tag::Apply('g', i),
                json!({"type":"apply","t":at+200,"node":c,"group":"g","id":i,"topic":"q","partition":0,"offset":i}),
            );
            m.push(at + 300, Tag::Commit('g', i), json!({"type":"queue_ack","t":at+300,"node":c,"group":"g","topic":"q","partition":0,"offset":i,"id":i,"ok":true}));
        }
        let end = base + 10_000 * (p.events as u64 + 1);
        for entity in 0..p.entities {
            if let Some(last) = (0..p.events).rev().find(|&i| m.entity[i] == entity) {
                m.push(end, Tag::State('g', entity), json!({"type":"state","t":end,"group":"g","entity":format!("e{entity}"),"fields":{"v":format!("v{last}")}}));
            }
        }
        m.push(end, Tag::Other, json!({"type":"end","t":end,"reason":"quiescent"}));
        m
    }

    fn render(&self) -> (String, Vec<u64>) {
        let mut recs = self.recs.clone();
        recs.sort_by_key(|r| (r.t, r.order));
        let mut out = String::from(
            "{\"format\":\"ordo-history\",\"version\":1,\"source\":\"queue model\",\"topics\":[{\"name\":\"q\",\"partitions\":1,\"kind\":\"queue\"}]}\n",
        );
        let mut key_lines = Vec::new();
        for (i, r) in recs.iter().enumerate() {
            out.push_str(&r.v.to_string());
            out.push('\n');
            if r.key {
                key_lines.push(i as u64 + 2);
            }
        }
        (out, key_lines)
    }

    fn find(&self, tag: Tag) -> Option<usize> {
        self.recs.iter().position(|r| r.tag == tag)
    }

    fn retime(&mut self, tag: Tag, t: u64) -> Option<()> {
        let i = self.find(tag)?;
        self.order += 1;
        let r = &mut self.recs[i];
        r.t = t;
        r.v["t"] = json!(t);
        r.order = self.order;
        r.key = true;
        Some(())
    }
}

const QUEUE_INJECTIONS: &[&str] = &["per_key_reorder", "duplicate_apply", "reapply_reorder", "ack_ahead"];

/// One queue injection; `None` when the model has no place for it.
fn inject_queue(m: &mut QModel, kind: &str, pick: usize) -> Option<BTreeMap<String, u64>> {
    let n = m.entity.len();
    let at = |m: &QModel, tag: Tag| m.find(tag).map(|i| m.recs[i].t);
    match kind {
        "per_key_reorder" => {
            // x's apply (and ack) after y's, y deps x and is x's only descendant so far.
            let cands: Vec<(usize, usize)> = (0..n)
                .flat_map(|y| m.deps[y].iter().map(move |&x| (x, y)))
                .filter(|&(x, y)| m.entity[x] == m.entity[y])
                .filter(|&(x, y)| {
                    (x + 1..y).all(|i| !m.deps[i].contains(&x)) && (y + 1..n).all(|i| !m.deps[i].contains(&x))
                })
                .collect();
            let (x, y) = *cands.get(pick % cands.len().max(1))?;
            let ty = at(m, Tag::Apply('g', y))?.max(at(m, Tag::Commit('g', y))?);
            m.retime(Tag::Apply('g', x), ty + 1)?;
            m.retime(Tag::Commit('g', x), ty + 2)?;
        }
        "duplicate_apply" | "reapply_reorder" => {
            // The message goes to someone else after its apply (the ack was lost): applied
            // again. After a later event of its entity (a descendant: entities are chains),
            // the side effects see it out of order.
            let later = |x: usize| (x + 1..n).any(|i| m.entity[i] == m.entity[x]);
            let cands: Vec<usize> = (0..n).filter(|&x| later(x) == (kind == "reapply_reorder")).collect();
            let x = *cands.get(pick % cands.len().max(1))?;
            let t = at(m, Tag::State('g', m.entity[x]))? - 5;
            let i = m.find(Tag::Apply('g', x))?;
            let mut v = m.recs[i].v.clone();
            v["t"] = json!(t);
            v["node"] = json!("c9");
            let mut d = v.clone();
            d["type"] = json!("deliver");
            d["t"] = json!(t - 1);
            d["receive"] = json!(3);
            m.push(t - 1, Tag::Other, d);
            m.push(t, Tag::Other, v);
            let last = m.recs.len() - 1;
            m.recs[last].key = true;
        }
        "ack_ahead" => {
            // Auto-ack style: the message is acknowledged before its apply.
            let x = pick % n;
            let t = at(m, Tag::Apply('g', x))?;
            m.retime(Tag::Commit('g', x), t - 1)?;
        }
        _ => unreachable!("unknown queue injection {kind}"),
    }
    let mut expected = BTreeMap::from([(kind.to_string(), 1u64)]);
    if kind == "reapply_reorder" {
        expected.insert("duplicate_apply".into(), 1);
    }
    Some(expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn correct_queue_histories_have_no_anomaly(p in qparams()) {
        let (text, _) = QModel::build(&p).render();
        let r = check(&text);
        prop_assert!(r.violations.is_empty(), "{}\n{}", r.render_text(10), text);
        prop_assert!(r.unknown.is_empty(), "{:?}", r.unknown);
    }

    #[test]
    fn each_queue_injection_gives_exactly_its_kind(p in qparams(), which in 0..QUEUE_INJECTIONS.len(), pick in any::<usize>()) {
        let kind = QUEUE_INJECTIONS[which];
        let mut m = QModel::build(&p);
        let Some(expected) = inject_queue(&mut m, kind, pick) else { return Ok(()) };
        let (text, key_lines) = m.render();
        let r = check(&text);
        prop_assert_eq!(&counts(&r), &expected, "{}\n{}", r.render_text(10), text);
        let v = r.violations.iter().find(|v| v.kind.name() == kind).unwrap();
        prop_assert!(v.witness.iter().any(|w| key_lines.contains(&w.line)), "witness {:?} misses {:?}\n{}", v.witness, key_lines, text);
    }

    #[test]
    fn same_t_interleaving_does_not_change_a_queue_verdict(p in qparams(), which in 0..=QUEUE_INJECTIONS.len(), pick in any::<usize>(), seed in any::<u64>()) {
        let mut m = QModel::build(&p);
        if which < QUEUE_INJECTIONS.len() {
            let _ = inject_queue(&mut m, QUEUE_INJECTIONS[which], pick);
        }
        let (text, _) = m.render();
        let base = check(&text);
        let again = check(&shuffle_same_t(&text, seed));
        prop_assert_eq!(counts(&base), counts(&again));
    }
}

/// The same deliveries declared as a log are position anomalies: the queue declaration is
/// what makes them normal (and the queue model does produce such deliveries).
#[test]
fn queue_model_deliveries_would_be_position_anomalies_on_a_log() {
    let mut flagged = 0;
    for seed in 0..200u64 {
        let p = QParams { events: 12, entities: 3, consumers: 3, noise: true, seed };
        let (text, _) = QModel::build(&p).render();
        assert!(check(&text).all_counts().is_empty(), "seed {seed}\n{text}");
        let as_log: String = text
            .replace(",\"kind\":\"queue\"", "")
            .lines()
            .filter(|l| !l.contains("\"type\":\"queue_ack\"") && !l.contains("\"type\":\"nack\""))
            .map(|l| format!("{l}\n"))
            .collect();
        let kinds = check(&as_log).all_counts();
        if kinds.contains_key("poll_skip") || kinds.contains_key("nonmonotonic_poll") {
            flagged += 1;
        }
    }
    assert!(flagged >= 150, "only {flagged} of 200 queue histories read as a log show a position anomaly");
}

/// Every queue injection applies to enough models and gives exactly its kind.
#[test]
fn every_queue_injection_is_exercised() {
    for kind in QUEUE_INJECTIONS {
        let mut applied = 0;
        for seed in 0..300u64 {
            let mut rng = Rng(seed);
            let p = QParams {
                events: 4 + rng.below(14),
                entities: 1 + rng.below(3),
                consumers: 1 + rng.below(3),
                noise: rng.chance(50),
                seed,
            };
            let mut m = QModel::build(&p);
            let Some(expected) = inject_queue(&mut m, kind, rng.below(1000)) else { continue };
            applied += 1;
            let (text, _) = m.render();
            let r = check(&text);
            assert_eq!(counts(&r), expected, "{kind} seed {seed}\n{}\n{text}", r.render_text(10));
        }
        assert!(applied >= 30, "{kind} applied to only {applied} of 300 models");
    }
}

/// Records of known types with fields drawn from small pools (often wrong types).
fn json_record() -> impl Strategy<Value = Value> {
    let types = prop::sample::select(vec![
        "create",
        "send",
        "ack",
        "fail",
        "append",
        "dedup",
        "reject",
        "leader",
        "truncate",
        "assign",
        "revoke",
        "seek",
        "deliver",
        "apply",
        "discard",
        "commit",
        "state",
        "crash",
        "restart",
        "end",
        "clock_step",
        "queue_ack",
        "nack",
    ]);
    let small = prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(2)),
        Just(json!(-1)),
        Just(json!("1")),
        Just(json!("x")),
        Just(json!(null)),
        Just(json!([1, 2])),
        Just(json!({"a": "b"})),
        Just(json!(u64::MAX)),
        Just(json!(1.5)),
    ];
    (types, any::<u16>(), proptest::collection::vec(small, 16)).prop_map(|(ty, t, v)| {
        let keys = [
            "node",
            "id",
            "deps",
            "batch",
            "attempt",
            "topic",
            "partition",
            "offset",
            "events",
            "group",
            "generation",
            "partitions",
            "ok",
            "fields",
            "meta",
            "entity",
        ];
        let mut o = serde_json::Map::new();
        o.insert("type".into(), json!(ty));
        o.insert("t".into(), json!(t));
        for (k, x) in keys.iter().zip(v) {
            let x = match *k {
                "node" | "group" | "topic" | "entity" if !x.is_string() => json!("n"),
                "deps" | "events" | "partitions" if x.is_number() => json!([x]),
                "meta" => json!({"lamport": x, "seq": 1}),
                _ => x,
            };
            o.insert((*k).into(), x);
        }
        Value::Object(o)
    })
}

/// Every injection must be applicable to some model histories (otherwise the property above
/// would pass vacuously), and gives exactly its kind on each of them.
#[test]
fn every_injection_is_exercised() {
    for kind in INJECTIONS {
        let mut applied = 0;
        for seed in 0..400u64 {
            let mut rng = Rng(seed);
            let p = Params {
                events: 4 + rng.below(16),
                entities: 1 + rng.below(4),
                partitions: 1 + rng.below(3),
                consumers: 1 + rng.below(3),
                rebalance: rng.chance(60),
                noise: false,
                reorder_failover: false,
                seed,
            };
            let mut m = Model::build(p);
            let Some(expected) = inject(&mut m, kind, rng.below(1000)) else {
                continue;
            };
            applied += 1;
            let (text, key_lines) = m.render();
            let r = check(&text);
            assert_eq!(counts(&r), expected, "{kind} seed {seed}\n{}\n{text}", r.render_text(10));
            let v = r.violations.iter().find(|v| v.kind.name() == injected_kind(kind)).unwrap();
            assert!(
                v.witness.iter().any(|w| key_lines.contains(&w.line)),
                "{kind} seed {seed}: witness {:?} misses {key_lines:?}\n{text}",
                v.witness
            );
        }
        eprintln!("{kind}: {applied} of 400");
        assert!(applied >= 10, "{kind} applied to only {applied} of 400 models");
    }
}

/// Failover noise happens often enough, and its histories (truncated first landings, other
/// producers' records at those offsets, retries landing higher) have no anomaly. Before
/// producer order was judged on the final log, these gave a false `nonmonotonic_send`.
#[test]
fn failovers_are_exercised_and_clean() {
    let mut with_failover = 0;
    for seed in 0..400u64 {
        let mut rng = Rng(seed);
        let p = Params {
            events: 6 + rng.below(14),
            entities: 2 + rng.below(3),
            partitions: [1, 1, 3][rng.below(3)],
            consumers: 1 + rng.below(3),
            rebalance: rng.chance(50),
            noise: true,
            reorder_failover: false,
            seed,
        };
        let m = Model::build(p);
        if m.failover.is_none() {
            continue;
        }
        with_failover += 1;
        let (text, _) = m.render();
        assert!(text.contains("\"type\":\"leader\"") && text.contains("\"type\":\"truncate\""));
        let r = check(&text);
        assert!(r.all_counts().is_empty(), "seed {seed}\n{}\n{text}", r.render_text(10));
    }
    assert!(with_failover >= 30, "only {with_failover} of 400 noisy models have a failover");
}

/// A failover whose retries land out of P's order is one `nonmonotonic_send`, and its
/// witness quotes the final landings (the appends on the new leader), never the truncated
/// first ones at the offsets below.
#[test]
fn a_reorder_after_a_failover_is_found_on_the_final_landings() {
    let mut found = 0;
    for seed in 0..800u64 {
        let mut rng = Rng(seed);
        let p = Params {
            events: 6 + rng.below(14),
            entities: 3 + rng.below(2),
            partitions: 1,
            consumers: 1 + rng.below(3),
            rebalance: rng.chance(50),
            noise: true,
            reorder_failover: true,
            seed,
        };
        let mut m = Model::build(p);
        let Some(i) = m.failover else { continue };
        found += 1;
        m.mark(Tag::Append(i));
        m.mark(Tag::Append(i + 1));
        let (text, key_lines) = m.render();
        let r = check(&text);
        let expected = BTreeMap::from([("nonmonotonic_send".to_string(), 1)]);
        assert_eq!(counts(&r), expected, "seed {seed}\n{}\n{text}", r.render_text(10));
        let landings: Vec<_> = r.violations[0].witness.iter().filter(|w| w.what.contains(" batch at ")).collect();
        assert_eq!(landings.len(), 2, "{landings:?}");
        for w in landings {
            assert!(key_lines.contains(&w.line), "seed {seed}: {w:?} is not a final landing {key_lines:?}\n{text}");
        }
    }
    assert!(found >= 40, "only {found} of 800 models have a failover to reorder");
}
