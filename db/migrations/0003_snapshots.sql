-- Snapshots of the exchange's state, so that a restart replays only the journal after
-- the newest one instead of the whole journal. A snapshot is derived data: the journal
-- alone rebuilds everything, and recovery checks a loaded snapshot against the journal's
-- checkpoints and the hash stored with it. Old snapshots may therefore be deleted (cpxd
-- keeps the newest few); the journal and the ledger stay append-only.
--
-- A snapshot is stored in parts of at most 16 MB, so that no single value approaches
-- bytea's 1 GB limit or needs a buffer of the whole snapshot on either side more than
-- once.
CREATE TABLE snapshots (
    seq        bigint      PRIMARY KEY REFERENCES journal (seq),
    state_hash bigint      NOT NULL,
    parts      integer     NOT NULL CHECK (parts > 0),
    bytes      bigint      NOT NULL CHECK (bytes > 0),
    written_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE snapshot_parts (
    seq  bigint  NOT NULL REFERENCES snapshots (seq) ON DELETE CASCADE,
    part integer NOT NULL CHECK (part >= 0),
    body bytea   NOT NULL,
    PRIMARY KEY (seq, part)
);

GRANT SELECT, INSERT, DELETE ON snapshots, snapshot_parts TO cpx_app;
