-- The journal: every request that changed the exchange's state, in the order the
-- sequencer applied it. It is the system of record for the books: replaying it through
-- the deterministic engine rebuilds every order, trade and balance. An answer leaves
-- cpxd only after the request behind it is committed here.

-- The role cpxd works as after it connects (SET ROLE cpx_app): it may append to the
-- record and read it, never rewrite it. Roles belong to the cluster, so a second
-- database on the same server reuses it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cpx_app') THEN
        CREATE ROLE cpx_app NOLOGIN;
    END IF;
END
$$;

-- Refuses a change to a row of an append-only table, whoever asks.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TABLE journal (
    seq   bigint   PRIMARY KEY CHECK (seq > 0),
    ts_ns bigint   NOT NULL CHECK (ts_ns >= 0),
    kind  smallint NOT NULL CHECK (kind > 0),
    body  bytea    NOT NULL
);
COMMENT ON TABLE journal IS
    'Sequenced requests, encoded by services/journal (docs/AUDIT.md gives the format).';

CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The state hash after a journalled sequence number: recovery compares the hash of the
-- rebuilt exchange with it, so a replay that diverges stops the server instead of
-- serving a different book.
CREATE TABLE checkpoints (
    seq        bigint      PRIMARY KEY REFERENCES journal (seq),
    state_hash bigint      NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

GRANT SELECT, INSERT ON journal, checkpoints TO cpx_app;
