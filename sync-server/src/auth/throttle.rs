//! Failed attempts per address, limited by a token bucket: `burst` failures at once, then one
//! more every `refill`. Only failures take from the bucket, and nothing refills it early: a
//! success neither resets nor spends it. IPv6 addresses count by their /64 (one host's
//! share); past [`MOST_TRACKED`] addresses, new ones share one bucket, so memory stays bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most addresses tracked one by one.
const MOST_TRACKED: usize = 65_536;

/// Whose failures share a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    V4([u8; 4]),
    /// The first 64 bits.
    V6([u8; 8]),
    /// Every address past [`MOST_TRACKED`].
    Overflow,
}

impl Key {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Key::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::V4(v4.octets()),
                None => {
                    let o = v6.octets();
                    Key::V6([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]])
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Failures still allowed, as of `at`.
    left: f64,
    at: Instant,
}

/// The failure buckets of one kind of attempt (tokens, or enrolment codes).
#[derive(Debug)]
pub struct Throttle {
    burst: u32,
    refill: Duration,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl Throttle {
    pub fn new(burst: u32, refill: Duration) -> Self {
        Self {
            burst,
            refill,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// What is left in `bucket` now.
    fn left(&self, bucket: &Bucket, now: Instant) -> f64 {
        let refilled = now.duration_since(bucket.at).as_secs_f64() / self.refill.as_secs_f64();
        (bucket.left + refilled).min(f64::from(self.burst))
    }

    fn key(&self, buckets: &HashMap<Key, Bucket>, ip: IpAddr) -> Key {
        let key = Key::of(ip);
        if buckets.len() < MOST_TRACKED || buckets.contains_key(&key) {
            key
        } else {
            Key::Overflow
        }
    }

    /// How long `ip` must wait before a failure is allowed again; `None`: it may try now.
    pub fn wait(&self, ip: IpAddr) -> Option<Duration> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.get(&self.key(&buckets, ip))?;
        let left = self.left(bucket, Instant::now());
        (left < 1.0).then(|| self.refill.mul_f64(1.0 - left))
    }

    /// Takes one failure from `ip`'s bucket.
    pub fn failed(&self, ip: IpAddr) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if buckets.len() >= MOST_TRACKED {
            // Full buckets say nothing: forget them.
            let full = f64::from(self.burst);
            buckets.retain(|_, b| self.left(b, now) < full);
        }
        let key = self.key(&buckets, ip);
        let left = buckets
            .get(&key)
            .map_or(f64::from(self.burst), |b| self.left(b, now));
        let bucket = Bucket {
            left: (left - 1.0).max(0.0),
            at: now,
        };
        buckets.insert(key, bucket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_refill_and_v6_hosts_count_by_their_64() {
        let t = Throttle::new(3, Duration::from_secs(3600));
        let a: IpAddr = "2001:db8::1".parse().unwrap_or(IpAddr::from([0; 4]));
        let same_host: IpAddr = "2001:db8::ffff".parse().unwrap_or(IpAddr::from([0; 4]));
        let other: IpAddr = "192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        for _ in 0..3 {
            assert_eq!(t.wait(a), None);
            t.failed(a);
        }
        assert!(t
            .wait(same_host)
            .is_some_and(|w| w > Duration::from_secs(3000)));
        assert_eq!(t.wait(other), None);

        let quick = Throttle::new(1, Duration::from_millis(20));
        quick.failed(other);
        assert!(quick.wait(other).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(quick.wait(other), None);
    }
}
