-- Compute vouchers (算力券) in PostgreSQL: every voucher program as it was created, every
-- voucher granted, and every step of their lives (funding, grants, revocations,
-- redemptions and refused redemptions), as the ledger projector (services/projector)
-- writes them from the exchange's VoucherSink (cpx/exchange/vouchers.hpp states the
-- rules). They are written in the same transaction as the batch's ledger transfers and
-- obligation events, after them: a redemption names its transfer and its settled trade,
-- and both must already be there.
--
-- A program's budget is money and lives in the ledger (a ledger_accounts row of purpose
-- voucher_budget that can never go below zero); a voucher is an entitlement and lives
-- only here. The money a redemption pays is one `transfers` row of code `voucher` from the
-- program's budget account to the beneficiary's available account, whose user_data is
-- the trade id; the redemption event names it.
--
-- Like the ledger and settlement, the tables are append-only for every role and check
-- their own invariants, so that a wrong writer is refused rather than trusted:
--   * a program's budget account is a voucher_budget account that cannot be overdrawn
--     (so no redemption can take the budget below zero), opened by the program's request;
--   * a redemption names an existing transfer of code `voucher` whose amount is the
--     event's, from the program's budget account to the beneficiary's available account,
--     for the trade (user_data) and in the request (seq) of the event;
--   * a redemption or a refusal names a trade that settled in that same request, on the
--     side its beneficiary took in it, with the program's share of the settled value;
--   * a redemption pays within the program's validity, to an approved supplier's deal,
--     before the voucher expires and never after it was revoked, for a rebate only on a
--     wholly delivered deal, and never for both sides of a deal a program forbids that
--     for;
--   * each side of a trade is decided at most once (one redemption or one refusal), a
--     transfer pays at most one redemption, and a voucher's redeemed plus revoked amounts
--     never exceed its face value;
--   * event kinds and reasons are those of the lookup tables.
-- What the database cannot see (instrument kinds, hubs, accelerator models, owner groups,
-- the caps' running totals) the exchange decides, and the views below let an audit
-- recompute.
--
-- References that bulk writes cross (vouchers to programs, events to programs, vouchers,
-- trades and transfers) are checked once per statement, as a set, by the tables'
-- statement triggers, not by per-row foreign keys: a settlement batch can carry a
-- redemption per settled trade, and 0005 measured per-row references as the larger part
-- of a COPY's time. Nothing here can be deleted (the append-only triggers refuse it for
-- every role), so a reference checked at insert stays valid. The one real foreign key is
-- a program's budget account: programs are few.

-- The steps of voucher_events; the values are cpx::exchange::VoucherEventKind's.
CREATE TABLE voucher_event_kinds (
    kind smallint PRIMARY KEY,
    name text     NOT NULL UNIQUE
);
INSERT INTO voucher_event_kinds (kind, name) VALUES
    (1, 'program_created'),     -- amount_fen: the initial budget
    (2, 'program_funded'),      -- amount_fen: added to the budget
    (3, 'granted'),             -- amount_fen: the voucher's face value
    (4, 'revoked'),             -- amount_fen: the unused balance taken back
    (5, 'redeemed'),            -- amount_fen: paid; transfer_id names the payment
    (6, 'redemption_refused');  -- reason: the stage the furthest voucher failed

-- voucher_events.reason: the cpx::exchange::Code values a voucher event can carry. A
-- redemption names the limit that cut its share (none when the whole share was paid); a
-- refusal the stage that refused it, in the order the exchange checks them.
CREATE TABLE voucher_reasons (
    reason smallint PRIMARY KEY,
    name   text     NOT NULL UNIQUE
);
INSERT INTO voucher_reasons (reason, name) VALUES
    (0, 'none'),
    (289, 'voucher_not_active'),  -- in a refusal: the voucher was revoked
    (290, 'outside_program_period'),
    (291, 'kind_not_eligible'),
    (292, 'hub_not_eligible'),
    (293, 'accelerator_not_eligible'),
    (294, 'not_domestic_chip'),
    (295, 'provider_not_approved'),
    (296, 'affiliated_parties'),
    (297, 'both_sides_claimed'),
    (298, 'not_fully_delivered'),
    (299, 'voucher_expired'),
    (300, 'voucher_used_up'),
    (301, 'beneficiary_cap_reached'),
    (302, 'pool_cap_reached'),
    (303, 'budget_exhausted');

