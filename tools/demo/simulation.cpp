#include "simulation.hpp"

#include "catalog.hpp"
#include "render.hpp"

namespace cpx::demo {

namespace {

class EventLog final : public StepObserver {
  public:
    explicit EventLog(std::vector<matching::Event>& events) : events_(events) {}
    void on_step(const StepRecord& step) override {
        events_.insert(events_.end(), step.events.begin(), step.events.end());
    }

  private:
    std::vector<matching::Event>& events_;
};

}  // namespace

DemoResult run_demo(const DemoOptions& options, std::ostream& out) {
    const Catalog catalog = make_catalog();
    Market market(catalog, options.seed, options.steps);
    StatsCollector collector(catalog.instrument_ids());
    Tape tape(out, catalog);
    DemoResult result;
    EventLog log(result.events);

    std::vector<StepObserver*> observers{&collector};
    if (!options.quiet) {
        print_header(out, catalog, options.seed, options.steps);
        observers.push_back(&tape);
    }
    if (options.keep_events) {
        observers.push_back(&log);
    }
    market.run(observers);

    result.stats = collector.stats();
    result.books = market.books();
    result.state_hash = market.engine().state_hash();
    result.resting_orders = market.engine().resting_orders();
    result.end_ns = market.now();
    if (!options.quiet) {
        print_books(out, catalog, result.books, result.end_ns);
        out << '\n';
    }
    print_summary(out, catalog, result.stats, result.books, result.state_hash);
    return result;
}

}  // namespace cpx::demo
