#include "cpx/store/database.hpp"

#include <cstddef>
#include <stdexcept>
#include <string_view>

namespace cpx::store {

namespace {

constexpr std::string_view kSchemes[] = {"postgresql://", "postgres://"};

// The length of the URI scheme `url` starts with, 0 when it is keyword=value pairs.
std::size_t scheme_length(std::string_view url) {
    for (const std::string_view scheme : kSchemes) {
        if (url.substr(0, scheme.size()) == scheme) {
            return scheme.size();
        }
    }
    return 0;
}

// Where the value of `key=` starts in query parameters or keyword=value pairs, or npos.
// A key counts only at the start of a parameter, so "xpassword=" is not "password=".
std::size_t find_value(std::string_view text, std::string_view key, std::size_t from) {
    const std::string needle = std::string(key) + "=";
    for (std::size_t at = text.find(needle, from); at != std::string_view::npos;
         at = text.find(needle, at + 1)) {
        const char before = at == 0 ? ' ' : text[at - 1];
        if (before == '?' || before == '&' || before == ' ' || before == '\t') {
            return at + needle.size();
        }
    }
    return std::string_view::npos;
}

// Where a value that starts at `begin` ends: at '&' in a URI's query, at a blank in
// keyword=value pairs, where a value may also be quoted ('a b', with \' inside).
std::size_t value_end(std::string_view text, std::size_t begin, bool uri) {
    if (uri) {
        const std::size_t end = text.find('&', begin);
        return end == std::string_view::npos ? text.size() : end;
    }
    if (begin < text.size() && text[begin] == '\'') {
        for (std::size_t i = begin + 1; i < text.size(); ++i) {
            if (text[i] == '\\') {
                ++i;
            } else if (text[i] == '\'') {
                return i + 1;
            }
        }
        return text.size();
    }
    const std::size_t end = text.find_first_of(" \t", begin);
    return end == std::string_view::npos ? text.size() : end;
}

// Replaces the value of every `key=` parameter at or after `from` with `value`.
void replace_values(std::string& text, std::string_view key, std::string_view value,
                    std::size_t from, bool uri) {
    for (std::size_t begin = find_value(text, key, from); begin != std::string::npos;
         begin = find_value(text, key, begin + value.size())) {
        text.replace(begin, value_end(text, begin, uri) - begin, value);
    }
}

}  // namespace

std::string redact_url(const std::string& url) {
    std::string out = url;
    const std::size_t scheme = scheme_length(out);
    if (scheme != 0) {
        // postgresql://user:password@host/...: the password sits in the user info.
        std::size_t authority_end = out.find_first_of("/?", scheme);
        if (authority_end == std::string::npos) {
            authority_end = out.size();
        }
        const std::size_t at = out.rfind('@', authority_end);
        if (at != std::string::npos && at >= scheme) {
            const std::size_t colon = out.find(':', scheme);
            if (colon != std::string::npos && colon < at) {
                out.replace(colon + 1, at - colon - 1, "***");
            }
        }
    }
    replace_values(out, "password", "***", 0, scheme != 0);
    return out;
}

std::string url_with_database(const std::string& url, const std::string& database) {
    const std::size_t scheme = scheme_length(url);
    if (scheme == 0) {
        // In keyword=value pairs the last setting of a keyword wins.
        std::string out = url;
        replace_values(out, "dbname", database, 0, false);
        if (find_value(out, "dbname", 0) == std::string::npos) {
            out += (out.empty() ? "dbname=" : " dbname=") + database;
        }
        return out;
    }
    std::size_t path_begin = url.find_first_of("/?", scheme);
    if (path_begin == std::string::npos) {
        path_begin = url.size();
    }
    std::size_t query_begin = url.find('?', path_begin);
    if (query_begin == std::string::npos) {
        query_begin = url.size();
    }
    std::string out = url.substr(0, path_begin) + "/" + database + url.substr(query_begin);
    // A dbname parameter in the query would override the path.
    replace_values(out, "dbname", database, path_begin + 1 + database.size(), true);
    return out;
}

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
    try {
        return std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
        // libpq's reason names the host and database, never the password.
        std::string reason = e.what();
        while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) {
            reason.pop_back();
        }
        throw std::runtime_error("cannot connect to the database at '" + redact_url(url) +
                                 "': " + reason);
    }
}

void use_app_role(pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    tx.exec("SET ROLE cpx_app");
}

void use_regulator_role(pqxx::connection& connection) {
    pqxx::nontransaction tx(connection);
    tx.exec("SET ROLE cpx_regulator");
}

}  // namespace cpx::store
