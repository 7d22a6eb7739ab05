-- Buying power: a buyer's voucher pays part of a buy order at its fills, where 0006's
-- redemptions pay a rebate or discount after settlement.
--
-- A buy order that the buyer's cash alone cannot cover may draw on the buyer's voucher.
-- The order takes the voucher's cover when it is placed (or replaced), and the cover is
-- held in the ledger: a pending transfer (code `reserve`, user_data the order id) from
-- the program's budget account to the buyer's escrow account, so the budget cannot
-- spend it twice. At each fill of the order the voucher pays its part of the trade by
-- posting that hold (code `voucher`, user_data the trade id), and what is left of the
-- cover is held anew for the rest of the order, since a pending transfer can be resolved
-- only once. The payment is recorded as a voucher event of the new kind
-- `redeemed_at_fill` (7). When the trade later settles partly delivered, or fails, the
-- voucher's part of what was not delivered goes back from the buyer's escrow to the
-- budget by a single-phase transfer (code `voucher`, user_data the trade id), recorded as
-- a voucher event of the new kind `returned` (8). The buyer's side of such a trade was
-- decided at the fill, so it is not claimed again at settlement (no redemption or
-- refusal for it).
--
-- The ledger projector nets a pending transfer and its post written in one batch: it
-- writes no row for the hold and writes the post as a single-phase transfer
-- (services/projector/src/batch.hpp). So a payment's transfer is a post of a hold
-- written by an earlier batch, or a single-phase transfer with no hold to look at.
--
-- The hold a fill posts says nothing about when the money was promised: after the first
-- fill it was made at the previous fill, possibly after the voucher expired. A payment
-- therefore names the request at which its order took the cover (cover_seq, the
-- journal's seq) and the exchange's time then (cover_ns), and the voucher's validity,
-- expiry, grant and revocation are judged at that moment.
--
-- Only a buyer's discount open to every provider can be used this way (mode 1, side 1,
-- no approved_providers): at the order the provider is not known yet, and a rebate pays
-- only for what was delivered.
--
-- As in 0006, the tables check their own rules, so that a wrong writer is refused:
--   * a payment at a fill names a trade made in the event's request, by the voucher's
--     beneficiary as its buyer, with the program's share of the whole trade value; its
--     transfer pays from the program's budget to the beneficiary's escrow for the trade
--     in that request, in one step or by posting the order's hold between those
--     accounts; and its cover was taken in a journalled request no later than the
--     payment, within the program's validity, before the voucher expired, after it was
--     granted and before it was revoked;
--   * a return names a trade that settled or failed in the event's request and was paid
--     at its fill by the same voucher; it gives back the voucher's part of what was not
--     delivered (all of it on a failure), by its transfer from the beneficiary's escrow
--     to the program's budget, for the trade and in that request;
--   * each side of a trade is decided at most once (redemption, refusal or payment at a
--     fill), a trade is returned at most once, and a voucher's redeemed amount (its
--     redemptions and payments at fills, less its returns) plus its revoked amount never
--     exceeds its face value; both sides of a deal are paid only when both programs
--     allow it, whichever kind paid each side.
-- The views count a payment at a fill less its return as redeemed, and show what each
-- program's budget holds for open orders.

INSERT INTO voucher_event_kinds (kind, name) VALUES
    (7, 'redeemed_at_fill'),  -- amount_fen: paid at the fill; transfer_id names its payment
    (8, 'returned');          -- amount_fen: given back to the budget; transfer_id names it

-- A payment at a fill names when its order took the voucher's cover: cover_seq is the
-- journal seq of that request (the order's placement or its last replace), cover_ns the
-- exchange's time at it. The timing rules of a payment are judged there (see the
-- header); no other kind has a cover.
ALTER TABLE voucher_events
    ADD COLUMN cover_seq bigint CHECK (cover_seq > 0),
    ADD COLUMN cover_ns  bigint CHECK (cover_ns >= 0);

