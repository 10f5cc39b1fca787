#!/usr/bin/env python3
"""ordo's standard benchmark scenario (benches/standard.toml) written in SimPy.

    benches/simpy/setup.sh                       # once: .venv with SimPy from PyPI
    benches/simpy/.venv/bin/python benches/simpy/standard.py [--seed N] [--count-simpy-events]

Prints one JSON object: events, wall_ms, events_per_sec, sim_time_ms, the workload and
network counters (same names as `ordo run --json`), and an `engine` breakdown.

The scenario, side by side
==========================

                     ordo (benches/standard.toml, key+idempotent)   this file (SimPy 4, callbacks + processes)
  topology           4 producers, 3 brokers, 4 consumers,           same; same node roles; partition p led by
                     12 partitions; leader(p) = b(p mod 3);         b(p mod 3), owned by c(p mod 4); b0 is
                     owner(p) = c(p mod 4); b0 = coordinator        coordinator (PIDs, committed offsets)
  workload           2,000 entities x 10 events = 20,000; entity    same plan: start uniform in [0, 1000] ms,
                     starts uniform in [0, 1000 ms] at producer     producer entity mod 4 (one SimPy process
                     entity mod 4; step k by producer               per producer walks its sorted starts);
                     (entity + k) mod 4, reached by a Handoff       Handoff message, then a think timer
                     message (reliable link), then a think timer    uniform 1-5 ms
                     uniform 1-5 ms
  key -> partition   FNV-1a of "order-<entity>" mod 12              same hash, computed per event
  batching           per partition: linger 2 ms timer from the      same; the linger timer is cancelled when a
                     first record; sealed at 16 records (linger     batch fills (SimPy cannot unschedule: the
                     timer cancelled)                               callback list is emptied, SimPy still pops it)
  sending            max 5 in flight per broker connection; one     same
                     request per batch; idempotent: PID from the
                     coordinator first, per-partition sequences
                     fixed at first send, a retry goes alone
  request timeout    100 ms timer per request (cancelled by the     same; on timeout drop the connection
                     answer); on timeout the connection is          (reconnect), fail everything in flight
                     dropped: every request in flight on it fails   on it, requeue in sequence order,
                     and is requeued in sequence order, sent        backoff 10 ms timer
                     again after a 10 ms backoff timer
  broker dedup       Kafka's: last sequence per (partition, PID)    same check (last five batches, next
                     and the last five batches; a repeat is         sequence, else out-of-order reject)
                     acked with its first offsets, a gap rejected
  network            every Kafka link: FIFO (TCP-like), latency     same: per directed link a broken flag and
                     uniform 0.5-1.5 ms, loss 0.1 %; a loss         the last delivery time (FIFO); latency
                     breaks the link until an endpoint reconnects;  random.uniform(0.5, 1.5) ms, loss
                     producer<->producer (Handoff) links lossless   random() < 0.001
  consumers          offset fetch from the coordinator (retry       same; the poll/process/commit loop is a
                     timer 100 ms); poll = one Fetch per owned      SimPy process: yield on the poll's event,
                     partition (<= 500 records) + a 100 ms fetch    then yield a timeout of uniform 20-80 us
                     timeout timer (never cancelled: it fires and   per record, then commit; the 100 ms fetch
                     is ignored); empty poll: wait 50 ms; each      and commit timeout timers are callbacks
                     record: processing timer uniform 20-80 us,     that fire and are ignored, as in ordo
                     then apply; after the last one commit the
                     positions (100 ms commit timeout timer),
                     poll again
  stop               when every event is acked, appended,           same condition, checked at the same
                     processed and committed (checked on ack,       places; env.run(until=done)
                     commit, end of processing)
  bookkeeping        counters and per-event arrays (created time,   the same counters and per-event lists;
                     delivered, applied, appended, fate)            no history at all
  history            --no-history: off (nothing formatted);         none
                     default: JSONL formatted + SHA-256 hashed

Counting events. ordo's `events` is `Stats::events`: one per message delivered to a running
node and one per timer that fires (cancelled timers are not counted; timers that fire and
are ignored by their handler are). This file counts exactly those: +1 in the delivery
callback of every message that arrives, +1 in every timer callback that runs (a cancelled
timer's callback list is emptied, so it does not run) and +1 each time a process resumes
from `yield env.timeout(..)`. It does not count SimPy's own bookkeeping events (the Event a
process waits on for a poll to return, process start-up, the stop event); with
`--count-simpy-events` it also reports how many events SimPy's queue scheduled in all
(`engine.simpy_scheduled`; counting them costs a little time, so it is off by default).

Differences that remain
=======================
- Random streams: ordo draws integers from named ChaCha8 streams; this file draws floats
  from one random.Random(seed). Same distributions, different draws: counts (events,
  batches, retries, ...) agree statistically, not exactly (about +-1 %).
- Time: ordo uses integer nanoseconds, this file float milliseconds (as SimPy users do).
- Cancelled timers: ordo marks them and compacts them out of its heap; SimPy cannot remove a
  scheduled event, so it still pops and dispatches each one (an empty callback list). Both
  sides exclude them from `events`, so this costs SimPy time without counting.
- The consumer's poll/process loop is a SimPy process (a generator), so resuming it costs a
  generator switch plus the Event that wakes it; ordo calls a handler.
- No history, no local clocks (no drift/offset in the standard scenario anyway), no crash
  or fault machinery (the standard scenario scripts none), acks fixed at "all".
- Stop: ordo stops right after the handler that finishes the run; SimPy stops when the
  `done` event is processed, possibly after a few more events at the same instant. The
  reported `events` is the count when `done` was triggered.
"""

