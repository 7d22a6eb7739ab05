-- The money ledger: double-entry, in the style of TigerBeetle, and enforced by the
-- database itself rather than trusted to the application.
--
-- Every movement of money is one row of `transfers`: it debits one account and credits
-- another by the same positive amount, so money is never created or lost, only moved
-- (money enters and leaves the exchange through the external_deposits account). An
-- account's four running totals live on `ledger_accounts` and are maintained only by the
-- trigger below, which applies each INSERT (or COPY) statement of transfers as one set:
-- the totals can therefore never disagree with the rows, and a statement that would
-- overdraw an account fails as a whole and rolls back with its transaction.
--
-- Amounts are integer fen (0.01 CNY); no floating point touches money.
--
-- Semantics the application relies on (tests/store/ledger_schema_test.cpp proves each):
--   * A transfer id is unique forever. An application retry sends the same id with
--     INSERT ... ON CONFLICT (id) DO NOTHING and is then harmless; a plain INSERT of a
--     used id raises unique_violation. (DO NOTHING does not compare the rest of the row:
--     a retry must carry the same content, as a retry does.)
--   * Balance limits (the account flags) are CHECK constraints on the totals, checked
--     when a statement's net effect is applied: they hold after every statement, not
--     between the rows of one statement. The exchange's engine applies transfers one by
--     one and only sends ones that are valid in order, so the database is the backstop
--     that stops a wrong book, not the place that orders the transfers of one batch.
--   * Two-phase transfers: a pending transfer (flags 1) holds its amount in the pending
--     totals; it is resolved at most once, by a post (flags 2: moves `amount` <= the
--     pending's amount to the posted totals and releases the rest) or a void (flags 4:
--     releases it all; its amount must equal the pending's, so every row states the money
--     it moved). A resolution names the pending's two accounts again (they must be equal)
--     and a journal seq not before the pending's.
--   * A pending and its resolution may be in the SAME statement (for example one COPY
--     batch): the trigger sees the statement's rows in `transfers` and the net effect is
--     the same as inserting them in two statements. Their order inside the statement
--     does not matter.
--
-- What this does not stop: a superuser can disable triggers (ALTER TABLE ... DISABLE
-- TRIGGER, or session_replication_role = replica, under which the balance trigger does not
-- run either). Proving that nobody did is the audit's hash chain and its recomputation
-- (ledger_balance_check), not this schema's. Concurrent writers that touch the same
-- accounts in different orders can deadlock (PostgreSQL then aborts one, which retries);
-- the exchange has one ledger writer.

-- Why an account exists. Ledger accounts are per (owner, purpose, currency): the owner is
-- the exchange account id (0 = the exchange itself).
CREATE TABLE ledger_purposes (
    purpose smallint PRIMARY KEY,
    name    text     NOT NULL UNIQUE
);
INSERT INTO ledger_purposes (purpose, name) VALUES
    (1, 'available'),           -- an account's own money, free to use or withdraw
    (2, 'reserved'),            -- held for the owner's resting buy orders
    (3, 'escrow'),              -- paid for fills, awaiting delivery
    (4, 'provider_collateral'), -- a provider's collateral, lost on failed delivery
    (5, 'fees'),                -- the exchange's revenue
    (6, 'external_deposits'),   -- the world outside: money enters and leaves through it
    (7, 'voucher_budget'),      -- a voucher issuer's budget
    (8, 'penalties_payable');   -- penalties owed, awaiting payment

-- Why money moved.
CREATE TABLE transfer_codes (
    code smallint PRIMARY KEY,
    name text     NOT NULL UNIQUE
);
INSERT INTO transfer_codes (code, name) VALUES
    (1, 'deposit'),
    (2, 'withdrawal'),
    (3, 'reserve'),
    (4, 'release'),
    (5, 'fill_to_escrow'),
    (6, 'settle_to_provider'),
    (7, 'fee'),
    (8, 'refund'),
    (9, 'penalty'),
    (10, 'voucher');

