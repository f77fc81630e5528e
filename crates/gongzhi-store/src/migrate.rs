//! Schema migrations, one folder per backend with identical file names, embedded in the
//! binary and applied in order, each in its own transaction.

/// A database backend, chosen from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration_list {
    ($backend:literal: $($version:literal => $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../../migrations/", $backend, "/", $name)),
        }),*]
    };
}

const SQLITE: &[Migration] = migration_list!("sqlite":
    1 => "0001_event_store.sql",
    2 => "0002_views.sql",
    3 => "0003_queries.sql",
    4 => "0004_accounts.sql",
    5 => "0005_causal.sql",
    6 => "0006_rollups.sql",
);

const POSTGRES: &[Migration] = migration_list!("postgres":
    1 => "0001_event_store.sql",
    2 => "0002_views.sql",
    3 => "0003_queries.sql",
    4 => "0004_accounts.sql",
    5 => "0005_causal.sql",
    6 => "0006_rollups.sql",
);

/// The migrations of a backend, in order.
pub fn migrations(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

#[cfg(test)]
mod tests {
    use super::*;

    fn files(backend: &str) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/").to_owned() + backend;
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_backends_have_the_same_migration_files() {
        assert_eq!(files("sqlite"), files("postgres"));
    }

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (backend, folder) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let embedded: Vec<&str> = migrations(backend).iter().map(|m| m.name).collect();
            assert_eq!(embedded, files(folder), "{folder}");
            let versions: Vec<i64> = migrations(backend).iter().map(|m| m.version).collect();
            assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
        }
    }
}