-- A program's lists are one-dimensional, without NULLs, and no longer than the exchange
-- allows (kVoucherListMax, kApprovedProvidersMax).
CREATE FUNCTION voucher_list_ok(list anyarray, most integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_ndims(list), 1) = 1
       AND cardinality(list) <= most
       AND array_position(list, NULL) IS NULL
$$;

-- One row per program, as CreateVoucherProgram made it (cpx::exchange::VoucherProgramSpec;
-- the exchange sorts and deduplicates approved_providers). What happened to it since is
-- in voucher_events, and its money in its budget account.
CREATE TABLE voucher_programs (
    id                      integer  PRIMARY KEY CHECK (id > 0),
    issuer                  bigint   NOT NULL CHECK (issuer > 0),  -- an exchange account id
    name                    text     NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 64),
    initial_budget_fen      bigint   NOT NULL CHECK (initial_budget_fen >= 0),
    share_bps               integer  NOT NULL CHECK (share_bps BETWEEN 1 AND 10000),
    mode                    smallint NOT NULL CHECK (mode IN (1, 2)),  -- 1 discount, 2 rebate
    side                    smallint NOT NULL CHECK (side IN (1, 2)),  -- 1 buyer, 2 provider
    -- 0: no cap; cap periods are cap_period_ns long from valid_from_ns (0: one period).
    cap_per_beneficiary_fen bigint   NOT NULL CHECK (cap_per_beneficiary_fen >= 0),
    cap_period_ns           bigint   NOT NULL CHECK (cap_period_ns >= 0),
    pool_cap_fen            bigint   NOT NULL CHECK (pool_cap_fen >= 0),  -- 0: no pool cap
    kinds                   smallint NOT NULL CHECK (kinds BETWEEN 1 AND 3),  -- 1 compute, 2 tokens
    hubs                    text[]   NOT NULL CHECK (voucher_list_ok(hubs, 64)),  -- empty: any
    accelerator_models      text[]   NOT NULL CHECK (voucher_list_ok(accelerator_models, 64)),
    domestic_only           boolean  NOT NULL,
    approved_providers      bigint[] NOT NULL CHECK (voucher_list_ok(approved_providers, 1024)),
    allow_affiliated        boolean  NOT NULL,
    allow_both_sides        boolean  NOT NULL,
    valid_from_ns           bigint   NOT NULL CHECK (valid_from_ns >= 0),  -- [from, until)
    valid_until_ns          bigint   NOT NULL,
    budget_account_id       bigint   NOT NULL UNIQUE REFERENCES ledger_accounts (id),
    created_seq             bigint   NOT NULL CHECK (created_seq > 0),
    created_ts_ns           bigint   NOT NULL CHECK (created_ts_ns >= 0),
    CONSTRAINT validity_not_empty CHECK (valid_until_ns > valid_from_ns),
    CONSTRAINT approved_providers_are_accounts CHECK (0 < ALL (approved_providers))
);
COMMENT ON TABLE voucher_programs IS
    'Voucher programs as created; their steps are in voucher_events, their money in the ledger.';

