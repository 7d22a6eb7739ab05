-- The regulator's tamper-evident record (docs/AUDIT.md specifies every byte).
--
-- audit_log lists every journal entry, trade (obligations row) and ledger transfer in
-- one sequence, the order in which the ledger projector (services/projector) wrote
-- them: for each journal seq, the entry itself, then the transfers it caused in id
-- order, then the trades it made in id order. Each row of the log carries
--   * leaf_hash: SHA-256(0x00 || record), the record's leaf in the Merkle tree of the
--     log (RFC 9162), where record is the canonical encoding of the row it names;
--   * head: the hash chain after it, SHA-256(previous head || record), from 32 zero
--     bytes before position 0.
-- audit_checkpoints holds the signed tree heads: at intervals the projector signs
-- (Ed25519, the exchange's audit key) the Merkle root of the first tree_size records.
--
-- The database refuses to change or delete any of it, like the rest of the record; but
-- an insider who can switch the triggers off could rewrite rows and recompute the
-- hashes. What they cannot recompute is a checkpoint's signature without the exchange's
-- key: the verifier (`cpx audit verify`) recomputes every record's leaf and the chain
-- from the tables, compares them with the log, and checks each checkpoint's root and
-- signature under the public key it was given (never a key read from this database).

CREATE TABLE audit_record_kinds (
    kind smallint PRIMARY KEY,
    name text     NOT NULL UNIQUE
);
INSERT INTO audit_record_kinds (kind, name) VALUES
    (1, 'journal'),   -- ref: journal.seq
    (2, 'transfer'),  -- ref: transfers.id
    (3, 'trade');     -- ref: obligations.id

-- Three records or more a trade go through this table, so it carries one index only,
-- its primary key: a foreign key to audit_record_kinds checked per row, or a unique
-- index on (kind, ref), each tripled or doubled the cost of the projector's COPY
-- (docs/BENCHMARKS.md, "The audit log"). The kinds are a CHECK instead; a record
-- logged twice or out of order is the verifier's to find (it names the position). A
-- record's position is found without an index: seq never decreases with position, so
-- a binary search over the primary key finds its journal seq's first position, and the
-- record is among the few that follow.
CREATE TABLE audit_log (
    position  bigint   PRIMARY KEY CHECK (position >= 0),  -- the leaf index, from 0
    kind      smallint NOT NULL CHECK (kind IN (1, 2, 3)),  -- audit_record_kinds
    ref       bigint   NOT NULL CHECK (ref > 0),
    seq       bigint   NOT NULL CHECK (seq > 0),  -- the journal seq the record belongs to
    leaf_hash bytea    NOT NULL CHECK (octet_length(leaf_hash) = 32),
    head      bytea    NOT NULL CHECK (octet_length(head) = 32)
);
COMMENT ON TABLE audit_log IS
    'Every journal entry, trade and transfer in one hash chain and Merkle tree (docs/AUDIT.md).';

-- The roots of the log's perfect subtrees of 256 records or more, as the projector
-- completes them: the subtree (level, idx) is the Merkle tree of the records at positions
-- idx * 2^level to (idx + 1) * 2^level - 1. An inclusion or consistency proof reads
-- O(log n) of them and at most 255 leaf hashes of audit_log, never the whole log
-- (cpx/audit/tree_source.hpp). A wrong row here can only make a proof that fails.
CREATE TABLE audit_subtrees (
    level smallint NOT NULL CHECK (level BETWEEN 8 AND 63),
    idx   bigint   NOT NULL CHECK (idx >= 0),
    root  bytea    NOT NULL CHECK (octet_length(root) = 32),
    PRIMARY KEY (level, idx)
);

-- A checkpoint: the signed head of the tree of the first tree_size records. The signed
-- message is 'cpx-checkpoint-v1\n' || u64 tree_size || root || i64 ts_ns (big-endian),
-- and ts_ns is the journal time of the last record it covers.
CREATE TABLE audit_checkpoints (
    tree_size bigint PRIMARY KEY CHECK (tree_size > 0),
    ts_ns     bigint NOT NULL CHECK (ts_ns >= 0),
    root      bytea  NOT NULL CHECK (octet_length(root) = 32),
    signature bytea  NOT NULL CHECK (octet_length(signature) = 64)
);
COMMENT ON TABLE audit_checkpoints IS
    'Signed Merkle tree heads of audit_log (Ed25519; docs/AUDIT.md).';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_subtrees_append_only BEFORE UPDATE OR DELETE ON audit_subtrees
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_subtrees_no_truncate BEFORE TRUNCATE ON audit_subtrees
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_record_kinds_append_only BEFORE UPDATE OR DELETE ON audit_record_kinds
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

GRANT SELECT, INSERT ON audit_log, audit_subtrees, audit_checkpoints TO cpx_app;
GRANT SELECT ON audit_record_kinds TO cpx_app;

-- The regulator's role: it reads the whole record and can change nothing. The audit
-- tools connect with a login role that is a member of it (docs/OPERATIONS.md).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cpx_regulator') THEN
        CREATE ROLE cpx_regulator NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO cpx_regulator;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cpx_regulator;
-- And every table and view a later migration makes (migrations run as one role).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO cpx_regulator;
