-- What the ledger projector (services/projector) writes in bulk, made cheaper to write:
-- the references of `transfers`, checked per statement instead of per row, and the
-- snapshot parts, stored without compression.
--
-- 1. Transfers. The projector writes them in large COPY statements (one per batch of
-- journalled requests, up to millions of rows). The three foreign keys of `transfers`
-- (debit and credit account, the pending a post or void resolves) each ran one lookup
-- per row, as a row trigger with a row lock: with them a COPY of transfers took about
-- three times as long (docs/BENCHMARKS.md, "Settlement": 30 s against 8-10 s for 1 M
-- transfers in cpx-settle-bench; 25,000 against 66,000 rows/s in cpx-pg-ceiling's (b)).
-- They are replaced here by the same checks done once per statement, as a set, inside
-- ledger_apply_transfers() (which already checked the transfer codes that way):
--
--   * every debit and credit account exists (else foreign_key_violation, as before);
--   * every post or void names a transfer that exists (else foreign_key_violation, as
--     before), and then the rules of 0002 (a pending between the same accounts, for at
--     least the amount, not before it; else check_violation).
--
-- The guarantees are the same: nothing can delete or truncate an account or a transfer
-- (0002's triggers refuse it, for every role), so a reference checked when the row is
-- inserted stays valid. One difference: a row naming a row that a concurrent
-- transaction inserted and has not committed yet is refused at once, where the foreign
-- key would have waited for that transaction (and passed if it committed); the ledger
-- has one writer, the projector, which never does that. What 0002's header says about a
-- superuser who disables triggers applies to these checks as it did to the foreign
-- keys.
--
-- The rest of ledger_apply_transfers() does what 0002's did (see there for the
-- comments); its UPDATE sums the statement's effect per account in two passes instead
-- of one over twice the rows, and it runs without JIT (below).

ALTER TABLE transfers
    DROP CONSTRAINT transfers_debit_account_id_fkey,
    DROP CONSTRAINT transfers_credit_account_id_fkey,
    DROP CONSTRAINT transfers_pending_id_fkey;

-- jit = off for the function's queries: their plans are made per statement, and for a
-- large statement the planner's cost passes the JIT threshold, whose compilation (about
-- 170 ms each, measured) costs more than the queries themselves.
CREATE OR REPLACE FUNCTION ledger_apply_transfers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    bad       record;
    found_bad bigint;
BEGIN
    -- Every account named exists, and each transfer's two accounts hold one currency: one
    -- join for the statement (dynamic SQL, planned with its true row count). A missing
    -- account is reported before a currency mismatch.
    EXECUTE 'SELECT r.id, (d.id IS NULL OR c.id IS NULL) AS missing
               FROM new_rows r
               LEFT JOIN ledger_accounts d ON d.id = r.debit_account_id
               LEFT JOIN ledger_accounts c ON c.id = r.credit_account_id
              WHERE d.id IS NULL OR c.id IS NULL OR d.currency <> c.currency
              ORDER BY 2 DESC, 1
              LIMIT 1' INTO bad;
    -- EXECUTE leaves FOUND alone: the row count says whether a row came back.
    GET DIAGNOSTICS found_bad = ROW_COUNT;
    IF found_bad > 0 AND bad.missing THEN
        RAISE EXCEPTION 'transfer % names a ledger account that does not exist', bad.id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF found_bad > 0 THEN
        RAISE EXCEPTION 'transfer % moves money between accounts of different currencies', bad.id
            USING ERRCODE = 'check_violation';
    END IF;

    -- A post or void must resolve an existing pending transfer (flags 1) between the same
    -- accounts, for no more than it holds (a void for exactly what it holds), at a later
    -- or equal journal seq. The pending may come from the same statement. One primary key
    -- probe per resolution (LATERAL, fenced by OFFSET 0: see 0002).
    SELECT r.id, r.flags, r.pending_id, r.amount, p.id IS NULL AS missing,
           p.flags AS p_flags, p.amount AS p_amount
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
     ORDER BY p.id IS NULL DESC, r.id
     LIMIT 1;
    IF FOUND AND bad.missing THEN
        RAISE EXCEPTION 'transfer % (flags %) resolves transfer %, which does not exist',
                        bad.id, bad.flags, bad.pending_id
            USING ERRCODE = 'foreign_key_violation';
    ELSIF FOUND THEN
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

    -- The statement's net effect on each account, one UPDATE per account; the CHECK
    -- constraints of ledger_accounts refuse an overdraft. The effect is the same as in
    -- 0002 (a pending adds to the pending totals; a resolution takes the whole pending
    -- amount out of them and a post adds its own amount to the posted totals), summed
    -- per debit account and per credit account in two passes over the statement's rows
    -- rather than by expanding each row into two (a third of the trigger's time, for a
    -- large statement). The pending amount is a primary key probe, for resolutions only.
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
              FROM (SELECT r.debit_account_id AS account_id,
                           sum(CASE r.flags WHEN 0 THEN 0::bigint WHEN 1 THEN r.amount
                                            ELSE -(SELECT p.amount FROM transfers p
                                                    WHERE p.id = r.pending_id) END)
                               AS debits_pending,
                           sum(CASE WHEN r.flags IN (0, 2) THEN r.amount ELSE 0::bigint END)
                               AS debits_posted,
                           0::numeric AS credits_pending,
                           0::numeric AS credits_posted
                      FROM new_rows r
                     GROUP BY r.debit_account_id
                    UNION ALL
                    SELECT r.credit_account_id,
                           0::numeric,
                           0::numeric,
                           sum(CASE r.flags WHEN 0 THEN 0::bigint WHEN 1 THEN r.amount
                                            ELSE -(SELECT p.amount FROM transfers p
                                                    WHERE p.id = r.pending_id) END),
                           sum(CASE WHEN r.flags IN (0, 2) THEN r.amount ELSE 0::bigint END)
                      FROM new_rows r
                     GROUP BY r.credit_account_id) e
             GROUP BY e.account_id) s
     WHERE a.id = s.account_id';
    RETURN NULL;
END
$$;

-- 2. Snapshots. The projector saves a snapshot of its replica every million requests
-- (cpxd at its stops); a snapshot with a million open obligations is about 120 MB, and
-- compressing its 16 MB parts (pglz, TOAST's default) took 3.2 s of a core per snapshot,
-- against 0.8 s stored as they are (cpx-settle-bench, docs/BENCHMARKS.md). Snapshots
-- compress about 2.4 times, and the store keeps two or three: the disk is the cheaper
-- price. Existing parts stay as they were stored.
ALTER TABLE snapshot_parts ALTER COLUMN body SET STORAGE EXTERNAL;
