#include <QTest>

class TestPlaceholder : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void placeholder() { QVERIFY(QStringLiteral("a").size() == 1); }
};

QTEST_GUILESS_MAIN(TestPlaceholder)
#include "tst_jsoncodec.moc"