-- Account flags (bits):
--   1 debits_must_not_exceed_credits: a normal money account, it cannot go below zero;
--     pending debits count against it, so money held for a pending transfer cannot be
--     spent twice: debits_pending + debits_posted <= credits_posted.
--   2 credits_must_not_exceed_debits: the mirror, for accounts that may only owe.
-- An account with neither (external_deposits) may go either way. Both at once would
-- freeze an account and is refused.
CREATE TABLE ledger_accounts (
    id              bigint   PRIMARY KEY CHECK (id > 0),
    owner           bigint   NOT NULL CHECK (owner >= 0),
    purpose         smallint NOT NULL REFERENCES ledger_purposes (purpose),
    currency        smallint NOT NULL DEFAULT 156 CHECK (currency > 0), -- ISO 4217, 156 = CNY
    flags           integer  NOT NULL DEFAULT 0 CHECK (flags IN (0, 1, 2)),
    debits_pending  bigint   NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   bigint   NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending bigint   NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  bigint   NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_seq     bigint   CHECK (created_seq > 0), -- the journal seq that opened it
    UNIQUE (owner, purpose, currency),
    -- The sums are computed in numeric so that a huge total fails the check rather than
    -- overflowing bigint first (which would also fail, with a less telling error).
    CONSTRAINT debits_must_not_exceed_credits CHECK (
        flags & 1 = 0
        OR debits_pending::numeric + debits_posted <= credits_posted),
    CONSTRAINT credits_must_not_exceed_debits CHECK (
        flags & 2 = 0
        OR credits_pending::numeric + credits_posted <= debits_posted)
);
COMMENT ON TABLE ledger_accounts IS
    'Double-entry accounts; the four totals are maintained only by ledger_apply_transfers().';

CREATE TABLE transfers (
    id                bigint   PRIMARY KEY CHECK (id > 0),
    debit_account_id  bigint   NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id bigint   NOT NULL REFERENCES ledger_accounts (id),
    amount            bigint   NOT NULL CHECK (amount > 0),
    -- Set exactly on a post or void: the pending transfer it resolves.
    pending_id        bigint   REFERENCES transfers (id),
    -- 0 posted (single phase), 1 pending, 2 post_pending, 4 void_pending: exactly one.
    flags             smallint NOT NULL CHECK (flags IN (0, 1, 2, 4)),
    -- Checked against transfer_codes by ledger_apply_transfers(), once per statement: a
    -- foreign key would run one lookup per row, a fifth of a COPY's time (codes never
    -- change or go, see the triggers on transfer_codes).
    code              smallint NOT NULL CHECK (code > 0),
    seq               bigint   NOT NULL CHECK (seq > 0), -- the journal seq that caused it
    ts_ns             bigint   NOT NULL CHECK (ts_ns >= 0),
    user_data         bigint   NOT NULL DEFAULT 0,       -- e.g. the trade or order id
    CHECK (debit_account_id <> credit_account_id),
    CHECK ((pending_id IS NOT NULL) = (flags IN (2, 4)))
);
COMMENT ON TABLE transfers IS
    'Append-only double-entry transfers; every change of money is one row.';

-- A pending transfer is resolved (posted or voided) at most once, even by two
-- concurrent transactions: the second waits for the first and then fails here.
CREATE UNIQUE INDEX transfers_resolved_once ON transfers (pending_id) WHERE flags IN (2, 4);
-- The audit and the statements read an account's transfers.
CREATE INDEX transfers_debit_account ON transfers (debit_account_id);
CREATE INDEX transfers_credit_account ON transfers (credit_account_id);

-- Applies one statement's new transfers to the account totals, once per affected account.
-- It runs after the statement (so it sees every row of it, also those of a COPY), and it
-- is SECURITY DEFINER: it updates ledger_accounts with its owner's rights, which cpx_app
-- does not have. The search_path is pinned (pg_temp last) so that a caller's temporary
-- table cannot stand in for a ledger table.
CREATE FUNCTION ledger_apply_transfers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    bad    record;
    bad_id bigint;