import argparse
import json
import sys
import time
from collections import deque

import simpy

# --- the scenario (benches/standard.toml after the key+idempotent strategy) ------------------
PRODUCERS, BROKERS, CONSUMERS, PARTITIONS = 4, 3, 4, 12
ENTITIES, EVENTS_PER_ENTITY = 2000, 10
START_WINDOW_MS = 1000.0
THINK_MIN_MS, THINK_MAX_MS = 1.0, 5.0
LINGER_MS, BATCH_SIZE = 2.0, 16
MAX_IN_FLIGHT = 5
PRODUCER_REQUEST_TIMEOUT_MS, RETRY_BACKOFF_MS = 100.0, 10.0
DELIVERY_TIMEOUT_MS = 120_000.0
RETRIES = 2_147_483_647
PROCESSING_MIN_MS, PROCESSING_MAX_MS = 0.020, 0.080
CONSUMER_REQUEST_TIMEOUT_MS, POLL_IDLE_MS, MAX_POLL_RECORDS = 100.0, 50.0, 500
LATENCY_MIN_MS, LATENCY_MAX_MS, LOSS = 0.5, 1.5, 0.001
DEDUP_WINDOW = 5
MAX_TIME_MS = 600_000.0  # ordo's run.max_time_ms default: a bound, never reached here
ENTITY_PREFIX = "order"
UNSENT = 2**32 - 1  # the sequence of a batch never sent (ordo: NONE_U32), after every real one

# Message kinds (a message is a tuple whose first item is its kind).
INIT_PRODUCER_ID, INIT_PRODUCER_ID_OK = "InitProducerId", "InitProducerIdOk"
PRODUCE, PRODUCE_OK, PRODUCE_ERROR = "Produce", "ProduceOk", "ProduceError"
FETCH, FETCH_OK = "Fetch", "FetchOk"
OFFSET_FETCH, OFFSET_FETCH_OK = "OffsetFetch", "OffsetFetchOk"
OFFSET_COMMIT, OFFSET_COMMIT_OK = "OffsetCommit", "OffsetCommitOk"
HANDOFF = "Handoff"
OUT_OF_ORDER, REQUEST_TIMEOUT, DISCONNECTED = "OutOfOrderSequence", "RequestTimeout", "Disconnected"


