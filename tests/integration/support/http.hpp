#pragma once

#include <string>

namespace test {

/// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_loopback_port();

/// What an HTTP GET returned; status 0 when nothing answered.
struct http_response {
    int status = 0;
    std::string content_type;
    std::string body;
};

/// GET http://127.0.0.1:<port><path>, as a probe or a Prometheus scrape would.
http_response http_get(int port, const std::string& path);

}  // namespace test
