#pragma once

/// routemq::testing, for an application's own tests (link `routemq::testing`, see
/// docs/testing.md): the in-process harness for routes, and for integration tests a mosquitto
/// fixture, child processes and a plain MQTT client. Independent of any test framework.

#include "routemq/testing/broker.hpp"
#include "routemq/testing/harness.hpp"
#include "routemq/testing/mqtt_client.hpp"
#include "routemq/testing/process.hpp"
