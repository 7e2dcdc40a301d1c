#include "core/control/tokenauth.h"

#include "core/util/constanttime.h"

#include <QCryptographicHash>
#include <QRandomGenerator>

using namespace Qt::StringLiterals;

namespace Meridian {

std::optional<TokenEntry> TokenAuth::verify(const QByteArray &token) const
{
    if (token.isEmpty())
        return std::nullopt;
    const QByteArray digest = QCryptographicHash::hash(token, QCryptographicHash::Sha256);
    std::optional<TokenEntry> found;
    for (const TokenEntry &entry : m_tokens) {
        if (constantTimeEquals(digest, entry.sha256) && !found)
            found = entry;
    }
    return found;
}

std::optional<QByteArray> TokenAuth::bearerToken(const QByteArray &authorization)
{
    const QByteArray value = authorization.trimmed();
    static const QByteArray scheme = QByteArrayLiteral("bearer ");
    if (value.size() <= scheme.size() || value.left(scheme.size()).toLower() != scheme)
        return std::nullopt;
    const QByteArray token = value.mid(scheme.size()).trimmed();
    if (token.isEmpty())
        return std::nullopt;
    return token;
}

QString TokenAuth::hashHex(const QByteArray &token)
{
    return QString::fromLatin1(QCryptographicHash::hash(token, QCryptographicHash::Sha256).toHex());
}

QByteArray TokenAuth::generateToken()
{
    // Never a leading '-': a token is passed on command lines (`meridianctl --token T`), where
    // it would read as an option.
    for (;;) {
        QByteArray bytes(32, Qt::Uninitialized);
        QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(bytes.data()),
                                              bytes.size() / int(sizeof(quint32)));
        QByteArray token = bytes.toBase64(QByteArray::Base64UrlEncoding
                                          | QByteArray::OmitTrailingEquals);
        if (!token.startsWith('-'))
            return token;
    }
}

QString TokenAuth::roleName(TokenRole role)
{
    return role == TokenRole::Admin ? u"admin"_s : u"viewer"_s;
}

std::optional<TokenRole> TokenAuth::roleFromName(const QString &name)
{
    if (name == u"admin"_s)
        return TokenRole::Admin;
    if (name == u"viewer"_s)
        return TokenRole::Viewer;
    return std::nullopt;
}

} // namespace Meridian