def key_partition(entity):
    """FNV-1a (64-bit) of "order-<entity>" mod partitions, as ordo's workload::key_partition."""
    h = 0xCBF29CE484222325
    for byte in f"{ENTITY_PREFIX}-{entity}".encode():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % PARTITIONS


class CountingEnvironment(simpy.Environment):
    """An Environment that counts every event SimPy schedules (--count-simpy-events)."""

    def __init__(self):
        super().__init__()
        self.scheduled = 0

    def schedule(self, event, priority=1, delay=0):
        self.scheduled += 1
        super().schedule(event, priority, delay)


class World:
    """Shared state: the environment, the network, the catalog and the counters."""

    def __init__(self, env, rng):
        self.env, self.rng = env, rng
        self.nodes = []
        self.done = env.event()
        self.stop_reason = None
        self.events_at_stop = None
        # Engine counters (ordo's Stats).
        self.events = self.messages_sent = self.messages_delivered = 0
        self.dropped_loss = self.dropped_broken = self.timers_fired = self.timers_cancelled = 0
        # Catalog: per event (entity, step); per batch [producer, partition, events, pid, seq].
        self.event_info, self.batches = [], []
        self.created_ms, self.delivered, self.applied = [], [], []
        self.last_event = [None] * ENTITIES
        self.max_step_appended = [-1] * ENTITIES
        self.log_end = [0] * PARTITIONS
        self.committed = [0] * PARTITIONS
        self.processed = [0] * PARTITIONS
        self.unresolved = ENTITIES * EVENTS_PER_ENTITY
        self.stats = dict.fromkeys(
            "created batches send_attempts retries acked failed_batches appended dedups rejects "
            "out_of_order_appends deliveries duplicate_deliveries applies duplicate_applies commits".split(),
            0,
        )
        self.latency_sum_ms = self.latency_max_ms = 0.0
        # Network: per directed link (from * n + to) a broken flag and the last delivery time.
        n = PRODUCERS + BROKERS + CONSUMERS
        self.node_count = n
        self.broken = [False] * (n * n)
        self.last_delivery = [0.0] * (n * n)

    # --- network -----------------------------------------------------------------------------
    def send(self, src, dst, msg):
        """Sends msg on the FIFO link src -> dst: lost with probability LOSS (which breaks the
        link until reconnect), else delivered after a uniform latency, never before an
        earlier message on the same link."""
        self.messages_sent += 1
        link = src * self.node_count + dst
        reliable = src < PRODUCERS and dst < PRODUCERS  # the application's Handoff links
        if not reliable:
            if self.broken[link]:
                self.dropped_broken += 1
                return
            if self.rng.random() < LOSS:
                self.broken[link] = True
                self.dropped_loss += 1
                return
        now = self.env.now
        at = max(now + self.rng.uniform(LATENCY_MIN_MS, LATENCY_MAX_MS), self.last_delivery[link])
        self.last_delivery[link] = at
        delivery = self.env.timeout(at - now, (src, msg))
        delivery.callbacks.append(self.nodes[dst].deliver)

    def reconnect(self, a, b):
        n = self.node_count
        self.broken[a * n + b] = False
        self.broken[b * n + a] = False

    # --- timers ------------------------------------------------------------------------------
    def set_timer(self, delay_ms, callback, arg=None):
        """Calls callback(arg) after delay_ms unless cancelled; returns the timer's event."""
        timer = self.env.timeout(delay_ms, (callback, arg))
        timer.callbacks.append(self._fire)
        return timer

    def _fire(self, timer):
        self.events += 1
        self.timers_fired += 1
        callback, arg = timer.value
        callback(arg)

    def cancel_timer(self, timer):
        if timer.callbacks:  # still pending: SimPy keeps it queued, but nothing runs
            timer.callbacks.clear()
            self.timers_cancelled += 1

    # --- the end -----------------------------------------------------------------------------
    def finished(self):
        if self.unresolved:
            return False
        for end, committed, processed in zip(self.log_end, self.committed, self.processed):
            if committed < end or processed < end:
                return False
        return True

    def stop(self, reason="done"):
        if not self.done.triggered:
            self.stop_reason = reason
            self.events_at_stop = self.events
            self.done.succeed()


