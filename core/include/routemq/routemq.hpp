#pragma once

/// Everything an application needs: routes, handlers, middleware and the command line.

#include "routemq/cli.hpp"
#include "routemq/context.hpp"
#include "routemq/errors.hpp"
#include "routemq/message.hpp"
#include "routemq/middleware.hpp"
#include "routemq/pattern.hpp"
#include "routemq/router.hpp"
