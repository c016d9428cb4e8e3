//! The time series: one row per sample interval of simulated time, for live
//! plots in the lab and for `--series` in reports.
//!
//! Rates and latency quantiles cover the interval just ended; depths and
//! lags are the values at the sample instant. The run keeps the series and
//! takes a row whenever the world says a sample is due, reading it through
//! the broker's read API: O(nodes) a row, no scan over other nodes.

use serde::Serialize;

use crate::broker::error::BuildError;
use crate::broker::world::{NodeRef, World};
use crate::engine::SimTime;

#[derive(Clone, Default, Serialize)]
pub struct Series {
    /// Sample times in seconds of simulated time.
    pub time_s: Vec<f64>,
    pub produced_per_s: Vec<f64>,
    pub processed_per_s: Vec<f64>,
    pub in_flight: Vec<u64>,
    /// Empty when latency series are off.
    pub latency_p50_ms: Vec<f64>,
    pub latency_p95_ms: Vec<f64>,
    pub latency_p99_ms: Vec<f64>,
    pub nodes: Vec<NodeSeries>,
    #[serde(skip)]
    last: (SimTime, u64, u64),
}

/// One node's columns. Which are filled depends on the kind.
#[derive(Clone, Serialize)]
pub struct NodeSeries {
    pub id: String,
    pub kind: crate::scenario::Kind,
    /// Queues: ready messages. Topics: lag summed over groups and partitions.
    /// Services: requests waiting for a worker.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depth: Vec<u64>,
    /// Queues: delivered, not yet acknowledged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unacked: Vec<u64>,
    /// Consumers: messages being processed. Services: busy workers (processing or waiting on a call).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub busy: Vec<u32>,
}

impl Series {
    /// The series of a run of `world`'s nodes, room made for `samples` rows at once (the
    /// memory estimate counts them; a reservation that fails is an error, not an abort).
    pub fn new(world: &World, samples: usize) -> Result<Self, BuildError> {
        let (ids, refs) = (world.ids(), world.node_refs());
        let too_big = |_| BuildError::SeriesTooBig { samples };
        let mut nodes = Vec::new();
        nodes.try_reserve_exact(ids.len()).map_err(too_big)?;
        for (id, r) in ids.iter().zip(refs) {
            let mut node = NodeSeries {
                id: id.clone(),
                kind: r.kind(),
                depth: Vec::new(),
                unacked: Vec::new(),
                busy: Vec::new(),
            };
            match r {
                NodeRef::Queue(_) => {
                    node.depth.try_reserve_exact(samples).map_err(too_big)?;
                    node.unacked.try_reserve_exact(samples).map_err(too_big)?;
                }
                NodeRef::Topic(_) => node.depth.try_reserve_exact(samples).map_err(too_big)?,
                NodeRef::Consumer(_) => node.busy.try_reserve_exact(samples).map_err(too_big)?,
                NodeRef::Service(_) => {
                    node.depth.try_reserve_exact(samples).map_err(too_big)?;
                    node.busy.try_reserve_exact(samples).map_err(too_big)?;
                }
                NodeRef::Producer(_) | NodeRef::Exchange(_) => {}
            }
            nodes.push(node);
        }
        let mut series = Self {
            nodes,
            ..Default::default()
        };
        for column in [
            &mut series.time_s,
            &mut series.produced_per_s,
            &mut series.processed_per_s,
        ] {
            column.try_reserve_exact(samples).map_err(too_big)?;
        }
        series
            .in_flight
            .try_reserve_exact(samples)
            .map_err(too_big)?;
        Ok(series)
    }

    pub fn len(&self) -> usize {
        self.time_s.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_s.is_empty()
    }

    /// Appends the row for time `now`; the interval's latencies are `world`'s
    /// (the world starts the next interval afresh once the sample is taken).
    pub fn sample(&mut self, now: SimTime, world: &World) {
        let (last_t, last_produced, last_processed) = self.last;
        let span_s = (now.saturating_sub(last_t)) as f64 / 1e9;
        let rate = |count: u64| {
            if span_s > 0.0 {
                count as f64 / span_s
            } else {
                0.0
            }
        };
        let ledger = world.ledger();
        self.time_s.push(now as f64 / 1e9);
        self.produced_per_s
            .push(rate(ledger.produced - last_produced));
        self.processed_per_s
            .push(rate(ledger.processed - last_processed));
        self.in_flight.push(ledger.in_flight());
        self.last = (now, ledger.produced, ledger.processed);
        if let Some(interval) = world.interval_latency() {
            let quantile = |q| interval.quantile_nanos(q) as f64 / 1e6;
            self.latency_p50_ms.push(quantile(0.5));
            self.latency_p95_ms.push(quantile(0.95));
            self.latency_p99_ms.push(quantile(0.99));
        }
        for (node, r) in self.nodes.iter_mut().zip(world.node_refs()) {
            match *r {
                NodeRef::Queue(q) => {
                    if let Some(queue) = world.queue(q) {
                        node.depth.push(queue.ready());
                        node.unacked.push(queue.unacked());
                    }
                }
                NodeRef::Topic(t) => {
                    if let Some(topic) = world.topic(t) {
                        node.depth.push(topic.lag());
                    }
                }
                NodeRef::Consumer(c) => {
                    if let Some(consumer) = world.consumer(c) {
                        node.busy.push(consumer.busy());
                    }
                }
                NodeRef::Service(s) => {
                    if let Some(service) = world.service(s) {
                        node.depth.push(service.waiting());
                        node.busy.push(service.active());
                    }
                }
                NodeRef::Producer(_) | NodeRef::Exchange(_) => {}
            }
        }
    }
}
