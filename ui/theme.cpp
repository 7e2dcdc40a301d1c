#include "ui/theme.h"

#include <QApplication>
#include <QEvent>
#include <QStyleFactory>

namespace Meridian {

Theme::Theme(QObject *parent)
    : QObject(parent)
    , m_systemPalette(QGuiApplication::palette())
{
    if (QStyle *fusion = QStyleFactory::create(QStringLiteral("Fusion")))
        QApplication::setStyle(fusion);
    qApp->installEventFilter(this);
    apply();
}

void Theme::setMode(Mode mode)
{
    m_mode = mode;
    apply();
}

Theme::Mode Theme::modeFromString(const QString &text, bool *ok)
{
    if (ok)
        *ok = true;
    if (text == u"light")
        return Mode::Light;
    if (text == u"dark")
        return Mode::Dark;
    if (ok)
        *ok = text == u"system" || text.isEmpty();
    return Mode::System;
}

void Theme::apply()
{
    bool dark = false;
    switch (m_mode) {
    case Mode::System:
        dark = m_systemPalette.color(QPalette::Window).lightness() < 128;
        break;
    case Mode::Light:
        dark = false;
        break;
    case Mode::Dark:
        dark = true;
        break;
    }
    m_applying = true;
    QApplication::setPalette(dark ? darkPalette() : lightPalette());
    m_applying = false;
    if (dark != m_dark) {
        m_dark = dark;
        emit changed(dark);
    }
}

bool Theme::eventFilter(QObject *watched, QEvent *event)
{
    // The platform theme changed (e.g. the desktop switched to dark): follow it.
    if (watched == qApp && event->type() == QEvent::ThemeChange && !m_applying
        && m_mode == Mode::System) {
        m_systemPalette = QGuiApplication::palette();
        apply();
    }
    return QObject::eventFilter(watched, event);
}

QPalette Theme::lightPalette()
{
    QPalette p;
    p.setColor(QPalette::Window, QColor(0xf3, 0xf4, 0xf6));
    p.setColor(QPalette::WindowText, QColor(0x1d, 0x23, 0x2a));
    p.setColor(QPalette::Base, QColor(0xff, 0xff, 0xff));
    p.setColor(QPalette::AlternateBase, QColor(0xf6, 0xf8, 0xfa));
    p.setColor(QPalette::ToolTipBase, QColor(0xff, 0xff, 0xf4));
    p.setColor(QPalette::ToolTipText, QColor(0x1d, 0x23, 0x2a));
    p.setColor(QPalette::PlaceholderText, QColor(0x80, 0x86, 0x8e));
    p.setColor(QPalette::Text, QColor(0x1d, 0x23, 0x2a));
    p.setColor(QPalette::Button, QColor(0xf0, 0xf1, 0xf3));
    p.setColor(QPalette::ButtonText, QColor(0x1d, 0x23, 0x2a));
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Mid, QColor(0xc4, 0xc8, 0xce));
    p.setColor(QPalette::Highlight, QColor(0x1f, 0x6f, 0xd1));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x1f, 0x6f, 0xd1));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x9a, 0xa0, 0xa6));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x9a, 0xa0, 0xa6));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x9a, 0xa0, 0xa6));
    return p;
}

QPalette Theme::darkPalette()
{
    QPalette p;
    p.setColor(QPalette::Window, QColor(0x1e, 0x23, 0x29));
    p.setColor(QPalette::WindowText, QColor(0xe3, 0xe7, 0xeb));
    p.setColor(QPalette::Base, QColor(0x16, 0x1a, 0x1f));
    p.setColor(QPalette::AlternateBase, QColor(0x22, 0x28, 0x2f));
    p.setColor(QPalette::ToolTipBase, QColor(0x2a, 0x31, 0x39));
    p.setColor(QPalette::ToolTipText, QColor(0xe3, 0xe7, 0xeb));
    p.setColor(QPalette::PlaceholderText, QColor(0x80, 0x88, 0x92));
    p.setColor(QPalette::Text, QColor(0xe3, 0xe7, 0xeb));
    p.setColor(QPalette::Button, QColor(0x2a, 0x30, 0x37));
    p.setColor(QPalette::ButtonText, QColor(0xe3, 0xe7, 0xeb));
    p.setColor(QPalette::BrightText, QColor(0xff, 0x6b, 0x6b));
    p.setColor(QPalette::Light, QColor(0x3a, 0x42, 0x4b));
    p.setColor(QPalette::Midlight, QColor(0x32, 0x39, 0x41));
    p.setColor(QPalette::Mid, QColor(0x3c, 0x44, 0x4e));
    p.setColor(QPalette::Dark, QColor(0x12, 0x15, 0x19));
    p.setColor(QPalette::Shadow, QColor(0x0a, 0x0c, 0x0e));
    p.setColor(QPalette::Highlight, QColor(0x3d, 0x8b, 0xf0));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Link, QColor(0x6c, 0xb0, 0xff));
    p.setColor(QPalette::Disabled, QPalette::Text, QColor(0x6a, 0x72, 0x7a));
    p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(0x6a, 0x72, 0x7a));
    p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(0x6a, 0x72, 0x7a));
    return p;
}

} // namespace Meridian
