#include "errorbox.h"

#include <QMessageBox>

namespace vd::widgets {

QMessageBox *showError(QWidget *parent, const QString &summary, const QString &detail)
{
    auto *box = new QMessageBox(QMessageBox::Warning, QObject::tr("vdrive"), summary, QMessageBox::Ok, parent);
    box->setTextFormat(Qt::PlainText);
    box->setObjectName(QStringLiteral("errorBox"));
    if (!detail.isEmpty())
        box->setDetailedText(detail); // plain text by nature
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setWindowModality(Qt::WindowModal);
    box->open();
    return box;
}

} // namespace vd::widgets
