//! Ports for a topology that listens on many of them (deploy/local/up takes a base and
//! the ~200 ports above it).

use std::time::{SystemTime, UNIX_EPOCH};

/// The range the kernel picks client ports from; Linux's default if it cannot be read.
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut parts = text.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .unwrap_or((32_768, 60_999))
}

/// A base for `span` ports outside the range the kernel gives client connections: ports
/// taken from inside it can be grabbed by another test's outgoing connection between
/// the check that they are free and the server's bind. Varies from call to call, so a
/// retry lands elsewhere.
pub fn port_base(span: u16) -> u16 {
    let (low, high) = ephemeral_range();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let (from, to) = if low > 10_000 + span {
        (10_000, low - span)
    } else {
        (high.saturating_add(1), u16::MAX - span)
    };
    from + u16::try_from(nanos % u32::from((to - from).max(1))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_leaves_room_and_stays_out_of_the_client_port_range() {
        let (low, high) = ephemeral_range();
        for _ in 0..100 {
            let base = port_base(200);
            assert!(
                u32::from(base) + 200 < u32::from(low) || base > high,
                "{base}"
            );
        }
    }
}
