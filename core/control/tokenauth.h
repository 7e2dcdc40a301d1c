#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace Meridian {

enum class TokenRole { Viewer, Admin };

// One configured API token: only the SHA-256 of the secret is kept (in the config and here).
struct TokenEntry
{
    QString name;
    TokenRole role = TokenRole::Viewer;
    QByteArray sha256; // 32 raw bytes
};

// Bearer-token authentication of the control API. Tokens are random secrets; the configuration
// holds their SHA-256 in hex, so a leaked config does not leak a usable token. Verification
// hashes the presented token and compares it with every entry in constant time (no early exit on
// the first differing byte, and every entry is compared), so timing reveals neither a prefix nor
// which entry matched.
class TokenAuth
{
public:
    void setTokens(QList<TokenEntry> tokens) { m_tokens = std::move(tokens); }
    const QList<TokenEntry> &tokens() const { return m_tokens; }

    // The entry whose secret is `token`, or nothing.
    std::optional<TokenEntry> verify(const QByteArray &token) const;
    // Parses an Authorization header value ("Bearer <token>"); nothing if it is not one.
    static std::optional<QByteArray> bearerToken(const QByteArray &authorization);

    static QString hashHex(const QByteArray &token);
    // A new random token (32 bytes from the system CSPRNG, base64url without padding).
    static QByteArray generateToken();

    static QString roleName(TokenRole role);
    static std::optional<TokenRole> roleFromName(const QString &name);

private:
    QList<TokenEntry> m_tokens;
};

} // namespace Meridian
