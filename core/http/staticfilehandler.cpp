#include "core/http/staticfilehandler.h"

#include "core/http/httpdate.h"
#include "core/http/httplogging.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QMimeDatabase>
#include <QMutex>

#include <sys/stat.h>

using namespace Qt::StringLiterals;

namespace Meridian {

namespace {

constexpr qsizetype kMaxEtagCacheEntries = 8192;

struct FileStat
{
    qint64 size = 0;
    qint64 mtimeSecs = 0;
    qint64 mtimeNsecs = 0;
    quint64 inode = 0;
    quint64 device = 0;
    bool regular = false;
    bool directory = false;
};

bool statFile(const QString &path, FileStat *out)
{
    struct stat st
    {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return false;
    out->size = st.st_size;
    out->mtimeSecs = st.st_mtim.tv_sec;
    out->mtimeNsecs = st.st_mtim.tv_nsec;
    out->inode = st.st_ino;
    out->device = st.st_dev;
    out->regular = S_ISREG(st.st_mode);
    out->directory = S_ISDIR(st.st_mode);
    return true;
}

// Parses Accept-Encoding enough to decide on gzip (RFC 9110 §12.5.3).
bool acceptsGzip(const HttpHeaders &headers)
{
    if (!headers.contains("Accept-Encoding"))
        return false;
    const QByteArray value = headers.combinedValue("Accept-Encoding");
    double gzip = -1;
    double star = -1;
    for (const QByteArray &item : value.split(',')) {
        const QList<QByteArray> parts = item.split(';');
        const QByteArray coding = parts[0].trimmed().toLower();
        double q = 1;
        for (qsizetype i = 1; i < parts.size(); ++i) {
            const QByteArray p = parts[i].trimmed();
            if (p.startsWith("q=") || p.startsWith("Q="))
                q = p.mid(2).toDouble();
        }
        if (coding == "gzip" || coding == "x-gzip")
            gzip = q;
        else if (coding == "*")
            star = q;
    }
    if (gzip >= 0)
        return gzip > 0;
    return star > 0;
}

QByteArray stripWeak(QByteArrayView tag)
{
    tag = tag.trimmed();
    if (tag.startsWith("W/"))
        tag = tag.sliced(2);
    return tag.toByteArray();
}

// If-None-Match uses the weak comparison (RFC 9110 §13.1.2).
bool noneMatchHits(const QByteArray &header, const QByteArray &etag)
{
    if (header.trimmed() == "*")
        return true;
    const QByteArray mine = stripWeak(etag);
    for (const QByteArray &tag : header.split(',')) {
        if (stripWeak(tag) == mine)
            return true;
    }
    return false;
}

struct ByteRange
{
    enum class Kind { None, Satisfiable, Unsatisfiable };
    Kind kind = Kind::None;
    qint64 first = 0;
    qint64 last = 0;
};

bool parseNumber(QByteArrayView s, qint64 &out)
{
    if (s.isEmpty() || s.size() > 18)
        return false;
    qint64 v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

// One "bytes=" range; several ranges or bad syntax are ignored (served as 200, RFC 9110 §14.2).
ByteRange parseRange(QByteArrayView header, qint64 size)
{
    ByteRange r;
    header = header.trimmed();
    if (!header.startsWith("bytes="))
        return r;
    const QByteArrayView spec = header.sliced(6).trimmed();
    if (spec.contains(','))
        return r;
    const qsizetype dash = spec.indexOf('-');
    if (dash < 0)
        return r;
    const QByteArrayView a = spec.first(dash).trimmed();
    const QByteArrayView b = spec.sliced(dash + 1).trimmed();
    qint64 first = 0;
    qint64 last = 0;
    if (a.isEmpty()) {
        qint64 suffix = 0;
        if (!parseNumber(b, suffix))
            return r;
        if (suffix == 0 || size == 0) {
            r.kind = ByteRange::Kind::Unsatisfiable;
            return r;
        }
        first = qMax<qint64>(0, size - suffix);
        last = size - 1;
    } else {
        if (!parseNumber(a, first))
            return r;
        if (b.isEmpty()) {
            last = size - 1;
        } else if (!parseNumber(b, last) || last < first) {
            return r;
        }
        if (first >= size) {
            r.kind = ByteRange::Kind::Unsatisfiable;
            return r;
        }
        last = qMin(last, size - 1);
    }
    r.kind = ByteRange::Kind::Satisfiable;
    r.first = first;
    r.last = last;
    return r;
}

bool globMatchAt(QStringView p, QStringView s)
{
    qsizetype pi = 0;
    qsizetype si = 0;
    while (pi < p.size()) {
        const QChar c = p[pi];
        if (c == u'*') {
            const bool any = pi + 1 < p.size() && p[pi + 1] == u'*';
            const QStringView rest = p.sliced(pi + (any ? 2 : 1));
            for (qsizetype k = si; k <= s.size(); ++k) {
                if (globMatchAt(rest, s.sliced(k)))
                    return true;
                if (k < s.size() && !any && s[k] == u'/')
                    return false;
            }
            return false;
        }
        if (si >= s.size())
            return false;
        if (c == u'?') {
            if (s[si] == u'/')
                return false;
        } else if (c != s[si]) {
            return false;
        }
        ++pi;
        ++si;
    }
    return si == s.size();
}

} // namespace

struct StaticFileHandler::Private
{
    struct CachedTag
    {
        FileStat stat;
        QByteArray etag;
    };

    QString root; // canonical, no trailing slash
    QString error;
    Options options;
    QByteArray prefix; // the URL prefix, ending with '/'
    QMimeDatabase mimeDatabase;
    mutable QMutex cacheMutex;
    mutable QHash<QString, CachedTag> etagCache;

    bool insideRoot(const QString &canonical) const
    {
        return canonical == root || canonical.startsWith(root + u'/');
    }

    QByteArray etagFor(const QString &path, const FileStat &st) const;
    QByteArray contentTypeFor(const QString &fileName) const;
};

QByteArray StaticFileHandler::Private::etagFor(const QString &path, const FileStat &st) const
{
    if (st.size > options.maxHashedFileBytes) {
        // Too large to hash on the request path: size and mtime (not the inode, which differs
        // between regions for the same deployment).
        return '"' + QByteArray::number(st.size, 16) + '-' + QByteArray::number(st.mtimeSecs, 16)
               + '.' + QByteArray::number(st.mtimeNsecs, 16) + '"';
    }
    {
        QMutexLocker lock(&cacheMutex);
        const auto it = etagCache.constFind(path);
        if (it != etagCache.cend() && it->stat.size == st.size && it->stat.mtimeSecs == st.mtimeSecs
            && it->stat.mtimeNsecs == st.mtimeNsecs && it->stat.inode == st.inode
            && it->stat.device == st.device) {
            return it->etag;
        }
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&file))
        return {};
    const QByteArray etag = '"' + hash.result().first(16).toHex() + '"';
    QMutexLocker lock(&cacheMutex);
    if (etagCache.size() >= kMaxEtagCacheEntries)
        etagCache.clear();
    etagCache.insert(path, CachedTag{st, etag});
    return etag;
}

QByteArray StaticFileHandler::Private::contentTypeFor(const QString &fileName) const
{
    if (fileName.endsWith(u".wasm"))
        return "application/wasm";
    const QString name
            = mimeDatabase.mimeTypeForFile(fileName, QMimeDatabase::MatchExtension).name();
    QByteArray type = name.toLatin1();
    if (name.startsWith(u"text/") || name == u"application/javascript"
        || name == u"application/json" || name == u"image/svg+xml") {
        type += "; charset=utf-8";
    }
    return type;
}

StaticFileHandler::StaticFileHandler(const QString &rootDirectory, Options options)
    : d(std::make_shared<Private>())
{
    d->options = std::move(options);
    QString prefix = d->options.urlPrefix;
    if (!prefix.startsWith(u'/'))
        prefix.prepend(u'/');
    if (!prefix.endsWith(u'/'))
        prefix.append(u'/');
    d->prefix = prefix.toUtf8();
    const QFileInfo info(rootDirectory);
    if (!info.isDir() || !info.isReadable()) {
        d->error = u"static root %1 is not a readable directory"_s.arg(rootDirectory);
        return;
    }
    d->root = info.canonicalFilePath();
}

StaticFileHandler::~StaticFileHandler() = default;

bool StaticFileHandler::isValid() const
{
    return d->error.isEmpty();
}

QString StaticFileHandler::errorString() const
{
    return d->error;
}

QString StaticFileHandler::rootDirectory() const
{
    return d->root;
}

bool StaticFileHandler::globMatch(QStringView pattern, QStringView path)
{
    if (!pattern.contains(u'/')) {
        const qsizetype slash = path.lastIndexOf(u'/');
        return globMatchAt(pattern, slash < 0 ? path : path.sliced(slash + 1));
    }
    return globMatchAt(pattern, path);
}

QByteArray StaticFileHandler::cacheControlFor(QStringView urlPath) const
{
    for (const CacheRule &rule : d->options.cacheRules) {
        if (globMatch(rule.pattern, urlPath))
            return rule.cacheControl;
    }
    return {};
}

HttpHandler StaticFileHandler::handler() const
{
    StaticFileHandler copy = *this;
    return [copy](const HttpRequest &request, HttpResponder responder) {
        responder.send(copy.respond(request));
    };
}

HttpResponse StaticFileHandler::respond(const HttpRequest &request) const
{
    if (!d->error.isEmpty())
        return HttpResponse::jsonError(500, u"internal", d->error);
    const QByteArray &method = request.method();
    const bool head = method == "HEAD";
    if (method != "GET" && !head) {
        HttpResponse r = HttpResponse::jsonError(405,
                                                 u"method_not_allowed",
                                                 u"static files answer GET and HEAD only");
        r.setHeader("Allow", "GET, HEAD");
        return r;
    }
    const QByteArray &rawPath = request.path();
    const QByteArray prefixNoSlash = d->prefix.chopped(1);
    if (!rawPath.startsWith(d->prefix) && rawPath != prefixNoSlash)
        return HttpResponse::jsonError(404, u"not_found", u"not found");

    // Decode first, then check segments: "%2e%2e" and "%2f" get no special treatment.
    const QString relative = HttpRequest::percentDecode(
            QByteArrayView(rawPath).sliced(qMin(rawPath.size(), d->prefix.size())));
    if (relative.contains(QChar(0)) || relative.contains(u'\\'))
        return HttpResponse::jsonError(400, u"bad_request", u"invalid character in path");
    QStringList segments;
    for (const QString &seg : relative.split(u'/', Qt::SkipEmptyParts)) {
        if (seg == u".")
            continue;
        if (seg == u"..")
            return HttpResponse::jsonError(400, u"bad_request", u"path leaves the site root");
        if (seg.startsWith(u'.') && !d->options.serveDotFiles)
            return HttpResponse::jsonError(404, u"not_found", u"not found");
        segments.append(seg);
    }
    QString filePath = d->root;
    if (!segments.isEmpty())
        filePath += u'/' + segments.join(u'/');
    QString urlPath = u'/' + segments.join(u'/');

    FileStat st;
    if (!statFile(filePath, &st))
        return HttpResponse::jsonError(404, u"not_found", u"not found");
    if (st.directory) {
        if (rawPath != prefixNoSlash && !rawPath.endsWith('/')) {
            HttpResponse r = HttpResponse::jsonError(301, u"moved", u"directory: add a slash");
            QByteArray location = rawPath + '/';
            if (!request.query().isEmpty())
                location += '?' + request.query();
            r.setHeader("Location", location);
            return r;
        }
        filePath += u'/' + d->options.indexFile;
        urlPath += (urlPath.endsWith(u'/') ? QString() : u"/"_s) + d->options.indexFile;
        if (!statFile(filePath, &st))
            return HttpResponse::jsonError(404, u"not_found", u"not found");
    }
    if (!st.regular)
        return HttpResponse::jsonError(404, u"not_found", u"not found");
    // Symlinks are fine as long as they stay inside the root.
    if (!d->insideRoot(QFileInfo(filePath).canonicalFilePath()))
        return HttpResponse::jsonError(404, u"not_found", u"not found");

    // Pre-compressed variant.
    bool gzipVariant = false;
    QString servePath = filePath;
    FileStat serveStat = st;
    const QString gzPath = filePath + u".gz"_s;
    FileStat gzStat;
    const bool hasGz = statFile(gzPath, &gzStat) && gzStat.regular
                       && d->insideRoot(QFileInfo(gzPath).canonicalFilePath());
    if (hasGz && acceptsGzip(request.headers())) {
        gzipVariant = true;
        servePath = gzPath;
        serveStat = gzStat;
    }

    QByteArray etag = d->etagFor(servePath, serveStat);
    if (etag.isEmpty())
        return HttpResponse::jsonError(403, u"forbidden", u"file not readable");
    if (gzipVariant)
        etag.insert(etag.size() - 1, "-gz");
    const QByteArray lastModified = HttpDate::formatSecs(st.mtimeSecs);
    const QByteArray cacheControl = cacheControlFor(urlPath);

    HttpResponse r(200);
    r.setHeader("ETag", etag);
    r.setHeader("Last-Modified", lastModified);
    if (!cacheControl.isEmpty())
        r.setHeader("Cache-Control", cacheControl);
    if (hasGz)
        r.setHeader("Vary", "Accept-Encoding");

    // Conditional requests (RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since).
    const HttpHeaders &h = request.headers();
    bool notModified = false;
    if (h.contains("If-None-Match")) {
        notModified = noneMatchHits(h.combinedValue("If-None-Match"), etag);
    } else if (h.contains("If-Modified-Since")) {
        const auto since = HttpDate::parse(h.value("If-Modified-Since"));
        notModified = since && st.mtimeSecs <= since->toSecsSinceEpoch();
    }
    if (notModified) {
        r.setStatus(304);
        return r;
    }

    r.setHeader("Content-Type", d->contentTypeFor(filePath));
    r.setHeader("Accept-Ranges", "bytes");
    r.setHeader("X-Content-Type-Options", "nosniff");
    if (gzipVariant)
        r.setHeader("Content-Encoding", "gzip");

    qint64 first = 0;
    qint64 length = serveStat.size;
    if (!head && h.contains("Range")) {
        bool rangeApplies = true;
        if (h.contains("If-Range")) {
            const QByteArray ifRange = h.value("If-Range").trimmed();
            if (ifRange.startsWith('"') || ifRange.startsWith("W/")) {
                rangeApplies = ifRange == etag; // strong comparison
            } else {
                const auto date = HttpDate::parse(ifRange);
                rangeApplies = date && date->toSecsSinceEpoch() == st.mtimeSecs;
            }
        }
        const ByteRange range = rangeApplies ? parseRange(h.value("Range"), serveStat.size)
                                             : ByteRange();
        if (range.kind == ByteRange::Kind::Unsatisfiable) {
            HttpResponse e = HttpResponse::jsonError(416,
                                                     u"range_not_satisfiable",
                                                     u"the requested range is outside the file");
            e.setHeader("Content-Range", "bytes */" + QByteArray::number(serveStat.size));
            e.setHeader("ETag", etag);
            return e;
        }
        if (range.kind == ByteRange::Kind::Satisfiable) {
            first = range.first;
            length = range.last - range.first + 1;
            r.setStatus(206);
            r.setHeader("Content-Range",
                        "bytes " + QByteArray::number(range.first) + '-'
                                + QByteArray::number(range.last) + '/'
                                + QByteArray::number(serveStat.size));
        }
    }

    if (head) {
        r.setHeader("Content-Length", QByteArray::number(length));
        return r;
    }
    auto file = std::make_shared<QFile>(servePath);
    if (!file->open(QIODevice::ReadOnly) || (first > 0 && !file->seek(first))) {
        qCWarning(lcHttp) << "cannot read" << servePath << file->errorString();
        return HttpResponse::jsonError(403, u"forbidden", u"file not readable");
    }
    if (length <= d->options.inMemoryBelowBytes) {
        QByteArray body = file->read(length);
        if (body.size() != length)
            return HttpResponse::jsonError(500, u"internal", u"file changed while reading");
        r.setBody(std::move(body));
    } else {
        r.setBodyDevice(std::move(file), length);
    }
    return r;
}

} // namespace Meridian
