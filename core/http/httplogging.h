#pragma once

#include <QLoggingCategory>

namespace Meridian {
Q_DECLARE_LOGGING_CATEGORY(lcHttp)
} // namespace Meridian
