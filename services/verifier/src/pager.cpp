#include "pager.hpp"

#include <utility>

namespace cpx::verifier::detail {

Pager::Pager(pqxx::transaction_base& tx, std::string sql, std::size_t chunk_rows)
    : tx_(tx), sql_(std::move(sql)), chunk_rows_(chunk_rows == 0 ? 1 : chunk_rows) {}

const pqxx::row* Pager::peek() {
    if (current_) {
        return &*current_;
    }
    if (index_ >= chunk_.size()) {
        if (last_chunk_) {
            return nullptr;
        }
        chunk_ = tx_.exec_params(sql_, after_, static_cast<std::int64_t>(chunk_rows_));
        index_ = 0;
        // A short chunk is the table's end: no need to ask again.
        last_chunk_ = chunk_.size() < chunk_rows_;
        if (chunk_.empty()) {
            return nullptr;
        }
    }
    current_ = chunk_[index_];
    return &*current_;
}

void Pager::pop() {
    if (peek() == nullptr) {
        return;
    }
    after_ = (*current_)[0].as<std::int64_t>();
    current_.reset();
    ++index_;
}

}  // namespace cpx::verifier::detail
