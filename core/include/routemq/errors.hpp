#pragma once

#include <stdexcept>
#include <string>

namespace routemq {

/// Root of every exception the framework throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A route that cannot be registered (bad options); the message names the pattern.
class route_error : public error {
public:
    using error::error;
};

/// A topic pattern that cannot be compiled; the message names the pattern.
class pattern_error : public route_error {
public:
    using route_error::route_error;
};

/// An invalid setting; the message names the variable, the value and what is allowed.
class config_error : public error {
public:
    using error::error;
};

/// A payload that is not what the route requires (for example not JSON).
class payload_error : public error {
public:
    using error::error;
};

/// A failure talking to the broker (connect, subscribe, publish).
class mqtt_error : public error {
public:
    using error::error;
};

}  // namespace routemq
