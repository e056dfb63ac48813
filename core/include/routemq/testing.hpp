#pragma once

/// routemq::testing, for an application's own tests (link `routemq::testing`, see
/// docs/testing.md): the in-process harness for routes. Independent of any test framework.

#include "routemq/testing/harness.hpp"
