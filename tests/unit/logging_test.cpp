#include "logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <string>

namespace {

std::string line(const std::string& format, std::string_view message) {
    const auto formatter = routemq::detail::make_log_formatter("main", format);
    spdlog::details::log_msg msg(spdlog::source_loc{}, "routemq", spdlog::level::warn, message);
    spdlog::memory_buf_t out;
    formatter->format(msg, out);
    return std::string(out.data(), out.size());
}

}  // namespace

TEST(LogFormat, TextEscapesControlCharactersSoEveryEventIsOneLine) {
    const auto text = line("text",
                           "alert: a\nb\rc\td\x01"
                           "e\x7f\x1b[31m end");
    // One line, with its own newline at the end only.
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.find('\n'), text.size() - 1) << text;
    EXPECT_EQ(text.find('\r'), std::string::npos) << text;
    EXPECT_NE(text.find(R"(alert: a\nb\rc\td\x01e\x7f\x1b[31m end)"), std::string::npos) << text;
    EXPECT_NE(text.find("warning [main] alert"), std::string::npos) << text;
}

TEST(LogFormat, ForgedLineStaysInsideTheMessage) {
    const auto text =
        line("text", "alert from device 7: x\n2026-01-01 00:00:00.000 critical [main] forged");
    EXPECT_EQ(text.find("\n2026"), std::string::npos) << text;
    EXPECT_NE(text.find(R"(x\n2026-01-01 00:00:00.000 critical [main] forged)"), std::string::npos)
        << text;
}

TEST(LogFormat, JsonEscapesTooAndKeepsPlainTextAsIs) {
    const auto json = line("json", "a\nb \"q\" \x01");
    EXPECT_EQ(json.find('\n'), json.size() - 1) << json;
    EXPECT_NE(json.find(R"("msg":"a\nb \"q\" \u0001")"), std::string::npos) << json;
    EXPECT_NE(line("text", "sensors/42/data via x {\"temp\":21.5} C:\\path")
                  .find(R"(sensors/42/data via x {"temp":21.5} C:\path)"),
              std::string::npos);
}
