-- Market surveillance's alerts (services/surveillance), as the ledger projector writes
-- them in the transaction of the batch whose requests raised them: each alert names its
-- rule, the request that completed its evidence (seq, and idx among that request's
-- alerts), whom it is about, and its evidence (exchange order ids and trade ids). The
-- rules are those of cpx/surveillance/surveillance.hpp; docs/AUDIT.md describes them.
-- Like the rest of the record, alerts are append-only: a regulator's view of what was
-- seen cannot be edited afterwards.

CREATE TABLE surveillance_rules (
    rule smallint PRIMARY KEY,
    name text     NOT NULL UNIQUE
);
INSERT INTO surveillance_rules (rule, name) VALUES
    (1, 'wash_trade'),
    (2, 'spoofing'),
    (3, 'price_band_probing'),
    (4, 'voucher_affiliated_deal'),
    (5, 'voucher_claimed_twice');

CREATE TABLE surveillance_alerts (
    seq        bigint   NOT NULL CHECK (seq > 0),
    idx        integer  NOT NULL CHECK (idx >= 0),
    rule       smallint NOT NULL REFERENCES surveillance_rules (rule),
    ts_ns      bigint   NOT NULL CHECK (ts_ns >= 0),
    account    bigint   NOT NULL CHECK (account > 0),
    instrument bigint   NOT NULL CHECK (instrument >= 0),  -- 0: not about one instrument
    orders     bigint[] NOT NULL,
    trades     bigint[] NOT NULL,
    detail     text     NOT NULL,
    PRIMARY KEY (seq, idx),
    CHECK (cardinality(orders) + cardinality(trades) > 0)  -- an alert has evidence
);
COMMENT ON TABLE surveillance_alerts IS
    'Surveillance alerts with their evidence, raised by the rules over the journal.';
CREATE INDEX surveillance_alerts_account ON surveillance_alerts (account);
CREATE INDEX surveillance_alerts_ts ON surveillance_alerts (ts_ns);

CREATE TRIGGER surveillance_alerts_append_only BEFORE UPDATE OR DELETE ON surveillance_alerts
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER surveillance_alerts_no_truncate BEFORE TRUNCATE ON surveillance_alerts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER surveillance_rules_append_only BEFORE UPDATE OR DELETE ON surveillance_rules
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

GRANT SELECT, INSERT ON surveillance_alerts TO cpx_app;
GRANT SELECT ON surveillance_rules TO cpx_app;
