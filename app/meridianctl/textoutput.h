#pragma once

#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace Meridian::Ctl {

// A table for people: a header row, columns separated by two spaces, numbers right-aligned.
// Cells are cleaned of control characters (a node's strings never drive the terminal).
class Table
{
public:
    explicit Table(QStringList headers);
    // Columns whose cells are right-aligned (numbers).
    void setRightAligned(const QList<int> &columns) { m_right = columns; }
    void addRow(QStringList cells);
    QString render() const;
    bool isEmpty() const { return m_rows.isEmpty(); }

private:
    QStringList m_headers;
    QList<QStringList> m_rows;
    QList<int> m_right;
};

// "KEY  value" lines with the keys aligned.
QString keyValues(const QList<QPair<QString, QString>> &pairs);

QString clean(const QString &text);
QString formatBytes(qint64 bytes);                    // "1.5 MiB"
QString formatDuration(double seconds);               // "3.2 s", "4m 05s", "2h 03m"
QString formatNumber(double value, int decimals = 1); // "12.5", "—" for NaN
QString formatTime(const QDateTime &time);            // "2026-11-25 01:40:19Z" or "-"
// "30", "30s", "1.5s", "500ms", "2m", "1h" -> seconds; nullopt when not a duration.
std::optional<double> parseDuration(const QString &text);

// One line of a progress bar: "[#####-----]  42%".
QString progressBar(double fraction, int width = 24);

bool stdoutIsTerminal();
bool stderrIsTerminal();
void writeOut(const QString &text);
void writeErr(const QString &text);

} // namespace Meridian::Ctl