-- One row per voucher granted (a retried grant with the same ref grants nothing new).
CREATE TABLE vouchers (
    id            bigint  PRIMARY KEY CHECK (id > 0),
    -- Checked against voucher_programs by vouchers_check(), once per statement.
    program       integer NOT NULL CHECK (program > 0),
    beneficiary   bigint  NOT NULL CHECK (beneficiary > 0),  -- an exchange account id
    face_fen      bigint  NOT NULL CHECK (face_fen > 0),
    expiry_ns     bigint  NOT NULL,  -- pays nothing for a settlement at or after it
    ref           text    NOT NULL CHECK (octet_length(ref) BETWEEN 1 AND 64),
    granted_seq   bigint  NOT NULL CHECK (granted_seq > 0),
    granted_ts_ns bigint  NOT NULL CHECK (granted_ts_ns >= 0),
    -- The operator's reference makes a grant idempotent within its program.
    UNIQUE (program, ref),
    CONSTRAINT expires_after_grant CHECK (expiry_ns > granted_ts_ns)
);
COMMENT ON TABLE vouchers IS
    'Vouchers as granted; what they paid and lost is in voucher_events.';

-- Every voucher event, in journal order: (seq, idx) is the event's place, idx counting
-- the voucher events of one request from 0. Columns that do not apply to a kind are
-- NULL (0 for the amounts and the reason); the CHECKs below state each kind's shape.
CREATE TABLE voucher_events (
    seq         bigint   NOT NULL CHECK (seq > 0),  -- the journal seq of the request
    idx         integer  NOT NULL CHECK (idx >= 0),
    -- kind and reason name lookup rows, program, voucher, trade and transfer rows of
    -- their tables: all checked by voucher_events_check(), once per statement.
    kind        smallint NOT NULL CHECK (kind > 0),
    program     integer  NOT NULL CHECK (program > 0),
    voucher     bigint   CHECK (voucher > 0),
    trade_id    bigint   CHECK (trade_id > 0),       -- redemptions: the obligation's id
    side        smallint CHECK (side IN (1, 2)),     -- 1 buyer, 2 provider
    beneficiary bigint   NOT NULL CHECK (beneficiary > 0),  -- program events: the issuer
    provider    bigint   CHECK (provider > 0),       -- redemptions: the deal's provider
    amount_fen  bigint   NOT NULL CHECK (amount_fen >= 0),
    share_fen   bigint   NOT NULL DEFAULT 0 CHECK (share_fen >= 0),
    reason      smallint NOT NULL DEFAULT 0,
    transfer_id bigint   CHECK (transfer_id > 0),
    cap_period  bigint   CHECK (cap_period >= 0),
    ts_ns       bigint   NOT NULL CHECK (ts_ns >= 0),
    PRIMARY KEY (seq, idx),
    CONSTRAINT program_event_shape CHECK (kind NOT IN (1, 2) OR (
        voucher IS NULL AND trade_id IS NULL AND side IS NULL AND provider IS NULL
        AND transfer_id IS NULL AND cap_period IS NULL AND share_fen = 0 AND reason = 0
        AND (kind = 1 OR amount_fen > 0))),
    CONSTRAINT voucher_event_shape CHECK (kind NOT IN (3, 4) OR (
        voucher IS NOT NULL AND side IS NOT NULL AND trade_id IS NULL AND provider IS NULL
        AND transfer_id IS NULL AND cap_period IS NULL AND share_fen = 0 AND reason = 0
        AND (kind = 4 OR amount_fen > 0))),
    -- A redemption pays at most the share; a reason says which limit cut it, and only
    -- when one did.
    CONSTRAINT redemption_shape CHECK (kind <> 5 OR (
        voucher IS NOT NULL AND trade_id IS NOT NULL AND side IS NOT NULL
        AND provider IS NOT NULL AND transfer_id IS NOT NULL AND cap_period IS NOT NULL
        AND amount_fen > 0 AND amount_fen <= share_fen
        AND reason IN (0, 300, 301, 302, 303)
        AND (reason = 0) = (amount_fen = share_fen))),
    CONSTRAINT refusal_shape CHECK (kind <> 6 OR (
        voucher IS NOT NULL AND trade_id IS NOT NULL AND side IS NOT NULL
        AND provider IS NOT NULL AND transfer_id IS NULL AND amount_fen = 0
        AND reason BETWEEN 289 AND 303))
);
COMMENT ON TABLE voucher_events IS
    'Every step of voucher programs and vouchers, in journal order; append-only.';

