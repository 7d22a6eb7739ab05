// The regulator's verifier (services/verifier) against a real PostgreSQL: an honest
// market's record verifies; every way an insider with the superuser's rights can rewrite
// it (a table row, the log, a balance, a checkpoint, and the log recomputed to match) is
// caught, and the problem names the row.

#include <chrono>
#include <string>

#include "verifier_fixture.hpp"

namespace cpx::verifier::test {
namespace {

using audit::RecordKind;

// A transfer of a given code with its audit_log position: the first one, by id.
struct Located {
    std::int64_t id = 0;
    std::int64_t position = 0;
};

class Verifier : public AuditedMarket {
  protected:
    Located transfer(const std::string& where) const {
        Located t;
        t.id = scalar("SELECT min(id) FROM transfers WHERE " + where);
        EXPECT_GT(t.id, 0) << "no transfer where " << where;
        t.position = position_of(RecordKind::Transfer, t.id);
        return t;
    }
    std::string name(const Located& t) const { return "transfer " + std::to_string(t.id); }
    static std::string at(std::int64_t position) {
        return "audit_log position " + std::to_string(position);
    }
};

TEST_F(Verifier, AnHonestMarketVerifiesWithEveryRecordCheckpointAndAccountCounted) {
    const VerifyReport report = verify();
    EXPECT_TRUE(report.ok()) << problems_of(report);
    EXPECT_EQ(report.journal_records, journal_seq_);
    EXPECT_EQ(report.journal_seq, journal_seq_);
    EXPECT_EQ(report.transfer_records,
              static_cast<std::uint64_t>(scalar("SELECT count(*) FROM transfers")));
    EXPECT_EQ(report.trade_records,
              static_cast<std::uint64_t>(scalar("SELECT count(*) FROM obligations")));
    EXPECT_GT(report.trade_records, 10u);
    EXPECT_EQ(report.records,
              report.journal_records + report.transfer_records + report.trade_records);
    EXPECT_EQ(report.records, static_cast<std::uint64_t>(scalar("SELECT count(*) FROM audit_log")));
    // One checkpoint after each of the three batches, the last one covering everything.
    EXPECT_EQ(report.checkpoints, 3u);
    EXPECT_EQ(report.last_checkpoint_size, report.records);
    EXPECT_EQ(report.records_after_last_checkpoint, 0u);
    EXPECT_EQ(report.accounts,
              static_cast<std::uint64_t>(scalar("SELECT count(*) FROM ledger_accounts")));
    EXPECT_EQ(report.transfers, report.transfer_records);
    // The recomputed root and head are the log's and the last checkpoint's.
    EXPECT_EQ(audit::to_hex(report.head),
              text("SELECT encode(head, 'hex') FROM audit_log ORDER BY position DESC LIMIT 1"));
    EXPECT_EQ(audit::to_hex(report.root), text("SELECT encode(root, 'hex') FROM audit_checkpoints "
                                               "ORDER BY tree_size DESC LIMIT 1"));
}

TEST_F(Verifier, TheRegulatorsReadOnlyRoleSufficesToVerify) {
    // The role of db/migrations/0007_audit.sql, which may read every table and write none.
    const auto connection = store::connect(db.url());
    pqxx::nontransaction(*connection).exec0("SET ROLE cpx_regulator");
    const VerifyReport report = verify_record(*connection, key->public_key());
    EXPECT_TRUE(report.ok()) << problems_of(report);
    EXPECT_EQ(report.checkpoints, 3u);
}

TEST_F(Verifier, TheMarketExercisesEveryKindOfTransferTheLedgerRecomputes) {
    // Posted, pending, post and void rows, so that the balance recomputation of the
    // other tests covers every rule of ledger_apply_transfers().
    for (const int flags : {0, 1, 2, 4}) {
        EXPECT_GT(scalar("SELECT count(*) FROM transfers WHERE flags = " + std::to_string(flags)),
                  0)
            << "flags " << flags;
    }
}

TEST_F(Verifier, ReadingInSmallChunksGivesTheSameReport) {
    VerifyOptions options;
    options.chunk_rows = 7;
    const VerifyReport small = verify(key->public_key(), options);
    const VerifyReport whole = verify();
    EXPECT_TRUE(small.ok()) << problems_of(small);
    EXPECT_EQ(small.records, whole.records);
    EXPECT_EQ(small.checkpoints, whole.checkpoints);
    EXPECT_EQ(small.accounts, whole.accounts);
    EXPECT_EQ(small.root, whole.root);
    EXPECT_EQ(small.head, whole.head);
}

TEST_F(Verifier, AChangedTransferAmountIsNamedAtItsPosition) {
    const Located t = transfer("code = 5 AND flags = 0");  // a fill's payment into escrow
    as_insider("UPDATE transfers SET amount = amount + 1 WHERE id = " + std::to_string(t.id));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems.front().find(at(t.position) + ": " + name(t) +
                                           " differs from what was recorded"),
              std::string::npos)
        << problems_of(report);
    // The balances no longer add up either, and the signed root no longer matches.
    EXPECT_TRUE(has_problem(report, {"ledger account", "posted is"})) << problems_of(report);
    EXPECT_TRUE(has_problem(report, {"checkpoint at tree_size", "Merkle root"}))
        << problems_of(report);
}

TEST_F(Verifier, ADeletedTransferIsReportedMissingFromTransfers) {
    const Located t = transfer("code = 1");  // a deposit
    as_insider("DELETE FROM transfers WHERE id = " + std::to_string(t.id));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems.front(),
              name(t) + " (" + at(t.position) + ") is missing from transfers")
        << problems_of(report);
}

