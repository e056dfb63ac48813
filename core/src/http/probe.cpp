#include "http/probe.hpp"

#include <fmt/format.h>
#include <httplib.h>

namespace routemq::detail {

bool probe_endpoint(const settings& s, const std::string& path, std::string& answer) {
    if (!s.http.enabled) {
        answer = "HTTP_ENABLED is false: there is no endpoint to probe";
        return false;
    }
    const bool any = s.http.host == "0.0.0.0" || s.http.host == "::";
    httplib::Client client(any ? "127.0.0.1" : s.http.host, s.http.port);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(2, 0);
    auto res = client.Get(path);
    if (!res) {
        answer = fmt::format("no answer from {}:{}: {}", any ? "127.0.0.1" : s.http.host,
                             s.http.port, httplib::to_string(res.error()));
        return false;
    }
    answer = fmt::format("{} {}", res->status, res->body);
    return res->status == 200;
}

}  // namespace routemq::detail
