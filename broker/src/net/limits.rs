//! Kafka's connection limits, with Kafka's names and behaviour:
//!
//! - `max.connections`: connections open on the whole broker. While it is reached every
//!   listener stops accepting (the kernel queues new connections in the listen backlog) and
//!   accepts again when one closes, as Kafka's acceptor waits for a slot.
//! - `max.connections.per.ip`, and `max.connections.per.ip.overrides` for named addresses: a
//!   connection past its address's limit is closed as soon as it is accepted, as Kafka closes it
//!   ("too many connections from …"), and counted in
//!   `sluice_broker_connections_refused_total`.
//!
//! A slot is [`reserve`](ConnectionLimits::reserve)d before `accept`, so listeners sharing the
//! broker-wide limit can never pass it together; the [`Admitted`] guard gives it back however
//! the connection ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::config::ConnectionLimitsConfig;

pub struct ConnectionLimits {
    config: ConnectionLimitsConfig,
    open: Mutex<Open>,
    /// Woken when a connection closes, for a listener waiting on `max.connections`.
    freed: Notify,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// A broker-wide slot, held between `accept` and the address check (None once admitted).
pub struct Reserved(Option<Arc<ConnectionLimits>>);

/// An open connection's place in the counts, given back when dropped.
pub struct Admitted {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(config: ConnectionLimitsConfig) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            config,
            open: Mutex::new(Open::default()),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until fewer than `max.connections` are open, and takes one of them.
    pub async fn reserve(self: Arc<Self>) -> Reserved {
        loop {
            // Registered before the check, so a close between the check and the wait wakes it.
            let freed = self.freed.notified();
            if self.take_slot() {
                drop(freed);
                return Reserved(Some(self));
            }
            freed.await;
        }
    }

    /// Takes a broker-wide slot if one is free.
    fn take_slot(&self) -> bool {
        let mut open = self.lock();
        let free = open.total < self.config.max_connections;
        if free {
            open.total += 1;
        }
        free
    }

    /// The limit for connections from `ip`.
    fn limit_for(&self, ip: IpAddr) -> usize {
        self.config
            .per_ip_overrides
            .get(&ip)
            .copied()
            .unwrap_or(self.config.max_connections_per_ip)
    }

    fn release(&self, ip: Option<IpAddr>) {
        let mut open = self.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(ip) = ip {
            if let Some(n) = open.by_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.by_ip.remove(&ip);
                }
            }
        }
        drop(open);
        self.freed.notify_waiters();
    }
}

impl Reserved {
    /// Counts the accepted connection from `ip` against its address's limit; Err(limit) when
    /// the address has that many open already (the caller closes the connection).
    pub fn admit(mut self, ip: IpAddr) -> Result<Admitted, usize> {
        let ip = ip.to_canonical();
        let Some(limits) = self.0.take() else {
            return Err(0); // admitted already: cannot happen, `admit` takes the slot by value
        };
        let limit = limits.limit_for(ip);
        let mut open = limits.lock();
        let n = open.by_ip.entry(ip).or_insert(0);
        if *n >= limit {
            if *n == 0 {
                open.by_ip.remove(&ip);
            }
            drop(open);
            limits.release(None);
            return Err(limit);
        }
        *n += 1;
        drop(open);
        Ok(Admitted { limits, ip })
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if let Some(limits) = self.0.take() {
            limits.release(None);
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.limits.release(Some(self.ip));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;

    fn limits(max: usize, per_ip: usize, overrides: &[(&str, usize)]) -> Arc<ConnectionLimits> {
        ConnectionLimits::new(ConnectionLimitsConfig {
            max_connections: max,
            max_connections_per_ip: per_ip,
            per_ip_overrides: overrides
                .iter()
                .map(|(ip, n)| (ip.parse().unwrap(), *n))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        })
    }

    const A: &str = "10.0.0.1";
    const B: &str = "10.0.0.2";

    #[tokio::test]
    async fn an_address_past_its_limit_is_refused_and_its_overrides_apply() {
        let l = limits(100, 2, &[(B, 3)]);
        let a: Vec<Admitted> = [0, 1]
            .iter()
            .map(|_| futures_admit(&l, A))
            .map(Result::unwrap)
            .collect();
        assert_eq!(futures_admit(&l, A).err(), Some(2));
        let b: Vec<Admitted> = (0..3).map(|_| futures_admit(&l, B).unwrap()).collect();
        assert_eq!(futures_admit(&l, B).err(), Some(3));
        // The IPv4-mapped IPv6 form of A is A.
        assert_eq!(futures_admit(&l, "::ffff:10.0.0.1").err(), Some(2));
        drop(a);
        assert!(
            futures_admit(&l, A).is_ok(),
            "a closed connection frees its address's place"
        );
        assert_eq!(l.lock().total, 3, "refused connections hold no broker-wide slot");
        drop(b);
    }

    #[tokio::test]
    async fn the_broker_wide_limit_waits_for_a_connection_to_close() {
        let l = limits(2, 100, &[]);
        let first = l.clone().reserve().await.admit(A.parse().unwrap()).unwrap();
        let _second = l.clone().reserve().await.admit(B.parse().unwrap()).unwrap();
        let third = tokio::spawn(l.clone().reserve());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "no third slot while two are open");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .unwrap()
            .unwrap();
        assert!(third.admit(A.parse().unwrap()).is_ok());
    }

    /// Reserve (there is room) and admit, synchronously for the per-address tests.
    fn futures_admit(l: &Arc<ConnectionLimits>, ip: &str) -> Result<Admitted, usize> {
        let reserved = {
            let mut open = l.lock();
            open.total += 1;
            Reserved(Some(l.clone()))
        };
        reserved.admit(ip.parse().unwrap())
    }
}
