// Commands of traders and readers: orders, the book, trades, fills, balances, and an
// order's recorded life.

#include <iostream>
#include <map>
#include <random>

#include "client.hpp"

namespace cpx::cli {

namespace {

std::string new_client_order_id() {
    std::random_device random;
    std::uniform_int_distribution<std::uint64_t> any;
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "cli-%016llx",
                  static_cast<unsigned long long>(any(random)));
    return buffer;
}

cpx::v1::Side parse_side(const std::string& text) {
    if (text == "buy") {
        return cpx::v1::SIDE_BUY;
    }
    if (text == "sell") {
        return cpx::v1::SIDE_SELL;
    }
    throw UsageError("--side must be buy or sell");
}

const char* status_name(cpx::v1::OrderStatus status) {
    switch (status) {
        case cpx::v1::ORDER_STATUS_NEW:
            return "new";
        case cpx::v1::ORDER_STATUS_PARTIALLY_FILLED:
            return "partially filled";
        case cpx::v1::ORDER_STATUS_FILLED:
            return "filled";
        case cpx::v1::ORDER_STATUS_CANCELLED:
            return "cancelled";
        case cpx::v1::ORDER_STATUS_REJECTED:
            return "rejected";
        case cpx::v1::ORDER_STATUS_EXPIRED:
            return "expired";
        default:
            return "-";
    }
}

int print_report(const Global& global, const grpc::Status& status,
                 const cpx::v1::ExecutionReport& report) {
    if (!status.ok()) {
        return print_error(global, status);
    }
    if (global.json) {
        print_json(report);
        return 0;
    }
    std::cout << "order " << report.order_id() << " (" << report.client_order_id()
              << "): " << status_name(report.status()) << ", " << side_name(report.side()) << " "
              << report.quantity() << " @ " << yuan(report.price_fen()) << ", filled "
              << report.filled_quantity() << ", open " << report.leaves_quantity();
    if (!report.reason().empty()) {
        std::cout << " [" << report.reason() << "]";
    }
    if (report.duplicate()) {
        std::cout << " (repeated client order id: first answer)";
    }
    std::cout << "\n";
    for (const cpx::v1::Fill& f : report.fills()) {
        std::cout << "  fill: trade " << f.trade_id() << ", " << f.quantity() << " @ "
                  << yuan(f.price_fen()) << (f.aggressor() ? " (taker)" : " (maker)") << "\n";
    }
    return 0;
}

int place(Client& client, const Args& a) {
    a.reject_unknown({"instrument", "side", "price", "quantity", "type", "tif", "expiry",
                      "min-quantity", "post-only", "all-or-none", "client-order-id"});
    cpx::v1::NewOrder order;
    order.set_client_order_id(a.text_or("client-order-id", new_client_order_id()));
    order.set_instrument_id(static_cast<std::uint32_t>(a.integer("instrument")));
    order.set_side(parse_side(a.text("side")));
    const std::string type = a.text_or("type", "limit");
    if (type != "limit" && type != "market") {
        throw UsageError("--type must be limit or market");
    }
    order.set_order_type(type == "limit" ? cpx::v1::ORDER_TYPE_LIMIT : cpx::v1::ORDER_TYPE_MARKET);
    if (type == "limit" || a.has("price")) {
        order.set_price_fen(a.fen("price"));
    }
    order.set_quantity(a.integer("quantity"));
    const std::string tif = a.text_or("tif", type == "limit" ? "gtc" : "ioc");
    const std::map<std::string, cpx::v1::TimeInForce> tifs = {{"gtc", cpx::v1::TIME_IN_FORCE_GTC},
                                                              {"gtd", cpx::v1::TIME_IN_FORCE_GTD},
                                                              {"ioc", cpx::v1::TIME_IN_FORCE_IOC},
                                                              {"fok", cpx::v1::TIME_IN_FORCE_FOK}};
    if (tifs.count(tif) == 0) {
        throw UsageError("--tif must be gtc, gtd, ioc or fok");
    }
    order.set_time_in_force(tifs.at(tif));
    if (tif == "gtd") {
        order.set_expiry_ns(a.time_ns("expiry"));
    }
    order.set_min_quantity(a.integer_or("min-quantity", 0));
    order.set_post_only(a.flag("post-only"));
    order.set_all_or_none(a.flag("all-or-none"));
    cpx::v1::ExecutionReport report;
    const grpc::Status status = client.orders().PlaceOrder(client.context().get(), order, &report);
    return print_report(client.global(), status, report);
}

int cancel(Client& client, const Args& a) {
    a.reject_unknown({"order-id", "orig-client-order-id", "instrument", "client-order-id"});
    cpx::v1::CancelRequest request;
    request.set_client_order_id(a.text_or("client-order-id", new_client_order_id()));
    request.set_order_id(static_cast<std::uint64_t>(a.integer_or("order-id", 0)));
    request.set_orig_client_order_id(a.text_or("orig-client-order-id", ""));
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer_or("instrument", 0)));
    if (request.order_id() == 0 && request.orig_client_order_id().empty()) {
        throw UsageError("cancel needs --order-id or --orig-client-order-id");
    }
    cpx::v1::ExecutionReport report;
    const grpc::Status status =
        client.orders().CancelOrder(client.context().get(), request, &report);
    return print_report(client.global(), status, report);
}