TEST_F(Verifier, AnInsertedTransferIsReportedAsNotInTheLog) {
    // Into a gap of the ids (a transfer the projector netted away), between two deposit
    // accounts: a row no request of the journal made.
    const std::int64_t id = scalar(
        "SELECT min(t.id) + 1 FROM transfers t WHERE NOT EXISTS "
        "(SELECT 1 FROM transfers u WHERE u.id = t.id + 1) AND t.id < (SELECT max(id) FROM "
        "transfers)");
    ASSERT_GT(id, 0);
    const Located deposit = transfer("code = 1");
    as_insider(
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, flags, code, "
        "seq, ts_ns, user_data) SELECT " +
        std::to_string(id) +
        ", debit_account_id, credit_account_id, 500, 0, 1, seq, ts_ns, 0 FROM transfers "
        "WHERE id = " +
        std::to_string(deposit.id));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems.front(),
              "transfer " + std::to_string(id) + " is in transfers but not in the audit log")
        << problems_of(report);
    // Under replica mode the balance trigger did not run: the totals are short by it.
    EXPECT_TRUE(has_problem(report, {"ledger account", "the transfers add up to"}))
        << problems_of(report);
}

TEST_F(Verifier, SwappedTransferAmountsAreNamedAtBothPositions) {
    const Located a = transfer("code = 5 AND flags = 0");
    const Located b = transfer(
        "code = 5 AND flags = 0 AND amount <> (SELECT amount FROM "
        "transfers WHERE id = " +
        std::to_string(a.id) + ")");
    as_insider("UPDATE transfers SET amount = CASE id WHEN " + std::to_string(a.id) +
               " THEN (SELECT amount FROM transfers WHERE id = " + std::to_string(b.id) +
               ") ELSE (SELECT amount FROM transfers WHERE id = " + std::to_string(a.id) +
               ") END WHERE id IN (" + std::to_string(a.id) + ", " + std::to_string(b.id) + ")");
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems.front().find(at(a.position) + ": " + name(a) + " differs"),
              std::string::npos)
        << problems_of(report);
    EXPECT_TRUE(has_problem(report, {at(b.position) + ": " + name(b) + " differs"}))
        << problems_of(report);
}

TEST_F(Verifier, SwappedLogPositionsAreReportedOutOfOrder) {
    // Two transfers next to each other in the log change places, hashes and all.
    const std::int64_t p = scalar(
        "SELECT min(a.position) FROM audit_log a JOIN audit_log b ON b.position = a.position + 1 "
        "WHERE a.kind = 2 AND b.kind = 2");
    ASSERT_GT(p, 0);
    const std::int64_t first =
        scalar("SELECT ref FROM audit_log WHERE position = " + std::to_string(p));
    const std::int64_t second =
        scalar("SELECT ref FROM audit_log WHERE position = " + std::to_string(p + 1));
    const std::string q = std::to_string(p);
    const std::string q1 = std::to_string(p + 1);
    as_insider("UPDATE audit_log SET position = 1000000000 WHERE position = " + q + ";" +
               "UPDATE audit_log SET position = " + q + " WHERE position = " + q1 + ";" +
               "UPDATE audit_log SET position = " + q1 + " WHERE position = 1000000000");
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems.front(), at(p) + ": the log is out of order: it holds transfer " +
                                           std::to_string(second) + " before transfer " +
                                           std::to_string(first) + " (" + at(p + 1) + ")")
        << problems_of(report);
}

