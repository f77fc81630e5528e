//! Time as a dependency, so tests drive deadlines without sleeping.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to. With `mirror_to`, every move is also written to a
/// file that [`FileClock`]s in other processes read, so one test moves the time of a
/// whole distributed topology.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    mirror: Option<PathBuf>,
}

impl ManualClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
            mirror: None,
        }
    }

    /// A clock whose every move is written to `path` (and already is).
    pub fn mirror_to(now: DateTime<Utc>, path: &Path) -> std::io::Result<Self> {
        write_time(path, now)?;
        Ok(Self {
            now: Mutex::new(now),
            mirror: Some(path.to_owned()),
        })
    }

    pub fn set(&self, now: DateTime<Utc>) {
        let mut held = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *held = now;
        self.mirror(*held);
    }

    pub fn advance(&self, by: Duration) {
        let mut held = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *held += by;
        self.mirror(*held);
    }

    fn mirror(&self, now: DateTime<Utc>) {
        if let Some(path) = &self.mirror
            && let Err(error) = write_time(path, now)
        {
            panic!(
                "the clock file {} cannot be written: {error}",
                path.display()
            );
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes through a temporary file, so a reader never sees half a time.
fn write_time(path: &Path, now: DateTime<Utc>) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, now.to_rfc3339())?;
    std::fs::rename(&partial, path)
}

/// The time a file says (RFC 3339), read at every call: for tests that move the clock
/// of several processes at once. Falls back to the wall clock if the file is unreadable.
#[derive(Debug, Clone)]
pub struct FileClock(PathBuf);

impl FileClock {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
            .map_or_else(Utc::now, |at| at.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirrored_clock_moves_a_file_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        let start = DateTime::parse_from_rfc3339("2026-11-23T09:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let manual = ManualClock::mirror_to(start, &path).unwrap();
        let file = FileClock::new(&path);
        assert_eq!(file.now(), start);
        manual.advance(Duration::hours(3));
        assert_eq!(file.now(), start + Duration::hours(3));
    }
}
