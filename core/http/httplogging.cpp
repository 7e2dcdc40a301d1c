#include "core/http/httplogging.h"

namespace Meridian {
Q_LOGGING_CATEGORY(lcHttp, "meridian.http", QtInfoMsg)
} // namespace Meridian
