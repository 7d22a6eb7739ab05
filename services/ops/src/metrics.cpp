#include "cpx/ops/metrics.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace cpx::ops {

namespace {

bool is_letter_or_underscore(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_valid_metric_name(std::string_view name) {
    if (name.empty() || !(is_letter_or_underscore(name.front()) || name.front() == ':')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return is_letter_or_underscore(c) || is_digit(c) || c == ':';
    });
}

bool is_valid_label_name(std::string_view name) {
    if (name.empty() || !is_letter_or_underscore(name.front()) || name.starts_with("__")) {
        return false;
    }
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_letter_or_underscore(c) || is_digit(c); });
}

// Label values escape backslash, double quote and newline; help texts escape only
// backslash and newline (a help line is not quoted). Both rules are the format's.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
    for (const char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && escape_quote) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

std::string render_labels(const Labels& labels) {
    std::string text;
    for (const Label& label : labels) {
        if (!text.empty()) {
            text += ',';
        }
        text += label.name;
        text += "=\"";
        append_escaped(text, label.value, true);
        text += '"';
    }
    return text;
}

// One sample line: name{labels,extra_label} value. extra_label is the histogram's
// le="..." and is empty for every other sample.
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   std::string_view label_text, std::string_view extra_label,
                   const std::string& value) {
    out += name;
    out += suffix;
    if (!label_text.empty() || !extra_label.empty()) {
        out += '{';
        out += label_text;
        if (!label_text.empty() && !extra_label.empty()) {
            out += ',';
        }
        out += extra_label;
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

}  // namespace

Histogram::Histogram(std::vector<std::int64_t> bucket_bounds)
    : bounds_(std::move(bucket_bounds)),
      bucket_counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    if (std::adjacent_find(bounds_.begin(), bounds_.end(), [](std::int64_t a, std::int64_t b) {
            return a >= b;
        }) != bounds_.end()) {
        throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
    }
}

void Histogram::observe(std::int64_t value) noexcept {
    // The first bound at or above the value is its bucket (Prometheus buckets are
    // "less than or equal"); past the last bound is the +Inf bucket.
    const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    bucket_counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot result;
    result.cumulative_counts.reserve(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        result.count += bucket_counts_[i].load(std::memory_order_relaxed);
        result.cumulative_counts.push_back(result.count);
    }
    result.sum = sum_.load(std::memory_order_relaxed);
    return result;
}

enum class Registry::Type : std::uint8_t { counter, gauge, histogram };

struct Registry::Child {
    // The labels as rendered between the braces, e.g. reason="PRICE_OUTSIDE_BAND";
    // empty for a child without labels.
    std::string label_text;
    // The labels sorted by name: two children with the same labels in another order are
    // the same time series, and must be refused as duplicates.
    Labels sorted_labels;
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>,
                 std::function<std::int64_t()>>
        metric;
};

struct Registry::Family {
    Type type;
    std::string help;
    std::vector<Child> children;

    std::string_view type_name() const {
        switch (type) {
            case Type::counter:
                return "counter";
            case Type::gauge:
                return "gauge";
            case Type::histogram:
                return "histogram";
        }
        return "untyped";
    }
};

namespace {

// Validates a child's labels and returns them sorted by name; throws
// std::invalid_argument on a bad or repeated label name.
Labels sorted_valid_labels(std::string_view metric_name, const Labels& labels, bool is_histogram) {
    Labels sorted = labels;
    std::sort(sorted.begin(), sorted.end(),
              [](const Label& a, const Label& b) { return a.name < b.name; });
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const std::string& name = sorted[i].name;
        if (!is_valid_label_name(name) || (is_histogram && name == "le")) {
            throw std::invalid_argument("metric " + std::string(metric_name) +
                                        ": invalid label name '" + name + "'");
        }
        if (i > 0 && sorted[i - 1].name == name) {
            throw std::invalid_argument("metric " + std::string(metric_name) + ": label name '" +
                                        name + "' given twice");
        }
    }
    return sorted;
}