TEST_F(Verifier, AChangedTradePriceIsNamedAtItsPosition) {
    const std::int64_t trade = scalar("SELECT min(id) FROM obligations");
    const std::int64_t position = position_of(RecordKind::Trade, trade);
    // The amount follows the price: the table's CHECK holds even with the triggers off.
    as_insider(
        "UPDATE obligations SET price = price + 1, amount_fen = (price + 1) * quantity "
        "WHERE id = " +
        std::to_string(trade));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems.front().find(at(position) + ": trade " + std::to_string(trade) +
                                           " differs from what was recorded"),
              std::string::npos)
        << problems_of(report);
}

TEST_F(Verifier, AChangedJournalBodyIsNamedAtItsPosition) {
    // A journalled order (kind 1, NewOrder): its body with one more byte.
    const std::int64_t seq = scalar("SELECT min(seq) FROM journal WHERE kind = 1");
    const std::int64_t position = position_of(RecordKind::Journal, seq);
    as_insider("UPDATE journal SET body = body || '\\x00'::bytea WHERE seq = " +
               std::to_string(seq));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_NE(report.problems.front().find(at(position) + ": journal seq " + std::to_string(seq) +
                                           " differs from what was recorded"),
              std::string::npos)
        << problems_of(report);
}

TEST_F(Verifier, AnEditedBalanceIsNamedWithTheTotalThatDiffers) {
    const std::int64_t account =
        scalar("SELECT min(credit_account_id) FROM transfers WHERE code = 1");
    const std::int64_t stored =
        scalar("SELECT credits_posted FROM ledger_accounts WHERE id = " + std::to_string(account));
    as_insider("UPDATE ledger_accounts SET credits_posted = credits_posted + 100 WHERE id = " +
               std::to_string(account));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    ASSERT_EQ(report.problems.size(), 1u) << problems_of(report);
    EXPECT_EQ(report.problems.front(), "ledger account " + std::to_string(account) +
                                           ": credits_posted is " + std::to_string(stored + 100) +
                                           " in ledger_accounts, but the transfers add up to " +
                                           std::to_string(stored));
}

TEST_F(Verifier, AReplacedCheckpointRootFailsItsSignatureAndTheRecomputedRoot) {
    const std::int64_t size = scalar("SELECT min(tree_size) FROM audit_checkpoints");
    as_insider("UPDATE audit_checkpoints SET root = sha256('forged'::bytea) WHERE tree_size = " +
               std::to_string(size));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    const std::string name = "checkpoint at tree_size " + std::to_string(size);
    EXPECT_EQ(report.problems.front().rfind(name + ": its signature does not verify", 0), 0u)
        << problems_of(report);
    EXPECT_TRUE(has_problem(report, {name + ": the Merkle root"})) << problems_of(report);
}

TEST_F(Verifier, ACheckpointResignedWithAnotherKeyFails) {
    // The insider signs a checkpoint of the true root with a key of their own.
    const audit::SigningKey other = audit::SigningKey::from_seed(seed_of(99));
    const std::int64_t size = scalar("SELECT max(tree_size) FROM audit_checkpoints");
    const std::int64_t ts =
        scalar("SELECT ts_ns FROM audit_checkpoints WHERE tree_size = " + std::to_string(size));
    const VerifyReport honest = verify();
    const audit::Checkpoint forged =
        audit::sign_checkpoint(other, static_cast<std::uint64_t>(size), honest.root, ts);
    as_insider("UPDATE audit_checkpoints SET signature = '" +
               bytea_hex(std::string_view(reinterpret_cast<const char*>(forged.signature.data()),
                                          forged.signature.size())) +
               "'::bytea WHERE tree_size = " + std::to_string(size));
    const VerifyReport report = verify();
    ASSERT_EQ(report.problems.size(), 1u) << problems_of(report);
    EXPECT_EQ(report.problems.front().rfind(
                  "checkpoint at tree_size " + std::to_string(size) +
                      ": its signature does not verify under the given public key",
                  0),
              0u);
    // The same database verifies under the insider's key only if the insider's key is
    // the one the regulator was given: here, the others still fail.
    EXPECT_FALSE(verify(other.public_key()).ok());
}

