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

/// A message that cannot be published as asked, found before it leaves: a topic that is not a
/// valid topic name (empty, a wildcard, not UTF-8, longer than 65,535 bytes), an invalid
/// property, or a packet larger than the broker accepts. The message names the topic and the
/// reason. Thrown inside the handler that publishes, so the route's retries and dead letter apply.
class publish_error : public mqtt_error {
public:
    using mqtt_error::mqtt_error;
};

}  // namespace routemq
