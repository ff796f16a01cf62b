#include "logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "tidemark/ui/redact.h"

namespace tidemark::ui {
namespace {

// The `%*` flag: the message, redacted, and for JSON output also quoted and escaped. One
// formatter flag is the single place every log line passes, whoever logs it.
class RedactedMessage final : public spdlog::custom_flag_formatter {
 public:
  explicit RedactedMessage(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string text = RedactSecrets(std::string_view(msg.payload.data(), msg.payload.size()));
    if (json_) {
      text = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    dest.append(text.data(), text.data() + text.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RedactedMessage>(json_);
  }

 private:
  bool json_;
};

}  // namespace

void SetUpLogging(std::string_view level, std::string_view format) {
  const bool json = format == "json";
  spdlog::sink_ptr sink;
  if (json) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();  // colours only on a tty
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<RedactedMessage>('*', json).set_pattern(
      json ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":%*})"
           : "%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %*");
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>("tidemark", std::move(sink));
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace tidemark::ui
