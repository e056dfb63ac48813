#include "logging.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "delivery/trace_context.hpp"

namespace routemq::detail {
namespace {

/// How a message is escaped: as the inside of a JSON string, or for a text line.
enum class escaping { json, text };

/// Appends `in` to `out` with control characters escaped (`\n`, `\r`, `\t`, else `\u00NN` in
/// JSON, `\xNN` in text, where DEL is escaped too), so a newline in a topic or payload can never
/// start a line of its own that looks like a log line; in JSON also `"` and `\`.
void append_escaped(std::string_view in, spdlog::memory_buf_t& out, escaping how) {
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
            case '"':
            case '\\':
                if (how == escaping::json) {
                    out.push_back('\\');
                }
                out.push_back(c);
                break;
            default:
                if (how == escaping::json && byte < 0x20) {
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", byte);
                } else if (how == escaping::text && (byte < 0x20 || byte == 0x7f)) {
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
        append_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest,
                       escaping::text);
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
        append_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest,
                       escaping::json);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<json_message_flag>();
    }
};

/// `%~`: the trace and span of the message being handled on this thread, if any (see
/// delivery/trace_context.hpp): ` trace_id=<32 hex> span_id=<16 hex>` in text lines,
/// `,"trace_id":"...","span_id":"..."` in JSON; nothing outside a handler's message. The span
/// is left out where there is none yet (a delivery no route took).
class trace_flag : public spdlog::custom_flag_formatter {
public:
    explicit trace_flag(escaping how) : how_(how) {}
    void format(const spdlog::details::log_msg&, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const auto* t = current_trace();
        if (t == nullptr) {
            return;
        }
        // Hex digits only: nothing to escape.
        const auto field = [&](std::string_view name, std::string_view value) {
            if (how_ == escaping::json) {
                dest.append(std::string_view(",\""));
                dest.append(name);
                dest.append(std::string_view("\":\""));
                dest.append(value);
                dest.push_back('"');
            } else {
                dest.push_back(' ');
                dest.append(name);
                dest.push_back('=');
                dest.append(value);
            }
        };
        field("trace_id", t->trace_id_text());
        if (t->has_span) {
            field("span_id", t->span_id_text());
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<trace_flag>(how_);
    }

private:
    escaping how_;
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& role,
                                                      const std::string& format) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (format == "json") {
        formatter->add_flag<json_message_flag>('*')
            .add_flag<trace_flag>('~', escaping::json)
            .set_pattern(fmt::format(
                R"({{"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","role":"{}","pid":%P,"msg":"%*"%~}})",
                role));
    } else {
        formatter->add_flag<text_message_flag>('*')
            .add_flag<trace_flag>('~', escaping::text)
            .set_pattern(fmt::format("%Y-%m-%d %H:%M:%S.%e %-5l [{}] %*%~", role));
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
