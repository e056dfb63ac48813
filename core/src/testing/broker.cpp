#include "routemq/testing/broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "routemq/errors.hpp"

namespace routemq::testing {
namespace {

/// True when a TCP connection to `host` (an IPv4 or IPv6 address) and `port` succeeds.
bool accepts_connections(const std::string& host, int port) {
    sockaddr_storage addr{};
    socklen_t length = 0;
    if (auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
        inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof(sockaddr_in);
    } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
               inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof(sockaddr_in6);
    } else {
        return false;
    }
    const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), length) == 0;
    close(fd);
    return ok;
}

bool is_executable(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

/// `configured`, or mosquitto on the PATH, else where Debian and a source install put it (sbin
/// is not on a user's PATH).
std::string find_mosquitto(const std::string& configured) {
    if (!configured.empty()) {
        return configured;
    }
    std::vector<std::filesystem::path> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream in(path);
        for (std::string dir; std::getline(in, dir, ':');) {
            if (!dir.empty()) {
                dirs.emplace_back(dir);
            }
        }
    }
    dirs.emplace_back("/usr/sbin");
    dirs.emplace_back("/usr/local/sbin");
    for (const auto& dir : dirs) {
        if (is_executable(dir / "mosquitto")) {
            return (dir / "mosquitto").string();
        }
    }
    throw routemq::error(
        "mosquitto not found on the PATH, in /usr/sbin or in /usr/local/sbin: install it (Debian: "
        "apt-get install mosquitto) or set broker_options::executable");
}

}  // namespace

broker::broker() : broker(broker_options{}) {}

broker::broker(std::string extra_config)
    : broker(broker_options{.extra_config = std::move(extra_config)}) {}

broker::broker(broker_options options)
    : host_(options.host),
      options_(std::move(options)),
      executable_(find_mosquitto(options_.executable)),
      config_path_(temp_path("mosquitto.conf")) {
    if (options_.persistence) {
        persistence_dir_ = temp_path("mosquitto-data");
        std::filesystem::create_directories(persistence_dir_);
        // mosquitto started as root writes as the user "mosquitto".
        std::filesystem::permissions(persistence_dir_, std::filesystem::perms::all);
    }
    // Another process may take the free port before mosquitto binds it: try another.
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = options_.port != 0 ? options_.port : free_loopback_port();
        if (launch()) {
            return;
        }
    }
    std::remove(config_path_.c_str());
    if (!persistence_dir_.empty()) {
        std::filesystem::remove_all(persistence_dir_);
    }
    throw routemq::error("mosquitto (" + executable_ + ") did not start: " + last_log_);
}

broker::~broker() {
    stop();
    std::remove(config_path_.c_str());
    if (!persistence_dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(persistence_dir_, ignored);
    }
}

std::map<std::string, std::string> broker::env() const {
    return {{"MQTT_BROKER", host_}, {"MQTT_PORT", std::to_string(port_)}};
}

routemq::settings broker::settings() const {
    const auto e = env();
    return load_settings({}, routemq::env_map(e.begin(), e.end()));
}

bool broker::launch() {
    {
        std::ofstream conf(config_path_);
        conf << "listener " << port_ << " " << host_ << "\n"
             << "allow_anonymous " << (options_.allow_anonymous ? "true" : "false")
             << "\n"
             // What RouteMQ's guarantee needs (docs/workers.md): no silent drop of a session's
             // queue beyond 1000 messages.
             << "max_queued_messages 0\n"
             << "log_dest stderr\n";
        if (options_.persistence) {
            conf << "persistence true\n"
                 << "persistence_location " << persistence_dir_ << "/\n";
        } else {
            conf << "persistence false\n";
        }
        conf << options_.extra_config << "\n";
    }
    auto argv = options_.launcher;
    argv.insert(argv.end(), {executable_, "-c", config_path_});
    process_ = std::make_unique<process>(argv, std::map<std::string, std::string>{},
                                         temp_path("mosquitto.log"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!process_->running()) {
            last_log_ += process_->output();
            process_.reset();
            return false;
        }
        if (accepts_connections(host_, port_)) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    last_log_ += process_->output();
    process_.reset();
    return false;
}

void broker::stop() {
    if (process_) {
        process_->signal(SIGTERM);
        process_->wait(std::chrono::seconds(5));
        last_log_ += process_->output();
        process_.reset();
    }
}

void broker::start() {
    if (process_) {
        return;
    }
    for (int attempt = 0; attempt < 50; ++attempt) {  // the port may linger for a moment
        if (launch()) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw routemq::error("mosquitto did not restart on port " + std::to_string(port_) + ": " +
                         last_log_);
}

int broker::pid() const noexcept {
    return process_ ? process_->pid() : -1;
}

bool broker::running() const {
    return process_ != nullptr && process_->running();
}

std::string broker::log() const {
    return process_ ? last_log_ + process_->output() : last_log_;
}

}  // namespace routemq::testing
