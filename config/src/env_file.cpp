#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "routemq/errors.hpp"
#include "routemq/settings.hpp"

namespace routemq {
namespace {

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

bool valid_name(const std::string& name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) {
        return false;
    }
    for (unsigned char c : name) {
        if (!std::isalnum(c) && c != '_') {
            return false;
        }
    }
    return true;
}

}  // namespace

env_map read_env_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw config_error(fmt::format("cannot read env file '{}'", path));
    }
    env_map out;
    std::string raw;
    int number = 0;
    while (std::getline(in, raw)) {
        ++number;
        if (raw.find('\0') != std::string::npos) {
            // Nothing would show the value past a NUL (messages are C strings), and no
            // environment variable can hold one: a NUL means the file is not text.
            throw config_error(fmt::format(
                "{}:{}: the line holds a NUL byte (it is not shown, in case it holds a secret)",
                path, number));
        }
        auto line = trim(raw);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        if (line.rfind("export ", 0) == 0) {
            line = trim(line.substr(7));
        }
        const auto eq = line.find('=');
        auto name = eq == std::string::npos ? line : trim(line.substr(0, eq));
        // The line is never shown: it may be a password pasted on a line of its own.
        if (eq == std::string::npos) {
            throw config_error(fmt::format(
                "{}:{}: expected NAME=value (the line has no '='; it is not shown, in case it "
                "holds a secret)",
                path, number));
        }
        if (!valid_name(name)) {
            throw config_error(
                fmt::format("{}:{}: expected NAME=value, where NAME is letters, digits and '_' "
                            "not starting with a digit (the line is not shown, in case it holds "
                            "a secret)",
                            path, number));
        }
        auto value = trim(line.substr(eq + 1));
        if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
            const char quote = value.front();
            const auto close = value.find(quote, 1);
            if (close == std::string::npos) {
                throw config_error(
                    fmt::format("{}:{}: unterminated quote in value of {}", path, number, name));
            }
            value = value.substr(1, close - 1);
        } else if (auto hash = value.find(" #"); hash != std::string::npos) {
            value = trim(value.substr(0, hash));
        }
        out[name] = value;
    }
    return out;
}

env_map read_env_file_if_present(const std::string& path, bool required) {
    if (!required && !std::filesystem::exists(path)) {
        return {};
    }
    return read_env_file(path);
}

}  // namespace routemq
