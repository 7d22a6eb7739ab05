-- Settlement in PostgreSQL: the delivery obligation of every trade and each step of its
-- life (cpx/exchange/settlement.hpp states the lifecycle), and the progress of the
-- ledger projector (services/projector) that writes them together with the ledger's
-- accounts and transfers.
--
-- Nothing here is written on the order path. The exchange is deterministic and its
-- journal is the system of record; the projector replays the committed journal through
-- a replica of the exchange and writes what the replica did to money and obligations,
-- one transaction per batch of journalled requests, together with the last journal seq
-- it covers (projector_progress). A crash therefore never leaves half a batch, and a
-- restart never writes one twice. docs/AUDIT.md says how to check these tables.
--
-- Like the journal and the ledger, the tables are append-only for every role, and they
-- check their own invariants:
--   * an obligation is one trade: positive price and quantity, amount = price x
--     quantity, a buyer that is not the provider;
--   * an obligation takes each step at most once (the primary key), ends at most once
--     (settled or failed, a unique partial index), and a final step accounts for the
--     whole amount: paid + fee + refunded = amount, and a failure pays nothing
--     (obligation_events_check(), once per statement).

-- The steps of an obligation after its creation (the creation is its obligations row).
-- The values are cpx::exchange::ObligationEventKind's; in the order an obligation can
-- take them, so the greatest kind of an obligation is its latest step.
CREATE TABLE obligation_event_kinds (
    kind smallint PRIMARY KEY,
    name text     NOT NULL UNIQUE
);
INSERT INTO obligation_event_kinds (kind, name) VALUES
    (2, 'delivered'),         -- the provider confirmed delivery (delivered_quantity)
    (3, 'disputed'),          -- the buyer disputed it (note)
    (4, 'dispute_rejected'),  -- an operator rejected the dispute; settled in the same request
    (5, 'dispute_upheld'),    -- an operator upheld it; failed in the same request
    (6, 'settled'),           -- final: the provider was paid for what it delivered
    (7, 'failed');            -- final: nothing delivered, or the dispute was upheld

-- One row per trade, written when the trade is projected.
CREATE TABLE obligations (
    id            bigint PRIMARY KEY CHECK (id > 0),  -- the trade id
    instrument    bigint NOT NULL CHECK (instrument > 0),
    buyer         bigint NOT NULL CHECK (buyer > 0),      -- exchange account ids
    provider      bigint NOT NULL CHECK (provider > 0),
    buy_order     bigint NOT NULL CHECK (buy_order > 0),
    sell_order    bigint NOT NULL CHECK (sell_order > 0),
    price         bigint NOT NULL CHECK (price > 0),      -- fen per unit
    quantity      bigint NOT NULL CHECK (quantity > 0),
    amount_fen    bigint NOT NULL,                        -- in the buyer's escrow
    traded_ns     bigint NOT NULL CHECK (traded_ns >= 0),
    window_end_ns bigint NOT NULL,                        -- the delivery window's end
    created_seq   bigint NOT NULL CHECK (created_seq > 0),  -- the journal seq of the trade
    -- numeric, so that an overflowing product fails this check rather than the arithmetic.
    CONSTRAINT amount_is_price_times_quantity CHECK (amount_fen = price::numeric * quantity),
    CONSTRAINT buyer_is_not_provider CHECK (buyer <> provider)
);
COMMENT ON TABLE obligations IS
    'Delivery obligations, one per trade; their steps are in obligation_events.';

CREATE TABLE obligation_events (
    -- obligation_id names an obligations row and kind an obligation_event_kinds row:
    -- both are checked by obligation_events_check(), once per statement, as a set (as
    -- transfers.code is; see 0005). A foreign key would run one lookup with a row lock
    -- per row, which measured (cpx-settle-bench) as about half the time of a COPY of a
    -- million settlement events. Obligations can never be deleted (append-only), so a
    -- reference checked at insert stays valid.
    obligation_id      bigint   NOT NULL CHECK (obligation_id > 0),
    kind               smallint NOT NULL CHECK (kind > 0),
    seq                bigint   NOT NULL CHECK (seq > 0),  -- the journal seq of the step
    ts_ns              bigint   NOT NULL CHECK (ts_ns >= 0),
    -- The obligation's confirmed quantity after the step (0 until confirmed).
    delivered_quantity bigint   NOT NULL DEFAULT 0 CHECK (delivered_quantity >= 0),
    -- What a final step moved, in fen (0 on the other steps): escrow to the provider
    -- (fee deducted), escrow to the exchange's fees, escrow back to the buyer, and the
    -- provider's collateral to the buyer.
    paid_fen           bigint   NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    fee_fen            bigint   NOT NULL DEFAULT 0 CHECK (fee_fen >= 0),
    refunded_fen       bigint   NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
    penalty_fen        bigint   NOT NULL DEFAULT 0 CHECK (penalty_fen >= 0),
    -- The buyer's (disputed) or the operator's (dispute_rejected, dispute_upheld) note.
    note               text     CHECK (octet_length(note) <= 256),
    PRIMARY KEY (obligation_id, kind)
);
COMMENT ON TABLE obligation_events IS
    'The steps of each obligation after its creation, each at most once; append-only.';

-- An obligation ends once: settled or failed, never both.
CREATE UNIQUE INDEX obligation_events_final_once ON obligation_events (obligation_id)
    WHERE kind IN (6, 7);