BEGIN
    -- A post or void must resolve a pending transfer (flags 1) between the same accounts,
    -- for no more than it holds (a void for exactly what it holds), at a later or equal
    -- journal seq. The pending may come from the same statement: it is in `transfers` now.
    --
    -- The pending is looked up through a LATERAL subquery fenced by OFFSET 0: a nested
    -- loop over the primary key, one probe per resolution, whatever the plan that
    -- PL/pgSQL caches for the session (it is made for the first statement's row count
    -- and would otherwise be free to hash-join the whole, ever-growing transfers table).
    SELECT r.id, r.flags, r.pending_id, r.amount, p.flags AS p_flags, p.amount AS p_amount
      INTO bad
      FROM new_rows r
      LEFT JOIN LATERAL (SELECT * FROM transfers t WHERE t.id = r.pending_id OFFSET 0) p ON true
     WHERE r.pending_id IS NOT NULL
       AND (p.id IS NULL
            OR p.flags <> 1
            OR p.debit_account_id <> r.debit_account_id
            OR p.credit_account_id <> r.credit_account_id
            OR r.amount > p.amount
            OR (r.flags = 4 AND r.amount <> p.amount)
            OR r.seq < p.seq)
     ORDER BY r.id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transfer % (flags %) cannot resolve transfer %: it is not a pending '
                        'transfer between the same accounts for at least the amount '
                        '(pending flags %, amount % vs %)',
                        bad.id, bad.flags, bad.pending_id, bad.p_flags, bad.amount, bad.p_amount
            USING ERRCODE = 'check_violation';
    END IF;

    -- Every code is one of transfer_codes (a hashed subplan over a ten-row table).
    SELECT r.id, r.code INTO bad
      FROM new_rows r
     WHERE r.code NOT IN (SELECT c.code FROM transfer_codes c)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transfer % has the unknown code %', bad.id, bad.code
            USING ERRCODE = 'foreign_key_violation';
    END IF;

    -- Money moves only between accounts of one currency. This statement and the UPDATE
    -- below are dynamic SQL, planned for each statement with its true row count: a plan
    -- cached for a one-row INSERT would probe the accounts once per row of a large COPY,
    -- and one cached for a large COPY would scan all accounts for every one-row INSERT.
    EXECUTE 'SELECT r.id
               FROM new_rows r
               JOIN ledger_accounts d ON d.id = r.debit_account_id
               JOIN ledger_accounts c ON c.id = r.credit_account_id
              WHERE d.currency <> c.currency
              LIMIT 1' INTO bad_id;
    IF bad_id IS NOT NULL THEN
        RAISE EXCEPTION 'transfer % moves money between accounts of different currencies', bad_id
            USING ERRCODE = 'check_violation';
    END IF;

    -- Each row's effect on its two accounts: a pending adds to the pending totals; a
    -- resolution takes the whole pending amount out of them and a post adds its own
    -- amount to the posted totals. One UPDATE per account with the statement's net
    -- effect; the CHECK constraints of ledger_accounts refuse an overdraft. The pending
    -- amount is a scalar subquery, run (as a primary key probe) for resolutions only.
    EXECUTE '
    UPDATE ledger_accounts a
       SET debits_pending  = a.debits_pending + s.debits_pending,
           debits_posted   = a.debits_posted + s.debits_posted,
           credits_pending = a.credits_pending + s.credits_pending,
           credits_posted  = a.credits_posted + s.credits_posted
      FROM (SELECT e.account_id,
                   sum(e.debits_pending)  AS debits_pending,
                   sum(e.debits_posted)   AS debits_posted,
                   sum(e.credits_pending) AS credits_pending,
                   sum(e.credits_posted)  AS credits_posted
              FROM (SELECT r.flags, r.amount, r.debit_account_id, r.credit_account_id,
                           CASE r.flags WHEN 0 THEN 0::bigint WHEN 1 THEN r.amount
                                        ELSE -(SELECT p.amount FROM transfers p
                                                WHERE p.id = r.pending_id) END
                               AS pending_delta,
                           CASE WHEN r.flags IN (0, 2) THEN r.amount ELSE 0::bigint END
                               AS posted_delta
                      FROM new_rows r) t
             CROSS JOIN LATERAL (VALUES
                   (t.debit_account_id, t.pending_delta, t.posted_delta, 0::bigint, 0::bigint),
                   (t.credit_account_id, 0::bigint, 0::bigint, t.pending_delta, t.posted_delta))
                   AS e (account_id, debits_pending, debits_posted, credits_pending,
                         credits_posted)
             GROUP BY e.account_id) s
     WHERE a.id = s.account_id';
    RETURN NULL;
END
$$;

CREATE TRIGGER transfers_apply AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_transfers();

