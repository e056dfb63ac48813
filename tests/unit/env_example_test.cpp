#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <routemq/settings.hpp>
#include <sstream>
#include <string>

#include "settings_table.hpp"

// `.env.example` and docs/configuration.md must list exactly the variables of the table.

TEST(EnvExample, ListsEveryVariableWithItsDefault) {
    const auto example = routemq::read_env_file(ROUTEMQ_SOURCE_DIR "/.env.example");
    std::map<std::string, std::string> expected;
    for (const auto& v : routemq::settings_table()) {
        expected.emplace(v.name, v.default_value);
    }
    const std::map<std::string, std::string> actual(example.begin(), example.end());
    EXPECT_EQ(actual, expected) << "update .env.example to match config/src/settings.cpp";
}

TEST(ConfigurationDoc, ContainsTheGeneratedTable) {
    std::ifstream in(ROUTEMQ_SOURCE_DIR "/docs/configuration.md");
    ASSERT_TRUE(in) << "docs/configuration.md is missing";
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find(routemq::settings_markdown()), std::string::npos)
        << "paste the output of `routemq settings` into docs/configuration.md";
}