-- A payment at a fill is a buyer's and, like a redemption, pays at most the share, with
-- a reason only when a limit cut it, and it names its cover. A return is a buyer's,
-- names the transfer that gave the money back, and has no share or reason of its own:
-- its amount follows from the payment at the fill and the settlement.
ALTER TABLE voucher_events
    ADD CONSTRAINT redemption_at_fill_shape CHECK (kind <> 7 OR (
        voucher IS NOT NULL AND trade_id IS NOT NULL AND side IS NOT NULL
        AND provider IS NOT NULL AND transfer_id IS NOT NULL AND cap_period IS NOT NULL
        AND cover_seq IS NOT NULL AND cover_ns IS NOT NULL
        AND side = 1
        AND amount_fen > 0 AND amount_fen <= share_fen
        AND reason IN (0, 300, 301, 302, 303)
        AND (reason = 0) = (amount_fen = share_fen))),
    ADD CONSTRAINT cover_only_at_fill CHECK (kind = 7 OR (
        cover_seq IS NULL AND cover_ns IS NULL)),
    ADD CONSTRAINT return_shape CHECK (kind <> 8 OR (
        voucher IS NOT NULL AND trade_id IS NOT NULL AND side IS NOT NULL
        AND provider IS NOT NULL AND transfer_id IS NOT NULL AND cap_period IS NOT NULL
        AND side = 1 AND amount_fen > 0 AND share_fen = 0 AND reason = 0));

-- Each side of a trade is still decided once, and a payment at a fill decides the
-- buyer's side: no redemption or refusal can follow it at settlement. The index keeps
-- its name, which the errors of a second claim name.
DROP INDEX voucher_events_one_claim_per_side;
CREATE UNIQUE INDEX voucher_events_one_claim_per_side ON voucher_events (trade_id, side)
    WHERE kind IN (5, 6, 7);
-- A trade settles or fails once, so its payment at a fill is returned at most once.
CREATE UNIQUE INDEX voucher_events_returned_once ON voucher_events (trade_id) WHERE kind = 8;
-- What a voucher paid, got back and lost: the face value check and voucher_balances
-- read it, now over the payments at fills and the returns too.
DROP INDEX voucher_events_spent;
CREATE INDEX voucher_events_spent ON voucher_events (voucher) WHERE kind IN (4, 5, 7, 8);