-- Each side of a trade is decided once: one redemption or one refusal. (An obligation
-- settles once, and the exchange then decides each side's claim once.)
CREATE UNIQUE INDEX voucher_events_one_claim_per_side ON voucher_events (trade_id, side)
    WHERE kind IN (5, 6);
-- A payment pays one redemption.
CREATE UNIQUE INDEX voucher_events_transfer_once ON voucher_events (transfer_id)
    WHERE transfer_id IS NOT NULL;
-- A program is created once; a voucher is granted once and revoked at most once.
CREATE UNIQUE INDEX voucher_events_created_once ON voucher_events (program) WHERE kind = 1;
CREATE UNIQUE INDEX voucher_events_granted_revoked_once ON voucher_events (voucher, kind)
    WHERE kind IN (3, 4);
-- What a voucher paid and lost: the face value check and voucher_balances read it.
CREATE INDEX voucher_events_spent ON voucher_events (voucher) WHERE kind IN (4, 5);

-- A program's budget account is a voucher_budget account that cannot be overdrawn
-- (flags 1: debits never exceed credits, so no redemption takes it below zero), opened
-- by the program's own request. The foreign key says that it exists.
CREATE FUNCTION voucher_programs_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT p.id, p.budget_account_id, a.purpose, a.flags, a.created_seq, p.created_seq AS seq
      INTO bad
      FROM new_rows p
      JOIN ledger_accounts a ON a.id = p.budget_account_id
     WHERE a.purpose <> 7 OR a.flags <> 1 OR a.created_seq IS DISTINCT FROM p.created_seq
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'voucher program %: its budget account % must be a voucher_budget '
                        'account (purpose 7, flags 1) opened at the program''s seq % '
                        '(it has purpose %, flags %, created_seq %)',
                        bad.id, bad.budget_account_id, bad.seq, bad.purpose, bad.flags,
                        bad.created_seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER voucher_programs_check AFTER INSERT ON voucher_programs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION voucher_programs_check();

-- Every voucher belongs to a program that existed when it was granted.
CREATE FUNCTION vouchers_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    bad       record;
    found_bad bigint;
BEGIN
    EXECUTE 'SELECT v.id, v.program, v.granted_seq, p.created_seq, p.id IS NULL AS missing
               FROM new_rows v
               LEFT JOIN voucher_programs p ON p.id = v.program
              WHERE p.id IS NULL OR v.granted_seq < p.created_seq
              ORDER BY 5 DESC, 1
              LIMIT 1' INTO bad;
    -- EXECUTE leaves FOUND alone: the row count says whether a row came back.
    GET DIAGNOSTICS found_bad = ROW_COUNT;
    IF found_bad > 0 AND bad.missing THEN
        RAISE EXCEPTION 'voucher % names the voucher program %, which does not exist',
                        bad.id, bad.program
            USING ERRCODE = 'foreign_key_violation';
    ELSIF found_bad > 0 THEN
        RAISE EXCEPTION 'voucher % was granted at seq %, before its program % (seq %)',
                        bad.id, bad.granted_seq, bad.program, bad.created_seq
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER vouchers_check AFTER INSERT ON vouchers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vouchers_check();

-- Checks one statement's new voucher events as a set (see the header for the rules).
-- Each query returns the first offending row with the rule it breaks; a row naming
-- something that does not exist raises foreign_key_violation, any other broken rule
-- check_violation. The joins are dynamic SQL, planned for each statement with its true
-- row count (see ledger_apply_transfers() in 0002), without JIT (see 0005); trades,
-- settlements and transfers are read only in the statement's id ranges (the tables keep
-- everything ever written, a batch names recent rows).
--
-- SECURITY DEFINER: it locks the vouchers whose balance the statement spends (FOR NO KEY
-- UPDATE, in id order, so that two writers cannot deadlock on them), which needs a
-- privilege cpx_app does not have. The lock makes a concurrent writer of the same
-- vouchers wait for this transaction, then (under READ COMMITTED, which the projector
-- uses) sum the committed events with its own: two transactions cannot each spend the
-- same balance. The search_path is pinned (pg_temp last) as in 0002.
CREATE FUNCTION voucher_events_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    bad        record;
    found_bad  bigint;
    trade_min  bigint;
    trade_max  bigint;
    xfer_min   bigint;
    xfer_max   bigint;
