#include "metrics/death.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstring>

#include "metrics/shared_metrics.hpp"

namespace routemq::detail {

std::string describe_death(std::int32_t status) {
    if (status == kTimedOut) {
        return "killed for running past its timeout";
    }
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        return fmt::format("killed by signal {} ({})", sig, strsignal(sig));
    }
    return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace routemq::detail
