#pragma once
// The report's list of problems: the first `max` kept in the order found, the rest
// counted, so that a record broken everywhere still gives a readable report.

#include <cstddef>
#include <string>
#include <utility>

#include "cpx/verifier/verifier.hpp"

namespace cpx::verifier::detail {

class Problems {
  public:
    Problems(VerifyReport& report, std::size_t max) : report_(report), max_(max) {}

    void add(std::string problem) {
        if (report_.problems.size() < max_) {
            report_.problems.push_back(std::move(problem));
        } else {
            ++report_.problems_omitted;
        }
    }

  private:
    VerifyReport& report_;
    std::size_t max_;
};

}  // namespace cpx::verifier::detail