class Node:
    def __init__(self, world, node_id):
        self.world, self.id, self.env = world, node_id, world.env

    def deliver(self, event):
        world = self.world
        world.events += 1
        world.messages_delivered += 1
        src, msg = event.value
        self.on_message(src, msg)


class PendingBatch:
    __slots__ = ("partition", "attempt", "created_ms", "in_flight", "timer", "retry_at_ms")

    def __init__(self, partition, created_ms):
        self.partition, self.attempt, self.created_ms = partition, 0, created_ms
        self.in_flight, self.timer, self.retry_at_ms = False, None, 0.0


class Producer(Node):
    """The application (entity chains) and an idempotent Kafka producer client."""

    def __init__(self, world, index, starts):
        super().__init__(world, index)
        self.index = index
        self.starts = starts  # (at_ms, entity), earliest first
        self.pid, self.ready = None, False
        self.next_seq = [0] * PARTITIONS
        self.open = [[] for _ in range(PARTITIONS)]
        self.open_first_ms = [0.0] * PARTITIONS
        self.linger = [None] * PARTITIONS
        self.queues = [deque() for _ in range(PARTITIONS)]
        self.pending = {}
        self.in_flight = [deque() for _ in range(BROKERS)]
        self.in_flight_in_partition = [0] * PARTITIONS

    def start(self):
        self.request_producer_id()
        self.env.process(self.application())

    def application(self):
        """Starts each planned entity chain at its time (one timer per distinct start)."""
        world, starts, i = self.world, self.starts, 0
        while i < len(starts):
            yield self.env.timeout(starts[i][0] - self.env.now)
            world.events += 1
            world.timers_fired += 1
            now = self.env.now
            while i < len(starts) and starts[i][0] <= now:
                self.create_event(starts[i][1])
                i += 1

    def request_producer_id(self):
        self.world.reconnect(self.id, COORDINATOR)
        self.world.send(self.id, COORDINATOR, (INIT_PRODUCER_ID,))
        self.world.set_timer(PRODUCER_REQUEST_TIMEOUT_MS, self.init_retry)

    def init_retry(self, _):
        if not self.ready:
            self.request_producer_id()

    def on_message(self, src, msg):
        kind = msg[0]
        if kind == PRODUCE_OK:
            _, batch, attempt, _base_offset = msg
            if self.end_attempt(batch, attempt):
                self.resolve(batch)
                self.try_send()
        elif kind == HANDOFF:
            self.schedule_step(msg[1])
        elif kind == PRODUCE_ERROR:
            _, batch, attempt, reason = msg
            if self.end_attempt(batch, attempt):
                self.failed(batch, attempt, reason)
                self.try_send()
        elif kind == INIT_PRODUCER_ID_OK and not self.ready:
            self.pid, self.ready = msg[1], True
            self.try_send()

    # --- the application ---------------------------------------------------------------------
    def schedule_step(self, entity):
        think = self.world.rng.uniform(THINK_MIN_MS, THINK_MAX_MS)
        self.world.set_timer(think, self.create_event, entity)

    def create_event(self, entity):
        world = self.world
        previous = world.last_event[entity]
        step = 0 if previous is None else world.event_info[previous][1] + 1
        event = len(world.event_info)
        world.event_info.append((entity, step))
        world.last_event[entity] = event
        world.created_ms.append(self.env.now)
        world.delivered.append(0)
        world.applied.append(0)
        world.stats["created"] += 1
        self.add_to_batch(key_partition(entity), event)
        if step + 1 < EVENTS_PER_ENTITY:
            following = (entity + step + 1) % PRODUCERS  # handoff = "rotate"
            if following == self.index:
                self.schedule_step(entity)
            else:
                world.send(self.id, following, (HANDOFF, entity))

    # --- the client: batching ----------------------------------------------------------------
    def add_to_batch(self, partition, event):
        records = self.open[partition]
        if not records:
            self.open_first_ms[partition] = self.env.now
            self.linger[partition] = self.world.set_timer(LINGER_MS, self.linger_expired, partition)
        records.append(event)
        if len(records) >= BATCH_SIZE:
            self.seal(partition)

    def linger_expired(self, partition):
        self.linger[partition] = None
        self.seal(partition)

    def seal(self, partition):
        records = self.open[partition]
        if not records:
            return
        if self.linger[partition] is not None:
            self.world.cancel_timer(self.linger[partition])
            self.linger[partition] = None
        world = self.world
        batch = len(world.batches)
        world.batches.append([self.index, partition, records, None, UNSENT])
        world.stats["batches"] += 1
        self.open[partition] = []
        self.pending[batch] = PendingBatch(partition, self.open_first_ms[partition])
        self.queues[partition].append(batch)
        self.try_send()

    # --- the client: requests, timeouts, retries ---------------------------------------------
    def try_send(self, _=None):
        if not self.ready:
            return
        now = self.env.now
        for partition in range(PARTITIONS):
            queue = self.queues[partition]
            in_flight = self.in_flight[partition % BROKERS]
            while queue and len(in_flight) < MAX_IN_FLIGHT:
                head = self.pending[queue[0]]
                if head.retry_at_ms > now:
                    break  # backing off at the head of the queue holds the partition back
                if head.attempt > 0 and self.in_flight_in_partition[partition] > 0:
                    break  # a retry goes alone, so the broker sees sequences in order
                self.send_attempt(queue.popleft())

    def send_attempt(self, batch):
        world = self.world
        pending = self.pending[batch]
        pending.attempt += 1
        partition = pending.partition
        info = world.batches[batch]
        if info[4] == UNSENT:  # first send: the session's PID and the partition's next sequences
            info[3], info[4] = self.pid, self.next_seq[partition]
            self.next_seq[partition] += len(info[2])
        world.stats["send_attempts"] += 1
        if pending.attempt > 1:
            world.stats["retries"] += 1
        world.send(self.id, PRODUCERS + partition % BROKERS, (PRODUCE, batch, pending.attempt))
        self.in_flight[partition % BROKERS].append(batch)
        self.in_flight_in_partition[partition] += 1
        pending.in_flight = True
        pending.timer = world.set_timer(PRODUCER_REQUEST_TIMEOUT_MS, self.request_timed_out, (batch, pending.attempt))

    def request_timed_out(self, batch_attempt):
        batch, attempt = batch_attempt
        pending = self.pending.get(batch)
        if pending is not None and pending.in_flight and pending.attempt == attempt:
            pending.timer = None
            self.disconnect(pending.partition, batch)
            self.try_send()

    def end_attempt(self, batch, attempt):
        pending = self.pending.get(batch)
        if pending is None or not pending.in_flight or pending.attempt != attempt:
            return False  # a stale answer: its connection is gone
        pending.in_flight = False
        if pending.timer is not None:
            self.world.cancel_timer(pending.timer)
            pending.timer = None
        self.in_flight[pending.partition % BROKERS].remove(batch)
        self.in_flight_in_partition[pending.partition] -= 1
        return True

    def disconnect(self, partition, timed_out):
        """Drops the connection to the partition's leader: every request in flight on it fails."""
        broker = partition % BROKERS
        for batch in list(self.in_flight[broker]):
            attempt = self.pending[batch].attempt
            self.end_attempt(batch, attempt)
            self.failed(batch, attempt, REQUEST_TIMEOUT if batch == timed_out else DISCONNECTED)
        self.world.reconnect(self.id, PRODUCERS + broker)

    def failed(self, batch, attempt, reason):
        pending = self.pending[batch]
        retriable = self.earlier_unresolved(batch) if reason == OUT_OF_ORDER else True
        now = self.env.now
        expired = now + RETRY_BACKOFF_MS >= pending.created_ms + DELIVERY_TIMEOUT_MS
        if retriable and attempt <= RETRIES and not expired:
            self.requeue(batch, now + RETRY_BACKOFF_MS)
            self.world.set_timer(RETRY_BACKOFF_MS, self.try_send)
        else:
            self.resolve(batch, acked=False)

    def earlier_unresolved(self, batch):
        batches = self.world.batches
        partition, seq = batches[batch][1], batches[batch][4]
        return any(other != batch and batches[other][1] == partition and batches[other][4] < seq for other in self.pending)

    def requeue(self, batch, retry_at_ms):
        pending = self.pending[batch]
        pending.retry_at_ms = retry_at_ms
        queue, batches = self.queues[pending.partition], self.world.batches
        seq = batches[batch][4]
        position = next((i for i, other in enumerate(queue) if batches[other][4] > seq), len(queue))
        queue.insert(position, batch)

    def resolve(self, batch, acked=True):
        del self.pending[batch]
        world = self.world
        records = len(world.batches[batch][2])
        world.unresolved -= records
        if acked:
            world.stats["acked"] += records
        else:
            world.stats["failed_batches"] += 1
        if world.finished():
            world.stop()


