#include "cliparser.h"

using namespace Qt::StringLiterals;

namespace Meridian::Ctl {

QString Invocation::value(const QString &name, const QString &fallback) const
{
    const QStringList list = options.value(name);
    return list.isEmpty() ? fallback : list.last();
}

const QStringList &CliParser::globalOptionNames()
{
    static const QStringList names = {u"endpoint"_s,
                                      u"token"_s,
                                      u"cacert"_s,
                                      u"output"_s,
                                      u"request-timeout"_s,
                                      u"help"_s,
                                      u"version"_s};
    return names;
}

CliParser::CliParser()
{
    m_options = {
            {u"endpoint"_s,
             {},
             u"URL"_s,
             u"Control API of a node, e.g. http://127.0.0.1:42001 (default: $MERIDIAN_ENDPOINT)."_s},
            {u"token"_s, {}, u"TOKEN"_s, u"Bearer token (default: $MERIDIAN_TOKEN)."_s},
            {u"cacert"_s,
             {},
             u"FILE"_s,
             u"Trust the CA certificates in FILE (PEM) for https:// endpoints, besides the "
             "system's (default: $MERIDIAN_CACERT)."_s},
            {u"output"_s,
             u'o',
             u"FORMAT"_s,
             u"table (for people, the default) or json (the API's answer, for scripts)."_s},
            {u"request-timeout"_s,
             {},
             u"D"_s,
             u"Give up on an unanswered request after D (default 10s)."_s},
            {u"help"_s, u'h', {}, u"Show help and exit."_s},
            {u"version"_s, u'V', {}, u"Print the version and exit."_s},
            {u"wait"_s, {}, {}, u"Wait until the operation has finished, showing progress."_s},
            {u"timeout"_s,
             {},
             u"D"_s,
             u"Drain deadline: in-flight requests get D to finish (e.g. 30s, 2m); --wait gives up "
             "10s after it."_s},
            {u"force"_s,
             {},
             {},
             u"Override the safety rules (min_active_regions, promote lag); audited."_s},
            {u"param"_s, {}, u"KEY=VALUE"_s, u"A strategy parameter (repeatable)."_s, true},
            {u"from"_s, {}, u"PEER"_s, u"Region to copy from (default: the node chooses)."_s},
            {u"cancel"_s, {}, {}, u"Cancel the running resync instead of starting one."_s},
            {u"limit"_s, {}, u"N"_s, u"Show at most N entries (newest first)."_s},
            {u"regions"_s, {}, u"N"_s, u"Number of regions, 1-9 (default 5)."_s},
            {u"edge"_s, {}, {}, u"Add one edge gateway (the default)."_s},
            {u"no-edge"_s, {}, {}, u"Start no edge gateway."_s},
            {u"edges"_s, {}, u"N"_s, u"Number of edge gateways, 0-4 (default 1)."_s},
            {u"wan"_s,
             {},
             {},
             u"Simulate WAN latency between regions, proportional to great-circle distance."_s},
            {u"dir"_s, {}, u"DIR"_s, u"Directory of the local cluster (default ./meridian-local)."_s},
            {u"tls-cert"_s,
             {},
             u"FILE"_s,
             u"Serve control APIs over HTTPS and replicate over mutual TLS with this certificate "
             "(PEM, naming 127.0.0.1); needs --tls-key and --tls-ca."_s},
            {u"tls-key"_s, {}, u"FILE"_s, u"The private key of --tls-cert (unencrypted PEM)."_s},
            {u"tls-ca"_s, {}, u"FILE"_s, u"The CA that signed --tls-cert (PEM)."_s},
            {u"grace"_s,
             {},
             u"D"_s,
             u"How long nodes get to shut down before SIGKILL (default 10s)."_s},
            {u"host"_s,
             {},
             u"HOST"_s,
             u"Purge only this site's entries: the Host clients send, e.g. www.example.com "
             "(without a port: any port). Default: every host."_s},
            {u"wait-timeout"_s, {}, u"D"_s, u"With --wait, give up after D (default 30s)."_s},
    };

    m_commands = {
            {u"status"_s,
             {},
             {},
             u"Show the answering node: region, role, state, health, leader, quorum, version."_s,
             {}},
            {u"regions"_s,
             {},
             {},
             u"List every region with state, health, traffic and replication lag."_s,
             {}},
            {u"drain"_s,
             {u"REGION"_s},
             {u"wait"_s, u"timeout"_s, u"force"_s},
             u"Take a region out of service."_s,
             u"New requests stop going to REGION; those in flight get the deadline to finish.\n"
             "Refused (exit 3) if fewer than min_active_regions would stay active, unless "
             "--force.\nWith --wait, follows the in-flight count until the region is drained."_s},
            {u"activate"_s,
             {u"REGION"_s},
             {u"force"_s},
             u"Return a drained or standby region to service."_s,
             {}},
            {u"promote"_s,
             {u"REGION"_s},
             {u"force"_s},
             u"Make REGION the primary (first in failover order), bringing it into service."_s,
             u"Refused while REGION's inbound replication lag exceeds max_promote_lag or its "
             "links are not caught up, unless --force."_s},
            {u"strategy get"_s, {}, {}, u"Show the balancing strategy and its parameters."_s, {}},
            {u"strategy set"_s,
             {u"NAME"_s},
             {u"param"_s, u"force"_s},
             u"Change the balancing strategy."_s,
             u"NAME is one of round_robin, weighted_round_robin, random, weighted_random,\n"
             "least_connections, least_request, latency_ewma, geo_proximity, consistent_hash,\n"
             "failover. --param KEY=VALUE sets a parameter; VALUE is read as JSON when it is a\n"
             "number, true, false or null (or quoted JSON), as a string otherwise."_s},
            {u"dial"_s,
             {u"REGION"_s, u"PERCENT"_s},
             {u"force"_s},
             u"Send PERCENT (0-100) of REGION's normal share of traffic to it."_s,
             {}},
            {u"revert"_s,
             {u"ACTION"_s},
             {u"force"_s},
             u"Restore the control state an action replaced (see `meridianctl actions`)."_s,
             {}},
            {u"approve"_s, {u"ACTION"_s}, {}, u"Approve an action waiting for a second admin."_s, {}},
            {u"cache purge"_s,
             {u"PATH..."_s},
             {u"host"_s, u"wait"_s, u"wait-timeout"_s, u"force"_s},
             u"Remove cached responses from every edge gateway."_s,
             u"Each PATH is a path (\"/index.html\": with any query string), a path with a query\n"
             "(\"/search?q=x\": exactly that), or a prefix ending in * (\"/assets/*\"; \"/*\" is\n"
             "everything); quote * for the shell. A full URL (https://www.example.com/app.js)\n"
             "gives the host as well. Recorded as an action, so every edge applies it, also one\n"
             "that is unreachable now once it is back. With --wait, follows the edges until each\n"
             "has applied it; exits 1 if some have not by --wait-timeout."_s},
            {u"cache stats"_s,
             {},
             {},
             u"Show every edge gateway's cache: entries, size, hit ratio, stale answers (while revalidating, and for failed regions)."_s,
             u"Counters since each edge started; an edge this node does not reach shows as\n"
             "unreachable."_s},
            {u"cache status"_s,
             {u"ACTION"_s},
             {},
             u"Show which edge gateways have applied a cache purge."_s,
             {}},
            {u"actions"_s,
             {},
             {u"limit"_s},
             u"List recent control actions (their ids are what revert takes)."_s,
             {}},
            {u"resync"_s,
             {u"REGION"_s},
             {u"from"_s, u"wait"_s, u"cancel"_s},
             u"Rebuild REGION's data from a peer."_s,
             u"With --wait, shows progress (phase, bytes, rows, ETA) until it is done: a bar on\n"
             "a terminal, plain lines otherwise. Exits 1 if the resync fails or is "
             "cancelled."_s},
            {u"lag"_s,
             {},
             {},
             u"Show replication lag and state for every link between regions."_s,
             {}},
            {u"digest"_s,
             {},
             {},
             u"Compare the data digests of all regions, with overwritten-write counters."_s,
             {}},
            {u"events"_s,
             {},
             {},
             u"Follow the live event stream until interrupted (Ctrl-C)."_s,
             u"Reconnects by itself when the node goes away. With -o json, prints one JSON\n"
             "object per line: {\"event\": TYPE, \"id\": ID, \"data\": DATA}."_s},
            {u"overwritten"_s,
             {u"REGION"_s},
             {u"limit"_s},
             u"Show the writes that lost a last-writer-wins conflict in REGION."_s,
             u"Newest first (default 100, --limit up to 10000): the row's table and key, the\n"
             "losing write (its origin region, time and values, or that it was a delete) and the\n"
             "write that won. Counters per table and origin are in `meridianctl digest`."_s},
            {u"audit"_s,
             {},
             {u"limit"_s},
             u"Show the audit log of control calls, accepted and refused."_s,
             {}},
            {u"local up"_s,
             {},
             {u"regions"_s,
              u"edge"_s,
              u"no-edge"_s,
              u"edges"_s,
              u"wan"_s,
              u"dir"_s,
              u"tls-cert"_s,
              u"tls-key"_s,
              u"tls-ca"_s},
             u"Start a local cluster of real meridiand processes on loopback ports."_s,
             u"Regions are placed at real-world coordinates. Prints every node's id, role, data\n"
             "and control URL and pid, plus generated admin and viewer tokens (also written to\n"
             "DIR/cluster.json)."_s,
             false},
            {u"local down"_s,
             {},
             {u"dir"_s, u"grace"_s},
             u"Stop the local cluster in DIR."_s,
             {},
             false},
            {u"local kill"_s,
             {u"REGION"_s},
             {u"dir"_s},
             u"SIGKILL one node of the local cluster (an outage)."_s,
             {},
             false},
            {u"local start"_s,
             {u"REGION"_s},
             {u"dir"_s},
             u"(Re)start one node of the local cluster and wait until it is ready."_s,
             {},
             false},
    };
}

const OptionSpec *CliParser::option(const QString &name) const
{
    for (const OptionSpec &option : m_options) {
        if (option.name == name)
            return &option;
    }
    return nullptr;
}

const OptionSpec *CliParser::optionByShortName(QChar shortName) const
{
    for (const OptionSpec &option : m_options) {
        if (!option.shortName.isNull() && option.shortName == shortName)
            return &option;
    }
    return nullptr;
}

const CommandSpec *CliParser::find(const QString &name) const
{
    for (const CommandSpec &command : m_commands) {
        if (command.name == name)
            return &command;
    }
    return nullptr;
}

bool CliParser::isGroup(const QString &word) const
{
    for (const CommandSpec &command : m_commands) {
        if (command.name.startsWith(word + u' '))
            return true;
    }
    return false;
}

namespace {

// "-x", "--name": an option; "-", "-5" and anything else: a word.
bool looksLikeOption(const QString &arg)
{
    return arg.size() >= 2 && arg.startsWith(u'-') && !arg.at(1).isDigit();
}

} // namespace

// In a value's place, only an argument that names a known option is one: a value may start
// with '-' (a token, a negative number).
bool CliParser::namesOption(const QString &arg) const
{
    if (!looksLikeOption(arg))
        return false;
    if (arg.startsWith(u"--"_s)) {
        const qsizetype eq = arg.indexOf(u'=');
        return option(arg.mid(2, eq < 0 ? -1 : eq - 2)) != nullptr;
    }
    return arg.size() == 2 && optionByShortName(arg.at(1)) != nullptr;
}

std::optional<UsageError> CliParser::parse(const QStringList &arguments, Invocation *out) const
{
    Invocation result;
    QStringList words;
    QList<QPair<const OptionSpec *, QString>> given;
    QString displayName;

    for (qsizetype i = 0; i < arguments.size(); ++i) {
        const QString &arg = arguments.at(i);
        if (arg == u"--"_s) {
            words += arguments.mid(i + 1);
            break;
        }
        if (!looksLikeOption(arg)) {
            words.append(arg); // includes "-" and negative numbers
            continue;
        }
        const OptionSpec *spec = nullptr;
        std::optional<QString> inlineValue;
        if (arg.startsWith(u"--"_s)) {
            const qsizetype eq = arg.indexOf(u'=');
            const QString name = arg.mid(2, eq < 0 ? -1 : eq - 2);
            if (eq >= 0)
                inlineValue = arg.mid(eq + 1);
            spec = option(name);
            displayName = u"--"_s + name;
        } else {
            spec = optionByShortName(arg.at(1));
            displayName = arg.left(2);
            if (arg.size() > 2)
                inlineValue = arg.mid(2);
        }
        if (!spec)
            return UsageError{u"unknown option %1"_s.arg(displayName.isEmpty() ? arg : displayName),
                              {}};
        QString value;
        if (spec->valueName.isEmpty()) {
            if (inlineValue)
                return UsageError{u"option --%1 takes no value"_s.arg(spec->name), {}};
        } else if (inlineValue) {
            value = *inlineValue;
        } else if (i + 1 < arguments.size() && !namesOption(arguments.at(i + 1))) {
            value = arguments.at(++i);
        } else {
            return UsageError{u"option --%1 needs a value (%2)"_s.arg(spec->name, spec->valueName),
                              {}};
        }
        given.append({spec, value});
    }

    for (const auto &[spec, value] : given) {
        if (spec->name == u"help"_s)
            result.help = true;
        else if (spec->name == u"version"_s)
            result.version = true;
    }

    // The command: one word, or two for a group ("strategy set").
    QString commandName;
    if (!words.isEmpty()) {
        const QString first = words.takeFirst();
        if (isGroup(first)) {
            if (words.isEmpty()) {
                if (result.help) {
                    result.group = first;
                    *out = result;
                    return std::nullopt;
                }
                return UsageError{u"\"%1\" needs a subcommand"_s.arg(first), first};
            }
            commandName = first + u' ' + words.takeFirst();
            if (!find(commandName))
                return UsageError{u"unknown command \"%1\""_s.arg(commandName), first};
        } else {
            commandName = first;
            if (!find(commandName))
                return UsageError{u"unknown command \"%1\""_s.arg(first), {}};
        }
        result.command = find(commandName);
    }

    for (const auto &[spec, value] : given) {
        const bool global = globalOptionNames().contains(spec->name);
        if (!global && (!result.command || !result.command->optionNames.contains(spec->name))) {
            if (!result.command)
                return UsageError{u"option --%1 needs a command"_s.arg(spec->name), {}};
            return UsageError{u"%1 has no option --%2"_s.arg(result.command->name, spec->name),
                              result.command->name};
        }
        if (!spec->repeatable && !spec->valueName.isEmpty() && result.options.contains(spec->name)
            && result.options.value(spec->name) != QStringList{value})
            return UsageError{u"option --%1 given twice"_s.arg(spec->name),
                              result.command ? result.command->name : QString()};
        result.options[spec->name].append(value);
    }

    if (result.command && !result.help) {
        const qsizetype expected = result.command->positionals.size();
        // A last positional named "NAME..." takes one or more words.
        const bool variadic = expected > 0 && result.command->positionals.last().endsWith(u"..."_s);
        if (words.size() < expected)
            return UsageError{u"%1 needs %2"_s.arg(result.command->name,
                                                   result.command->positionals.mid(words.size())
                                                           .join(u' ')),
                              result.command->name};
        if (words.size() > expected && !variadic)
            return UsageError{u"%1: unexpected argument \"%2\""_s.arg(result.command->name,
                                                                      words.at(expected)),
                              result.command->name};
        result.args = words;
    }
    if (!result.command && !result.help && !result.version)
        return UsageError{u"no command given"_s, {}};

    *out = result;
    return std::nullopt;
}

namespace {

QString optionLine(const OptionSpec &option)
{
    QString left = option.shortName.isNull() ? u"    "_s : u"-%1, "_s.arg(option.shortName);
    left += u"--"_s + option.name;
    if (!option.valueName.isEmpty())
        left += u' ' + option.valueName;
    // Wrap the help to 100 columns, continuation lines under the first.
    constexpr qsizetype indent = 30;
    constexpr qsizetype width = 100 - indent;
    QStringList lines;
    QString current;
    for (const QString &word : option.help.split(u' ')) {
        if (!current.isEmpty() && current.size() + 1 + word.size() > width) {
            lines.append(current);
            current.clear();
        }
        current += (current.isEmpty() ? QString() : u" "_s) + word;
    }
    lines.append(current);
    return u"  %1  %2\n"_s.arg(left.leftJustified(indent - 4),
                               lines.join(u'\n' + QString(indent, u' ')));
}

QString usageLine(const CommandSpec &command)
{
    QString line = u"meridianctl "_s + command.name;
    for (const QString &positional : command.positionals)
        line += u' ' + positional;
    if (!command.optionNames.isEmpty())
        line += u" [options]"_s;
    return line;
}

} // namespace

QString CliParser::mainHelp() const
{
    QString text = u"Usage: meridianctl [--endpoint URL] [--token TOKEN] [-o table|json] COMMAND "
                   "[ARGS]\n\nSteer a Meridian cluster through a node's control API.\n\n"
                   "Commands:\n"_s;
    for (const CommandSpec &command : m_commands) {
        QString left = command.name;
        for (const QString &positional : command.positionals)
            left += u' ' + positional;
        text += u"  %1  %2\n"_s.arg(left.leftJustified(26), command.summary);
    }
    text += u"\nGlobal options:\n"_s;
    for (const QString &name : globalOptionNames())
        text += optionLine(*option(name));
    text += u"\nExit codes: 0 ok, 1 operation failed, 2 usage error, 3 refused by the API, "
            "4 node not reachable.\nRun `meridianctl COMMAND --help` for a command's options.\n"_s;
    return text;
}

QString CliParser::commandHelp(const CommandSpec &command) const
{
    QString text = u"Usage: %1\n\n%2\n"_s.arg(usageLine(command), command.summary);
    if (!command.description.isEmpty())
        text += u'\n' + command.description + u'\n';
    if (!command.optionNames.isEmpty()) {
        text += u"\nOptions:\n"_s;
        for (const QString &name : command.optionNames)
            text += optionLine(*option(name));
    }
    text += u"\nGlobal options:\n"_s;
    for (const QString &name : globalOptionNames())
        text += optionLine(*option(name));
    return text;
}

QString CliParser::groupHelp(const QString &group) const
{
    QString text = u"Usage: meridianctl %1 COMMAND\n\nCommands:\n"_s.arg(group);
    for (const CommandSpec &command : m_commands) {
        if (command.name.startsWith(group + u' '))
            text += u"  %1  %2\n"_s.arg(usageLine(command).leftJustified(40), command.summary);
    }
    return text;
}

} // namespace Meridian::Ctl
