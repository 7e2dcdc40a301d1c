#pragma once

#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace Meridian::Ctl {

// Exit codes of meridianctl (docs/meridianctl.md).
enum ExitCode : int {
    ExitOk = 0,
    ExitFailure = 1,    // the operation failed or did not finish (resync failed, --wait timed out)
    ExitUsage = 2,      // bad command line
    ExitRefused = 3,    // the API answered with an error (4xx/5xx), including 401/403
    ExitConnection = 4, // no answer: connection refused, host not found, timeout
};

struct OptionSpec
{
    QString name;      // long name without dashes ("timeout")
    QChar shortName;   // or null
    QString valueName; // empty for a flag
    QString help;
    bool repeatable = false;
};

struct CommandSpec
{
    QString name;              // "drain", "strategy set", "local up"
    QStringList positionals;   // "REGION", "PERCENT"
    QStringList optionNames;   // command options (global ones are always allowed)
    QString summary;           // one line, for the command list
    QString description;       // more, for `meridianctl CMD --help`
    bool needsEndpoint = true; // talks to a node's control API
};

// A parsed command line.
struct Invocation
{
    const CommandSpec *command = nullptr; // null when only --help or --version was asked
    QString group;                        // "strategy" for `meridianctl strategy --help`
    QStringList args;                     // positionals, in order
    QMap<QString, QStringList> options;   // long name -> values ("" for flags), in order
    bool help = false;
    bool version = false;

    bool isSet(const QString &name) const { return options.contains(name); }
    QString value(const QString &name, const QString &fallback = {}) const;
    QStringList values(const QString &name) const { return options.value(name); }
};

struct UsageError
{
    QString message;
    QString command; // the command it concerns, for "see meridianctl CMD --help"
};

// The command line grammar of meridianctl: commands (some two words: "strategy set", "local up"),
// positionals, and options that may come anywhere ("--name value", "--name=value", "-o json",
// "-ojson"); "--" ends options. Kept as data, so help texts and the bash completion agree with
// what is parsed.
class CliParser
{
public:
    CliParser();

    // Parses argv without the program name.
    std::optional<UsageError> parse(const QStringList &arguments, Invocation *out) const;

    QString mainHelp() const;
    QString commandHelp(const CommandSpec &command) const;
    // The help for a group ("strategy", "local"), listing its commands.
    QString groupHelp(const QString &group) const;

    const QList<CommandSpec> &commands() const { return m_commands; }
    const OptionSpec *option(const QString &name) const;
    const OptionSpec *optionByShortName(QChar shortName) const;
    static const QStringList &globalOptionNames();

private:
    const CommandSpec *find(const QString &name) const;
    bool isGroup(const QString &word) const;
    bool namesOption(const QString &arg) const;

    QList<CommandSpec> m_commands;
    QList<OptionSpec> m_options;
};

} // namespace Meridian::Ctl
