-- The life of every order, for the regulator: when each command reached the gateway,
-- when the sequencer took it, what the exchange answered (every execution report, with
-- the trades it carries), and when that answer was released to the client.
--
-- Two sources, written by two writers:
--   journal_commits    by the journal's writer: after each group commit, the instant it
--                      returned, which is when cpxd releases the answers of the requests
--                      first_seq..last_seq (the rows that became durable with it). It is
--                      written in the transaction of the next batch (or, when none
--                      follows, in a transaction of its own), so a crash can lose the
--                      newest commit's row: its requests then have no acknowledgement
--                      time, never a wrong one.
--   execution_reports  by the ledger projector, from its replica's output, in the
--                      transaction of the batch that made them: every report the
--                      exchange sent an account (not the replays a reconnecting client
--                      asks for), with the journalled request's receipt and sequencing
--                      times.
-- Both are append-only, like the rest of the record.

CREATE TABLE journal_commits (
    first_seq  bigint NOT NULL CHECK (first_seq > 0),
    last_seq   bigint PRIMARY KEY REFERENCES journal (seq),
    durable_ns bigint NOT NULL CHECK (durable_ns > 0),
    CHECK (first_seq <= last_seq)
);
COMMENT ON TABLE journal_commits IS
    'When journal rows became durable: the answers of first_seq..last_seq were released then.';

CREATE TABLE execution_types (
    exec smallint PRIMARY KEY,
    name text     NOT NULL UNIQUE
);
INSERT INTO execution_types (exec, name) VALUES
    (0, 'none'), (1, 'new'), (2, 'trade'), (3, 'cancelled'), (4, 'replaced'), (5, 'rejected'),
    (6, 'expired');

CREATE TABLE order_statuses (
    status smallint PRIMARY KEY,
    name   text     NOT NULL UNIQUE
);
INSERT INTO order_statuses (status, name) VALUES
    (0, 'none'), (1, 'new'), (2, 'partially_filled'), (3, 'filled'), (4, 'cancelled'),
    (5, 'rejected'), (6, 'expired');

-- One row per execution report (and per answer to a mass cancel, which takes a report
-- number like one: the account's report_seq has no gaps). seq is the journalled request that caused it and idx its
-- place among that request's reports; report_seq is the account's own report number,
-- the one its client saw. A refused command's report echoes what the client sent: a new
-- order refused before it was given an id (a bad client id, the role, the risk checks)
-- has order_id 0, one the book refused its id, a refused cancel or replace the id it named
-- (an id at or above 2^63 appears negative, as its 64 bits read as a bigint), and its
-- side, quantity and price may be anything; the CHECKs below hold for every other
-- report. A client order id that is not printable ASCII (only a refused command can
-- carry one) is stored with each other byte, and each backslash, written as \xNN; the
-- journal keeps its bytes. received_ns is null for a request that did not come from a
-- client (a tick, an operator's halt), or was journalled before receipt times were.
CREATE TABLE execution_reports (
    seq             bigint   NOT NULL CHECK (seq > 0),
    idx             integer  NOT NULL CHECK (idx >= 0),
    account         bigint   NOT NULL CHECK (account > 0),
    report_seq      bigint   NOT NULL CHECK (report_seq > 0),
    order_id        bigint   NOT NULL,
    client_order_id text     NOT NULL,
    instrument      bigint   NOT NULL CHECK (instrument >= 0),
    side            smallint NOT NULL,
    exec            smallint NOT NULL CHECK (exec BETWEEN 0 AND 6),
    mass_cancel     boolean  NOT NULL,  -- the answer to a mass cancel (quantity: orders cancelled)
    status          smallint NOT NULL CHECK (status BETWEEN 0 AND 6),
    code            smallint NOT NULL CHECK (code >= 0),
    price           bigint   NOT NULL,
    quantity        bigint   NOT NULL,
    leaves          bigint   NOT NULL,
    filled          bigint   NOT NULL,
    trade_ids       bigint[] NOT NULL,
    received_ns     bigint   CHECK (received_ns <> 0),
    sequenced_ns    bigint   NOT NULL CHECK (sequenced_ns >= 0),
    PRIMARY KEY (seq, idx),
    -- Every report but a refusal describes an order the exchange accepted. (A refusal
    -- may echo anything the client sent; one of a cancel or replace also shows the
    -- named order's state.)
    CHECK (exec = 5 OR mass_cancel OR (order_id > 0 AND side BETWEEN 1 AND 2 AND quantity > 0 AND
                                       leaves >= 0 AND filled >= 0)),
    CHECK (NOT mass_cancel OR (order_id = 0 AND quantity >= 0 AND cardinality(trade_ids) = 0)),
    -- A report carries the trades the command made at once (an incoming order's first
    -- report among them), and only an order that has traded has any.
    CHECK (cardinality(trade_ids) = 0 OR filled > 0)
);
COMMENT ON TABLE execution_reports IS
    'Every execution report the exchange sent, with the receipt and sequencing times of its request.';
-- An order's life, and an account's reports in order (the OrderHistory call).
CREATE INDEX execution_reports_order ON execution_reports (order_id);
CREATE INDEX execution_reports_account ON execution_reports (account, seq, idx);

CREATE TRIGGER journal_commits_append_only BEFORE UPDATE OR DELETE ON journal_commits
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_commits_no_truncate BEFORE TRUNCATE ON journal_commits
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER execution_reports_append_only BEFORE UPDATE OR DELETE ON execution_reports
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER execution_reports_no_truncate BEFORE TRUNCATE ON execution_reports
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The commit that made journal row `seq` durable, and when: the first journal_commits row
-- ending at or after it, if that row begins at or before it (none: not recorded).
CREATE FUNCTION acknowledged_ns(seq bigint) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT c.durable_ns
      FROM (SELECT first_seq, durable_ns FROM journal_commits
             WHERE last_seq >= seq ORDER BY last_seq LIMIT 1) c
     WHERE c.first_seq <= seq
$$;

-- An order's life as a regulator reads it: each report with its request's receipt,
-- sequencing and acknowledgement times (null while the commit that released it is not
-- recorded). A trade report's sequencing time is when it matched.
CREATE VIEW order_lifecycle AS
SELECT r.order_id, r.seq, r.idx, r.account, r.report_seq, r.client_order_id, r.instrument,
       r.side, t.name AS exec, r.mass_cancel, s.name AS status, r.code, r.price, r.quantity, r.leaves,
       r.filled, r.trade_ids, r.received_ns, r.sequenced_ns,
       acknowledged_ns(r.seq) AS acknowledged_ns
  FROM execution_reports r
  JOIN execution_types t ON t.exec = r.exec
  JOIN order_statuses s ON s.status = r.status;

GRANT SELECT, INSERT ON journal_commits, execution_reports TO cpx_app;
GRANT SELECT ON execution_types, order_statuses, order_lifecycle TO cpx_app;
GRANT SELECT ON journal_commits, execution_reports, execution_types, order_statuses,
    order_lifecycle TO cpx_regulator;
GRANT EXECUTE ON FUNCTION acknowledged_ns(bigint) TO cpx_app, cpx_regulator;