int replace(Client& client, const Args& a) {
    a.reject_unknown(
        {"order-id", "orig-client-order-id", "instrument", "price", "quantity", "client-order-id"});
    cpx::v1::ReplaceRequest request;
    request.set_client_order_id(a.text_or("client-order-id", new_client_order_id()));
    request.set_order_id(static_cast<std::uint64_t>(a.integer_or("order-id", 0)));
    request.set_orig_client_order_id(a.text_or("orig-client-order-id", ""));
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer_or("instrument", 0)));
    request.set_price_fen(a.fen("price"));
    request.set_quantity(a.integer("quantity"));
    cpx::v1::ExecutionReport report;
    const grpc::Status status =
        client.orders().ReplaceOrder(client.context().get(), request, &report);
    return print_report(client.global(), status, report);
}

int mass_cancel(Client& client, const Args& a) {
    a.reject_unknown({"instrument", "client-order-id"});
    cpx::v1::MassCancelRequest request;
    request.set_client_order_id(a.text_or("client-order-id", new_client_order_id()));
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer_or("instrument", 0)));
    cpx::v1::MassCancelReport report;
    const grpc::Status status =
        client.orders().MassCancel(client.context().get(), request, &report);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(report);
    } else {
        std::cout << "cancelled " << report.cancelled_count() << " orders\n";
    }
    return 0;
}

int book(Client& client, const Args& a) {
    a.reject_unknown({"instrument", "levels"});
    cpx::v1::DepthRequest request;
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer("instrument")));
    const auto levels = static_cast<int>(a.integer_or("levels", 10));
    auto context = client.context();
    auto reader = client.market().StreamDepth(context.get(), request);
    cpx::v1::DepthUpdate snapshot;
    if (!reader->Read(&snapshot)) {
        return print_error(client.global(), reader->Finish());
    }
    context->TryCancel();
    if (client.global().json) {
        print_json(snapshot);
        return 0;
    }
    std::cout << "instrument " << snapshot.instrument_id() << "  seq " << snapshot.seq() << "\n";
    Table table({"bid qty", "bid orders", "bid", "ask", "ask qty", "ask orders"});
    for (int i = 0; i < levels && (i < snapshot.bids_size() || i < snapshot.asks_size()); ++i) {
        std::vector<std::string> row(6);
        if (i < snapshot.bids_size()) {
            const auto& b = snapshot.bids(i);
            row[0] = std::to_string(b.quantity());
            row[1] = std::to_string(b.order_count());
            row[2] = yuan(b.price_fen());
        }
        if (i < snapshot.asks_size()) {
            const auto& s = snapshot.asks(i);
            row[3] = yuan(s.price_fen());
            row[4] = std::to_string(s.quantity());
            row[5] = std::to_string(s.order_count());
        }
        table.add(row);
    }
    table.print();
    return 0;
}

int trades(Client& client, const Args& a) {
    a.reject_unknown({"instrument", "count"});
    cpx::v1::TradesRequest request;
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer("instrument")));
    const std::int64_t count = a.integer_or("count", 10);
    auto context = client.context(false);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto reader = client.market().StreamTrades(context.get(), request);
    cpx::v1::TradeTick tick;
    for (std::int64_t i = 0; i < count && reader->Read(&tick); ++i) {
        if (client.global().json) {
            print_json(tick);
        } else {
            std::cout << time_text(tick.ts_ns()) << "  trade " << tick.trade_id() << "  "
                      << tick.quantity() << " @ " << yuan(tick.price_fen()) << "  aggressor "
                      << side_name(tick.aggressor()) << "\n";
        }
    }
    context->TryCancel();
    return 0;
}

