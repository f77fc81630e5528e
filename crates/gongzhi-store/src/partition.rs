//! A share of the streams, so that copies of a reader (a relay, an inbox, a projector)
//! split the work between them: every stream belongs to exactly one share of `count`, so
//! its events are read, in order, by one copy, and the copies together read everything.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// Share `index` of `count` (written `index/count`, counted from 0). `0/1` is everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Partition {
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Option<Self> {
        (count >= 1 && index < count).then_some(Self { index, count })
    }

    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    pub fn index(self) -> u32 {
        self.index
    }

    /// Whether this share holds `stream`. Stream ids are UUIDv7: their low bits are
    /// random, so shares come out even.
    pub fn contains(self, stream: Uuid) -> bool {
        stream.as_u128() % u128::from(self.count) == u128::from(self.index)
    }

    /// A reader's checkpoint name for this share: `name@i/n`, or `name` itself for the
    /// whole. A share without a checkpoint of its own starts from the whole one's, which
    /// covers every case: a deployment going from one copy to several goes on from where
    /// it was rather than from the beginning.
    pub fn checkpoint(self, name: &str) -> String {
        if self.is_whole() {
            name.to_owned()
        } else {
            format!("{name}@{self}")
        }
    }
}

impl Default for Partition {
    fn default() -> Self {
        Self::WHOLE
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refused =
            || format!("'{text}' is not a share like 0/2 (index from 0, below the count)");
        let (index, count) = text.split_once('/').ok_or_else(refused)?;
        let index = index.trim().parse().map_err(|_| refused())?;
        let count = count.trim().parse().map_err(|_| refused())?;
        Self::new(index, count).ok_or_else(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_is_in_exactly_one_share() {
        let shares: Vec<Partition> = (0..3).map(|i| Partition::new(i, 3).unwrap()).collect();
        let mut sizes = [0; 3];
        for _ in 0..3_000 {
            let stream = Uuid::now_v7();
            let holders: Vec<u32> = shares
                .iter()
                .filter(|share| share.contains(stream))
                .map(|share| share.index())
                .collect();
            assert_eq!(holders.len(), 1);
            sizes[holders[0] as usize] += 1;
        }
        assert!(sizes.iter().all(|n| (800..1_200).contains(n)), "{sizes:?}");
        assert!(Partition::WHOLE.contains(Uuid::now_v7()));
    }

    #[test]
    fn a_share_is_written_index_slash_count() {
        assert_eq!("1/3".parse(), Ok(Partition::new(1, 3).unwrap()));
        assert_eq!("0/1".parse(), Ok(Partition::WHOLE));
        for bad in ["3/3", "1/0", "1", "a/2", "-1/2", ""] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
        assert_eq!(Partition::WHOLE.checkpoint("relay"), "relay");
        assert_eq!(
            Partition::new(1, 2).unwrap().checkpoint("relay"),
            "relay@1/2"
        );
    }
}