class Broker(Node):
    """Leader of partitions p with p mod 3 == index; b0 is also the coordinator."""

    def __init__(self, world, index):
        super().__init__(world, PRODUCERS + index)
        self.logs = [[] if p % BROKERS == index else None for p in range(PARTITIONS)]
        # Per partition: PID -> [last sequence, deque of (first seq, count, base offset)].
        self.producer_states = [{} for _ in range(PARTITIONS)]
        self.committed = [None] * PARTITIONS
        self.next_pid = 1000

    def on_message(self, src, msg):
        kind = msg[0]
        world = self.world
        if kind == PRODUCE:
            self.produce(src, msg[1], msg[2])
        elif kind == FETCH:
            _, poll, partition, offset, max_records = msg
            log = self.logs[partition]
            if log is None:
                return
            start = min(offset, len(log))
            events = [event for event, _batch in log[start : start + max_records]]
            world.send(self.id, src, (FETCH_OK, poll, partition, start, events))
        elif kind == OFFSET_COMMIT:
            _, partition, offset = msg
            self.committed[partition] = offset
            world.committed[partition] = offset
            world.stats["commits"] += 1
            world.send(self.id, src, (OFFSET_COMMIT_OK, partition, offset))
            if world.finished():
                world.stop()
        elif kind == OFFSET_FETCH:
            world.send(self.id, src, (OFFSET_FETCH_OK, msg[1], self.committed[msg[1]]))
        elif kind == INIT_PRODUCER_ID:
            pid, self.next_pid = self.next_pid, self.next_pid + 1
            world.send(self.id, src, (INIT_PRODUCER_ID_OK, pid))

    def produce(self, src, batch, attempt):
        world = self.world
        _producer, partition, records, pid, seq = world.batches[batch]
        log = self.logs[partition]
        state = self.producer_states[partition].setdefault(pid, [None, deque()])
        last_seq, recent = state
        duplicate = next((base for first, count, base in recent if first == seq and count == len(records)), None)
        if duplicate is not None:
            world.stats["dedups"] += 1
            world.send(self.id, src, (PRODUCE_OK, batch, attempt, duplicate))
        elif (last_seq is None and seq == 0) or (last_seq is not None and seq == last_seq + 1):
            base = len(log)
            info, max_step = world.event_info, world.max_step_appended
            for event in records:
                log.append((event, batch))
                entity, step = info[event]
                if max_step[entity] != -1 and step < max_step[entity]:
                    world.stats["out_of_order_appends"] += 1
                else:
                    max_step[entity] = step
            world.stats["appended"] += len(records)
            world.log_end[partition] = len(log)
            state[0] = seq + len(records) - 1
            recent.append((seq, len(records), base))
            if len(recent) > DEDUP_WINDOW:
                recent.popleft()
            world.send(self.id, src, (PRODUCE_OK, batch, attempt, base))
        else:
            world.stats["rejects"] += 1
            world.send(self.id, src, (PRODUCE_ERROR, batch, attempt, OUT_OF_ORDER))