int orders(Client& client, const Args& a) {
    a.reject_unknown({"account", "instrument"});
    cpx::v1::AccountRequest request;
    request.set_account_id(static_cast<std::uint32_t>(a.integer_or("account", 0)));
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer_or("instrument", 0)));
    cpx::v1::OpenOrdersResponse response;
    const grpc::Status status =
        client.account().GetOpenOrders(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    Table table(
        {"order", "client id", "instrument", "side", "price", "quantity", "open", "filled"});
    for (const auto& o : response.orders()) {
        table.add({std::to_string(o.order_id()), o.client_order_id(),
                   std::to_string(o.instrument_id()), side_name(o.side()), yuan(o.price_fen()),
                   std::to_string(o.quantity()), std::to_string(o.leaves_quantity()),
                   std::to_string(o.filled_quantity())});
    }
    table.print();
    return 0;
}

int fills(Client& client, const Args& a) {
    a.reject_unknown({"account", "instrument"});
    cpx::v1::AccountRequest request;
    request.set_account_id(static_cast<std::uint32_t>(a.integer_or("account", 0)));
    request.set_instrument_id(static_cast<std::uint32_t>(a.integer_or("instrument", 0)));
    cpx::v1::FillsResponse response;
    const grpc::Status status =
        client.account().GetFills(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    Table table({"time", "trade", "order", "instrument", "side", "quantity", "price", "role"});
    for (const auto& f : response.fills()) {
        table.add({time_text(f.ts_ns()), std::to_string(f.trade_id()), std::to_string(f.order_id()),
                   std::to_string(f.instrument_id()), side_name(f.side()),
                   std::to_string(f.quantity()), yuan(f.price_fen()),
                   f.aggressor() ? "taker" : "maker"});
    }
    table.print();
    return 0;
}

const char* exec_name(cpx::v1::ExecType exec) {
    switch (exec) {
        case cpx::v1::EXEC_TYPE_NEW:
            return "new";
        case cpx::v1::EXEC_TYPE_TRADE:
            return "trade";
        case cpx::v1::EXEC_TYPE_CANCELLED:
            return "cancelled";
        case cpx::v1::EXEC_TYPE_REPLACED:
            return "replaced";
        case cpx::v1::EXEC_TYPE_REJECTED:
            return "rejected";
        case cpx::v1::EXEC_TYPE_EXPIRED:
            return "expired";
        default:
            return "-";
    }
}

// A time to the microsecond: "2026-12-01T08:00:00.123456Z".
std::string micro_time_text(std::int64_t ns) {
    std::string text = time_text(ns);
    const auto micros = std::to_string(1'000'000 + (ns % 1'000'000'000) / 1'000);
    text.insert(text.size() - 1, "." + micros.substr(1));
    return text;
}

// An order's life, or an account's execution reports, from the record (Audit.OrderHistory,
// every page): each report with its command's receipt by the gateway, its sequencing
// (a trade's match) and its acknowledgement, the last two as microseconds after the
// receipt.
int history(Client& client, const Args& a) {
    a.reject_unknown({"order", "account", "from", "to"});
    cpx::v1::OrderHistoryRequest request;
    request.set_order_id(static_cast<std::uint64_t>(a.integer_or("order", 0)));
    request.set_account_id(static_cast<std::uint64_t>(a.integer_or("account", 0)));
    if (a.has("from")) {
        request.set_from_ns(a.time_ns("from"));
    }
    if (a.has("to")) {
        request.set_to_ns(a.time_ns("to"));
    }
    cpx::v1::OrderHistoryResponse all;
    for (;;) {
        cpx::v1::OrderHistoryResponse page;
        const grpc::Status status =
            client.audit().OrderHistory(client.context().get(), request, &page);
        if (!status.ok()) {
            return print_error(client.global(), status);
        }
        for (const cpx::v1::OrderEvent& e : page.events()) {
            *all.add_events() = e;
        }
        if (!page.more() || page.events().empty()) {
            break;
        }
        const cpx::v1::OrderEvent& last = page.events(page.events_size() - 1);
        request.set_after_seq(last.seq());
        request.set_after_idx(last.idx());
    }
    if (client.global().json) {
        print_json(all);
        return 0;
    }
    const auto after = [](std::int64_t ns, std::int64_t base) {
        return ns == 0 || base == 0 ? std::string("-") : std::to_string((ns - base) / 1'000);
    };
    Table table({"seq", "order", "account", "client id", "event", "status", "reason", "side",
                 "price", "quantity", "leaves", "filled", "trades", "received", "sequenced us",
                 "acknowledged us"});
    for (const cpx::v1::OrderEvent& e : all.events()) {
        std::string trades;
        for (const std::uint64_t id : e.trade_ids()) {
            trades += (trades.empty() ? "" : ",") + std::to_string(id);
        }
        table.add({std::to_string(e.seq()), std::to_string(e.order_id()),
                   std::to_string(e.account_id()), e.client_order_id(),
                   e.mass_cancel() ? std::string("mass cancel ") + exec_name(e.exec_type())
                                   : std::string(exec_name(e.exec_type())),
                   status_name(e.status()), e.reason().empty() ? "-" : e.reason(),
                   side_name(e.side()), yuan(e.price_fen()), std::to_string(e.quantity()),
                   std::to_string(e.leaves_quantity()), std::to_string(e.filled_quantity()),
                   trades.empty() ? "-" : trades,
                   e.received_ns() == 0 ? "-" : micro_time_text(e.received_ns()),
                   after(e.sequenced_ns(), e.received_ns()),
                   after(e.acknowledged_ns(), e.received_ns())});
    }
    table.print();
    return 0;
}

int balances(Client& client, const Args& a) {
    a.reject_unknown({"account"});
    cpx::v1::AccountRequest request;
    request.set_account_id(static_cast<std::uint32_t>(a.integer_or("account", 0)));
    cpx::v1::BalancesResponse response;
    const grpc::Status status =
        client.account().GetBalances(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    std::cout << "account " << response.account_id() << "\n";
    Table money({"balance CNY", "reserved CNY", "available CNY", "unsettled CNY", "collateral CNY",
                 "vouchers CNY"});
    money.add({yuan(response.balance_fen()), yuan(response.reserved_fen()),
               yuan(response.available_fen()), yuan(response.unsettled_fen()),
               yuan(response.collateral_fen()), yuan(response.voucher_fen())});
    money.print();
    if (response.capacity_size() > 0) {
        Table capacity({"hub", "window start", "window end", "registered", "offered", "sold"});
        for (const auto& c : response.capacity()) {
            capacity.add({c.hub(), time_text(c.window_start_ns()), time_text(c.window_end_ns()),
                          std::to_string(c.registered()), std::to_string(c.offered()),
                          std::to_string(c.sold())});
        }
        capacity.print();
    }
    return 0;
}

int instruments(Client& client, const Args& a) {
    a.reject_unknown({});
    cpx::v1::ListInstrumentsRequest request;
    cpx::v1::ListInstrumentsResponse response;
    const grpc::Status status =
        client.account().ListInstruments(client.context().get(), request, &response);
    if (!status.ok()) {
        return print_error(client.global(), status);
    }
    if (client.global().json) {
        print_json(response);
        return 0;
    }
    static const char* kStates[] = {"closed", "call auction", "auction no-cancel", "continuous",
                                    "halted"};
    Table table({"id", "symbol", "kind", "hub", "model", "window start", "window end", "unit",
                 "tick", "lot", "band bps", "reference", "state"});
    for (const auto& i : response.instruments()) {
        table.add({std::to_string(i.instrument_id()), i.symbol(),
                   i.kind() == cpx::v1::INSTRUMENT_KIND_TOKEN_BUNDLE ? "token" : "compute", i.hub(),
                   i.accelerator_model().empty() ? "-" : i.accelerator_model(),
                   time_text(i.window_start_ns()), time_text(i.window_end_ns()), i.unit(),
                   yuan(i.tick_size_fen()), std::to_string(i.lot_size()),
                   std::to_string(i.band_bps()), yuan(i.reference_price_fen()),
                   kStates[std::min<int>(std::max<int>(i.state(), 0), 4)]});
    }
    table.print();
    return 0;
}

}  // namespace

bool is_trading_command(const std::string& c) {
    return c == "place" || c == "cancel" || c == "replace" || c == "mass-cancel" || c == "book" ||
           c == "trades" || c == "orders" || c == "fills" || c == "balances" ||
           c == "instruments" || c == "history";
}

int run_trading_command(Client& client, const Args& a) {
    const std::string& c = a.command();
    if (c == "place")
        return place(client, a);
    if (c == "cancel")
        return cancel(client, a);
    if (c == "replace")
        return replace(client, a);
    if (c == "mass-cancel")
        return mass_cancel(client, a);
    if (c == "book")
        return book(client, a);
    if (c == "trades")
        return trades(client, a);
    if (c == "orders")
        return orders(client, a);
    if (c == "fills")
        return fills(client, a);
    if (c == "history")
        return history(client, a);
    if (c == "balances")
        return balances(client, a);
    return instruments(client, a);
}

}  // namespace cpx::cli
