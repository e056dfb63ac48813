// `.env` files and settings (config/src/env_file.cpp, config/src/settings.cpp): arbitrary file
// contents through read_env_file, then the variables it read plus arbitrary values for variables
// of the table (as the environment) through load_settings and settings_warnings. Each either
// succeeds or throws routemq::config_error; any other exception escapes and fails the run, and
// the sanitizers catch crashes and undefined behaviour. No name or value read holds a NUL, and
// a rejected MQTT_PASSWORD is never shown.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "routemq/errors.hpp"
#include "routemq/settings.hpp"
#include "settings_table.hpp"

namespace {

constexpr std::size_t kMaxValue = 64;
constexpr std::size_t kMaxName = 32;
constexpr std::size_t kMaxVariables = 12;
constexpr std::string_view kPassword = "MQTT_PASSWORD";

/// The `.env` file: an in-memory file, so the fuzzer never writes to disk.
const std::string& env_path() {
    static const std::string path = [] {
        const int fd = memfd_create("routemq-fuzz.env", MFD_CLOEXEC);
        if (fd < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        return "/proc/self/fd/" + std::to_string(fd);
    }();
    return path;
}

void write_env_file(std::string_view contents) {
    const int fd = std::stoi(env_path().substr(env_path().rfind('/') + 1));
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, contents.data(), contents.size(), 0) != static_cast<ssize_t>(contents.size())) {
        std::perror("writing the in-memory .env file");
        std::abort();
    }
}

/// True when `secret` could only appear in a message because the message shows the password: it
/// holds a byte that no fixed text of a message has (they are printable ASCII), and no other
/// value given and no text of the table contains it.
bool only_in_password(const std::string& secret, const routemq::env_map& file,
                      const routemq::env_map& environment) {
    if (std::all_of(secret.begin(), secret.end(),
                    [](unsigned char c) { return c >= 0x20 && c < 0x7f; })) {
        return false;
    }
    for (const auto* map : {&file, &environment}) {
        for (const auto& [name, value] : *map) {
            if (name != kPassword && value.find(secret) != std::string::npos) {
                return false;
            }
        }
    }
    for (const auto& v : routemq::settings_table()) {
        for (auto text : {v.name, v.default_value, v.allowed, v.description}) {
            if (text.find(secret) != std::string_view::npos) {
                return false;
            }
        }
    }
    return true;
}

void load(const routemq::env_map& file, const routemq::env_map& environment) {
    try {
        const auto s = routemq::load_settings(file, environment);
        (void)routemq::settings_warnings(file, ".env", s);
    } catch (const routemq::config_error& e) {
        std::string password;
        if (auto it = environment.find(kPassword); it != environment.end()) {
            password = it->second;
        } else if (auto it = file.find(kPassword); it != file.end()) {
            password = it->second;
        }
        // Only a message about the password itself: one about another variable shows that value
        // in quotes, and a password such as "\377'" matches across its end (seen in CI).
        const std::string_view what = e.what();
        if (what.find(kPassword) != std::string_view::npos &&
            what.find(password) != std::string_view::npos &&
            only_in_password(password, file, environment)) {
            std::fprintf(stderr, "a config_error shows MQTT_PASSWORD's value: %s\n", e.what());
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    // The file comes first so that a seed of plain `.env` text is mostly file.
    const auto contents = in.ConsumeRandomLengthString(size);
    write_env_file(contents);
    routemq::env_map file;
    try {
        file = routemq::read_env_file(env_path());
    } catch (const routemq::config_error&) {
        // A file that does not parse stops startup; the environment alone still may.
    }
    for (const auto& [name, value] : file) {
        if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
            // It would be cut short where it is used, and in messages (C strings).
            std::fprintf(stderr, "read_env_file returned a NUL in %s\n", name.c_str());
            std::abort();
        }
    }
    const auto& table = routemq::settings_table();
    routemq::env_map environment;
    const auto count = in.ConsumeIntegralInRange<std::size_t>(0, kMaxVariables);
    for (std::size_t i = 0; i < count && in.remaining_bytes() > 0; ++i) {
        const auto& v = table[in.ConsumeIntegralInRange<std::size_t>(0, table.size() - 1)];
        environment[std::string(v.name)] = in.ConsumeRandomLengthString(kMaxValue);
    }
    load(file, environment);
    // As long as the longest name, as a mistyped one is: each costs an edit distance to every
    // name of the table, which dominates the run time under the sanitizers.
    (void)routemq::closest_variable(in.ConsumeRandomLengthString(kMaxName));
    return 0;
}
