#include "metrics/death.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstring>

#include "metrics/shared_metrics.hpp"
#include "routemq/cli.hpp"

namespace routemq::detail {

std::string describe_death(std::int32_t status) {
    if (status == kTimedOut) {
        return "killed for running past its timeout";
    }
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        return fmt::format("killed by signal {} ({})", sig, strsignal(sig));
    }
    if (WEXITSTATUS(status) == kExitUnconfirmed) {
        return fmt::format(
            "exited with status {} (the broker did not confirm what its message "
            "produced)",
            WEXITSTATUS(status));
    }
    return fmt::format("exited with status {}", WEXITSTATUS(status));
}

}  // namespace routemq::detail
