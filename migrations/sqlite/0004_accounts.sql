-- Staff accounts and their sessions (DESIGN §7). Residents need no account.

CREATE TABLE accounts (
    username       TEXT    PRIMARY KEY,
    -- argon2id, PHC string format.
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    area           TEXT,
    unit           TEXT,
    display_name   TEXT    NOT NULL,
    created_at     INTEGER  NOT NULL
);

-- A session is found by the SHA-256 of its token; the token itself is never stored.
CREATE TABLE sessions (
    token_digest   TEXT    PRIMARY KEY,
    username       TEXT    NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
    expires_at     INTEGER  NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);
