#include "core/control/sseparser.h"

using namespace Qt::StringLiterals;

namespace Meridian {

SseParser::SseParser(qsizetype maxLineBytes)
    : m_maxLineBytes(maxLineBytes)
{}

QList<SseMessage> SseParser::feed(QByteArrayView chunk)
{
    QList<SseMessage> out;
    if (hasError())
        return out;
    qsizetype start = 0;
    for (qsizetype i = 0; i < chunk.size(); ++i) {
        const char c = chunk[i];
        if (m_skipLf) {
            m_skipLf = false;
            if (c == '\n') {
                start = i + 1;
                continue;
            }
        }
        if (c != '\r' && c != '\n')
            continue;
        m_line.append(chunk.sliced(start, i - start));
        if (m_line.size() > m_maxLineBytes) {
            m_error = u"event stream line longer than %1 bytes"_s.arg(m_maxLineBytes);
            return out;
        }
        processLine(m_line, out);
        m_line.clear();
        m_skipLf = c == '\r';
        start = i + 1;
    }
    m_line.append(chunk.sliced(start));
    if (m_line.size() > m_maxLineBytes)
        m_error = u"event stream line longer than %1 bytes"_s.arg(m_maxLineBytes);
    return out;
}

void SseParser::reset()
{
    m_line.clear();
    m_data.clear();
    m_event.clear();
    m_error.clear();
    m_skipLf = false;
    m_atStart = true;
    m_haveData = false;
}

void SseParser::processLine(QByteArrayView line, QList<SseMessage> &out)
{
    if (m_atStart) {
        m_atStart = false;
        if (line.startsWith("\xEF\xBB\xBF"))
            line = line.sliced(3);
    }
    if (line.isEmpty()) {
        // Dispatch. An event without data lines is dropped, but its type is still reset.
        if (m_haveData)
            out.append({m_event, m_data, m_lastEventId});
        m_data.clear();
        m_event.clear();
        m_haveData = false;
        return;
    }
    if (line.front() == ':') {
        ++m_comments;
        return;
    }
    const qsizetype colon = line.indexOf(':');
    const QByteArrayView name = colon < 0 ? line : line.first(colon);
    QByteArrayView value = colon < 0 ? QByteArrayView() : line.sliced(colon + 1);
    if (value.startsWith(' '))
        value = value.sliced(1);

    if (name == "data") {
        if (m_haveData)
            m_data.append(u'\n');
        m_data.append(QString::fromUtf8(value));
        m_haveData = true;
    } else if (name == "event") {
        m_event = QString::fromUtf8(value);
    } else if (name == "id") {
        if (!value.contains('\0'))
            m_lastEventId = QString::fromUtf8(value);
    } else if (name == "retry") {
        bool ok = !value.isEmpty();
        for (const char c : value)
            ok = ok && c >= '0' && c <= '9';
        if (ok) {
            const qint64 ms = value.toLongLong(&ok);
            if (ok && ms <= std::numeric_limits<int>::max())
                m_retryMs = int(ms);
        }
    }
    // Any other field is ignored, as the format requires.
}

} // namespace Meridian
