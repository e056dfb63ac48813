#pragma once

#include <cstdint>
#include <string>

namespace routemq::detail {

/// How a worker died, in words: `killed by signal 11 (Segmentation fault)`, `exited with status
/// 3`, or for kTimedOut `killed for running past its timeout`.
std::string describe_death(std::int32_t status);

}  // namespace routemq::detail
