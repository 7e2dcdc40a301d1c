#pragma once

#include <QByteArray>

namespace Meridian {

// Compares two secrets (token hashes, MACs) in time that depends only on their lengths, never on
// how much of them matches, so that a forger learns nothing from how long a refusal takes.
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);

} // namespace Meridian
