#include "addressbar.h"

#include "displaytext.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QStackedLayout>
#include <QToolButton>

#include <functional>

namespace vd::widgets {

namespace {

// Escape in the line edit goes back to the crumbs without navigating.
class PathEdit : public QLineEdit
{
public:
    using QLineEdit::QLineEdit;
    std::function<void()> onEscape;

protected:
    void keyPressEvent(QKeyEvent *e) override
    {
        if (e->key() == Qt::Key_Escape && onEscape) {
            onEscape();
            return;
        }
        QLineEdit::keyPressEvent(e);
    }
    void focusOutEvent(QFocusEvent *e) override
    {
        QLineEdit::focusOutEvent(e);
        if (onEscape)
            onEscape();
    }
};

} // namespace

AddressBar::AddressBar(QWidget *parent) : QWidget(parent)
{
    m_stack = new QStackedLayout(this);
    m_crumbs = new QWidget(this);
    m_crumbLayout = new QHBoxLayout(m_crumbs);
    m_crumbLayout->setContentsMargins(2, 0, 2, 0);
    m_crumbLayout->setSpacing(0);
    auto *edit = new PathEdit(this);
    edit->setAccessibleName(tr("Location"));
    edit->setPlaceholderText(tr("Type a path in the drive, e.g. /photos/2024"));
    edit->onEscape = [this] { showCrumbs(); };
    m_edit = edit;
    m_stack->addWidget(m_crumbs);
    m_stack->addWidget(m_edit);
    connect(m_edit, &QLineEdit::returnPressed, this, [this] {
        QString typed = m_edit->text().trimmed();
        if (!typed.startsWith(QLatin1Char('/')))
            typed.prepend(QLatin1Char('/'));
        showCrumbs();
        Q_EMIT pathRequested(typed);
    });
    setAccessibleName(tr("Address bar"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setMinimumWidth(200);
}

void AddressBar::setPath(const QString &rootLabel, const QString &path, const QString &suffix)
{
    m_path = path;
    m_edit->setText(path);
    while (QLayoutItem *item = m_crumbLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    const QStringList names = path.split(QLatin1Char('/'), Qt::SkipEmptyParts);
    auto crumb = [this](const QString &label, const QString &target, bool current) {
        auto *b = new QToolButton(m_crumbs);
        b->setText(displayName(label)); // a button's text is never rich text
        b->setAutoRaise(true);
        b->setToolTip(richTextOf(target));
        b->setAccessibleName(label);
        if (current) {
            QFont f = b->font();
            f.setBold(true);
            b->setFont(f);
        }
        connect(b, &QToolButton::clicked, this, [this, target] { Q_EMIT pathRequested(target); });
        m_crumbLayout->addWidget(b);
    };
    crumb(rootLabel, QStringLiteral("/"), names.isEmpty());
    QString target;
    for (int i = 0; i < names.size(); ++i) {
        auto *sep = new QLabel(QStringLiteral("›"), m_crumbs);
        sep->setTextFormat(Qt::PlainText);
        m_crumbLayout->addWidget(sep);
        target += QLatin1Char('/') + names[i];
        crumb(names[i], target, i == names.size() - 1);
    }
    if (!suffix.isEmpty()) {
        auto *note = new QLabel(suffix, m_crumbs);
        note->setTextFormat(Qt::PlainText);
        note->setContentsMargins(8, 0, 0, 0);
        m_crumbLayout->addWidget(note);
    }
    m_crumbLayout->addStretch(1);
    showCrumbs();
}

void AddressBar::edit()
{
    m_stack->setCurrentWidget(m_edit);
    m_edit->setFocus(Qt::ShortcutFocusReason);
    m_edit->selectAll();
}

void AddressBar::showCrumbs()
{
    m_edit->setText(m_path);
    m_stack->setCurrentWidget(m_crumbs);
}

void AddressBar::mousePressEvent(QMouseEvent *event)
{
    edit(); // a click beside the crumbs: type a path
    QWidget::mousePressEvent(event);
}

} // namespace vd::widgets