class Consumer(Node):
    """A group member owning partitions p with p mod 4 == index; its poll loop is a process."""

    def __init__(self, world, index):
        super().__init__(world, PRODUCERS + BROKERS + index)
        self.partitions = [p for p in range(PARTITIONS) if p % CONSUMERS == index]
        self.slot_of = {p: slot for slot, p in enumerate(self.partitions)}
        count = len(self.partitions)
        self.position = [0] * count
        self.ready = [False] * count
        self.commit_sent = [None] * count
        self.commit_acked = [None] * count
        self.poll, self.polling, self.outstanding = 0, False, 0
        self.fetched = []
        self.all_ready = self.env.event()
        self.poll_done = None

    def start(self):
        self.env.process(self.run())

    def run(self):
        world, env = self.world, self.env
        self.fetch_offsets()
        yield self.all_ready
        while True:
            self.start_poll()
            yield self.poll_done
            fetched = self.deliver_fetched()
            if not fetched:
                yield env.timeout(POLL_IDLE_MS)
                world.events += 1
                world.timers_fired += 1
                continue
            for slot, offset, event in fetched:
                yield env.timeout(world.rng.uniform(PROCESSING_MIN_MS, PROCESSING_MAX_MS))
                world.events += 1
                world.timers_fired += 1
                self.apply(slot, offset, event)
            self.commit_positions()
            if world.finished():
                world.stop()
                return

    def fetch_offsets(self, _=None):
        asked = False
        for slot, partition in enumerate(self.partitions):
            if not self.ready[slot]:
                self.world.send(self.id, COORDINATOR, (OFFSET_FETCH, partition))
                asked = True
        if asked:
            self.world.reconnect(self.id, COORDINATOR)
            self.world.set_timer(CONSUMER_REQUEST_TIMEOUT_MS, self.fetch_offsets)

    def start_poll(self):
        self.poll += 1
        self.polling = True
        self.fetched = []
        self.outstanding = len(self.partitions)
        self.poll_done = self.env.event()
        for slot, partition in enumerate(self.partitions):
            msg = (FETCH, self.poll, partition, self.position[slot], MAX_POLL_RECORDS)
            self.world.send(self.id, PRODUCERS + partition % BROKERS, msg)
        self.world.set_timer(CONSUMER_REQUEST_TIMEOUT_MS, self.fetch_timed_out, self.poll)

    def fetch_timed_out(self, poll):
        if self.polling and poll == self.poll:
            for partition in self.partitions:  # a fetch went unanswered: reconnect
                self.world.reconnect(self.id, PRODUCERS + partition % BROKERS)
            self.polling = False
            self.poll_done.succeed()

    def on_message(self, src, msg):
        kind = msg[0]
        if kind == FETCH_OK:
            _, poll, partition, offset, events = msg
            if not self.polling or poll != self.poll:
                return  # an answer to a poll that already returned
            slot = self.slot_of[partition]
            if offset == self.position[slot]:
                room = MAX_POLL_RECORDS - len(self.fetched)
                self.fetched.extend((slot, offset + i, event) for i, event in enumerate(events[:room]))
            self.outstanding -= 1
            if self.outstanding == 0:
                self.polling = False
                self.poll_done.succeed()
        elif kind == OFFSET_COMMIT_OK:
            _, partition, offset = msg
            self.commit_acked[self.slot_of[partition]] = offset
        elif kind == OFFSET_FETCH_OK:
            _, partition, offset = msg
            slot = self.slot_of[partition]
            if self.ready[slot]:
                return
            self.ready[slot] = True
            self.position[slot] = offset or 0
            self.commit_sent[slot] = self.commit_acked[slot] = offset
            if all(self.ready):
                self.all_ready.succeed()

    def deliver_fetched(self):
        world = self.world
        for slot, offset, event in self.fetched:
            self.position[slot] = offset + 1
            world.stats["deliveries"] += 1
            if world.delivered[event]:
                world.stats["duplicate_deliveries"] += 1
            world.delivered[event] += 1
        return self.fetched

    def apply(self, slot, offset, event):
        world = self.world
        world.stats["applies"] += 1
        if world.applied[event]:
            world.stats["duplicate_applies"] += 1
        world.applied[event] += 1
        latency = self.env.now - world.created_ms[event]
        world.latency_sum_ms += latency
        world.latency_max_ms = max(world.latency_max_ms, latency)
        partition = self.partitions[slot]
        world.processed[partition] = max(world.processed[partition], offset + 1)

    def commit_positions(self, _=None):
        sent = False
        for slot, partition in enumerate(self.partitions):
            offset = self.position[slot]
            if self.ready[slot] and self.commit_sent[slot] != offset:
                self.commit_sent[slot] = offset
                self.world.send(self.id, COORDINATOR, (OFFSET_COMMIT, partition, offset))
                sent = True
        if sent:
            self.world.set_timer(CONSUMER_REQUEST_TIMEOUT_MS, self.commit_timed_out)

    def commit_timed_out(self, _):
        if self.commit_sent != self.commit_acked:  # an unanswered commit: reconnect, commit again
            self.world.reconnect(self.id, COORDINATOR)
            self.commit_sent = list(self.commit_acked)
            self.commit_positions()


