// Connection URLs: a test database is the server's URL with another database name, and
// a URL in a log or an error never shows a password.

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "cpx/store/database.hpp"

namespace cpx::store {
namespace {

TEST(DatabaseUrl, ReplacesTheDatabaseOfAUnixSocketUrl) {
    EXPECT_EQ(url_with_database("postgresql:///cpx?host=/srv/pg/run&port=5432&user=cpx", "t1"),
              "postgresql:///t1?host=/srv/pg/run&port=5432&user=cpx");
}

TEST(DatabaseUrl, ReplacesTheDatabaseOfAHostUrl) {
    EXPECT_EQ(url_with_database("postgresql://cpx@db.example:5433/cpx?sslmode=require", "t1"),
              "postgresql://cpx@db.example:5433/t1?sslmode=require");
    EXPECT_EQ(url_with_database("postgres://cpx:pw@localhost/cpx", "t1"),
              "postgres://cpx:pw@localhost/t1");
}

TEST(DatabaseUrl, AddsADatabaseToAUrlWithoutOne) {
    EXPECT_EQ(url_with_database("postgresql://localhost", "t1"), "postgresql://localhost/t1");
    EXPECT_EQ(url_with_database("postgresql://localhost?port=5433", "t1"),
              "postgresql://localhost/t1?port=5433");
}

TEST(DatabaseUrl, ReplacesADbnameParameterThatWouldOverrideThePath) {
    EXPECT_EQ(url_with_database("postgresql:///cpx?host=/run&dbname=cpx", "t1"),
              "postgresql:///t1?host=/run&dbname=t1");
}

TEST(DatabaseUrl, ReplacesTheDatabaseOfKeywordValuePairs) {
    EXPECT_EQ(url_with_database("host=/run dbname=cpx user=cpx", "t1"),
              "host=/run dbname=t1 user=cpx");
    EXPECT_EQ(url_with_database("host=/run user=cpx", "t1"), "host=/run user=cpx dbname=t1");
}

TEST(DatabaseUrl, RedactsPasswordsWhereverTheyAre) {
    EXPECT_EQ(redact_url("postgresql://cpx:s3cret@db:5432/cpx"),
              "postgresql://cpx:***@db:5432/cpx");
    EXPECT_EQ(redact_url("postgresql://db/cpx?user=cpx&password=s3cret&sslmode=require"),
              "postgresql://db/cpx?user=cpx&password=***&sslmode=require");
    EXPECT_EQ(redact_url("host=db password='a b\\' c' user=cpx"), "host=db password=*** user=cpx");
    EXPECT_EQ(redact_url("postgresql:///cpx?host=/run&user=cpx"),
              "postgresql:///cpx?host=/run&user=cpx");
}

TEST(DatabaseUrl, AFailedConnectionNamesTheUrlWithoutItsPassword) {
    try {
        connect("postgresql://cpx:s3cret@/cpx?host=/nonexistent/socket/dir&connect_timeout=2");
        FAIL() << "connected to a socket that does not exist";
    } catch (const std::runtime_error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("cannot connect to the database at 'postgresql://cpx:***@/cpx"),
                  std::string::npos)
            << message;
        EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
    }
}

}  // namespace
}  // namespace cpx::store
