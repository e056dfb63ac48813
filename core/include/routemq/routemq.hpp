#pragma once

/// Everything an application needs: routes, handlers, middleware, errors, settings, the command
/// line and the framework's version.

#include "routemq/cli.hpp"
#include "routemq/client.hpp"
#include "routemq/context.hpp"
#include "routemq/errors.hpp"
#include "routemq/json.hpp"
#include "routemq/message.hpp"
#include "routemq/middleware.hpp"
#include "routemq/pattern.hpp"
#include "routemq/router.hpp"
#include "routemq/settings.hpp"
#include "routemq/version.hpp"
