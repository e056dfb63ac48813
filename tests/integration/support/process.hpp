#pragma once

#include <routemq/testing/process.hpp>

namespace test {

/// The child processes of routemq::testing, which applications' integration tests use too.
using child_process = routemq::testing::process;
using routemq::testing::count_occurrences;
using routemq::testing::temp_path;

}  // namespace test