-- 0006's function with the rules for kinds 7 and 8 added; the rules for kinds 1 to 6 are
-- unchanged. What 0006 says about the function (per statement, dynamic SQL, id ranges,
-- SECURITY DEFINER for the vouchers' locks) holds for the new rules too. A payment at a
-- fill also reads the hold it posts, if any: a transfer of an earlier request, so outside
-- the statement's range of transfer ids; the holds' own id range is read first, from the
-- statement's posts, and the holds only within it. And it reads the journal row of its
-- cover, by its primary key for each payment: an order may rest long before it fills, so
-- one statement's covers can lie far apart in the journal, and a range between them
-- could be most of it.
CREATE OR REPLACE FUNCTION voucher_events_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    bad        record;
    found_bad  bigint;
    trade_min  bigint;
    trade_max  bigint;
    xfer_min   bigint;
    xfer_max   bigint;
    hold_min   bigint;
    hold_max   bigint;
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
    END IF;

    -- Payments at fills: the trade was made in the event's request (its fill), with the
    -- beneficiary as its buyer, and the share is the program's share_bps of the whole
    -- trade value (price x quantity), rounded down: at the fill nothing is delivered yet,
    -- and a return gives back the part that will not be. The program is a buyer's
    -- discount open to every provider. The payment is its transfer: code 10 (voucher),
    -- the event's amount, from the program's budget account to the beneficiary's escrow
    -- account (where the trade's money waits for delivery), for the trade and in the
    -- same request. It is the post (flags 2) of a hold between the same two accounts, the
    -- buy order's reserve (code 3, user_data the order), or, when the projector netted
    -- the hold and its post in one batch, a single-phase transfer (flags 0) with no hold
    -- left to read.
    --
    -- The voucher's validity, expiry, grant and revocation are judged at the cover (see
    -- the header), since the money was promised to the order then: the cover came no
    -- later than the payment, within the program's validity, before the voucher expired,
    -- after it was granted and before any revocation. The cover's request is in the
    -- journal, stamped no later than cover_ns: the exchange's clock never goes back, so
    -- its time at a request is at least the journal's stamp of it. A cover naming a
    -- request that is not in the journal names something that does not exist.
    SELECT min(r.trade_id), max(r.trade_id), min(r.transfer_id), max(r.transfer_id)
      INTO trade_min, trade_max, xfer_min, xfer_max
      FROM new_rows r
     WHERE r.kind = 7;
    IF trade_min IS NOT NULL THEN
        -- The holds' id range, read from the statement's posts (see above); it is empty
        -- when every payment was netted.
        EXECUTE 'SELECT min(t.pending_id), max(t.pending_id)
                   FROM new_rows r
                   JOIN (SELECT * FROM transfers
                          WHERE id BETWEEN ' || xfer_min || ' AND ' || xfer_max || ') t
                     ON t.id = r.transfer_id
                  WHERE r.kind = 7' INTO hold_min, hold_max;
        -- The cover's journal row is read as ledger_apply_transfers() in 0002 reads a
        -- pending: through a LATERAL subquery fenced by OFFSET 0, one probe of the primary
        -- key per payment, which the planner cannot turn into a scan of the journal.
        EXECUTE 'SELECT r.seq, r.idx, r.kind, r.trade_id, r.transfer_id, x.missing, x.why
                   FROM new_rows r
                   JOIN voucher_programs p ON p.id = r.program
                   JOIN vouchers v ON v.id = r.voucher
                   LEFT JOIN (SELECT * FROM obligations
                               WHERE id BETWEEN ' || trade_min || ' AND ' || trade_max || ') o
                          ON o.id = r.trade_id
                   LEFT JOIN (SELECT * FROM transfers
                               WHERE id BETWEEN ' || xfer_min || ' AND ' || xfer_max || ') t
                          ON t.id = r.transfer_id
                   LEFT JOIN (SELECT * FROM transfers
                               WHERE id BETWEEN ' || coalesce(hold_min, 0) || ' AND '
                                                  || coalesce(hold_max, 0) || ') h
                          ON h.id = t.pending_id
                   LEFT JOIN ledger_accounts c ON c.id = t.credit_account_id
                   LEFT JOIN LATERAL (SELECT jr.seq, jr.ts_ns FROM journal jr
                                       WHERE jr.seq = r.cover_seq OFFSET 0) j ON true
                  CROSS JOIN LATERAL (SELECT
                       o.id IS NULL OR t.id IS NULL
                         OR (t.pending_id IS NOT NULL AND h.id IS NULL)
                         OR j.seq IS NULL AS missing,
                       CASE
                         WHEN o.id IS NULL THEN ''its trade does not exist''
                         WHEN t.id IS NULL THEN ''its transfer does not exist''
                         WHEN t.pending_id IS NOT NULL AND h.id IS NULL
                           THEN ''the hold its transfer posts does not exist''
                         WHEN j.seq IS NULL
                           THEN ''the request of its cover is not in the journal''
                         WHEN o.created_seq <> r.seq
                           THEN ''its trade was not made in the event''''s request''
                         WHEN r.beneficiary <> o.buyer OR r.provider <> o.provider
                           THEN ''it is not for its trade''''s buyer and provider''
                         WHEN r.share_fen <> div(o.price::numeric * o.quantity * p.share_bps,
                                                 10000)
                           THEN ''its share is not the program''''s share of the trade''''s value''
                         WHEN p.mode <> 1 OR p.side <> 1
                              OR cardinality(p.approved_providers) > 0
                           THEN ''its program is not a buyer''''s discount open to every provider''
                         WHEN t.code <> 10 OR t.flags NOT IN (0, 2) THEN
                           ''its transfer is not a single-phase or posting voucher transfer''
                         WHEN t.amount <> r.amount_fen THEN
                           ''its transfer moved another amount''
                         WHEN t.debit_account_id <> p.budget_account_id THEN
                           ''its transfer is not paid from the program''''s budget account''
                         WHEN c.owner <> r.beneficiary OR c.purpose <> 3 THEN
                           ''its transfer is not paid to the beneficiary''''s escrow account''
                         WHEN t.user_data <> r.trade_id OR t.seq <> r.seq THEN
                           ''its transfer is not for its trade and request''
                         WHEN t.flags = 2 AND (h.flags <> 1
                                               OR h.debit_account_id <> t.debit_account_id
                                               OR h.credit_account_id <> t.credit_account_id)
                           THEN ''its transfer does not post a hold between the same accounts''
                         WHEN t.flags = 2 AND (h.code <> 3 OR h.user_data <> o.buy_order)
                           THEN ''the hold its transfer posts is not its buy order''''s reserve''
                         WHEN r.cover_seq > r.seq OR r.cover_ns > r.ts_ns
                           THEN ''its cover was taken after the payment''
                         WHEN j.ts_ns > r.cover_ns
                           THEN ''its cover''''s time is before the journal''''s stamp of it''
                         WHEN r.cover_ns < p.valid_from_ns OR r.cover_ns >= p.valid_until_ns
                           THEN ''its cover was taken outside the program''''s validity''
                         WHEN r.cover_ns >= v.expiry_ns
                           THEN ''its cover was taken after the voucher had expired''
                         WHEN r.cover_seq <= v.granted_seq
                           THEN ''its cover was taken before the voucher was granted''
                         WHEN EXISTS (SELECT 1 FROM voucher_events k
                                       WHERE k.voucher = r.voucher AND k.kind = 4
                                         AND k.seq <= r.cover_seq)
                           THEN ''its cover was taken after the voucher was revoked''
                       END AS why) x
                  WHERE r.kind = 7 AND x.why IS NOT NULL
                  ORDER BY x.missing DESC, r.seq, r.idx
                  LIMIT 1' INTO bad;
        GET DIAGNOSTICS found_bad = ROW_COUNT;
        IF found_bad > 0 THEN
            RAISE EXCEPTION 'voucher event (seq %, idx %, kind %) for trade % (transfer %): %',
                            bad.seq, bad.idx, bad.kind, bad.trade_id, bad.transfer_id, bad.why
                USING ERRCODE = CASE WHEN bad.missing THEN 'foreign_key_violation'
                                     ELSE 'check_violation' END;
        END IF;
    END IF;

    -- Returns: the trade settled or failed in the event's request, its buyer is the
    -- beneficiary, and the same voucher paid for it at its fill (that payment may be in
    -- this statement: an AFTER STATEMENT trigger sees the statement's rows in the table).
    -- A failure returns the whole payment; a settlement the payment less the program's
    -- share of the delivered value (never less than nothing), so that the voucher pays
    -- its share of what was delivered and no more. The money goes back by its transfer:
    -- code 10 (voucher), single phase, the event's amount, from the beneficiary's escrow
    -- account to the program's budget account, for the trade and in the same request.
    SELECT min(r.trade_id), max(r.trade_id), min(r.transfer_id), max(r.transfer_id)
      INTO trade_min, trade_max, xfer_min, xfer_max
      FROM new_rows r
     WHERE r.kind = 8;
    IF trade_min IS NOT NULL THEN
        EXECUTE 'SELECT r.seq, r.idx, r.kind, r.trade_id, r.transfer_id, x.missing, x.why
                   FROM new_rows r
                   JOIN voucher_programs p ON p.id = r.program
                   LEFT JOIN (SELECT * FROM obligations
                               WHERE id BETWEEN ' || trade_min || ' AND ' || trade_max || ') o
                          ON o.id = r.trade_id
                   LEFT JOIN (SELECT * FROM obligation_events
                               WHERE obligation_id BETWEEN ' || trade_min || ' AND '
                                                            || trade_max || '
                                 AND kind IN (6, 7)) s
                          ON s.obligation_id = r.trade_id
                   LEFT JOIN voucher_events k
                          ON k.trade_id = r.trade_id AND k.kind = 7 AND k.voucher = r.voucher
                   LEFT JOIN (SELECT * FROM transfers
                               WHERE id BETWEEN ' || xfer_min || ' AND ' || xfer_max || ') t
                          ON t.id = r.transfer_id
                   LEFT JOIN ledger_accounts d ON d.id = t.debit_account_id
                  CROSS JOIN LATERAL (SELECT
                       o.id IS NULL OR t.id IS NULL AS missing,
                       CASE
                         WHEN o.id IS NULL THEN ''its trade does not exist''
                         WHEN t.id IS NULL THEN ''its transfer does not exist''
                         WHEN s.obligation_id IS NULL OR s.seq <> r.seq
                           THEN ''its trade did not settle or fail in the event''''s request''
                         WHEN r.beneficiary <> o.buyer OR r.provider <> o.provider
                           THEN ''it is not for its trade''''s buyer and provider''
                         WHEN k.seq IS NULL
                           THEN ''its voucher paid nothing for the trade at its fill''
                         WHEN r.amount_fen <> CASE s.kind
                                WHEN 7 THEN k.amount_fen
                                ELSE k.amount_fen - least(k.amount_fen,
                                         div(o.price::numeric * s.delivered_quantity
                                             * p.share_bps, 10000)) END
                           THEN ''it does not return the voucher''''s part of the undelivered''
                         WHEN t.code <> 10 OR t.flags <> 0 THEN
                           ''its transfer is not a single-phase voucher transfer''
                         WHEN t.amount <> r.amount_fen THEN
                           ''its transfer moved another amount''
                         WHEN d.owner <> r.beneficiary OR d.purpose <> 3 THEN
                           ''its transfer is not paid from the beneficiary''''s escrow account''
                         WHEN t.credit_account_id <> p.budget_account_id THEN
                           ''its transfer is not paid to the program''''s budget account''
                         WHEN t.user_data <> r.trade_id OR t.seq <> r.seq THEN
                           ''its transfer is not for its trade and request''
                       END AS why) x
                  WHERE r.kind = 8 AND x.why IS NOT NULL
                  ORDER BY x.missing DESC, r.seq, r.idx
                  LIMIT 1' INTO bad;
        GET DIAGNOSTICS found_bad = ROW_COUNT;
        IF found_bad > 0 THEN
            RAISE EXCEPTION 'voucher event (seq %, idx %, kind %) for trade % (transfer %): %',
                            bad.seq, bad.idx, bad.kind, bad.trade_id, bad.transfer_id, bad.why
                USING ERRCODE = CASE WHEN bad.missing THEN 'foreign_key_violation'
                                     ELSE 'check_violation' END;
        END IF;
    END IF;

    -- Both sides of one deal are paid only when both programs allow it, whether a side
    -- was paid after settlement (kind 5) or at the fill (kind 7).
    IF EXISTS (SELECT 1 FROM new_rows r WHERE r.kind IN (5, 7)) THEN
        SELECT r.seq, r.idx, r.trade_id INTO bad
          FROM new_rows r
          JOIN voucher_events e
            ON e.trade_id = r.trade_id AND e.kind IN (5, 7) AND e.side <> r.side
          JOIN voucher_programs p1 ON p1.id = r.program
          JOIN voucher_programs p2 ON p2.id = e.program
         WHERE r.kind IN (5, 7) AND NOT (p1.allow_both_sides AND p2.allow_both_sides)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'voucher event (seq %, idx %): both sides of trade % were paid, '
                            'which one of their programs forbids', bad.seq, bad.idx, bad.trade_id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;

    -- The vouchers this statement spends or gives back to (redemptions, payments at
    -- fills, returns, revocations), locked (see 0006), then checked over all their
    -- events: redeemed (redemptions and payments at fills, less returns) + revoked never
    -- exceed the face value, and nothing is redeemed after the voucher was revoked (a
    -- payment at a fill was promised at its cover, whose seq the rule above checks).
    IF EXISTS (SELECT 1 FROM new_rows r WHERE r.kind IN (4, 5, 7, 8)) THEN
        PERFORM 1 FROM vouchers v
          WHERE v.id IN (SELECT r.voucher FROM new_rows r WHERE r.kind IN (4, 5, 7, 8))
          ORDER BY v.id
          FOR NO KEY UPDATE;
        EXECUTE 'SELECT v.id, v.face_fen, s.redeemed, s.revoked, s.revoked_seq,
                        s.last_redeemed_seq,
                        CASE WHEN s.redeemed + s.revoked > v.face_fen
                             THEN ''it paid past its face value''
                             ELSE ''it paid after it was revoked'' END AS why
                   FROM vouchers v
                   CROSS JOIN LATERAL (
                        SELECT coalesce(sum(e.amount_fen) FILTER (WHERE e.kind IN (5, 7)), 0)
                                 - coalesce(sum(e.amount_fen) FILTER (WHERE e.kind = 8), 0)
                                   AS redeemed,
                               coalesce(sum(e.amount_fen) FILTER (WHERE e.kind = 4), 0)
                                   AS revoked,
                               min(e.seq) FILTER (WHERE e.kind = 4) AS revoked_seq,
                               max(e.seq) FILTER (WHERE e.kind = 5) AS last_redeemed_seq
                          FROM voucher_events e
                         WHERE e.voucher = v.id AND e.kind IN (4, 5, 7, 8)) s
                  WHERE v.id IN (SELECT r.voucher FROM new_rows r WHERE r.kind IN (4, 5, 7, 8))
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

-- The views of 0006 count a payment at a fill as redeemed and its return as given back
-- (redeemed_fen is what the voucher paid and kept paid), and count payments at fills
-- among the redemptions. Their columns stay as they were (CREATE OR REPLACE VIEW can
-- only add columns at the end), and they keep their grants.
--
-- voucher_program_status adds held_fen: what the budget account holds for open orders
-- (its pending debits), which budget_left_fen already excludes. So funded_fen -
-- redeemed_fen - held_fen is budget_left_fen.
CREATE OR REPLACE VIEW voucher_program_status AS
SELECT p.id, p.issuer, p.name, p.budget_account_id,
       coalesce(e.funded_fen, 0) AS funded_fen,
       a.credits_posted - a.debits_posted - a.debits_pending AS budget_left_fen,
       coalesce(e.granted_fen, 0) AS granted_fen,
       coalesce(e.revoked_fen, 0) AS revoked_fen,
       coalesce(e.redeemed_fen, 0) AS redeemed_fen,
       coalesce(e.vouchers, 0) AS vouchers,
       coalesce(e.redemptions, 0) AS redemptions,
       coalesce(e.refusals, 0) AS refusals,
       a.debits_pending AS held_fen
  FROM voucher_programs p
  JOIN ledger_accounts a ON a.id = p.budget_account_id
  LEFT JOIN (SELECT program,
                    sum(amount_fen) FILTER (WHERE kind IN (1, 2)) AS funded_fen,
                    sum(amount_fen) FILTER (WHERE kind = 3) AS granted_fen,
                    sum(amount_fen) FILTER (WHERE kind = 4) AS revoked_fen,
                    sum(amount_fen) FILTER (WHERE kind IN (5, 7))
                      - coalesce(sum(amount_fen) FILTER (WHERE kind = 8), 0) AS redeemed_fen,
                    count(*) FILTER (WHERE kind = 3) AS vouchers,
                    count(*) FILTER (WHERE kind IN (5, 7)) AS redemptions,
                    count(*) FILTER (WHERE kind = 6) AS refusals
               FROM voucher_events
              GROUP BY program) e ON e.program = p.id;

-- Each voucher's balance: face value less what it redeemed (kept, after returns) and
-- what revocation took back.
CREATE OR REPLACE VIEW voucher_balances AS
SELECT v.id, v.program, v.beneficiary, v.ref, v.face_fen,
       coalesce(s.redeemed_fen, 0) AS redeemed_fen,
       coalesce(s.revoked_fen, 0) AS revoked_fen,
       v.face_fen - coalesce(s.redeemed_fen, 0) - coalesce(s.revoked_fen, 0) AS balance_fen,
       coalesce(s.redemptions, 0) AS redemptions,
       s.revoked_seq IS NOT NULL AS revoked,
       v.expiry_ns, v.granted_seq
  FROM vouchers v
  LEFT JOIN (SELECT voucher,
                    sum(amount_fen) FILTER (WHERE kind IN (5, 7))
                      - coalesce(sum(amount_fen) FILTER (WHERE kind = 8), 0) AS redeemed_fen,
                    sum(amount_fen) FILTER (WHERE kind = 4) AS revoked_fen,
                    count(*) FILTER (WHERE kind IN (5, 7)) AS redemptions,
                    min(seq) FILTER (WHERE kind = 4) AS revoked_seq
               FROM voucher_events
              WHERE kind IN (4, 5, 7, 8)
              GROUP BY voucher) s ON s.voucher = v.id;

-- Each redemption and payment at a fill with the transfer that paid it and the limit
-- that cut it, if any; `kind` says which (5 after settlement, 7 at the fill). A payment
-- at a fill may be given back in part: voucher_returns lists that.
CREATE OR REPLACE VIEW voucher_redemptions AS
SELECT e.seq, e.idx, e.ts_ns, e.program, e.voucher, e.trade_id, e.side, e.beneficiary,
       e.provider, e.amount_fen, e.share_fen, e.reason AS limited_by, r.name AS limited_by_name,
       e.cap_period, e.transfer_id, t.debit_account_id, t.credit_account_id,
       t.amount AS transfer_amount, t.code AS transfer_code, t.user_data AS transfer_user_data,
       t.seq AS transfer_seq, e.kind
  FROM voucher_events e
  JOIN transfers t ON t.id = e.transfer_id
  JOIN voucher_reasons r ON r.reason = e.reason
 WHERE e.kind IN (5, 7);

-- Each return with the transfer that gave the money back to the program's budget.
CREATE VIEW voucher_returns AS
SELECT e.seq, e.idx, e.ts_ns, e.program, e.voucher, e.trade_id, e.side, e.beneficiary,
       e.provider, e.amount_fen, e.cap_period, e.transfer_id, t.debit_account_id,
       t.credit_account_id, t.amount AS transfer_amount, t.code AS transfer_code,
       t.user_data AS transfer_user_data, t.seq AS transfer_seq
  FROM voucher_events e
  JOIN transfers t ON t.id = e.transfer_id
 WHERE e.kind = 8;

GRANT SELECT ON voucher_returns TO cpx_app;
GRANT SELECT ON voucher_returns TO cpx_regulator;
