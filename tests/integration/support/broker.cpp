#include "support/broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/http.hpp"

namespace test {
namespace {

bool accepts_connections(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

}  // namespace

mosquitto_broker::mosquitto_broker(std::string extra_config)
    : mosquitto_broker(broker_options{.extra_config = std::move(extra_config)}) {}

mosquitto_broker::mosquitto_broker(broker_options options)
    : config_path_(temp_path("mosquitto.conf")), options_(std::move(options)) {
    if (options_.persistence) {
        persistence_dir_ = temp_path("mosquitto-data");
        std::filesystem::create_directories(persistence_dir_);
        // mosquitto started as root writes as the user "mosquitto".
        std::filesystem::permissions(persistence_dir_, std::filesystem::perms::all);
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        port_ = free_loopback_port();
        if (launch()) {
            return;
        }
    }
    throw std::runtime_error("mosquitto did not start: " + last_log_);
}

mosquitto_broker::~mosquitto_broker() {
    stop();
    std::remove(config_path_.c_str());
    if (!persistence_dir_.empty()) {
        std::filesystem::remove_all(persistence_dir_);
    }
}

bool mosquitto_broker::launch() {
    {
        std::ofstream conf(config_path_);
        conf << "listener " << port_ << " 127.0.0.1\n"
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
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{MOSQUITTO_EXECUTABLE, "-c", config_path_},
        std::map<std::string, std::string>{}, temp_path("mosquitto.log"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!process_->running()) {
            last_log_ = process_->output();
            process_.reset();
            return false;
        }
        if (accepts_connections(port_)) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    last_log_ = process_->output();
    process_.reset();
    return false;
}

void mosquitto_broker::stop() {
    if (process_) {
        last_log_ = process_->output();
        process_->signal(SIGTERM);
        process_->wait(std::chrono::seconds(5));
        process_.reset();
    }
}

void mosquitto_broker::start() {
    for (int attempt = 0; attempt < 50; ++attempt) {  // the port may linger for a moment
        if (launch()) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("mosquitto did not restart on port " + std::to_string(port_) + ": " +
                             last_log_);
}

std::string mosquitto_broker::log() const {
    return process_ ? process_->output() : last_log_;
}

}  // namespace test