-- Checks one statement's new events as a set: every kind is one of
-- obligation_event_kinds and every obligation exists (foreign_key_violation otherwise);
-- no step comes before its obligation's trade; a settlement accounts for the whole
-- amount (paid + fee + refunded = amount_fen) and a failure refunds it all and pays
-- nothing (check_violation). The join is dynamic SQL, planned for each statement with
-- its true row count (see ledger_apply_transfers() in 0002), without JIT (whose
-- compilation costs more than the query; see 0005).
CREATE FUNCTION obligation_events_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    bad       record;
    found_bad bigint;
    id_min    bigint;
    id_max    bigint;
BEGIN
    SELECT r.obligation_id, r.kind INTO bad
      FROM new_rows r
     WHERE r.kind NOT IN (SELECT k.kind FROM obligation_event_kinds k)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'obligation % has an event of the unknown kind %',
                        bad.obligation_id, bad.kind
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Only the obligations in the statement's id range take part: the table keeps every
    -- obligation ever made, a batch names recent ones.
    SELECT min(r.obligation_id), max(r.obligation_id) INTO id_min, id_max FROM new_rows r;
    EXECUTE 'SELECT r.obligation_id, r.kind, r.seq, o.created_seq, r.paid_fen, r.fee_fen,
                    r.refunded_fen, o.amount_fen, o.id IS NULL AS missing
               FROM new_rows r
               LEFT JOIN (SELECT * FROM obligations
                           WHERE id BETWEEN ' || id_min || ' AND ' || id_max || ') o
                      ON o.id = r.obligation_id
              WHERE o.id IS NULL
                 OR r.seq < o.created_seq
                 OR (r.kind = 6 AND r.paid_fen::numeric + r.fee_fen + r.refunded_fen
                                    <> o.amount_fen)
                 OR (r.kind = 7 AND (r.paid_fen <> 0 OR r.fee_fen <> 0
                                     OR r.refunded_fen <> o.amount_fen))
              ORDER BY o.id IS NULL DESC
              LIMIT 1' INTO bad;
    -- EXECUTE leaves FOUND alone: the row count says whether a row came back.
    GET DIAGNOSTICS found_bad = ROW_COUNT;
    IF found_bad > 0 AND bad.missing THEN
        RAISE EXCEPTION 'obligation % does not exist (event %)', bad.obligation_id, bad.kind
            USING ERRCODE = 'foreign_key_violation';
    ELSIF found_bad > 0 THEN
        RAISE EXCEPTION 'obligation % (amount %): event % at seq % (the trade''s seq %) '
                        'does not add up: paid %, fee %, refunded %',
                        bad.obligation_id, bad.amount_fen, bad.kind, bad.seq, bad.created_seq,
                        bad.paid_fen, bad.fee_fen, bad.refunded_fen
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER obligation_events_check AFTER INSERT ON obligation_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION obligation_events_check();

-- Append-only, for everyone including the owner (refuse_change() is 0001's).
CREATE TRIGGER obligations_append_only BEFORE UPDATE OR DELETE ON obligations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER obligations_no_truncate BEFORE TRUNCATE ON obligations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER obligation_events_append_only BEFORE UPDATE OR DELETE ON obligation_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER obligation_events_no_truncate BEFORE TRUNCATE ON obligation_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER obligation_event_kinds_append_only BEFORE UPDATE OR DELETE ON obligation_event_kinds
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER obligation_event_kinds_no_truncate BEFORE TRUNCATE ON obligation_event_kinds
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Each obligation's latest state: open until its first step, then the name of its
-- greatest kind (kinds are numbered in lifecycle order; dispute_rejected and
-- dispute_upheld are always followed by settled or failed in the same transaction),
-- with what its final step moved.
CREATE VIEW obligation_status AS
SELECT o.id, o.instrument, o.buyer, o.provider, o.price, o.quantity, o.amount_fen,
       o.traded_ns, o.window_end_ns, o.created_seq,
       coalesce(k.name, 'open') AS state,
       coalesce(e.seq, o.created_seq) AS state_seq,
       coalesce(e.ts_ns, o.traded_ns) AS state_ts_ns,
       coalesce(e.delivered_quantity, 0) AS delivered_quantity,
       coalesce(e.paid_fen, 0) AS paid_fen,
       coalesce(e.fee_fen, 0) AS fee_fen,
       coalesce(e.refunded_fen, 0) AS refunded_fen,
       coalesce(e.penalty_fen, 0) AS penalty_fen
  FROM obligations o
  LEFT JOIN LATERAL (SELECT * FROM obligation_events x
                      WHERE x.obligation_id = o.id
                      ORDER BY x.kind DESC LIMIT 1) e ON true
  LEFT JOIN obligation_event_kinds k ON k.kind = e.kind;

-- How far the ledger projector got: the last journal seq whose transfers, accounts and
-- obligation events are in the tables above and in 0002's. One row, updated in the same
-- transaction as each batch it covers, and only forwards.
CREATE TABLE projector_progress (
    one        boolean     PRIMARY KEY DEFAULT true CHECK (one),
    seq        bigint      NOT NULL CHECK (seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO projector_progress (seq) VALUES (0);

CREATE FUNCTION projector_progress_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.one IS DISTINCT FROM OLD.one OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'projector progress only moves forward (% to %)', OLD.seq, NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER projector_progress_guard BEFORE UPDATE ON projector_progress
    FOR EACH ROW EXECUTE FUNCTION projector_progress_guard();
CREATE TRIGGER projector_progress_no_delete BEFORE DELETE ON projector_progress
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER projector_progress_no_truncate BEFORE TRUNCATE ON projector_progress
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

GRANT SELECT, INSERT ON obligations, obligation_events TO cpx_app;
GRANT SELECT ON obligation_event_kinds, obligation_status TO cpx_app;
GRANT SELECT, UPDATE ON projector_progress TO cpx_app;