COORDINATOR = PRODUCERS  # b0


def plan_starts(rng):
    """Each producer's entity starts (at_ms, entity), earliest first (handoff = "rotate")."""
    starts = [[] for _ in range(PRODUCERS)]
    for entity in range(ENTITIES):
        starts[entity % PRODUCERS].append((rng.uniform(0.0, START_WINDOW_MS), entity))
    for plan in starts:
        plan.sort()
    return starts


def run(seed, count_simpy_events=False):
    import random

    started = time.perf_counter()
    env = CountingEnvironment() if count_simpy_events else simpy.Environment()
    world = World(env, random.Random(seed))
    starts = plan_starts(world.rng)
    world.nodes = [Producer(world, index, starts[index]) for index in range(PRODUCERS)]
    world.nodes += [Broker(world, index) for index in range(BROKERS)]
    world.nodes += [Consumer(world, index) for index in range(CONSUMERS)]
    for node in world.nodes:  # at time 0, in node order, as ordo's on_start
        if hasattr(node, "start"):
            node.start()
    limit = env.timeout(MAX_TIME_MS)
    limit.callbacks.append(lambda _: world.stop("time_limit"))
    env.run(until=world.done)
    wall_s = time.perf_counter() - started

    stats = world.stats
    events = world.events_at_stop
    result = {
        "scenario": "bench-standard (SimPy)",
        "seed": seed,
        "stop_reason": world.stop_reason,
        "events": events,
        "sim_time_ms": env.now,
        "wall_ms": wall_s * 1e3,
        "events_per_sec": int(events / wall_s),
        "workload": {
            **stats,
            "latency_mean_ms": world.latency_sum_ms / stats["applies"] if stats["applies"] else 0.0,
            "latency_max_ms": world.latency_max_ms,
        },
        "network": {
            "messages": world.messages_sent,
            "lost": world.dropped_loss,
            "lost_on_broken_connections": world.dropped_broken,
        },
        "engine": {
            "messages_delivered": world.messages_delivered,
            "timers_fired": world.timers_fired,
            "timers_cancelled": world.timers_cancelled,
            "simpy_scheduled": env.scheduled if count_simpy_events else None,
            "simpy_version": simpy.__version__,
            "python": sys.version.split()[0],
        },
    }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="random.Random seed (default 1)")
    parser.add_argument(
        "--count-simpy-events",
        action="store_true",
        help="also count every event SimPy schedules (engine.simpy_scheduled); slows the run a little",
    )
    args = parser.parse_args()
    result = run(args.seed, args.count_simpy_events)
    print(json.dumps(result, indent=2))
    return 0 if result["stop_reason"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
