#pragma once

#include <chrono>
#include <functional>
#include <routemq/testing/process.hpp>
#include <string>

namespace test {

using routemq::testing::free_loopback_port;

/// What an HTTP GET returned; status 0 when nothing answered.
struct http_response {
    int status = 0;
    std::string content_type;
    std::string body;
};

/// GET http://127.0.0.1:<port><path>, as a probe or a Prometheus scrape would.
http_response http_get(int port, const std::string& path);

/// GETs `path` every 10 ms until `done` holds (returns that response) or `timeout` passes
/// (returns the last one, which the caller's assertion then shows).
http_response http_poll(int port, const std::string& path,
                        const std::function<bool(const http_response&)>& done,
                        std::chrono::milliseconds timeout);

}  // namespace test
