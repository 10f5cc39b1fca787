//! **expected-version**: event sourcing's optimistic concurrency at the source: every
//! append names the entity stream's version it expects (the event's step), and the
//! partition leader, acting as the event store, appends a batch only if each record is
//! its stream's next event; a batch already in the stream at those versions is answered
//! as a repeat (event-id idempotence). Anything else is a conflict
//! (`wrong_expected_version`): the application re-reads and appends again after the
//! retry backoff, behind the batches queued meanwhile. Sets key partitioning (a stream
//! lives in one partition), `acks = all`, one event per append (`batch_size = 1`: an
//! append targets one stream, and batches mixing streams could each hold the other's
//! missing predecessor for ever), and replaces the idempotent producer's sequence check
//! with the version check.
//!
//! Promises: no out-of-order append and no lost update at the source: an entity's stream
//! holds its events in causal order, each once, whatever the retries, producers or
//! reorderings in flight. Costs: conflicts and retries (latency) whenever an event
//! arrives before its predecessor, the more the hotter the stream; an event whose
//! predecessor is lost for good conflicts until its delivery timeout and is given up.
//! Source: EventStoreDB/Kurrent docs, "Optimistic concurrency and idempotence"
//! (`expectedRevision`); docs/known-outcomes.md ("event sourcing, expected version").

use super::Side::Producer;
use super::{ProducerHooks, Resend, Setting, Setup, Strategy};
use crate::history::FailReason;
use crate::scenario::{Acks, Partitioner, Scenario};

pub struct ExpectedVersion;

impl Strategy for ExpectedVersion {
    fn name(&self) -> &'static str {
        "expected-version"
    }
    fn summary(&self) -> &'static str {
        "event-sourcing appends with an expected stream version: in order at the source, conflicts retried"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Producer, "producer.expected_version", "true"),
            Setting::set(Producer, "producer.idempotence", "false"),
            Setting::set(Producer, "producer.acks", "all"),
            Setting::set(Producer, "producer.partitioner", "key"),
            Setting::set(Producer, "producer.batch_size", "1"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.producer.expected_version = true;
        scenario.producer.idempotence = false;
        scenario.producer.acks = Acks::All;
        scenario.producer.partitioner = Partitioner::Key;
        // An append goes to one stream: batches mixing streams could wait on each other
        // for ever (each holding the other's missing predecessor).
        scenario.producer.batch_size = 1;
    }
    fn producer_hooks(&self, _: &mut Setup<'_>) -> Option<Box<dyn ProducerHooks>> {
        Some(Box::new(Reappend))
    }
}

/// The producer side: the check itself is the event store's (the partition leader's,
/// `Replica::check_versions` in `model/broker.rs`, switched on by `producer.expected_version`,
/// as EventStoreDB checks `expectedRevision` on the server). The application's part is
/// what it does with a conflict: re-read the stream and append again later, behind the
/// batches queued meanwhile (one of them may be the missing predecessor).
struct Reappend;

impl ProducerHooks for Reappend {
    fn resend(&mut self, reason: FailReason) -> Option<Resend> {
        (reason == FailReason::WrongExpectedVersion).then_some(Resend::Back)
    }
}