TEST_F(Verifier, AForgedCheckpointSignatureFails) {
    const std::int64_t size = scalar("SELECT min(tree_size) FROM audit_checkpoints");
    as_insider(
        "UPDATE audit_checkpoints SET signature = sha512('forged'::bytea) "
        "WHERE tree_size = " +
        std::to_string(size));
    const VerifyReport report = verify();
    ASSERT_EQ(report.problems.size(), 1u) << problems_of(report);
    EXPECT_EQ(report.problems.front().rfind(
                  "checkpoint at tree_size " + std::to_string(size) + ": its signature", 0),
              0u);
}

TEST_F(Verifier, AnotherPublicKeyVerifiesNoCheckpoint) {
    const VerifyReport report = verify(audit::SigningKey::from_seed(seed_of(42)).public_key());
    EXPECT_EQ(report.problems.size(), report.checkpoints) << problems_of(report);
    for (const std::string& problem : report.problems) {
        EXPECT_NE(problem.find("its signature does not verify under the given public key"),
                  std::string::npos)
            << problem;
    }
}

TEST_F(Verifier, ARewrittenLeafHashWithTheOldChainIsNamedByTheChainHead) {
    const Located t = transfer("code = 1");
    as_insider("UPDATE transfers SET user_data = 12345 WHERE id = " + std::to_string(t.id));
    recompute_log_from(t.position, /*heads=*/false);
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems.front().rfind(
                  at(t.position) + ": the chain head differs (the log was rewritten)", 0),
              0u)
        << problems_of(report);
}

TEST_F(Verifier, ARewrittenTransferWithTheWholeLogRecomputedIsCaughtByTheCheckpointRoot) {
    // The insider raises a deposit, keeps the balances consistent with it, and recomputes
    // the transfer's leaf hash and every later head: the tables, the log and the ledger
    // agree, and only the signed checkpoints remember the original.
    const Located t = transfer("code = 1 AND flags = 0");
    as_insider("UPDATE transfers SET amount = amount + 100 WHERE id = " + std::to_string(t.id) +
               ";" +
               "UPDATE ledger_accounts SET debits_posted = debits_posted + 100 WHERE id = "
               "(SELECT debit_account_id FROM transfers WHERE id = " +
               std::to_string(t.id) + ");" +
               "UPDATE ledger_accounts SET credits_posted = credits_posted + 100 WHERE id = "
               "(SELECT credit_account_id FROM transfers WHERE id = " +
               std::to_string(t.id) + ")");
    recompute_log_from(t.position);
    const std::int64_t signed_before =
        scalar("SELECT coalesce(max(tree_size), 0) FROM audit_checkpoints WHERE tree_size <= " +
               std::to_string(t.position));
    const std::int64_t first_after =
        scalar("SELECT min(tree_size) FROM audit_checkpoints WHERE tree_size > " +
               std::to_string(t.position));

    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    // The first problem is the first checkpoint after the change, and it names the
    // positions between it and the last checkpoint that still holds: the changed row's.
    EXPECT_EQ(
        report.problems.front().rfind(
            "checkpoint at tree_size " + std::to_string(first_after) + ": the Merkle root", 0),
        0u)
        << problems_of(report);
    EXPECT_NE(
        report.problems.front().find("a record among positions " + std::to_string(signed_before) +
                                     " to " + std::to_string(first_after - 1) + " was changed"),
        std::string::npos)
        << problems_of(report);
    EXPECT_FALSE(has_problem(report, {"differs from what was recorded"})) << problems_of(report);
    EXPECT_FALSE(has_problem(report, {"chain head"})) << problems_of(report);
    EXPECT_FALSE(has_problem(report, {"ledger account"})) << problems_of(report);
}

TEST_F(Verifier, ARowRemovedFromTheLogLeavesAGapInThePositions) {
    const Located t = transfer("code = 5");
    as_insider("DELETE FROM audit_log WHERE position = " + std::to_string(t.position));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems.front(), at(t.position + 1) + " follows position " +
                                           std::to_string(t.position - 1) + ": positions " +
                                           std::to_string(t.position) + " to " +
                                           std::to_string(t.position) + " are missing from the log")
        << problems_of(report);
    EXPECT_TRUE(has_problem(report, {name(t) + " is in transfers but not in the audit log"}))
        << problems_of(report);
}

