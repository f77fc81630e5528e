//! Per-address request limit for callers without a session: a token bucket per client
//! address that refills at the configured rate per minute.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses tracked before idle buckets are swept.
const SWEEP_AT: usize = 10_000;

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    by_client: HashMap<IpAddr, Bucket>,
    swept: Instant,
}

/// The client an address stands for: an IPv6 host usually holds a whole /64, so that is
/// what is limited; an IPv4 address is one client.
fn client(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        v4 => v4,
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_minute == 0` lets everything through.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(Buckets {
                by_client: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// Takes one request's token, or says how many seconds until one is free.
    pub fn check(&self, address: IpAddr, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // Full buckets carry no information; dropping them at most every ten seconds keeps
        // the map small without a sweep per request.
        if buckets.by_client.len() >= SWEEP_AT
            && now.duration_since(buckets.swept) >= Duration::from_secs(10)
        {
            buckets.swept = now;
            buckets
                .by_client
                .retain(|_, b| now.duration_since(b.updated).as_secs_f64() * per_second < capacity);
        }
        let bucket = buckets.by_client.entry(client(address)).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_second).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_from_one_address_is_limited_and_others_are_not() {
        let limiter = RateLimiter::new(60);
        let now = Instant::now();
        let flood: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..60 {
            assert_eq!(limiter.check(flood, now), Ok(()));
        }
        assert_eq!(limiter.check(flood, now), Err(1));
        assert_eq!(limiter.check(other, now), Ok(()));
        assert_eq!(limiter.check(flood, now + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn an_ipv6_client_is_limited_by_its_64_prefix() {
        let limiter = RateLimiter::new(2);
        let now = Instant::now();
        let first: IpAddr = "2001:db8::1".parse().unwrap();
        let rotated: IpAddr = "2001:db8::beef".parse().unwrap();
        assert_eq!(limiter.check(first, now), Ok(()));
        assert_eq!(limiter.check(rotated, now), Ok(()));
        assert!(limiter.check(first, now).is_err());
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::new(0);
        let address: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..1_000 {
            assert_eq!(limiter.check(address, Instant::now()), Ok(()));
        }
    }
}
