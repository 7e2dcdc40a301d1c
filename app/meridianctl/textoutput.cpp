#include "textoutput.h"

#include <QRegularExpression>

#include <cmath>
#include <cstdio>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace Meridian::Ctl {

Table::Table(QStringList headers)
    : m_headers(std::move(headers))
{}

void Table::addRow(QStringList cells)
{
    for (QString &cell : cells)
        cell = clean(cell);
    while (cells.size() < m_headers.size())
        cells.append(QString());
    m_rows.append(std::move(cells));
}

QString Table::render() const
{
    QList<qsizetype> widths;
    for (const QString &header : m_headers)
        widths.append(header.size());
    for (const QStringList &row : m_rows) {
        for (qsizetype c = 0; c < widths.size() && c < row.size(); ++c)
            widths[c] = std::max(widths[c], row.at(c).size());
    }
    auto line = [&](const QStringList &cells) {
        QString text;
        for (qsizetype c = 0; c < widths.size(); ++c) {
            const QString &cell = cells.value(c);
            const bool last = c == widths.size() - 1;
            if (m_right.contains(int(c)))
                text += cell.rightJustified(widths[c]);
            else
                text += last ? cell : cell.leftJustified(widths[c]);
            if (!last)
                text += u"  "_s;
        }
        while (text.endsWith(u' '))
            text.chop(1);
        return text + u'\n';
    };
    QString text = line(m_headers);
    for (const QStringList &row : m_rows)
        text += line(row);
    return text;
}

QString keyValues(const QList<QPair<QString, QString>> &pairs)
{
    qsizetype width = 0;
    for (const auto &pair : pairs)
        width = std::max(width, pair.first.size());
    QString text;
    for (const auto &pair : pairs)
        text += pair.first.leftJustified(width) + u"  "_s + clean(pair.second) + u'\n';
    return text;
}

QString clean(const QString &text)
{
    QString out;
    out.reserve(text.size());
    for (const QChar c : text)
        out.append(c.category() == QChar::Other_Control ? u'?' : c);
    return out;
}

QString formatBytes(qint64 bytes)
{
    if (bytes < 1024)
        return u"%1 B"_s.arg(bytes);
    const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes);
    int unit = -1;
    while (value >= 1024 && unit < 3) {
        value /= 1024;
        ++unit;
    }
    return u"%1 %2"_s.arg(QString::number(value, 'f', value < 10 ? 1 : 0),
                          QString::fromLatin1(units[unit]));
}

QString formatDuration(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0)
        return u"-"_s;
    if (seconds < 60)
        return u"%1 s"_s.arg(QString::number(seconds, 'f', seconds < 10 ? 1 : 0));
    const qint64 whole = qint64(std::llround(seconds));
    if (whole < 3600)
        return u"%1m %2s"_s.arg(whole / 60).arg(whole % 60, 2, 10, QChar(u'0'));
    if (whole < 86400)
        return u"%1h %2m"_s.arg(whole / 3600).arg((whole % 3600) / 60, 2, 10, QChar(u'0'));
    return u"%1d %2h"_s.arg(whole / 86400).arg((whole % 86400) / 3600);
}

QString formatNumber(double value, int decimals)
{
    if (!std::isfinite(value))
        return u"-"_s;
    return QString::number(value, 'f', decimals);
}

QString formatTime(const QDateTime &time)
{
    if (!time.isValid())
        return u"-"_s;
    return time.toUTC().toString(u"yyyy-MM-dd HH:mm:ss'Z'"_s);
}

std::optional<double> parseDuration(const QString &text)
{
    static const QRegularExpression pattern(u"^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?\\s*$"_s);
    const QRegularExpressionMatch match = pattern.match(text);
    if (!match.hasMatch())
        return std::nullopt;
    const double number = match.captured(1).toDouble();
    const QString unit = match.captured(2);
    if (unit == u"ms"_s)
        return number / 1000.0;
    if (unit == u"m"_s)
        return number * 60.0;
    if (unit == u"h"_s)
        return number * 3600.0;
    return number;
}

QString progressBar(double fraction, int width)
{
    fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
    const int filled = int(std::lround(fraction * width));
    return u"[%1%2] %3%"_s.arg(QString(filled, u'#'),
                               QString(width - filled, u'-'),
                               QString::number(int(fraction * 100)).rightJustified(3));
}

bool stdoutIsTerminal()
{
    return ::isatty(STDOUT_FILENO) == 1;
}

bool stderrIsTerminal()
{
    return ::isatty(STDERR_FILENO) == 1;
}

void writeOut(const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
    std::fflush(stdout);
}

void writeErr(const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stderr);
    std::fflush(stderr);
}

} // namespace Meridian::Ctl
