#pragma once

#include "core/http/httprequest.h"
#include "core/http/httpresponder.h"

#include <functional>

namespace Meridian {

// A request handler: answers through the responder, at once or later from any thread. The
// request reference is valid only during the call; copy what an asynchronous answer needs.
using HttpHandler = std::function<void(const HttpRequest &request, HttpResponder responder)>;

// A handler that answers at once.
using HttpSyncHandler = std::function<HttpResponse(const HttpRequest &request)>;

} // namespace Meridian