-- transfers is append-only, for everyone including its owner.
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Guards ledger_accounts: an account opens with zero totals (money arrives only by
-- transfer); its identity (id, owner, purpose, currency, flags, created_seq) never
-- changes; its totals change only inside ledger_apply_transfers(), that is from a
-- trigger (pg_trigger_depth() > 1 here: the apply trigger is level 1, this one level 2).
-- cpx_app additionally has no UPDATE privilege at all.
CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.debits_pending <> 0 OR NEW.debits_posted <> 0
           OR NEW.credits_pending <> 0 OR NEW.credits_posted <> 0 THEN
            RAISE EXCEPTION 'ledger account % must open with zero totals', NEW.id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.owner IS DISTINCT FROM OLD.owner
       OR NEW.purpose IS DISTINCT FROM OLD.purpose OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.flags IS DISTINCT FROM OLD.flags
       OR NEW.created_seq IS DISTINCT FROM OLD.created_seq THEN
        RAISE EXCEPTION 'ledger account %: id, owner, purpose, currency, flags and '
                        'created_seq never change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger account % totals change only by inserting transfers', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ledger_accounts_guard BEFORE INSERT OR UPDATE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_purposes_append_only BEFORE UPDATE OR DELETE ON ledger_purposes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER transfer_codes_append_only BEFORE UPDATE OR DELETE ON transfer_codes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER transfer_codes_no_truncate BEFORE TRUNCATE ON transfer_codes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_purposes_no_truncate BEFORE TRUNCATE ON ledger_purposes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The ledger's totals over all accounts. Every transfer adds the same amount to one
-- account's debits and another's credits, so the pairs are always equal:
-- debits_posted = credits_posted and debits_pending = credits_pending.
CREATE VIEW ledger_totals AS
SELECT coalesce(sum(debits_posted), 0)   AS debits_posted,
       coalesce(sum(credits_posted), 0)  AS credits_posted,
       coalesce(sum(debits_pending), 0)  AS debits_pending,
       coalesce(sum(credits_pending), 0) AS credits_pending
  FROM ledger_accounts;

-- The audit's verification of the totals: recomputes every account's four totals from
-- the transfers alone, with the rules of ledger_apply_transfers(), and lists each account
-- whose stored totals differ. An empty result means the balances agree with the rows.
CREATE VIEW ledger_balance_check AS
WITH effects AS (
    SELECT t.debit_account_id, t.credit_account_id,
           CASE t.flags WHEN 0 THEN 0 WHEN 1 THEN t.amount ELSE -p.amount END AS pending_delta,
           CASE WHEN t.flags IN (0, 2) THEN t.amount ELSE 0 END AS posted_delta
      FROM transfers t
      LEFT JOIN transfers p ON p.id = t.pending_id
), sides AS (
    SELECT debit_account_id AS account_id, pending_delta AS debits_pending,
           posted_delta AS debits_posted, 0 AS credits_pending, 0 AS credits_posted
      FROM effects
    UNION ALL
    SELECT credit_account_id, 0, 0, pending_delta, posted_delta
      FROM effects
), expected AS (
    SELECT account_id,
           sum(debits_pending)  AS debits_pending,
           sum(debits_posted)   AS debits_posted,
           sum(credits_pending) AS credits_pending,
           sum(credits_posted)  AS credits_posted
      FROM sides
     GROUP BY account_id
)
SELECT a.id AS account_id,
       a.debits_pending,  coalesce(e.debits_pending, 0)  AS expected_debits_pending,
       a.debits_posted,   coalesce(e.debits_posted, 0)   AS expected_debits_posted,
       a.credits_pending, coalesce(e.credits_pending, 0) AS expected_credits_pending,
       a.credits_posted,  coalesce(e.credits_posted, 0)  AS expected_credits_posted
  FROM ledger_accounts a
  LEFT JOIN expected e ON e.account_id = a.id
 WHERE (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
       IS DISTINCT FROM
       (coalesce(e.debits_pending, 0), coalesce(e.debits_posted, 0),
        coalesce(e.credits_pending, 0), coalesce(e.credits_posted, 0));

-- cpx_app opens accounts and appends transfers; it never updates or deletes either.
GRANT SELECT, INSERT ON transfers, ledger_accounts TO cpx_app;
GRANT SELECT ON ledger_purposes, transfer_codes, ledger_totals, ledger_balance_check TO cpx_app;
