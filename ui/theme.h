#pragma once

#include <QObject>
#include <QPalette>

namespace Meridian {

// Light and dark palettes for the control room (Fusion style). "System" follows the platform's
// palette: dark when its window colour is dark, and again whenever the platform's theme changes.
class Theme final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Theme)

public:
    enum class Mode { System, Light, Dark };
    Q_ENUM(Mode)

    explicit Theme(QObject *parent = nullptr);

    Mode mode() const { return m_mode; }
    void setMode(Mode mode);
    bool isDark() const { return m_dark; }

    static QPalette lightPalette();
    static QPalette darkPalette();
    static Mode modeFromString(const QString &text, bool *ok = nullptr);

signals:
    void changed(bool dark);

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void apply();

    QPalette m_systemPalette;
    Mode m_mode = Mode::System;
    bool m_dark = false;
    bool m_applying = false;
};

} // namespace Meridian
