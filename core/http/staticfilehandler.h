#pragma once

#include "core/http/httphandler.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <memory>

namespace Meridian {

// One Cache-Control rule of a StaticFileHandler.
struct StaticCacheRule
{
    // Glob: '*' and '?' do not cross '/', "**" does. A pattern without '/' matches the file
    // name ("*.html"); one with '/' matches the whole URL path ("/assets/**").
    QString pattern;
    QByteArray cacheControl; // e.g. "public, max-age=31536000, immutable"
};

// How a StaticFileHandler maps URLs to files.
struct StaticFileOptions
{
    QString urlPrefix = QStringLiteral("/"); // the URL path the root is mounted at
    QString indexFile = QStringLiteral("index.html");
    QList<StaticCacheRule> cacheRules;
    bool serveDotFiles = false;
    qint64 maxHashedFileBytes = 16 * 1024 * 1024; // larger files get a size+mtime ETag
    qint64 inMemoryBelowBytes = 64 * 1024;        // smaller bodies are read, not streamed
};

// Serves the files under one directory with real HTTP caching: strong ETags (a content hash,
// so every region serving the same site gives the same tag; size+mtime for very large files) and
// Last-Modified, conditional GET (If-None-Match / If-Modified-Since → 304), Cache-Control per
// path glob (first match wins), single byte ranges (206 / 416, If-Range), Content-Type from
// QMimeDatabase, pre-compressed "NAME.gz" variants chosen by Accept-Encoding (with
// Vary: Accept-Encoding), index.html for directories. Refuses traversal: ".." segments (also
// percent-encoded), dot-files, and symlinks that resolve outside the root. Large files are
// streamed from disk, never read whole. Thread-safe: one instance can serve every worker.
class StaticFileHandler
{
public:
    using CacheRule = StaticCacheRule;
    using Options = StaticFileOptions;

    explicit StaticFileHandler(const QString &rootDirectory, Options options = {});
    ~StaticFileHandler();

    // False (with errorString()) when the root is not a readable directory.
    bool isValid() const;
    QString errorString() const;
    QString rootDirectory() const;

    HttpResponse respond(const HttpRequest &request) const;
    HttpHandler handler() const;

    // Exposed for tests and for the node's config validation.
    static bool globMatch(QStringView pattern, QStringView path);
    // The Cache-Control value for a URL path under the current rules, or empty.
    QByteArray cacheControlFor(QStringView urlPath) const;

private:
    struct Private;
    std::shared_ptr<Private> d;
};

} // namespace Meridian
