#include "logging.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace routemq::detail {
namespace {

/// Appends `in` to `out` as the inside of a JSON string.
void append_json_escaped(std::string_view in, spdlog::memory_buf_t& out) {
    for (const char c : in) {
        switch (c) {
            case '"':
                out.append(std::string_view("\\\""));
                break;
            case '\\':
                out.append(std::string_view("\\\\"));
                break;
            case '\n':
                out.append(std::string_view("\\n"));
                break;
            case '\r':
                out.append(std::string_view("\\r"));
                break;
            case '\t':
                out.append(std::string_view("\\t"));
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
                } else {
                    out.push_back(c);
                }
        }
    }
}

/// Appends `in` to `out` with control characters escaped (`\n`, `\r`, `\t`, else `\xNN`), so a
/// newline in a topic or payload can never start a line of its own that looks like a log line.
void append_text_escaped(std::string_view in, spdlog::memory_buf_t& out) {
    for (const char c : in) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
            case '\n':
                out.append(std::string_view("\\n"));
                break;
            case '\r':
                out.append(std::string_view("\\r"));
                break;
            case '\t':
                out.append(std::string_view("\\t"));
                break;
            default:
                if (byte < 0x20 || byte == 0x7f) {
                    fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
                } else {
                    out.push_back(c);
                }
        }
    }
}

/// `%*` in text lines: the message with control characters escaped.
class text_message_flag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        append_text_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<text_message_flag>();
    }
};

/// `%*`: the message, escaped for use inside a JSON string.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        append_json_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<json_message_flag>();
    }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& role,
                                                      const std::string& format) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (format == "json") {
        formatter->add_flag<json_message_flag>('*').set_pattern(fmt::format(
            R"({{"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","role":"{}","pid":%P,"msg":"%*"}})",
            role));
    } else {
        formatter->add_flag<text_message_flag>('*').set_pattern(
            fmt::format("%Y-%m-%d %H:%M:%S.%e %-5l [{}] %*", role));
    }
    return formatter;
}

void setup_logging(const std::string& role, const std::string& level, const std::string& format) {
    auto logger = std::make_shared<spdlog::logger>(
        "routemq", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_formatter(make_log_formatter(role, format));
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace routemq::detail