TEST_F(Verifier, ARepeatedLogRowIsReported) {
    // The log has no unique index on (kind, ref) (0007 says why): the insider appends a
    // copy of a transfer's row, and only the verifier can see it.
    const Located t = transfer("code = 5");
    const std::int64_t records = scalar("SELECT count(*) FROM audit_log");
    as_insider(
        "INSERT INTO audit_log (position, kind, ref, seq, leaf_hash, head) "
        "SELECT " +
        std::to_string(records) +
        ", kind, ref, seq, leaf_hash, head FROM audit_log WHERE position = " +
        std::to_string(t.position));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.problems.front().rfind(at(records) + " (" + name(t), 0), 0u)
        << problems_of(report);
    EXPECT_TRUE(
        has_problem(report, {at(records) + ": " + name(t) + " is out of order or repeated"}))
        << problems_of(report);
}

TEST_F(Verifier, ATruncatedLogEndIsCaughtByTheCheckpointBeyondIt) {
    // The insider removes the last batch from the log, and its checkpoint stays.
    const std::int64_t records = scalar("SELECT count(*) FROM audit_log");
    const std::int64_t keep =
        scalar("SELECT max(tree_size) FROM audit_checkpoints WHERE tree_size < " +
               std::to_string(records));
    as_insider("DELETE FROM audit_log WHERE position >= " + std::to_string(keep));
    const VerifyReport report = verify();
    ASSERT_FALSE(report.ok());
    EXPECT_TRUE(has_problem(
        report, {"checkpoint at tree_size " + std::to_string(records) +
                 " is beyond the audit log, which holds " + std::to_string(keep) + " records"}))
        << problems_of(report);
    EXPECT_TRUE(has_problem(report, {"journal seq " + std::to_string(journal_seq_) +
                                     " is in journal but not in the audit log"}))
        << problems_of(report);
}

TEST_F(Verifier, TheReportKeepsTheFirstProblemsAndCountsTheRest) {
    as_insider("UPDATE transfers SET user_data = user_data + 1");
    VerifyOptions options;
    options.problems_max = 3;
    const VerifyReport report = verify(key->public_key(), options);
    EXPECT_EQ(report.problems.size(), 3u);
    EXPECT_GT(report.problems_omitted, 0u);
    EXPECT_FALSE(report.ok());
}

// The verifier reads one snapshot of the database: while the projector commits batch
// after batch (records, progress and checkpoint in one transaction each), every
// verification in between sees a whole record, never a log ahead of its tables or
// behind them.
TEST(VerifierWhileProjecting, EveryVerificationDuringProjectionSeesAConsistentRecord) {
    cpx::test::TestDatabase db;
    JournalledExchange x(db.url(), projector::test::test_config());
    x.add_tokens();
    const Party alice = x.buyer("alice", 50'000'000);
    const Party pat = x.provider("pat", 1'000'000);
    for (int i = 0; i < 150; ++i) {
        x.now += 1'000;
        x.sell(pat, 1'000 + i % 3, 1 + i % 3);
        x.buy(alice, 1'001 + i % 3, 1 + (i + 1) % 3);
    }
    x.flush();

    projector::ProjectorConfig config = projector::test::projector_config(db.url(), 4);
    config.audit_key =
        std::make_shared<const audit::SigningKey>(audit::SigningKey::from_seed(seed_of(7)));
    config.audit_checkpoint_interval_ns = 0;
    projector::LedgerProjector projector(config);
    projector.start();
    const auto connection = store::connect(db.url());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int verified = 0;
    while (projector.projected_seq() < x.last_seq()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the projector is stuck";
        const VerifyReport report = verify_record(*connection, config.audit_key->public_key());
        ASSERT_TRUE(report.ok()) << "verification " << verified << problems_of(report);
        ++verified;
    }
    projector.stop();
    const VerifyReport last = verify_record(*connection, config.audit_key->public_key());
    EXPECT_TRUE(last.ok()) << problems_of(last);
    EXPECT_EQ(last.journal_records, x.last_seq()) << verified << " verifications meanwhile";
    EXPECT_EQ(last.records_after_last_checkpoint, 0u);
    // The projection takes dozens of batches: the loop above verified between them.
    EXPECT_GT(verified, 0);
}

}  // namespace
}  // namespace cpx::verifier::test
