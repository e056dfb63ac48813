#pragma once

/// context::json_as<T>(): the payload read into a type of the application's with nlohmann/json.

#include <nlohmann/json.hpp>
#include <string>

#include "routemq/context.hpp"
#include "routemq/errors.hpp"

namespace routemq {

template <class T>
T context::json_as() const {
    const auto& parsed = json();  // payload_error when it is not JSON
    try {
        return parsed.template get<T>();
    } catch (const nlohmann::json::exception& e) {
        throw payload_error(std::string("the payload does not have the expected shape: ") +
                            e.what());
    }
}

}  // namespace routemq
