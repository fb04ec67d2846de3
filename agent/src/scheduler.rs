//! The gather loop: on every tick of `interval` (aligned to the clock with `round_interval`,
//! after a `collection_jitter` sleep), gather every input, stamp and tag the metrics, encode
//! them and push them into the queue. Sampling never waits for the broker.

use std::sync::Arc;
use std::time::Duration;

use model::Metric;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::flusher::{jitter, now_ns};
use crate::inputs::Input;
use crate::record::Encoder;
use crate::shared::Shared;

/// What every metric gets on its way out, as Telegraf's agent does it.
#[derive(Debug, Clone)]
pub struct Decoration {
    pub global_tags: Vec<(String, String)>,
    /// The `host` tag, unless `omit_hostname`.
    pub host: Option<String>,
    pub precision_ns: i64,
}

impl Decoration {
    /// A tag the input already set wins over a global one (Telegraf's rule).
    pub fn apply(&self, m: &mut Metric) {
        for (k, v) in &self.global_tags {
            m.tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if let Some(h) = &self.host {
            m.tags.entry("host".into()).or_insert_with(|| h.clone());
        }
        m.timestamp = model::round_timestamp(m.timestamp, self.precision_ns);
    }
}

pub struct Scheduler {
    pub inputs: Vec<Input>,
    pub decoration: Decoration,
    pub encoder: Encoder,
    pub shared: Arc<Shared>,
    pub interval: Duration,
    pub round_interval: bool,
    pub collection_jitter: Duration,
}

impl Scheduler {
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut next = first_tick(self.interval, self.round_interval);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = stop.changed() => return,
            }
            if !self.collection_jitter.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(jitter(self.collection_jitter)) => {}
                    _ = stop.changed() => return,
                }
            }
            self.gather_once();
            // Skip ticks missed while gathering took long (or the machine was suspended).
            next += self.interval;
            let now = Instant::now();
            while next <= now {
                next += self.interval;
            }
        }
    }

    /// Gathers every input once and queues the records.
    pub fn gather_once(&mut self) {
        let now = now_ns();
        let mut records = Vec::new();
        for input in &mut self.inputs {
            match input.gather(now) {
                Ok(metrics) => {
                    self.shared
                        .metrics
                        .samples_gathered
                        .with_label_values(&[input.name()])
                        .inc_by(metrics.len() as u64);
                    for mut m in metrics {
                        self.decoration.apply(&mut m);
                        records.extend(self.encoder.encode(&m));
                    }
                }
                Err(e) => {
                    self.shared
                        .metrics
                        .gather_errors
                        .with_label_values(&[input.name()])
                        .inc();
                    tracing::warn!(error = %e, "gather failed");
                }
            }
        }
        if let Err(e) = self.shared.push(records, now) {
            tracing::error!(error = %e, "cannot write to the spool; these samples are lost");
        }
    }
}

/// The first tick: the next multiple of `interval` on the wall clock with `round_interval`,
/// else one interval from now.
fn first_tick(interval: Duration, round: bool) -> Instant {
    let now = Instant::now();
    if !round {
        return now + interval;
    }
    let ns = interval.as_nanos().max(1);
    let wall = now_ns().max(0) as u128;
    let wait = ns - wall % ns;
    now + Duration::from_nanos(wait.min(u64::MAX as u128) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_tags_win_over_global_tags_and_host_is_added() {
        let d = Decoration {
            global_tags: vec![("dc".into(), "eu".into()), ("cpu".into(), "x".into())],
            host: Some("h1".into()),
            precision_ns: 1_000_000_000,
        };
        let mut m = Metric::new("cpu", 1_700_000_000_600_000_000).tag("cpu", "cpu0");
        d.apply(&mut m);
        assert_eq!(m.tags["cpu"], "cpu0");
        assert_eq!(m.tags["dc"], "eu");
        assert_eq!(m.tags["host"], "h1");
        assert_eq!(m.timestamp, 1_700_000_001_000_000_000);
    }

    #[tokio::test(start_paused = true)]
    async fn round_interval_ticks_on_multiples_of_the_interval() {
        let t = first_tick(Duration::from_secs(10), true);
        let wait = t - Instant::now();
        assert!(wait <= Duration::from_secs(10) && wait > Duration::ZERO);
        let t = first_tick(Duration::from_secs(10), false);
        assert_eq!(t - Instant::now(), Duration::from_secs(10));
    }
}
