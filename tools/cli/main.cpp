// cpx: the command-line client of the exchange, for people (tables) and scripts
// (--json: one JSON object a line, errors included).

#include <iostream>

#include "audit_commands.hpp"
#include "client.hpp"

namespace {

constexpr const char* kHelp =
    R"(usage: cpx [--target HOST:PORT] [--api-key KEY] [--json] COMMAND [--option value ...]

The key may also come from CPX_API_KEY and the target from CPX_TARGET (127.0.0.1:7070).
Prices and amounts are CNY with at most two decimals ("15.20") or fen ("1520fen").
Times are UTC ("2026-12-01T08:00:00Z") or nanoseconds since the epoch.

trading and reading
  place        --instrument ID --side buy|sell --quantity N [--price P] [--type limit|market]
               [--tif gtc|gtd|ioc|fok] [--expiry T] [--min-quantity N] [--post-only]
               [--all-or-none] [--client-order-id ID]
  cancel       --order-id ID | --orig-client-order-id ID
  replace      --order-id ID --price P --quantity N
  mass-cancel  [--instrument ID]
  book         --instrument ID [--levels N]
  trades       --instrument ID [--count N]     (waits for the next N trades)
  orders       [--account ID] [--instrument ID]
  fills        [--account ID] [--instrument ID]
  history      --order ID | [--account ID] [--from T] [--to T]
               (an order's life, or an account's reports, from the record: each report
               with its command's receipt, sequencing and acknowledgement times; your
               own, or any for an operator or a regulator)
  balances     [--account ID]
  instruments

settlement
  obligations       [--account ID] [--state open|delivered|disputed]
                    (the obligations of trades not yet settled: your own, or any for an
                    operator or a regulator)
  confirm-delivery  --obligation ID --quantity N        (provider: what it delivered)
  dispute           --obligation ID [--note TEXT]        (buyer, within the dispute period)
  resolve-dispute   --obligation ID --uphold|--reject [--note TEXT]    (operator)
  settle            [--limit N]     (operator: settle or fail what is due; 0 = no limit)

operator
  add-instrument    --id N --symbol S --hub H --window-start T --window-end T [--kind compute|token]
                    [--tick P] [--lot N] [--quantity-min N] [--quantity-max N] [--price-min P]
                    [--price-max P] [--band-bps N] [--reference P] [--protection-ticks N]
                    [--state continuous|auction|closed|halted] [--accelerator-model M]
  halt | halt-and-cancel | resume | start-auction | freeze-auction | end-auction | close
                    --instrument ID
  set-reference     --instrument ID --reference P
  create-account    --name S --role provider|buyer|operator|regulator|issuer [--owner-group S]
                    [--quantity-max N] [--notional-max P] [--orders-per-second N]
  create-key        --account ID
  deposit           --account ID --amount P --deposit-id S
  credit-collateral --account ID --amount P --deposit-id S   (a provider's collateral)
  register-capacity --account ID --hub H --window-start T --window-end T
                    (--model M --devices N | --kind token --bundles N) [--green-bps N]
  set-accelerators  --models H100-SXM=989,ASCEND-910B=320:domestic

vouchers (算力券)
  voucher create-program  --issuer ID --name S --share-bps N --valid-from T --valid-until T
                    [--budget P] [--mode discount|rebate] [--side buyer|provider]
                    [--cap P] [--cap-period D] [--pool-cap P] [--kinds compute,token]
                    [--hubs H,H] [--models M,M] [--domestic-only] [--providers ID,ID]
                    [--allow-affiliated] [--allow-both-sides true|false]
                    (operator; D is nanoseconds or a count of days "365d" or hours "24h")
  voucher fund      --program ID --amount P --ref S     (operator: more of the issuer's money)
  voucher grant     --program ID --account ID --face P --expiry T --ref S      (operator)
  voucher revoke    --voucher ID                        (operator)
  voucher programs  [--program ID]   (operator, regulator: all; issuer: its own; others: theirs)
  voucher list      [--program ID] [--account ID]
  voucher report    [--program ID] [--group beneficiary|provider|period] [--csv]
                    (operator, regulator, issuer; --csv: program,group,key,period_start_ns,
                    redeemed_fen,redemptions)

audit (reads PostgreSQL directly, not cpxd)
  audit verify      --database URL (--public-key HEX | --public-key-file PATH)
                    (a regulator: recomputes every audit record, the chain, the signed
                    checkpoints and the balances from the tables; exit status 0 when the
                    record verifies, 1 when it does not, listing the problems)
  audit export      --database URL --from TIME [--to TIME] --out DIR
                    (the journal rows of a time range with their transfers and trades,
                    as CSV with their hashes, up to the signed checkpoint after them)
  audit verify      --export DIR (--public-key HEX | --public-key-file PATH)
                    (an export checked offline: every record, the chain, and the signed
                    checkpoint's root from the records and the anchor's peaks)
)";

}  // namespace

int main(int argc, char** argv) {
    try {
        auto [global, args] = cpx::cli::parse(argc, argv);
        if (args.command() == "help") {
            std::cout << kHelp;
            return 0;
        }
        // The regulator's audit needs no connection to cpxd.
        if (cpx::cli::is_audit_command(args.command())) {
            return cpx::cli::run_audit_command(global, args);
        }
        cpx::cli::Client client(global);
        if (cpx::cli::is_trading_command(args.command())) {
            return cpx::cli::run_trading_command(client, args);
        }
        if (cpx::cli::is_admin_command(args.command())) {
            return cpx::cli::run_admin_command(client, args);
        }
        if (cpx::cli::is_settlement_command(args.command())) {
            return cpx::cli::run_settlement_command(client, args);
        }
        if (cpx::cli::is_voucher_command(args.command())) {
            return cpx::cli::run_voucher_command(client, args);
        }
        throw cpx::cli::UsageError("unknown command '" + args.command() + "'");
    } catch (const cpx::cli::UsageError& e) {
        std::cerr << "cpx: " << e.what() << "\n(cpx --help lists the commands)\n";
        return 2;
    }
}
