#include "support/http.hpp"

#include <httplib.h>

#include <thread>

namespace test {

http_response http_get(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(5, 0);
    http_response out;
    if (auto res = client.Get(path)) {
        out.status = res->status;
        out.content_type = res->get_header_value("Content-Type");
        out.body = res->body;
    }
    return out;
}

http_response http_poll(int port, const std::string& path,
                        const std::function<bool(const http_response&)>& done,
                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto res = http_get(port, path);
    while (!done(res) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        res = http_get(port, path);
    }
    return res;
}

}  // namespace test
