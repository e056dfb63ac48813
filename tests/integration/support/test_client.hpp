#pragma once

#include <routemq/testing/mqtt_client.hpp>

namespace test {

/// The "user" side of an integration test: routemq::testing's client, which applications'
/// integration tests use too.
using received = routemq::testing::received;
using test_client = routemq::testing::mqtt_client;

}  // namespace test