bool same_labels(const Labels& a, const Labels& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Label& x, const Label& y) {
        return x.name == y.name && x.value == y.value;
    });
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::add(std::string_view name, std::string_view help, Type type, Child&& child) {
    if (!is_valid_metric_name(name)) {
        throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
    }
    const std::lock_guard lock(mutex_);
    const auto found = families_.find(name);
    if (found == families_.end()) {
        auto family = std::make_unique<Family>(Family{type, std::string(help), {}});
        family->children.push_back(std::move(child));
        families_.emplace(std::string(name), std::move(family));
        return;
    }
    Family& family = *found->second;
    if (family.type != type) {
        throw std::invalid_argument("metric " + std::string(name) + " is already a " +
                                    std::string(family.type_name()));
    }
    if (family.help != help) {
        throw std::invalid_argument("metric " + std::string(name) +
                                    " is already registered with another help text");
    }
    for (const Child& existing : family.children) {
        if (same_labels(existing.sorted_labels, child.sorted_labels)) {
            throw std::invalid_argument("metric " + std::string(name) + "{" + child.label_text +
                                        "} is already registered");
        }
    }
    family.children.push_back(std::move(child));
}

Counter& Registry::register_counter(std::string_view name, std::string_view help, Labels labels) {
    auto counter = std::make_unique<Counter>();
    Counter& result = *counter;
    add(name, help, Type::counter,
        Child{render_labels(labels), sorted_valid_labels(name, labels, false), std::move(counter)});
    return result;
}

Gauge& Registry::register_gauge(std::string_view name, std::string_view help, Labels labels) {
    auto gauge = std::make_unique<Gauge>();
    Gauge& result = *gauge;
    add(name, help, Type::gauge,
        Child{render_labels(labels), sorted_valid_labels(name, labels, false), std::move(gauge)});
    return result;
}

Histogram& Registry::register_histogram(std::string_view name, std::string_view help,
                                        std::vector<std::int64_t> bucket_bounds, Labels labels) {
    auto histogram = std::make_unique<Histogram>(std::move(bucket_bounds));
    Histogram& result = *histogram;
    add(name, help, Type::histogram,
        Child{render_labels(labels), sorted_valid_labels(name, labels, true),
              std::move(histogram)});
    return result;
}

void Registry::register_callback_gauge(std::string_view name, std::string_view help, Labels labels,
                                       std::function<std::int64_t()> read_value) {
    if (!read_value) {
        throw std::invalid_argument("metric " + std::string(name) + ": empty callback");
    }
    add(name, help, Type::gauge,
        Child{render_labels(labels), sorted_valid_labels(name, labels, false),
              std::move(read_value)});
}

std::string Registry::render() const {
    std::string out;
    const std::lock_guard lock(mutex_);
    for (const auto& [name, family] : families_) {
        out += "# HELP ";
        out += name;
        out += ' ';
        append_escaped(out, family->help, false);
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += family->type_name();
        out += '\n';
        for (const Child& child : family->children) {
            std::visit(
                [&](const auto& metric) {
                    using Metric = std::decay_t<decltype(metric)>;
                    if constexpr (std::is_same_v<Metric, std::unique_ptr<Histogram>>) {
                        const Histogram::Snapshot snapshot = metric->snapshot();
                        const std::vector<std::int64_t>& bounds = metric->bucket_bounds();
                        for (std::size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
                            const std::string le =
                                i < bounds.size() ? std::to_string(bounds[i]) : "+Inf";
                            append_sample(out, name, "_bucket", child.label_text,
                                          "le=\"" + le + "\"",
                                          std::to_string(snapshot.cumulative_counts[i]));
                        }
                        append_sample(out, name, "_sum", child.label_text, "",
                                      std::to_string(snapshot.sum));
                        append_sample(out, name, "_count", child.label_text, "",
                                      std::to_string(snapshot.count));
                    } else if constexpr (std::is_same_v<Metric, std::function<std::int64_t()>>) {
                        append_sample(out, name, "", child.label_text, "",
                                      std::to_string(metric()));
                    } else {
                        append_sample(out, name, "", child.label_text, "",
                                      std::to_string(metric->value()));
                    }
                },
                child.metric);
        }
    }
    return out;
}

}  // namespace cpx::ops
