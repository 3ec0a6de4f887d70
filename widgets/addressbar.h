// AddressBar: where the window is, as breadcrumbs — one button per folder
// of the path, the collection first — that turns into a line edit for a
// typed path (a click beside the buttons, or Ctrl+L; Escape goes back).
//
// Thread safety: the GUI thread only.
#pragma once

#include <QWidget>

class QHBoxLayout;
class QLineEdit;
class QStackedLayout;

namespace vd::widgets {

class AddressBar : public QWidget
{
    Q_OBJECT
public:
    explicit AddressBar(QWidget *parent = nullptr);

    // rootLabel: the collection's name; suffix: e.g. "(snapshot x, read-only)".
    void setPath(const QString &rootLabel, const QString &path, const QString &suffix = {});
    QString path() const { return m_path; }
    void edit(); // to the line edit, everything selected

Q_SIGNALS:
    // A crumb was clicked, or a path typed and Enter pressed.
    void pathRequested(const QString &path);

protected:
    void mousePressEvent(QMouseEvent *event) override;

private:
    void showCrumbs();

    QStackedLayout *m_stack = nullptr;
    QWidget *m_crumbs = nullptr;
    QHBoxLayout *m_crumbLayout = nullptr;
    QLineEdit *m_edit = nullptr;
    QString m_path;
};

} // namespace vd::widgets
