// `vdrive changes`, driven as a real process: one line (or JSON object) per
// node a commit changed, --since, Resync's exit code when the feed no longer
// holds the sequence asked for, and --follow seeing another process's
// change until Ctrl-C.
#include "clitest.h"
#include "testsupport.h"

#include "io/env.h"
#include "storage/collection.h"
#include "tree/drive.h"

#include <QJsonDocument>

#include <csignal>

using namespace vd::clitest;

namespace {

const QString kCollection = u"c"_s;

Run run(const Sandbox &sb, const QStringList &args)
{
    return sb.run(QStringList{u"-c"_s, kCollection} + args);
}

QStringList outLines(const Run &r)
{
    return r.outText().split(u'\n', Qt::SkipEmptyParts);
}

// Each line of --json output as an object (an empty list if one is not).
QList<QJsonObject> jsonLines(const Run &r)
{
    QList<QJsonObject> out;
    for (const QString &line : outLines(r)) {
        const QJsonDocument doc = QJsonDocument::fromJson(line.toUtf8());
        if (!doc.isObject())
            return {};
        out << doc.object();
    }
    return out;
}

} // namespace

class TestChangesCli : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    // Every node of cp -r and rm -r --permanent has its line; --json has
    // both sides; --since starts where asked.
    void textJsonAndSince()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        QVERIFY(writeFile(sb.path(u"x"_s), "hi\n"));
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"-p"_s, u"/a/b"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"put"_s, u"x"_s, u"/a/b/x"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"cp"_s, u"-r"_s, u"/a"_s, u"/z"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"rm"_s, u"-r"_s, u"--permanent"_s, u"/z"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"snapshot"_s, u"create"_s, u"s1"_s}), ExitOk);

        const Run text = run(sb, {u"changes"_s});
        EXPECT_EXIT(text, ExitOk);
        const QStringList lines = outLines(text);
        QVERIFY2(lines.contains(u"3 create directory /a"_s), qPrintable(text.describe()));
        QVERIFY2(lines.contains(u"6 create file /a/b/x 3"_s), qPrintable(text.describe()));
        QCOMPARE(lines.filter(QRegularExpression(u"^\\d+ create "_s)).size(), 2 + 3 + 3); // root, trash, /a, /a/b, x, and the copies
        QCOMPARE(lines.filter(QRegularExpression(u"^\\d+ remove "_s)).size(), 3);         // every node of the copy
        QVERIFY2(lines.constLast().endsWith(u" snapshot-create s1"_s), qPrintable(text.describe()));

        const Run json = run(sb, {u"changes"_s, u"--json"_s});
        EXPECT_EXIT(json, ExitOk);
        const auto objects = jsonLines(json);
        QCOMPARE(objects.size(), lines.size());
        QString content;
        QStringList copies;
        for (qsizetype i = 0; i < objects.size(); ++i) {
            const QJsonObject &o = objects[i];
            QCOMPARE(o[u"sequence"_s].toInteger(), qint64(i + 1));
            QVERIFY(isIsoUtc(o[u"time"_s]));
            if (o[u"op"_s] == u"create"_s && o[u"after"_s][u"kind"_s] == u"file"_s) {
                QCOMPARE(o[u"after"_s][u"size"_s].toInteger(), 3);
                QCOMPARE(o[u"after"_s][u"content"_s].toString().size(), 64);
                if (content.isEmpty())
                    content = o[u"after"_s][u"content"_s].toString();
                else
                    QCOMPARE(o[u"after"_s][u"content"_s].toString(), content); // the copy holds the same bytes
            }
            if (o[u"op"_s] == u"remove"_s) {
                QVERIFY(!o.contains(u"after"_s));
                copies << o[u"id"_s].toString();
            }
        }
        QCOMPARE(copies.size(), 3);

        const Run since = run(sb, {u"changes"_s, u"--since"_s, u"6"_s});
        EXPECT_EXIT(since, ExitOk);
        QCOMPARE(outLines(since), lines.mid(5));
        EXPECT_EXIT(run(sb, {u"changes"_s, u"--since"_s, u"six"_s}), ExitUsage);
        EXPECT_EXIT(run(sb, {u"ls"_s, u"--follow"_s}), ExitUsage);
    }

    // A sequence the feed no longer holds: an explicit answer, exit 8.
    void resyncHasItsExitCode()
    {
        Sandbox sb;
        const QString ruid = sb.init(kCollection);
        QVERIFY(!ruid.isEmpty());
        {
            // A drive that keeps only the newest 3 records.
            vd::tree::DriveOptions options;
            options.feed.keep = 3;
            auto d = vd::tree::Drive::open(*vd::io::Env::posix(), sb.collectionDir(ruid), vd::storage::Access::ReadWrite, vd::test::testDrive(options));
            VD_VERIFY_OK(d);
            for (int i = 0; i < 5; ++i) {
                VD_VERIFY_OK((*d)->mkdir(u"/d%1"_s.arg(i), false));
                VD_VERIFY_OK((*d)->commit());
            }
            QVERIFY((*d)->firstChangeSequence() > 1);
        }
        const Run r = run(sb, {u"changes"_s, u"--since"_s, u"1"_s});
        EXPECT_EXIT(r, ExitResync);
        EXPECT_CONTAINS(r.errText(), u"vdrive: resync: "_s);
        EXPECT_CONTAINS(r.errText(), u"no longer holds sequence 1"_s);
        EXPECT_EXIT(run(sb, {u"changes"_s}), ExitOk); // from the oldest kept
    }

    // --follow prints what another process commits, and Ctrl-C ends it
    // with 130.
    void followSeesAnotherProcess()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"/first"_s}), ExitOk);
        const Run before = run(sb, {u"changes"_s});
        EXPECT_EXIT(before, ExitOk);
        const qint64 next = outLines(before).size() + 1;
        QProcess follower;
        sb.start(follower, {u"-c"_s, kCollection, u"changes"_s, u"--follow"_s, u"--since"_s, QString::number(next)});
        QVERIFY(follower.waitForStarted(kTimeoutMs));
        // The follower opens the collection briefly after each commit: a
        // writer that meets it is told busy (exit 5) and retries.
        Run made;
        for (int attempt = 0; attempt < 100; ++attempt) {
            made = run(sb, {u"mkdir"_s, u"/later"_s});
            if (made.code != ExitBusy)
                break;
        }
        EXPECT_EXIT(made, ExitOk);
        QByteArray seen;
        QElapsedTimer clock;
        clock.start();
        while (!seen.contains("create directory /later\n") && clock.elapsed() < kTimeoutMs && follower.state() == QProcess::Running) {
            follower.waitForReadyRead(1000);
            seen += follower.readAllStandardOutput();
        }
        QVERIFY2(seen.contains(QByteArray::number(next) + " create directory /later\n"), seen.constData());
        QCOMPARE(::kill(pid_t(follower.processId()), SIGINT), 0);
        QVERIFY(follower.waitForFinished(kTimeoutMs));
        QCOMPARE(follower.exitStatus(), QProcess::NormalExit);
        QCOMPARE(follower.exitCode(), int(ExitCancelled));
    }
};

QTEST_GUILESS_MAIN(TestChangesCli)
#include "tst_changescli.moc"
