// An application for the pool tests: gpu/{id} in pool "gpu" and email/{id} in pool "email"
// answer on done/<route>/<id> with the name of the instance that handled them.

#include <cstdlib>
#include <routemq/routemq.hpp>
#include <string>

namespace {

std::string instance() {
    const char* name = std::getenv("INSTANCE_NAME");
    return name != nullptr ? name : "";
}

void gpu(routemq::context& ctx) {
    ctx.publish("done/gpu/" + std::string(ctx.param("id")), instance(), 1);
}

void email(routemq::context& ctx) {
    ctx.publish("done/email/" + std::string(ctx.param("id")), instance(), 1);
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("gpu/{id}", &gpu, {.qos = 1, .shared = true, .worker_count = 2, .pool = "gpu"});
        r.on("email/{id}", &email, {.qos = 1, .shared = true, .pool = "email"});
    });
}
