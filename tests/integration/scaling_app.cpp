// An application for the autoscaling tests: jobs/{id} is a shared route that autoscales between
// 1 and 3 workers; its handler waits as many milliseconds as the payload says, then answers on
// done/jobs/<id> with its process id.

#include <unistd.h>

#include <chrono>
#include <routemq/routemq.hpp>
#include <string>
#include <thread>

namespace {

void job(routemq::context& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(ctx.payload()))));
    ctx.publish("done/jobs/" + std::string(ctx.param("id")), std::to_string(getpid()), 1);
}

}  // namespace

int main(int argc, char** argv) {
    return routemq::run_cli(argc, argv, [](routemq::router& r) {
        r.on("jobs/{id}", &job, {.qos = 1, .shared = true, .min_workers = 1, .max_workers = 3});
    });
}
