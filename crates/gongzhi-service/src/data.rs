//! The admin-editable data files: the directory, the SLA policy and the holiday calendar,
//! read from one folder and checked before anything starts.

use std::path::{Path, PathBuf};

use gongzhi_domain::{Calendar, CalendarError, Directory, DirectoryError, SlaError, SlaPolicy};

use crate::service::Policy;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid")]
    Directory {
        path: PathBuf,
        #[source]
        source: DirectoryError,
    },
    #[error("{path} is not valid")]
    Sla {
        path: PathBuf,
        #[source]
        source: SlaError,
    },
    #[error("{path} is not valid")]
    Calendar {
        path: PathBuf,
        #[source]
        source: CalendarError,
    },
}

/// The data files as shipped, built into the binary so `gongzhi dev` works anywhere.
const SHIPPED: &[(&str, &str)] = &[
    (
        "directory.toml",
        include_str!("../../../data/directory.toml"),
    ),
    ("sla.toml", include_str!("../../../data/sla.toml")),
    (
        "calendar/2026.toml",
        include_str!("../../../data/calendar/2026.toml"),
    ),
];

/// Everything the data folder holds.
#[derive(Debug, Clone)]
pub struct DataFiles {
    pub directory: Directory,
    pub policy: Policy,
    /// Years the calendar has holidays for.
    pub calendar_years: Vec<i32>,
}

fn read(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Read {
        path: path.to_owned(),
        source,
    })
}

impl DataFiles {
    /// Reads `directory.toml`, `sla.toml` and every `calendar/*.toml` under `dir`.
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let path = dir.join("directory.toml");
        let directory = Directory::from_toml(&read(&path)?)
            .map_err(|source| DataError::Directory { path, source })?;
        let path = dir.join("sla.toml");
        let sla = SlaPolicy::from_toml(&read(&path)?)
            .map_err(|source| DataError::Sla { path, source })?;
        let mut calendar = Calendar::china();
        let calendar_dir = dir.join("calendar");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&calendar_dir)
            .map_err(|source| DataError::Read {
                path: calendar_dir.clone(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        files.sort();
        let mut calendar_years = Vec::new();
        for path in files {
            let year = calendar
                .load_year(&read(&path)?)
                .map_err(|source| DataError::Calendar { path, source })?;
            calendar_years.push(year);
        }
        Ok(Self {
            directory,
            policy: Policy { sla, calendar },
            calendar_years,
        })
    }

    /// Writes the shipped data files into `dir` unless it already has a directory file,
    /// so an admin has files to edit. Returns whether it wrote them.
    pub fn write_defaults(dir: &Path) -> Result<bool, DataError> {
        if dir.join("directory.toml").exists() {
            return Ok(false);
        }
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| DataError::Write {
                    path: parent.to_owned(),
                    source,
                })?;
            }
            std::fs::write(&path, text).map_err(|source| DataError::Write { path, source })
        };
        for (name, text) in SHIPPED {
            write(name, text)?;
        }
        Ok(true)
    }

    /// The data folder shipped with the source tree (for tests and benchmarks).
    pub fn shipped() -> Result<Self, DataError> {
        Self::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"))
    }
}
