#pragma once

// A pool of libpqxx connections for PostgresStore, and the prepared statements on them.
//
// Header-only: it is small and has one user (postgres_store.cc). It throws libpqxx's
// exceptions; PostgresStore converts them into Status values at its edge (PgError).

#include <condition_variable>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace tidemark::catalog {

// A named SQL statement, prepared on each connection the first time it is used there.
// Both strings are string literals (they outlive every connection).
struct PgStatement {
  const char* name;
  const char* sql;
};

// One server connection and the statements prepared on it. Not thread-safe: a PgConnection is
// used by one thread at a time (whoever holds its PgPool::Lease).
class PgConnection {
 public:
  // Connects; throws pqxx::broken_connection when the server cannot be reached.
  explicit PgConnection(const std::string& conninfo) : conn_(conninfo) {
    conn_.set_client_encoding("UTF8");
  }

  pqxx::connection& get() { return conn_; }

  // Registers `s` with libpqxx on first use. libpqxx 6.4 sends the PREPARE lazily, on the
  // statement's first execution, so this costs no round trip and works inside a transaction.
  void Prepare(const PgStatement& s) {
    if (prepared_.insert(s.name).second) conn_.prepare(s.name, s.sql);
  }

 private:
  pqxx::connection conn_;
  std::unordered_set<std::string_view> prepared_;
};

// Up to `capacity` connections to one server, opened on demand and reused. Acquire blocks
// while all of them are leased. A lease whose connection broke is reported with MarkBroken:
// the pool then drops it and every idle connection too, because whatever broke one (a server
// restart, a failover, an administrator's pg_terminate_backend) has usually broken all of
// them, and the next Acquire opens a fresh one.
//
// Thread-safe. Leases must be returned (destroyed) before the pool is.
class PgPool {
 public:
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          conn_(std::move(other.conn_)),
          broken_(other.broken_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_) pool_->Release(std::move(conn_), broken_);
    }

    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_.get(); }
    void MarkBroken() { broken_ = true; }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}

    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
    bool broken_ = false;
  };

  // REQUIRES: capacity >= 1.
  PgPool(std::string conninfo, size_t capacity)
      : conninfo_(std::move(conninfo)), capacity_(capacity) {}
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // An idle connection, or a new one while fewer than `capacity` are open; otherwise waits.
  // Throws pqxx::broken_connection when a new connection cannot be opened.
  Lease Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < capacity_; });
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // reserve the slot, then connect without holding the lock
    lock.unlock();
    try {
      return Lease(this, std::make_unique<PgConnection>(conninfo_));
    } catch (...) {
      lock.lock();
      --open_;
      cv_.notify_one();
      throw;
    }
  }

 private:
  void Release(std::unique_ptr<PgConnection> conn, bool broken) {
    std::vector<std::unique_ptr<PgConnection>> dropped;  // closed after unlocking
    {
      std::lock_guard lock(mu_);
      if (broken || !conn->get().is_open()) {
        dropped.swap(idle_);
        dropped.push_back(std::move(conn));
        open_ -= dropped.size();
      } else {
        idle_.push_back(std::move(conn));
      }
    }
    if (dropped.empty()) {
      cv_.notify_one();
    } else {
      cv_.notify_all();
    }
  }

  const std::string conninfo_;
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace tidemark::catalog
