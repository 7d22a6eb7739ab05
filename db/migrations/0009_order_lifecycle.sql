-- The life of every order, for the regulator: when each command reached the gateway,
-- when the sequencer took it, what the exchange answered (every execution report, with
-- the trades it carries), and when that answer was released to the client.
--
-- Two sources, written by two writers:
--   journal_commits    by the journal's writer: after each group commit, the instant it
--                      returned, which is when cpxd releases the answers of the batch's
--                      requests (seq up to last_seq). It is written in the transaction
--                      of the next batch (or, when none follows, in a transaction of its
--                      own), so the newest batch's row may trail it by one commit.
--   execution_reports  by the ledger projector, from its replica's output, in the
--                      transaction of the batch that made them: every report the
--                      exchange sent an account (not the replays a reconnecting client
--                      asks for), with the journalled request's receipt and sequencing
--                      times.
-- Both are append-only, like the rest of the record.

CREATE TABLE journal_commits (
    last_seq   bigint PRIMARY KEY REFERENCES journal (seq),
    durable_ns bigint NOT NULL CHECK (durable_ns > 0)
);
COMMENT ON TABLE journal_commits IS
    'When each journal batch became durable: the answers of seq <= last_seq were released then.';

CREATE TABLE execution_types (
    exec smallint PRIMARY KEY,
    name text     NOT NULL UNIQUE
);
INSERT INTO execution_types (exec, name) VALUES
    (1, 'new'), (2, 'trade'), (3, 'cancelled'), (4, 'replaced'), (5, 'rejected'),
    (6, 'expired');

CREATE TABLE order_statuses (
    status smallint PRIMARY KEY,
    name   text     NOT NULL UNIQUE
);
INSERT INTO order_statuses (status, name) VALUES
    (0, 'none'), (1, 'new'), (2, 'partially_filled'), (3, 'filled'), (4, 'cancelled'),
    (5, 'rejected'), (6, 'expired');

-- One row per execution report. seq is the journalled request that caused it and idx its
-- place among that request's reports; report_seq is the account's own report number,
-- the one its client saw. order_id is 0 for a command refused before it made an order.
-- received_ns is null for a request that did not come from a client (a tick, an
-- operator's halt), or was journalled before receipt times were.
CREATE TABLE execution_reports (
    seq             bigint   NOT NULL CHECK (seq > 0),
    idx             integer  NOT NULL CHECK (idx >= 0),
    account         bigint   NOT NULL CHECK (account > 0),
    report_seq      bigint   NOT NULL CHECK (report_seq > 0),
    order_id        bigint   NOT NULL CHECK (order_id >= 0),
    client_order_id text     NOT NULL,
    instrument      bigint   NOT NULL CHECK (instrument >= 0),
    side            smallint NOT NULL CHECK (side BETWEEN 0 AND 2),
    exec            smallint NOT NULL CHECK (exec BETWEEN 1 AND 6),
    status          smallint NOT NULL CHECK (status BETWEEN 0 AND 6),
    code            smallint NOT NULL CHECK (code >= 0),
    price           bigint   NOT NULL,
    quantity        bigint   NOT NULL CHECK (quantity >= 0),
    leaves          bigint   NOT NULL CHECK (leaves >= 0),
    filled          bigint   NOT NULL CHECK (filled >= 0 AND filled <= quantity),
    trade_ids       bigint[] NOT NULL,
    received_ns     bigint   CHECK (received_ns <> 0),
    sequenced_ns    bigint   NOT NULL CHECK (sequenced_ns >= 0),
    PRIMARY KEY (seq, idx),
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

-- An order's life as a regulator reads it: each report with its request's receipt,
-- sequencing and acknowledgement times (null while the commit that released it is not
-- recorded yet). A trade report's sequencing time is when it matched.
CREATE VIEW order_lifecycle AS
SELECT r.order_id, r.seq, r.idx, r.account, r.report_seq, r.client_order_id, r.instrument,
       r.side, t.name AS exec, s.name AS status, r.code, r.price, r.quantity, r.leaves,
       r.filled, r.trade_ids, r.received_ns, r.sequenced_ns,
       (SELECT c.durable_ns FROM journal_commits c
         WHERE c.last_seq >= r.seq ORDER BY c.last_seq LIMIT 1) AS acknowledged_ns
  FROM execution_reports r
  JOIN execution_types t ON t.exec = r.exec
  JOIN order_statuses s ON s.status = r.status;

GRANT SELECT, INSERT ON journal_commits, execution_reports TO cpx_app;
GRANT SELECT ON execution_types, order_statuses, order_lifecycle TO cpx_app;
GRANT SELECT ON journal_commits, execution_reports, execution_types, order_statuses,
    order_lifecycle TO cpx_regulator;
