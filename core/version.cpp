#include "core/version.h"

#include <sqlite3.h>

namespace Meridian {

QString versionString()
{
    return QStringLiteral(MERIDIAN_VERSION);
}

QString versionBanner(const QString &program)
{
    return QStringLiteral("%1 %2 (Qt %3, SQLite %4)")
            .arg(program,
                 versionString(),
                 QString::fromLatin1(qVersion()),
                 QString::fromLatin1(sqlite3_libversion()));
}

} // namespace Meridian
