//! **batch**: partition-aware batch processing: each poll's records are split per
//! partition and the partitions are processed side by side (records of one partition in
//! their order); offsets are committed after the whole poll is processed (commit after
//! processing); when processing a record fails, its partition's batch is retried from
//! its first record, and the other partitions carry on.
//!
//! Promises: per-key (per-partition) order under processing retries and rebalances:
//! nothing of a partition is applied before what precedes it, and nothing committed is
//! unprocessed. Costs: a retried batch applies its already-applied records again
//! (duplicates: compose with `idempotent-consumer`), and a poll finishes only when its
//! slowest partition does. Source: docs/known-outcomes.md ("partition-aware batch + commit
//! after batch"); Confluent parallel-consumer and Spring Kafka batch listeners
//! (`BatchListenerFailedException` retries the batch).

use super::Side::Consumer;
use super::{Setting, Strategy};
use crate::scenario::{CommitMode, Scenario};

pub struct PartitionBatch;

impl Strategy for PartitionBatch {
    fn name(&self) -> &'static str {
        "batch"
    }
    fn summary(&self) -> &'static str {
        "partition-aware batches in parallel, commit after, retry the whole batch: order kept, duplicates on retry"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[
            Setting::set(Consumer, "consumer.parallel_partitions", "true"),
            Setting::set(Consumer, "consumer.retry_whole_batch", "true"),
            Setting::set(Consumer, "consumer.commit", "after"),
        ];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.parallel_partitions = true;
        scenario.consumer.retry_whole_batch = true;
        scenario.consumer.commit = CommitMode::After;
    }
}
