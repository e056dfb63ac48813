#pragma once

#include <routemq/testing/broker.hpp>

namespace test {

/// The project's integration tests use the broker fixture applications get (routemq::testing).
using broker_options = routemq::testing::broker_options;
using mosquitto_broker = routemq::testing::broker;

}  // namespace test
