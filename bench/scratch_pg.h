// A scratch PostgreSQL database for a benchmark: created (dropped first if a run before left
// it behind) next to the database that an admin URL names, and dropped again on destruction.
// Benchmarks never write into the database they are pointed at.
#pragma once

#include <chrono>
#include <cstdio>
#include <exception>
#include <pqxx/pqxx>
#include <string>
#include <thread>

namespace tidemark::bench {

class ScratchPgDatabase {
 public:
  // `admin_url`: postgresql://user:password@host:port/any_db, a role allowed to CREATE DATABASE.
  ScratchPgDatabase(std::string admin_url, std::string name)
      : admin_url_(std::move(admin_url)), name_(std::move(name)) {
    Drop();
    pqxx::connection admin(admin_url_);
    pqxx::nontransaction(admin).exec("CREATE DATABASE " + name_);
  }
  ~ScratchPgDatabase() { Drop(); }
  ScratchPgDatabase(const ScratchPgDatabase&) = delete;
  ScratchPgDatabase& operator=(const ScratchPgDatabase&) = delete;

  // The admin URL with its database replaced by this one (query parameters are not kept).
  std::string url() const { return admin_url_.substr(0, admin_url_.rfind('/') + 1) + name_; }
  const std::string& name() const { return name_; }

 private:
  // Retried for a while: WITH (FORCE) cannot end an autovacuum worker (a superuser's
  // process) for a role without pg_signal_backend, and one often starts on a database that a
  // benchmark has just filled.
  void Drop() noexcept {
    std::string error;
    for (int attempt = 0; attempt < 150; ++attempt) {
      try {
        pqxx::connection admin(admin_url_);
        pqxx::nontransaction(admin).exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        return;
      } catch (const std::exception& e) {
        error = e.what();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::fprintf(stderr, "could not drop database %s: %s\n", name_.c_str(), error.c_str());
  }

  std::string admin_url_;
  std::string name_;
};

}  // namespace tidemark::bench
