#pragma once

#include <QString>

namespace Meridian {

// The product version, shared by every executable's --version and the control API's status.
QString versionString();

// "meridiand 0.1.0 (Qt 6.4.2, SQLite 3.40.1)": what --version prints.
QString versionBanner(const QString &program);

} // namespace Meridian
