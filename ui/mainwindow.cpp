#include "ui/mainwindow.h"

#include <QLabel>

namespace Meridian {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
{
    setWindowTitle(QStringLiteral("Meridian control room"));
    auto *placeholder = new QLabel(tr("Meridian control room"), this);
    placeholder->setAlignment(Qt::AlignCenter);
    setCentralWidget(placeholder);
    resize(1280, 800);
}

} // namespace Meridian