BEGIN
    -- Kinds and reasons are the lookup tables' (hashed subplans over small tables).
    SELECT r.seq, r.idx, r.kind, r.reason INTO bad
      FROM new_rows r
     WHERE r.kind NOT IN (SELECT k.kind FROM voucher_event_kinds k)
        OR r.reason NOT IN (SELECT c.reason FROM voucher_reasons c)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'voucher event (seq %, idx %) has the unknown kind % or reason %',
                        bad.seq, bad.idx, bad.kind, bad.reason
            USING ERRCODE = 'foreign_key_violation';
    END IF;

    -- Every event names an existing program (and voucher), and agrees with them: a
    -- program event is its issuer's, a creation is the program's own request with its
    -- initial budget, a voucher event is the voucher's program's and beneficiary's on the
    -- program's side, a grant is the voucher's own request with its face value, and
    -- nothing happens to a voucher before its grant or to a program before its creation.
    EXECUTE 'SELECT r.seq, r.idx, r.kind, r.program, r.voucher, x.missing, x.why
               FROM new_rows r
               LEFT JOIN voucher_programs p ON p.id = r.program
               LEFT JOIN vouchers v ON v.id = r.voucher
              CROSS JOIN LATERAL (SELECT
                   p.id IS NULL OR (r.voucher IS NOT NULL AND v.id IS NULL) AS missing,
                   CASE
                     WHEN p.id IS NULL THEN ''its program does not exist''
                     WHEN r.voucher IS NOT NULL AND v.id IS NULL
                       THEN ''its voucher does not exist''
                     WHEN r.seq < p.created_seq THEN ''it comes before its program''
                     WHEN r.kind IN (1, 2) AND r.beneficiary <> p.issuer
                       THEN ''a program event names another account than the issuer''
                     WHEN r.kind = 1 AND (r.seq <> p.created_seq
                                          OR r.amount_fen <> p.initial_budget_fen)
                       THEN ''the creation is not the program''''s request and budget''
                     WHEN r.kind >= 3 AND (v.program <> r.program
                                           OR v.beneficiary <> r.beneficiary
                                           OR r.side <> p.side)
                       THEN ''it is not the voucher''''s program, beneficiary and side''
                     WHEN r.kind = 3 AND (r.seq <> v.granted_seq OR r.amount_fen <> v.face_fen)
                       THEN ''the grant is not the voucher''''s request and face value''
                     WHEN r.kind >= 4 AND r.seq <= v.granted_seq
                       THEN ''it comes before the voucher was granted''
                   END AS why) x
              WHERE x.why IS NOT NULL
              ORDER BY x.missing DESC, r.seq, r.idx
              LIMIT 1' INTO bad;
    GET DIAGNOSTICS found_bad = ROW_COUNT;
    IF found_bad > 0 THEN
        RAISE EXCEPTION 'voucher event (seq %, idx %, kind %, program %, voucher %): %',
                        bad.seq, bad.idx, bad.kind, bad.program, bad.voucher, bad.why
            USING ERRCODE = CASE WHEN bad.missing THEN 'foreign_key_violation'
                                 ELSE 'check_violation' END;
    END IF;

    -- Redemptions and refusals: the trade settled in the event's request, the beneficiary
    -- took the event's side in it, and the share is the program's share_bps of the
    -- settled value (price x delivered quantity), rounded down. A redemption's payment is
    -- its transfer: code 10 (voucher), single phase, the event's amount, from the
    -- program's budget account to the beneficiary's available account, for the trade and
    -- in the same request; and the deal was eligible as far as the database can see.
    SELECT min(r.trade_id), max(r.trade_id), min(r.transfer_id), max(r.transfer_id)
      INTO trade_min, trade_max, xfer_min, xfer_max
      FROM new_rows r
     WHERE r.kind IN (5, 6);
    IF trade_min IS NOT NULL THEN
        EXECUTE 'SELECT r.seq, r.idx, r.kind, r.trade_id, r.transfer_id, x.missing, x.why
                   FROM new_rows r
                   JOIN voucher_programs p ON p.id = r.program
                   JOIN vouchers v ON v.id = r.voucher
                   LEFT JOIN (SELECT * FROM obligations
                               WHERE id BETWEEN ' || trade_min || ' AND ' || trade_max || ') o
                          ON o.id = r.trade_id
                   LEFT JOIN (SELECT * FROM obligation_events
                               WHERE obligation_id BETWEEN ' || trade_min || ' AND '
                                                            || trade_max || '
                                 AND kind = 6) s
                          ON s.obligation_id = r.trade_id
                   LEFT JOIN (SELECT * FROM transfers
                               WHERE id BETWEEN ' || coalesce(xfer_min, 0) || ' AND '
                                                  || coalesce(xfer_max, 0) || ') t
                          ON t.id = r.transfer_id
                   LEFT JOIN ledger_accounts c ON c.id = t.credit_account_id
                  CROSS JOIN LATERAL (SELECT
                       o.id IS NULL OR (r.kind = 5 AND t.id IS NULL) AS missing,
                       CASE
                         WHEN o.id IS NULL THEN ''its trade does not exist''
                         WHEN r.kind = 5 AND t.id IS NULL THEN ''its transfer does not exist''
                         WHEN s.obligation_id IS NULL OR s.seq <> r.seq
                           THEN ''its trade did not settle in the event''''s request''
                         WHEN r.provider <> o.provider
                           OR r.beneficiary <> CASE r.side WHEN 1 THEN o.buyer
                                                           ELSE o.provider END
                           THEN ''its beneficiary did not take its side of the trade''
                         WHEN r.share_fen <> div(o.price::numeric * s.delivered_quantity
                                                 * p.share_bps, 10000)
                           THEN ''its share is not the program''''s share of the settled value''
                         WHEN r.kind = 6 THEN NULL
                         WHEN t.code <> 10 OR t.flags <> 0 THEN
                           ''its transfer is not a single-phase voucher transfer''
                         WHEN t.amount <> r.amount_fen THEN
                           ''its transfer moved another amount''
                         WHEN t.debit_account_id <> p.budget_account_id THEN
                           ''its transfer is not paid from the program''''s budget account''
                         WHEN c.owner <> r.beneficiary OR c.purpose <> 1 THEN
                           ''its transfer is not paid to the beneficiary''''s available account''
                         WHEN t.user_data <> r.trade_id OR t.seq <> r.seq THEN
                           ''its transfer is not for its trade and request''
                         WHEN o.traded_ns < p.valid_from_ns OR o.traded_ns >= p.valid_until_ns
                           THEN ''the trade is outside the program''''s validity''
                         WHEN cardinality(p.approved_providers) > 0
                              AND NOT (o.provider = ANY (p.approved_providers))
                           THEN ''the provider is not on the program''''s list''
                         WHEN p.mode = 2 AND s.delivered_quantity <> o.quantity
                           THEN ''a rebate paid for a partly delivered trade''
                         WHEN r.ts_ns >= v.expiry_ns THEN ''the voucher had expired''
                       END AS why) x
                  WHERE r.kind IN (5, 6) AND x.why IS NOT NULL
                  ORDER BY x.missing DESC, r.seq, r.idx
                  LIMIT 1' INTO bad;
        GET DIAGNOSTICS found_bad = ROW_COUNT;
        IF found_bad > 0 THEN
            RAISE EXCEPTION 'voucher event (seq %, idx %, kind %) for trade % (transfer %): %',
                            bad.seq, bad.idx, bad.kind, bad.trade_id, bad.transfer_id, bad.why
                USING ERRCODE = CASE WHEN bad.missing THEN 'foreign_key_violation'
                                     ELSE 'check_violation' END;
        END IF;

        -- Both sides of one deal are paid only when both programs allow it.
        SELECT r.seq, r.idx, r.trade_id INTO bad
          FROM new_rows r
          JOIN voucher_events e ON e.trade_id = r.trade_id AND e.kind = 5 AND e.side <> r.side
          JOIN voucher_programs p1 ON p1.id = r.program
          JOIN voucher_programs p2 ON p2.id = e.program
         WHERE r.kind = 5 AND NOT (p1.allow_both_sides AND p2.allow_both_sides)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'voucher event (seq %, idx %): both sides of trade % were paid, '
                            'which one of their programs forbids', bad.seq, bad.idx, bad.trade_id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;

    -- The vouchers this statement spends (redemptions, revocations), locked (see above),
    -- then checked over all their events: redeemed + revoked never exceed the face value,
    -- and nothing is redeemed after the voucher was revoked.
    IF EXISTS (SELECT 1 FROM new_rows r WHERE r.kind IN (4, 5)) THEN
        PERFORM 1 FROM vouchers v
          WHERE v.id IN (SELECT r.voucher FROM new_rows r WHERE r.kind IN (4, 5))
          ORDER BY v.id
          FOR NO KEY UPDATE;
        EXECUTE 'SELECT v.id, v.face_fen, s.redeemed, s.revoked, s.revoked_seq,
                        s.last_redeemed_seq,
                        CASE WHEN s.redeemed + s.revoked > v.face_fen
                             THEN ''it paid past its face value''
                             ELSE ''it paid after it was revoked'' END AS why
                   FROM vouchers v
                   CROSS JOIN LATERAL (
                        SELECT coalesce(sum(e.amount_fen) FILTER (WHERE e.kind = 5), 0)
                                   AS redeemed,
                               coalesce(sum(e.amount_fen) FILTER (WHERE e.kind = 4), 0)
                                   AS revoked,
                               min(e.seq) FILTER (WHERE e.kind = 4) AS revoked_seq,
                               max(e.seq) FILTER (WHERE e.kind = 5) AS last_redeemed_seq
                          FROM voucher_events e
                         WHERE e.voucher = v.id AND e.kind IN (4, 5)) s
                  WHERE v.id IN (SELECT r.voucher FROM new_rows r WHERE r.kind IN (4, 5))
                    AND (s.redeemed + s.revoked > v.face_fen
                         OR s.last_redeemed_seq > s.revoked_seq)
                  ORDER BY v.id
                  LIMIT 1' INTO bad;
        GET DIAGNOSTICS found_bad = ROW_COUNT;
        IF found_bad > 0 THEN
            RAISE EXCEPTION 'voucher % (face value %, redeemed %, revoked % at seq %, last '
                            'redeemed at seq %): %', bad.id, bad.face_fen, bad.redeemed,
                            bad.revoked, bad.revoked_seq, bad.last_redeemed_seq, bad.why
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER voucher_events_check AFTER INSERT ON voucher_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION voucher_events_check();

-- Append-only, for everyone including the owner (refuse_change() is 0001's).
CREATE TRIGGER voucher_programs_append_only BEFORE UPDATE OR DELETE ON voucher_programs
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER voucher_programs_no_truncate BEFORE TRUNCATE ON voucher_programs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER vouchers_append_only BEFORE UPDATE OR DELETE ON vouchers
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER vouchers_no_truncate BEFORE TRUNCATE ON vouchers
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER voucher_events_append_only BEFORE UPDATE OR DELETE ON voucher_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER voucher_events_no_truncate BEFORE TRUNCATE ON voucher_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER voucher_event_kinds_append_only BEFORE UPDATE OR DELETE ON voucher_event_kinds
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER voucher_event_kinds_no_truncate BEFORE TRUNCATE ON voucher_event_kinds
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER voucher_reasons_append_only BEFORE UPDATE OR DELETE ON voucher_reasons
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER voucher_reasons_no_truncate BEFORE TRUNCATE ON voucher_reasons
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Each program with what happened to it: the money moved into its budget (its creation
-- and fundings), what its budget account holds now (the ledger's, so funded_fen -
-- budget_left_fen is what it paid out), the face value granted, the balances revoked,
-- and what it redeemed, in how many redemptions, and how many claims it refused.
CREATE VIEW voucher_program_status AS
SELECT p.id, p.issuer, p.name, p.budget_account_id,
       coalesce(e.funded_fen, 0) AS funded_fen,
       a.credits_posted - a.debits_posted - a.debits_pending AS budget_left_fen,
       coalesce(e.granted_fen, 0) AS granted_fen,
       coalesce(e.revoked_fen, 0) AS revoked_fen,
       coalesce(e.redeemed_fen, 0) AS redeemed_fen,
       coalesce(e.vouchers, 0) AS vouchers,
       coalesce(e.redemptions, 0) AS redemptions,
       coalesce(e.refusals, 0) AS refusals
  FROM voucher_programs p
  JOIN ledger_accounts a ON a.id = p.budget_account_id
  LEFT JOIN (SELECT program,
                    sum(amount_fen) FILTER (WHERE kind IN (1, 2)) AS funded_fen,
                    sum(amount_fen) FILTER (WHERE kind = 3) AS granted_fen,
                    sum(amount_fen) FILTER (WHERE kind = 4) AS revoked_fen,
                    sum(amount_fen) FILTER (WHERE kind = 5) AS redeemed_fen,
                    count(*) FILTER (WHERE kind = 3) AS vouchers,
                    count(*) FILTER (WHERE kind = 5) AS redemptions,
                    count(*) FILTER (WHERE kind = 6) AS refusals
               FROM voucher_events
              GROUP BY program) e ON e.program = p.id;

-- Each voucher's balance: face value less what it redeemed and what revocation took back.
CREATE VIEW voucher_balances AS
SELECT v.id, v.program, v.beneficiary, v.ref, v.face_fen,
       coalesce(s.redeemed_fen, 0) AS redeemed_fen,
       coalesce(s.revoked_fen, 0) AS revoked_fen,
       v.face_fen - coalesce(s.redeemed_fen, 0) - coalesce(s.revoked_fen, 0) AS balance_fen,
       coalesce(s.redemptions, 0) AS redemptions,
       s.revoked_seq IS NOT NULL AS revoked,
       v.expiry_ns, v.granted_seq
  FROM vouchers v
  LEFT JOIN (SELECT voucher,
                    sum(amount_fen) FILTER (WHERE kind = 5) AS redeemed_fen,
                    sum(amount_fen) FILTER (WHERE kind = 4) AS revoked_fen,
                    count(*) FILTER (WHERE kind = 5) AS redemptions,
                    min(seq) FILTER (WHERE kind = 4) AS revoked_seq
               FROM voucher_events
              WHERE kind IN (4, 5)
              GROUP BY voucher) s ON s.voucher = v.id;

-- Each redemption with the transfer that paid it and the limit that cut it, if any.
CREATE VIEW voucher_redemptions AS
SELECT e.seq, e.idx, e.ts_ns, e.program, e.voucher, e.trade_id, e.side, e.beneficiary,
       e.provider, e.amount_fen, e.share_fen, e.reason AS limited_by, r.name AS limited_by_name,
       e.cap_period, e.transfer_id, t.debit_account_id, t.credit_account_id,
       t.amount AS transfer_amount, t.code AS transfer_code, t.user_data AS transfer_user_data,
       t.seq AS transfer_seq
  FROM voucher_events e
  JOIN transfers t ON t.id = e.transfer_id
  JOIN voucher_reasons r ON r.reason = e.reason
 WHERE e.kind = 5;

GRANT SELECT, INSERT ON voucher_programs, vouchers, voucher_events TO cpx_app;
GRANT SELECT ON voucher_event_kinds, voucher_reasons, voucher_program_status, voucher_balances,
    voucher_redemptions TO cpx_app;
