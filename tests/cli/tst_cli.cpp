// The vdrive command line as a user meets it: the real binary, started as a
// separate process (QProcess) against a throw-away data directory, checked
// by its exit code, its stdout and stderr, and the files it leaves behind.
//
// Every test function works in its own QTemporaryDir (a Sandbox), passes
// --data-dir explicitly and gives the child a HOME inside the sandbox with
// VDRIVE_DATA_DIR and XDG_DATA_HOME removed, so nothing can reach the user's
// real data directory. Every wait is bounded; nothing sleeps for luck.
#include "clitest.h"

#include <csignal>

using namespace Qt::StringLiterals;
using namespace vd::clitest;

// Through a node (servedMode()), the cases about the collection's files and
// locks themselves do not apply: each is listed here with the reason.
const ServedExclusion servedExclusions[] = {
    {"writerLockNamesHolder", "about the collection's writer lock between processes: through the node a second writer queues behind the first"},
    {"truncatedIdvdNamesTheBlockPastTheEnd", "damages or removes the collection's files under the open collection: the node holds them open and keeps its own state"},
    {"repairRebuildsADeletedBitmap", "damages or removes the collection's files under the open collection: the node holds them open and keeps its own state"},
    {"damagedNewestMetaCopy", "damages or removes the collection's files under the open collection: the node holds them open and keeps its own state"},
    {"recoverFromIdvdAlone", "damages or removes the collection's files under the open collection: the node holds them open and keeps its own state"},
    {"repairBitmap", "damages or removes the collection's files under the open collection: the node holds them open and keeps its own state"},
    {"repairBitmapJson", "damages or removes the collection's files under the open collection: the node holds them open and keeps its own state"},
    {"roundTrip", "an object-only collection (init, never opened as a tree) gets its tree's root when the node opens it for writing: one commit and one node more than this test counts"},
    {"invalidKey", "an object-only collection (init, never opened as a tree) gets its tree's root when the node opens it for writing: one commit and one node more than this test counts"},
    {"infoAccounting", "an object-only collection (init, never opened as a tree) gets its tree's root when the node opens it for writing: one commit and one node more than this test counts"},
    {"fsckHealthy", "an object-only collection (init, never opened as a tree) gets its tree's root when the node opens it for writing: one commit and one node more than this test counts"},
};

class TestCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init()
    {
        if (const char *why = servedExclusion(servedExclusions, QTest::currentTestFunction()))
            QSKIP(why);
    }

    void helpAndVersion()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const Run help = sb.runRaw({u"--help"_s});
        EXPECT_EXIT(help, ExitOk);
        EXPECT_CONTAINS(help.outText(), u"Usage:"_s);
        for (const QString &cmd : {u"init NAME"_s, u"collections"_s, u"info"_s, u"fsck [--repair]"_s, u"put-object LOCALFILE KEY"_s,
                                   u"get-object KEY LOCALFILE"_s, u"objects"_s, u"rm-object KEY..."_s, u"--data-dir"_s, u"--json"_s})
            EXPECT_CONTAINS(help.outText(), cmd);
        EXPECT_CONTAINS(help.outText(), u"Exit status"_s);
        QVERIFY(help.err.isEmpty());
        for (const QString &alias : {u"-h"_s, u"--help-all"_s}) {
            const Run same = sb.runRaw({alias});
            EXPECT_EXIT(same, ExitOk);
            QCOMPARE(same.out, help.out);
        }

        const Run version = sb.runRaw({u"--version"_s});
        EXPECT_EXIT(version, ExitOk);
        QCOMPARE(version.outText(), u"vdrive " VD_VERSION_STRING "\n"_s);
        const Run shortVersion = sb.runRaw({u"-v"_s});
        EXPECT_EXIT(shortVersion, ExitOk);
        QCOMPARE(shortVersion.out, version.out);
        QVERIFY(!QFileInfo::exists(sb.dataDir()));
    }

    void badUsage_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        const QString x = u"x"_s;
        QTest::newRow("no command") << QStringList{} << u"no command given"_s;
        QTest::newRow("only options") << QStringList{u"--json"_s, u"-q"_s} << u"no command given"_s;
        QTest::newRow("unknown command") << QStringList{u"frob"_s} << u"unknown command 'frob'"_s;
        QTest::newRow("unknown option") << QStringList{u"--frobnicate"_s, u"collections"_s} << u"Unknown option 'frobnicate'"_s;
        QTest::newRow("-c without value") << QStringList{u"info"_s, u"-c"_s} << u"Missing value after '-c'"_s;
        QTest::newRow("init without name") << QStringList{u"init"_s} << u"usage: vdrive init NAME"_s;
        QTest::newRow("init two names") << QStringList{u"init"_s, u"a"_s, u"b"_s} << u"usage: vdrive init NAME"_s;
        QTest::newRow("collections with argument") << QStringList{u"collections"_s, x} << u"usage: vdrive collections"_s;
        QTest::newRow("info with argument") << QStringList{u"-c"_s, x, u"info"_s, x} << u"usage: vdrive info"_s;
        QTest::newRow("objects with argument") << QStringList{u"-c"_s, x, u"objects"_s, x} << u"usage: vdrive objects"_s;
        QTest::newRow("fsck with argument") << QStringList{u"-c"_s, x, u"fsck"_s, x} << u"usage: vdrive fsck [--repair]"_s;
        QTest::newRow("put-object one argument") << QStringList{u"-c"_s, x, u"put-object"_s, x}
                                                 << u"usage: vdrive put-object LOCALFILE KEY"_s;
        QTest::newRow("put-object three arguments")
            << QStringList{u"-c"_s, x, u"put-object"_s, x, x, x} << u"usage: vdrive put-object LOCALFILE KEY"_s;
        QTest::newRow("get-object one argument") << QStringList{u"-c"_s, x, u"get-object"_s, x}
                                                 << u"usage: vdrive get-object KEY LOCALFILE"_s;
        QTest::newRow("rm-object without key") << QStringList{u"-c"_s, x, u"rm-object"_s} << u"usage: vdrive rm-object KEY..."_s;
        QTest::newRow("--repair on info") << QStringList{u"-c"_s, x, u"--repair"_s, u"info"_s} << u"--repair belongs to fsck"_s;
        QTest::newRow("--repair on put-object")
            << QStringList{u"--repair"_s, u"-c"_s, x, u"put-object"_s, x, x} << u"--repair belongs to fsck"_s;
        QTest::newRow("--repair on init") << QStringList{u"--repair"_s, u"init"_s, x} << u"--repair belongs to fsck"_s;
        QTest::newRow("info without -c") << QStringList{u"info"_s} << u"'info' needs a collection"_s;
        QTest::newRow("objects without -c") << QStringList{u"objects"_s} << u"'objects' needs a collection"_s;
        QTest::newRow("fsck without -c") << QStringList{u"fsck"_s, u"--repair"_s} << u"'fsck' needs a collection"_s;
        QTest::newRow("put-object without -c") << QStringList{u"put-object"_s, x, x} << u"'put-object' needs a collection"_s;
        QTest::newRow("get-object without -c") << QStringList{u"get-object"_s, x, x} << u"'get-object' needs a collection"_s;
        QTest::newRow("rm-object without -c") << QStringList{u"rm-object"_s, x} << u"'rm-object' needs a collection"_s;
        QTest::newRow("empty -c") << QStringList{u"-c"_s, QString(), u"objects"_s} << u"'objects' needs a collection"_s;
    }

    void badUsage()
    {
        VD_SAMPLED_ROW();
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(writeFile(sb.path(u"x"_s), "bytes")); // so that a LOCALFILE 'x' would exist
        const Run r = sb.run(args);
        EXPECT_EXIT(r, ExitUsage);
        QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
        EXPECT_CONTAINS(r.errText(), u"vdrive: "_s + message);
        EXPECT_CONTAINS(r.errText(), u"Try 'vdrive --help'."_s);
        QVERIFY2(!QFileInfo::exists(sb.dataDir()), "a usage error must not touch the data directory");
    }

    void initCreatesCollection()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const Run r = sb.run({u"init"_s, u"photos"_s});
        EXPECT_EXIT(r, ExitOk);
        QVERIFY2(QRegularExpression(u"^[0-9a-f]{32}\n$"_s).match(r.outText()).hasMatch(), qPrintable(r.describe()));
        QVERIFY(r.err.isEmpty());
        const QString ruid = r.outText().trimmed();
        const QString dir = sb.collectionDir(ruid);
        QCOMPARE(QFileInfo(dir + u"/idvd"_s).size(), 16 * MiB); // one unit
        QCOMPARE(QFileInfo(dir + u"/.meta"_s).size(), qint64(8192)); // two 4 KiB copies
        QVERIFY(QFileInfo(dir + u"/.bitmap"_s).size() > 0);
        QCOMPARE(QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 (QStringList{u".bitmap"_s, u".meta"_s, u"idvd"_s}));
        QCOMPARE(QDir(sb.dataDir() + u"/collections"_s).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 QStringList{ruid});

        const Run list = sb.run({u"collections"_s});
        EXPECT_EXIT(list, ExitOk);
        QCOMPARE(list.outText(), ruid + u"  photos\n"_s);

        const Run json = sb.run({u"--json"_s, u"collections"_s});
        EXPECT_EXIT(json, ExitOk);
        const QJsonArray arr = parseJson(json).toArray();
        QCOMPARE(arr.size(), 1);
        const QJsonObject c = arr.at(0).toObject();
        QCOMPARE(c.value(u"ruid"_s).toString(), ruid);
        QCOMPARE(c.value(u"folder"_s).toString(), ruid);
        QCOMPARE(c.value(u"name"_s).toString(), u"photos"_s);
        QCOMPARE(c.value(u"path"_s).toString(), dir);
        QCOMPARE(c.value(u"generation"_s).toInteger(), qint64(1));
        QVERIFY(isIsoUtc(c.value(u"created"_s)));
        const qint64 age = QDateTime::fromString(c.value(u"created"_s).toString(), Qt::ISODateWithMs).secsTo(QDateTime::currentDateTimeUtc());
        QVERIFY2(age >= 0 && age < 600, qPrintable(c.value(u"created"_s).toString()));
        QVERIFY(!c.contains(u"error"_s));

        // init --json
        const Run second = sb.run({u"--json"_s, u"init"_s, u"music"_s});
        EXPECT_EXIT(second, ExitOk);
        const QJsonObject o = parseJson(second).toObject();
        QVERIFY(isRuid(o.value(u"ruid"_s).toString()));
        QCOMPARE(o.value(u"name"_s).toString(), u"music"_s);
        QCOMPARE(o.value(u"path"_s).toString(), sb.collectionDir(o.value(u"ruid"_s).toString()));
        QVERIFY(QFileInfo::exists(o.value(u"path"_s).toString() + u"/idvd"_s));
        const Run both = sb.run({u"collections"_s});
        EXPECT_EXIT(both, ExitOk);
        QCOMPARE(both.out.count('\n'), 2);
        EXPECT_CONTAINS(both.outText(), o.value(u"ruid"_s).toString() + u"  music\n"_s);
    }

    void initDuplicateName()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"photos"_s);
        QVERIFY(!ruid.isEmpty());
        const auto before = fingerprint(sb.collectionDir(ruid));
        const Run r = sb.run({u"init"_s, u"photos"_s});
        EXPECT_EXIT(r, ExitExists);
        QVERIFY(r.out.isEmpty());
        EXPECT_CONTAINS(r.errText(), u"a collection named 'photos' already exists"_s);
        EXPECT_CONTAINS(r.errText(), ruid);
        QCOMPARE(QDir(sb.dataDir() + u"/collections"_s).entryList(QDir::Dirs | QDir::NoDotAndDotDot), QStringList{ruid});
        QVERIFY(fingerprint(sb.collectionDir(ruid)) == before);
    }

    void collectionRenameAndDelete()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString photos = sb.init(u"photos"_s);
        const QString music = sb.init(u"music"_s);
        QVERIFY(!photos.isEmpty() && !music.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), "kept across the rename"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"photos"_s, u"put-object"_s, sb.path(u"f"_s), u"k"_s}), ExitOk);

        // Rename: the RUID and the contents stay, the old name is gone.
        const Run renamed = sb.run({u"collection"_s, u"rename"_s, u"photos"_s, u"Fotos 写真"_s});
        EXPECT_EXIT(renamed, ExitOk);
        QCOMPARE(renamed.outText(), u"renamed %1 to Fotos 写真\n"_s.arg(photos));
        const Run list = sb.run({u"collections"_s});
        EXPECT_EXIT(list, ExitOk);
        EXPECT_CONTAINS(list.outText(), photos + u"  Fotos 写真\n"_s);
        const Run get = sb.run({u"-c"_s, u"Fotos 写真"_s, u"get-object"_s, u"k"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QCOMPARE(get.out, QByteArray("kept across the rename"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"photos"_s, u"objects"_s}), ExitNotFound);
        // By RUID, with --json.
        const Run back = sb.run({u"--json"_s, u"collection"_s, u"rename"_s, photos, u"photos"_s});
        EXPECT_EXIT(back, ExitOk);
        QCOMPARE(parseJson(back).toObject().value(u"ruid"_s).toString(), photos);
        QCOMPARE(parseJson(back).toObject().value(u"name"_s).toString(), u"photos"_s);
        // Refusals change nothing.
        const Run taken = sb.run({u"collection"_s, u"rename"_s, u"photos"_s, u"music"_s});
        EXPECT_EXIT(taken, ExitExists);
        EXPECT_CONTAINS(taken.errText(), u"a collection named 'music' already exists (%1)"_s.arg(music));
        EXPECT_EXIT(sb.run({u"collection"_s, u"rename"_s, u"photos"_s, u"a/b"_s}), ExitUsage);
        EXPECT_EXIT(sb.run({u"collection"_s, u"rename"_s, u"nothing"_s, u"x"_s}), ExitNotFound);
        EXPECT_EXIT(sb.run({u"collection"_s, u"rename"_s, u"photos"_s}), ExitUsage);

        // Delete: the folder goes, no tombstone stays, the other collection is untouched.
        const Run gone = sb.run({u"collection"_s, u"delete"_s, u"photos"_s});
        EXPECT_EXIT(gone, ExitOk);
        QCOMPARE(gone.outText(), u"deleted photos (%1)\n"_s.arg(photos));
        QCOMPARE(QDir(sb.dataDir() + u"/collections"_s).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{music});
        const Run after = sb.run({u"collections"_s});
        EXPECT_EXIT(after, ExitOk);
        QCOMPARE(after.outText(), music + u"  music\n"_s);
        EXPECT_EXIT(sb.run({u"collection"_s, u"delete"_s, u"photos"_s}), ExitNotFound);
        EXPECT_EXIT(sb.run({u"-c"_s, u"music"_s, u"objects"_s}), ExitOk);
        // A tombstone a crash left is never listed, and the next delete sweeps it.
        QVERIFY(QDir().mkpath(sb.dataDir() + u"/collections/.deleted-0123"_s));
        QVERIFY(writeFile(sb.dataDir() + u"/collections/.deleted-0123/idvd"_s, "left by a crash"));
        const Run listed = sb.run({u"collections"_s});
        EXPECT_EXIT(listed, ExitOk);
        QCOMPARE(listed.outText(), music + u"  music\n"_s);
        EXPECT_EXIT(sb.run({u"--json"_s, u"collection"_s, u"delete"_s, music}), ExitOk);
        QCOMPARE(QDir(sb.dataDir() + u"/collections"_s).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList());
    }

    void initName_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("message");
        QTest::newRow("empty") << QString() << int(ExitUsage) << u"cannot be empty"_s;
        QTest::newRow("slash") << u"a/b"_s << int(ExitUsage) << u"cannot contain '/'"_s;
        QTest::newRow("only slash") << u"/"_s << int(ExitUsage) << u"cannot contain '/'"_s;
        QTest::newRow("dot dot") << u".."_s << int(ExitUsage) << u"'..' cannot name a collection"_s;
        QTest::newRow("dot") << u"."_s << int(ExitUsage) << u"'.' cannot name a collection"_s;
        QTest::newRow("256 bytes") << QString(256, u'n') << int(ExitUsage) << u"at most 255 bytes"_s;
        QTest::newRow("128 two-byte characters") << QString(128, QChar(0xe9)) << int(ExitUsage) << u"at most 255 bytes"_s;
        QTest::newRow("leading space") << u" x"_s << int(ExitUsage) << u"cannot begin or end with a space"_s;
        QTest::newRow("tab") << u"a\tb"_s << int(ExitUsage) << u"control characters"_s;
        QTest::newRow("255 bytes is fine") << QString(255, u'n') << int(ExitOk) << QString();
        QTest::newRow("unicode is fine") << u"Fotos \u00e9t\u00e9 \u2603"_s << int(ExitOk) << QString();
        QTest::newRow("dots inside are fine") << u"a..b"_s << int(ExitOk) << QString();
    }

    void initName()
    {
        QFETCH(QString, name);
        QFETCH(int, code);
        QFETCH(QString, message);
        Sandbox sb;
        QVERIFY(sb.isValid());
        const Run r = sb.run({u"init"_s, name});
        EXPECT_EXIT(r, code);
        const QStringList folders = QDir(sb.dataDir() + u"/collections"_s).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
        if (code != ExitOk) {
            QVERIFY(r.out.isEmpty());
            EXPECT_CONTAINS(r.errText(), u"vdrive: invalid-argument: "_s);
            EXPECT_CONTAINS(r.errText(), message);
            QVERIFY2(folders.isEmpty(), qPrintable(folders.join(u' ')));
            return;
        }
        QCOMPARE(folders.size(), 1);
        QCOMPARE(r.outText().trimmed(), folders.at(0));
        const Run list = sb.run({u"--json"_s, u"collections"_s});
        EXPECT_EXIT(list, ExitOk);
        QCOMPARE(parseJson(list).toArray().at(0).toObject().value(u"name"_s).toString(), name);
        const Run byName = sb.run({u"-c"_s, name, u"objects"_s});
        EXPECT_EXIT(byName, ExitOk);
    }

    void dataDirResolution_data()
    {
        // flag/env/xdg: what --data-dir, $VDRIVE_DATA_DIR and $XDG_DATA_HOME are
        // set to (sandbox-relative names; passed relative to the child's working
        // directory, the sandbox, when `relative`); expected: where the
        // collection must land.
        QTest::addColumn<QString>("flag");
        QTest::addColumn<QString>("env");
        QTest::addColumn<QString>("xdg");
        QTest::addColumn<bool>("relative");
        QTest::addColumn<QString>("expected");
        QTest::newRow("--data-dir") << u"flagdir"_s << QString() << QString() << false << u"flagdir"_s;
        QTest::newRow("--data-dir beats $VDRIVE_DATA_DIR") << u"flagdir"_s << u"envdir"_s << QString() << false << u"flagdir"_s;
        QTest::newRow("$VDRIVE_DATA_DIR") << QString() << u"envdir"_s << QString() << false << u"envdir"_s;
        QTest::newRow("$VDRIVE_DATA_DIR beats XDG") << QString() << u"envdir"_s << u"xdg"_s << false << u"envdir"_s;
        QTest::newRow("~/.local/share/vdrive") << QString() << QString() << QString() << false << u"home/.local/share/vdrive"_s;
        QTest::newRow("$XDG_DATA_HOME/vdrive") << QString() << QString() << u"xdg"_s << false << u"xdg/vdrive"_s;
        QTest::newRow("relative --data-dir") << u"./sub/../reldir"_s << QString() << QString() << true << u"reldir"_s;
        QTest::newRow("relative $VDRIVE_DATA_DIR") << QString() << u"sub/../envrel"_s << QString() << true << u"envrel"_s;
    }

    void dataDirResolution()
    {
        QFETCH(QString, flag);
        QFETCH(QString, env);
        QFETCH(QString, xdg);
        QFETCH(bool, relative);
        QFETCH(QString, expected);
        Sandbox sb;
        QVERIFY(sb.isValid());
        auto place = [&](const QString &p) { return relative ? p : sb.path(p); };
        if (!env.isEmpty())
            sb.env().insert(u"VDRIVE_DATA_DIR"_s, place(env));
        if (!xdg.isEmpty())
            sb.env().insert(u"XDG_DATA_HOME"_s, sb.path(xdg));
        QStringList args;
        if (!flag.isEmpty())
            args << u"--data-dir"_s << place(flag);
        const Run r = sb.runRaw(args + QStringList{u"--json"_s, u"init"_s, u"here"_s});
        EXPECT_EXIT(r, ExitOk);
        const QJsonObject o = parseJson(r).toObject();
        const QString ruid = o.value(u"ruid"_s).toString();
        QVERIFY(isRuid(ruid));
        const QString want = QDir::cleanPath(sb.path(expected)) + u"/collections/"_s + ruid;
        QCOMPARE(o.value(u"path"_s).toString(), want);
        QVERIFY(QFileInfo::exists(want + u"/idvd"_s));
        // Nothing anywhere else in the sandbox.
        for (const QString &other : {u"flagdir"_s, u"envdir"_s, u"reldir"_s, u"envrel"_s, u"xdg"_s, u"home"_s})
            if (!expected.startsWith(other))
                QVERIFY2(!QFileInfo::exists(sb.path(other)), qPrintable(other));
        // The same resolution finds it again.
        const Run list = sb.runRaw(args + QStringList{u"collections"_s});
        EXPECT_EXIT(list, ExitOk);
        QCOMPARE(list.outText(), ruid + u"  here\n"_s);
    }

    void selectCollection()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString alpha = sb.init(u"alpha"_s);
        const QString beta = sb.init(u"beta"_s);
        QVERIFY(!alpha.isEmpty() && !beta.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), "hello"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"alpha"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);

        for (const QString &sel : {u"alpha"_s, alpha, alpha.toUpper()}) {
            const Run r = sb.run({u"--collection"_s, sel, u"objects"_s});
            EXPECT_EXIT(r, ExitOk);
            QVERIFY2(r.outText().endsWith(u"  k\n"_s), qPrintable(r.describe()));
        }
        for (const QString &sel : {u"beta"_s, beta}) {
            const Run r = sb.run({u"-c"_s, sel, u"objects"_s});
            EXPECT_EXIT(r, ExitOk);
            QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
        }
        const Run viaRuid = sb.run({u"-c"_s, alpha, u"get-object"_s, u"k"_s, u"-"_s});
        EXPECT_EXIT(viaRuid, ExitOk);
        QCOMPARE(viaRuid.out, QByteArray("hello"));

        const QString missingRuid = u"0123456789abcdef0123456789abcdef"_s;
        for (const QString &sel : {u"gamma"_s, missingRuid}) {
            for (const QString &cmd : {u"info"_s, u"objects"_s, u"fsck"_s}) {
                const Run r = sb.run({u"-c"_s, sel, cmd});
                EXPECT_EXIT(r, ExitNotFound);
                QVERIFY(r.out.isEmpty());
                EXPECT_CONTAINS(r.errText(), u"vdrive: not-found: no collection '%1'"_s.arg(sel));
                EXPECT_CONTAINS(r.errText(), sb.dataDir());
            }
            const Run put = sb.run({u"-c"_s, sel, u"put-object"_s, u"f"_s, u"k"_s});
            EXPECT_EXIT(put, ExitNotFound);
            EXPECT_CONTAINS(put.errText(), u"no collection '%1'"_s.arg(sel));
        }
        QCOMPARE(QDir(sb.dataDir() + u"/collections"_s).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), 2);
    }

    void collectionsEmptyAndDamaged()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const Run none = sb.run({u"collections"_s});
        EXPECT_EXIT(none, ExitOk);
        QVERIFY(none.out.isEmpty() && none.err.isEmpty());
        const Run noneJson = sb.run({u"--json"_s, u"collections"_s});
        EXPECT_EXIT(noneJson, ExitOk);
        QVERIFY(parseJson(noneJson).isArray());
        QVERIFY(parseJson(noneJson).toArray().isEmpty());

        const QString good = sb.init(u"good"_s);
        const QString bad = sb.init(u"bad"_s);
        QVERIFY(!good.isEmpty() && !bad.isEmpty());
        QVERIFY(writeFile(sb.collectionDir(bad) + u"/.meta"_s, QByteArray(8192, 'x')));

        const Run text = sb.run({u"collections"_s});
        EXPECT_EXIT(text, ExitCorrupt);
        EXPECT_CONTAINS(text.outText(), good + u"  good\n"_s);
        EXPECT_CONTAINS(text.outText(), bad + u"  (unreadable: corruption: "_s);
        const Run json = sb.run({u"--json"_s, u"collections"_s});
        EXPECT_EXIT(json, ExitCorrupt);
        const QJsonArray arr = parseJson(json).toArray();
        QCOMPARE(arr.size(), 2);
        for (const QJsonValue &v : arr) {
            const QJsonObject o = v.toObject();
            if (o.value(u"folder"_s).toString() == bad) {
                QVERIFY(o.value(u"error"_s).toString().startsWith(u"corruption: "_s));
                QVERIFY(!o.contains(u"name"_s));
            } else {
                QCOMPARE(o.value(u"name"_s).toString(), u"good"_s);
                QVERIFY(!o.contains(u"error"_s));
            }
        }
        // The healthy one is still usable by name.
        EXPECT_EXIT(sb.run({u"-c"_s, u"good"_s, u"fsck"_s}), ExitOk);
        const Run badInfo = sb.run({u"-c"_s, bad, u"info"_s});
        EXPECT_EXIT(badInfo, ExitCorrupt);
        EXPECT_CONTAINS(badInfo.errText(), u".meta"_s);
        // By name too: idvd's head still names it, so this is corruption
        // (with what to run), not "no collection".
        for (const QString &cmd : {u"info"_s, u"objects"_s, u"fsck"_s, u"ls"_s}) {
            const Run byName = sb.run({u"-c"_s, u"bad"_s, cmd});
            EXPECT_EXIT(byName, ExitCorrupt);
            EXPECT_CONTAINS(byName.errText(), u"vdrive: corruption: collection 'bad' (%1) cannot be opened: "_s.arg(bad));
            EXPECT_CONTAINS(byName.errText(), u"vdrive -c %1 recover"_s.arg(bad));
        }
        // A name no folder carries is still not found.
        EXPECT_EXIT(sb.run({u"-c"_s, u"gamma"_s, u"info"_s}), ExitNotFound);
        // And the name is not given away twice.
        const Run dup = sb.run({u"init"_s, u"bad"_s});
        EXPECT_EXIT(dup, ExitExists);
        EXPECT_CONTAINS(dup.errText(), bad);
    }

    void truncatedIdvdNamesTheBlockPastTheEnd()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(9 * MiB, 9)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);
        const QString idvd = sb.collectionDir(ruid) + u"/idvd"_s;
        for (qint64 cut : {3 * MiB + 5, 7 * MiB, 12 * MiB}) {
            QVERIFY(QFile::resize(idvd, cut));
            const Run r = sb.run({u"-c"_s, u"c"_s, u"info"_s});
            EXPECT_EXIT(r, ExitCorrupt);
            EXPECT_CONTAINS(r.errText(), u"idvd is %1 bytes long"_s.arg(cut));
            EXPECT_CONTAINS(r.errText(), u"the file was truncated"_s);
            const QRegularExpressionMatch m = QRegularExpression(u"the first block past the end is the (\\d+) MiB block at offset (\\d+)"_s).match(r.errText());
            QVERIFY2(m.hasMatch(), qPrintable(r.describe()));
            const qint64 offset = m.captured(2).toLongLong();
            const qint64 size = m.captured(1).toLongLong() * MiB;
            QVERIFY2(offset > 0 && offset + size > cut, qPrintable(r.describe())); // a block that lies past the cut, not the head
        }
    }

    void repairRebuildsADeletedBitmap()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        const QByteArray data = randomBytes(5 * MiB, 78);
        QVERIFY(writeFile(sb.path(u"f"_s), data));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);
        const QString dir = sb.collectionDir(ruid);
        QVERIFY(QFile::remove(dir + u"/.bitmap"_s));
        const Run info = sb.run({u"-c"_s, u"c"_s, u"info"_s});
        EXPECT_EXIT(info, ExitCorrupt);
        EXPECT_CONTAINS(info.errText(), u"missing its .bitmap file (vdrive fsck --repair rebuilds it)"_s);
        QVERIFY(!QFileInfo::exists(dir + u"/.bitmap"_s));

        const Run repair = sb.run({u"-c"_s, u"c"_s, u"fsck"_s, u"--repair"_s});
        EXPECT_EXIT(repair, ExitOk);
        QVERIFY2(repair.outText().startsWith(u"rebuilt .bitmap from the blocks in use\nclean: 0 faults"_s), qPrintable(repair.describe()));
        QCOMPARE(QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), (QStringList{u".bitmap"_s, u".meta"_s, u"idvd"_s}));
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"k"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QVERIFY(get.out == data);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k2"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    // An acknowledged commit survives a damaged .meta copy; a generation
    // that cannot be verified is not opened, and the CLI says so.
    void damagedNewestMetaCopy()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), "first"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"one"_s}), ExitOk);
        QVERIFY(writeFile(sb.path(u"f"_s), "second"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"two"_s}), ExitOk);
        const qint64 generation = sb.info(u"c"_s).value(u"generation"_s).toInteger();
        QCOMPARE(sb.info(u"c"_s).value(u"warnings"_s).toArray().size(), 0);
        const QString meta = sb.collectionDir(ruid) + u"/.meta"_s;
        QByteArray bytes = readFile(meta);
        bytes.replace(qsizetype(generation % 2) * 4096 + 90, 8, "garbled!");
        QVERIFY(writeFile(meta, bytes));

        const Run info = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"info"_s});
        EXPECT_EXIT(info, ExitOk);
        const QJsonObject o = parseJson(info).toObject();
        QCOMPARE(o.value(u"generation"_s).toInteger(), generation);
        QCOMPARE(o.value(u"warnings"_s).toArray().size(), 1);
        EXPECT_CONTAINS(o.value(u"warnings"_s).toArray().at(0).toString(), u"generation %1 was opened from idvd"_s.arg(generation));
        EXPECT_CONTAINS(info.errText(), u"vdrive: warning: the newest .meta copy is damaged"_s);
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"two"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QCOMPARE(get.out, QByteArray("second"));
        const Run fsck = sb.run({u"-c"_s, u"c"_s, u"fsck"_s});
        EXPECT_EXIT(fsck, ExitCorrupt);
        EXPECT_CONTAINS(fsck.errText(), u"fault: .meta: the copy of generation %1 is unreadable"_s.arg(generation));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s, u"--repair"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
        QCOMPARE(sb.info(u"c"_s).value(u"warnings"_s).toArray().size(), 0);

        // Now the newest copy and the head slot of its generation: the
        // previous generation is opened, with a warning, and fsck says so.
        QVERIFY(writeFile(sb.path(u"f"_s), "third"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"three"_s}), ExitOk);
        const qint64 third = sb.info(u"c"_s).value(u"generation"_s).toInteger();
        bytes = readFile(meta);
        bytes.replace(qsizetype(third % 2) * 4096 + 90, 8, "garbled!");
        QVERIFY(writeFile(meta, bytes));
        {
            QFile f(sb.collectionDir(ruid) + u"/idvd"_s);
            QVERIFY(f.open(QIODevice::ReadWrite));
            QVERIFY(f.seek(4096 * (1 + third % 2) + 40));
            QCOMPARE(f.write("XX", 2), qint64(2));
        }
        const Run lost = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"info"_s});
        EXPECT_EXIT(lost, ExitOk);
        const QJsonObject l = parseJson(lost).toObject();
        QCOMPARE(l.value(u"generation"_s).toInteger(), third - 1);
        QCOMPARE(l.value(u"warnings"_s).toArray().size(), 1);
        EXPECT_CONTAINS(l.value(u"warnings"_s).toArray().at(0).toString(), u"is lost"_s);
        EXPECT_CONTAINS(lost.errText(), u"vdrive: warning: the newest .meta copy is unreadable"_s);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"three"_s, u"-"_s}), ExitNotFound);
        const Run fsckLost = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"fsck"_s});
        EXPECT_EXIT(fsckLost, ExitCorrupt);
        EXPECT_CONTAINS(parseJson(fsckLost).toObject().value(u"faults"_s).toArray().at(0).toString(), u"opened generation %1"_s.arg(third - 1));
    }

    // .meta and .bitmap rebuilt from idvd alone, through the real binary.
    void recoverFromIdvdAlone_data()
    {
        QTest::addColumn<bool>("garble");
        QTest::newRow("deleted") << false;
        QTest::newRow("garbled") << true;
    }
    void recoverFromIdvdAlone()
    {
        QFETCH(bool, garble);
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"trip"_s);
        QVERIFY(!ruid.isEmpty());
        const QString src = sb.path(u"src"_s);
        QVERIFY(QDir().mkpath(src + u"/photos/raw"_s));
        std::map<QString, QByteArray> files = {{u"photos/raw/a.raw"_s, randomBytes(6 * MiB + 3, 61)},
                                               {u"photos/b.jpg"_s, randomBytes(300 * 1024, 62)},
                                               {u"notes.txt"_s, "pack the charger\n"}};
        for (const auto &[rel, bytes] : files)
            QVERIFY(writeFile(src + u'/' + rel, bytes));
        QVERIFY(writeFile(sb.path(u"doc.json"_s), "{\"days\": [1, 2, 3], \"where\": {\"city\": \"Oslo\"}}"));
        const auto c = [&](const QStringList &args) { return sb.run(QStringList{u"-c"_s, u"trip"_s} + args); };
        EXPECT_EXIT(c({u"put"_s, u"-r"_s, src, u"/"_s}), ExitOk);
        EXPECT_EXIT(c({u"json"_s, u"import"_s, sb.path(u"doc.json"_s), u"/doc.json"_s}), ExitOk);
        EXPECT_EXIT(c({u"snapshot"_s, u"create"_s, u"before"_s}), ExitOk);
        QVERIFY(writeFile(sb.path(u"new.txt"_s), "changed"));
        EXPECT_EXIT(c({u"put"_s, sb.path(u"new.txt"_s), u"/src/notes.txt"_s}), ExitOk);
        EXPECT_EXIT(c({u"json"_s, u"set"_s, u"/doc.json/where/city"_s, u"\"Bergen\""_s}), ExitOk);
        const Run ls = c({u"ls"_s, u"-l"_s, u"/src"_s});
        EXPECT_EXIT(ls, ExitOk);
        const QByteArray docBefore = c({u"cat"_s, u"/doc.json"_s}).out;
        const QByteArray snapDocBefore = c({u"--at"_s, u"before"_s, u"cat"_s, u"/doc.json"_s}).out;
        QVERIFY(docBefore != snapDocBefore);

        const QString dir = sb.collectionDir(ruid);
        for (const QString &name : {u".meta"_s, u".bitmap"_s}) {
            if (garble)
                QVERIFY(writeFile(dir + u'/' + name, randomBytes(name == u".meta"_s ? 8192 : 100, 3)));
            else
                QVERIFY(QFile::remove(dir + u'/' + name));
        }
        const Run broken = c({u"ls"_s, u"/"_s});
        EXPECT_EXIT(broken, ExitCorrupt);
        EXPECT_CONTAINS(broken.errText(), u"vdrive -c %1 recover"_s.arg(ruid));

        const Run recover = c({u"--json"_s, u"recover"_s});
        EXPECT_EXIT(recover, ExitOk);
        const QJsonObject o = parseJson(recover).toObject();
        QCOMPARE(o.value(u"clean"_s).toBool(), true);
        QCOMPARE(o.value(u"name"_s).toString(), u"trip"_s);
        QVERIFY(o.value(u"recoveredGeneration"_s).toInteger() >= 5);
        QCOMPARE(o.value(u"warnings"_s).toArray().size(), 0);
        QCOMPARE(QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), (QStringList{u".bitmap"_s, u".meta"_s, u"idvd"_s}));

        EXPECT_EXIT(c({u"fsck"_s}), ExitOk);
        QCOMPARE(c({u"ls"_s, u"-l"_s, u"/src"_s}).out, ls.out);
        for (const auto &[rel, bytes] : files) {
            const Run cat = c({u"cat"_s, u"/src/"_s + rel});
            EXPECT_EXIT(cat, ExitOk);
            QVERIFY2(cat.out == (rel == u"notes.txt"_s ? QByteArray("changed") : bytes), qPrintable(rel));
            const Run old = c({u"--at"_s, u"before"_s, u"cat"_s, u"/src/"_s + rel});
            EXPECT_EXIT(old, ExitOk);
            QVERIFY2(old.out == bytes, qPrintable(rel));
        }
        QCOMPARE(c({u"cat"_s, u"/doc.json"_s}).out, docBefore);
        QCOMPARE(c({u"--at"_s, u"before"_s, u"cat"_s, u"/doc.json"_s}).out, snapDocBefore);
        const Run text = c({u"recover"_s});
        EXPECT_EXIT(text, ExitOk);
        QVERIFY2(text.outText().startsWith(u"recovered generation "_s) && text.outText().contains(u"\nclean: 0 faults"_s), qPrintable(text.describe()));
        EXPECT_CONTAINS(sb.runRaw({u"--help"_s}).outText(), u"recover"_s);
    }

    void roundTrip_data()
    {
        QTest::addColumn<qint64>("size");
        QTest::newRow("0 B") << qint64(0);
        QTest::newRow("1 B") << qint64(1);
        QTest::newRow("1000 B") << qint64(1000);
        QTest::newRow("1 MiB - 128") << MiB - 128;
        QTest::newRow("1 MiB") << MiB;
        QTest::newRow("17.5 MiB") << 35 * MiB / 2;
        QTest::newRow("40 MiB + 12345") << 40 * MiB + 12345;
    }

    void roundTrip()
    {
        VD_SAMPLED_ROW();
        QFETCH(qint64, size);
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(u"c"_s).isEmpty());
        const QByteArray data = randomBytes(size, quint32(size) + 7);
        QVERIFY(writeFile(sb.path(u"in.bin"_s), data));

        // From a file, back to a file.
        const Run put = sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"in.bin"_s, u"file key"_s});
        EXPECT_EXIT(put, ExitOk);
        QVERIFY2(put.outText().startsWith(u"stored file key ("_s), qPrintable(put.describe()));
        QVERIFY2(put.err.isEmpty(), "no progress line when stderr is not a terminal");
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"file key"_s, u"out.bin"_s});
        EXPECT_EXIT(get, ExitOk);
        QVERIFY(get.out.isEmpty() && get.err.isEmpty());
        QCOMPARE(QFileInfo(sb.path(u"out.bin"_s)).size(), size);
        QVERIFY(readFile(sb.path(u"out.bin"_s)) == data);

        // From stdin, back to stdout; --json on both.
        const Run putStdin = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"put-object"_s, u"-"_s, u"dir/stdin key"_s}, data);
        EXPECT_EXIT(putStdin, ExitOk);
        const QJsonObject stored = parseJson(putStdin).toObject();
        QCOMPARE(stored.value(u"key"_s).toString(), u"dir/stdin key"_s);
        QCOMPARE(stored.value(u"size"_s).toInteger(), size);
        QVERIFY(isRuid(stored.value(u"id"_s).toString()));
        const Run getStdout = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"dir/stdin key"_s, u"-"_s});
        EXPECT_EXIT(getStdout, ExitOk);
        QCOMPARE(getStdout.out.size(), data.size());
        QVERIFY(getStdout.out == data);
        QVERIFY(getStdout.err.isEmpty());
        const Run getJson = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"get-object"_s, u"dir/stdin key"_s, u"out2.bin"_s});
        EXPECT_EXIT(getJson, ExitOk);
        const QJsonObject got = parseJson(getJson).toObject();
        QCOMPARE(got.value(u"key"_s).toString(), u"dir/stdin key"_s);
        QCOMPARE(got.value(u"size"_s).toInteger(), size);
        QCOMPARE(got.value(u"file"_s).toString(), u"out2.bin"_s);
        QVERIFY(readFile(sb.path(u"out2.bin"_s)) == data);

        // -q: nothing on stdout.
        const Run quiet = sb.run({u"-c"_s, u"c"_s, u"-q"_s, u"put-object"_s, u"in.bin"_s, u"quiet"_s});
        EXPECT_EXIT(quiet, ExitOk);
        QVERIFY(quiet.out.isEmpty() && quiet.err.isEmpty());

        const QJsonArray objs = sb.objects(u"c"_s);
        QCOMPARE(objs.size(), 3);
        for (const QJsonValue &v : objs)
            QCOMPARE(v.toObject().value(u"size"_s).toInteger(), size);
        const QJsonObject i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(3));
        QCOMPARE(i.value(u"logicalBytes"_s).toInteger(), 3 * size);
        const Run fsck = sb.run({u"-c"_s, u"c"_s, u"fsck"_s});
        EXPECT_EXIT(fsck, ExitOk);
        QVERIFY2(fsck.outText().startsWith(u"clean: 0 faults; checked 0 nodes, 3 objects"_s), qPrintable(fsck.describe()));
    }

    void replaceKeepsOneCopy()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(u"c"_s).isEmpty());
        const QByteArray big = randomBytes(3 * MiB, 1);
        const QByteArray small = randomBytes(1000, 2);
        QVERIFY(writeFile(sb.path(u"big"_s), big));
        QVERIFY(writeFile(sb.path(u"small"_s), small));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"big"_s, u"k"_s}), ExitOk);
        const QJsonObject first = sb.objects(u"c"_s).at(0).toObject();
        QCOMPARE(first.value(u"size"_s).toInteger(), 3 * MiB);
        QVERIFY(sb.info(u"c"_s).value(u"dataBlocks"_s).toInteger() > 0);

        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"small"_s, u"k"_s}), ExitOk);
        const QJsonArray objs = sb.objects(u"c"_s);
        QCOMPARE(objs.size(), 1);
        const QJsonObject now = objs.at(0).toObject();
        QCOMPARE(now.value(u"key"_s).toString(), u"k"_s);
        QCOMPARE(now.value(u"size"_s).toInteger(), qint64(1000));
        QCOMPARE(now.value(u"created"_s).toString(), first.value(u"created"_s).toString()); // a replacement keeps its creation time
        QVERIFY(now.value(u"modified"_s).toString() >= first.value(u"modified"_s).toString());
        QVERIFY(now.value(u"id"_s).toString() != first.value(u"id"_s).toString());
        const Run text = sb.run({u"-c"_s, u"c"_s, u"objects"_s});
        EXPECT_EXIT(text, ExitOk);
        QCOMPARE(text.out.count('\n'), 1);

        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"k"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QVERIFY(get.out == small);
        // The old bytes are gone from the books, not just hidden.
        const QJsonObject i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(1));
        QCOMPARE(i.value(u"logicalBytes"_s).toInteger(), qint64(1000));
        QCOMPARE(i.value(u"dataBlocks"_s).toInteger(), qint64(0));
        QCOMPARE(i.value(u"smallSlots"_s).toInteger(), qint64(1));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void invalidKey_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("message");
        QTest::newRow("empty") << QString() << u"an object key cannot be empty"_s;
        QTest::newRow("1001 bytes") << QString(1001, u'k') << u"an object key is at most 1000 bytes"_s;
    }

    void invalidKey()
    {
        QFETCH(QString, key);
        QFETCH(QString, message);
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), "data"));
        const auto before = fingerprint(sb.collectionDir(ruid));
        const Run put = sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, key});
        EXPECT_EXIT(put, ExitUsage);
        EXPECT_CONTAINS(put.errText(), u"vdrive: invalid-argument: "_s + message);
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, key, u"out"_s});
        EXPECT_EXIT(get, ExitUsage);
        QVERIFY(!QFileInfo::exists(sb.path(u"out"_s)));
        const Run rm = sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, key});
        EXPECT_EXIT(rm, ExitUsage);
        QVERIFY(sb.objects(u"c"_s).isEmpty());
        QCOMPARE(sb.info(u"c"_s).value(u"generation"_s).toInteger(), qint64(1));
        QCOMPARE(fingerprint(sb.collectionDir(ruid)).at(u".meta"_s), before.at(u".meta"_s));
    }

    void getObjectFailures()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(u"c"_s).isEmpty());
        QVERIFY(QDir().mkpath(sb.path(u"out"_s)));

        const Run missing = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"nope"_s, u"out/file"_s});
        EXPECT_EXIT(missing, ExitNotFound);
        QVERIFY(missing.out.isEmpty());
        EXPECT_CONTAINS(missing.errText(), u"vdrive: not-found: no object 'nope'"_s);
        QVERIFY(QDir(sb.path(u"out"_s)).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot));

        // An existing target is left as it was.
        QVERIFY(writeFile(sb.path(u"out/precious"_s), "precious"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"nope"_s, u"out/precious"_s}), ExitNotFound);
        QCOMPARE(readFile(sb.path(u"out/precious"_s)), QByteArray("precious"));

        const Run toStdout = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"nope"_s, u"-"_s});
        EXPECT_EXIT(toStdout, ExitNotFound);
        QVERIFY(toStdout.out.isEmpty());

        // A target in a folder that does not exist: a plain failure.
        QVERIFY(writeFile(sb.path(u"f"_s), "data"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);
        const Run noDir = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"k"_s, u"no/such/dir/file"_s});
        EXPECT_EXIT(noDir, ExitFailure);
        EXPECT_CONTAINS(noDir.errText(), u"cannot write 'no/such/dir/file'"_s);

        // A local file that does not exist.
        const Run noFile = sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"no-such-file"_s, u"k2"_s});
        EXPECT_EXIT(noFile, ExitNotFound);
        EXPECT_CONTAINS(noFile.errText(), u"cannot read 'no-such-file'"_s);
        QCOMPARE(sb.objects(u"c"_s).size(), 1);
    }

    void objectsListing()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(u"c"_s).isEmpty());
        const Run empty = sb.run({u"-c"_s, u"c"_s, u"objects"_s});
        EXPECT_EXIT(empty, ExitOk);
        QVERIFY(empty.out.isEmpty());
        const Run emptyJson = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"objects"_s});
        EXPECT_EXIT(emptyJson, ExitOk);
        QVERIFY(parseJson(emptyJson).isArray() && parseJson(emptyJson).toArray().isEmpty());

        const std::map<QString, qint64> sizes = {{u"b"_s, 1000}, {u"a"_s, 0}, {u"dir/c d"_s, 2 * MiB + 5}, {u"\u00e9t\u00e9"_s, 1}};
        for (const auto &[key, size] : sizes) {
            QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(size, 3)));
            EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, key}), ExitOk);
        }
        // Text: size (right-aligned in 14 columns), modification time, key; in key order.
        const Run text = sb.run({u"-c"_s, u"c"_s, u"objects"_s});
        EXPECT_EXIT(text, ExitOk);
        const QStringList lines = text.outText().split(u'\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), int(sizes.size()));
        const QRegularExpression line(u"^ *(\\d+)  (\\S+Z)  (.+)$"_s);
        QStringList keys;
        for (const QString &l : lines) {
            const auto m = line.match(l);
            QVERIFY2(m.hasMatch(), qPrintable(l));
            QCOMPARE(l.indexOf(u"  "_s, 14), 14); // size column is 14 wide
            QVERIFY(isIsoUtc(m.captured(2)));
            keys << m.captured(3);
            QCOMPARE(m.captured(1).toLongLong(), sizes.at(m.captured(3)));
        }
        QCOMPARE(keys, (QStringList{u"a"_s, u"b"_s, u"dir/c d"_s, u"\u00e9t\u00e9"_s})); // UTF-8 byte order

        const QJsonArray arr = sb.objects(u"c"_s);
        QCOMPARE(arr.size(), int(sizes.size()));
        for (const QJsonValue &v : arr) {
            const QJsonObject o = v.toObject();
            QCOMPARE(o.keys(), (QStringList{u"clusters"_s, u"created"_s, u"id"_s, u"key"_s, u"modified"_s, u"size"_s}));
            const QString key = o.value(u"key"_s).toString();
            QVERIFY(sizes.count(key));
            QVERIFY(o.value(u"size"_s).isDouble());
            QCOMPARE(o.value(u"size"_s).toInteger(), sizes.at(key));
            QVERIFY(isRuid(o.value(u"id"_s).toString()));
            QVERIFY(isIsoUtc(o.value(u"created"_s)));
            QVERIFY(isIsoUtc(o.value(u"modified"_s)));
            QCOMPARE(o.value(u"clusters"_s).toInteger(), qint64(sizes.at(key) == 0 ? 0 : 1));
        }
    }

    void removeObjects()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(u"c"_s).isEmpty());
        for (const QString &key : {u"a"_s, u"b"_s, u"c"_s}) {
            QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(MiB, 9)));
            EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, key}), ExitOk);
        }
        QCOMPARE(sb.info(u"c"_s).value(u"objects"_s).toInteger(), qint64(3));

        const Run rm = sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, u"a"_s, u"b"_s});
        EXPECT_EXIT(rm, ExitOk);
        QVERIFY(rm.out.isEmpty() && rm.err.isEmpty());
        for (const QString &key : {u"a"_s, u"b"_s}) {
            const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, key, u"out"_s});
            EXPECT_EXIT(get, ExitNotFound);
            EXPECT_CONTAINS(get.errText(), u"no object '%1'"_s.arg(key));
        }
        QJsonObject i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(1));
        QCOMPARE(i.value(u"logicalBytes"_s).toInteger(), MiB);

        // Removing a missing key fails and commits none of the command.
        const Run partial = sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, u"c"_s, u"missing"_s});
        EXPECT_EXIT(partial, ExitNotFound);
        EXPECT_CONTAINS(partial.errText(), u"vdrive: not-found: no object 'missing'"_s);
        QCOMPARE(sb.objects(u"c"_s).size(), 1);
        const Run again = sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, u"a"_s});
        EXPECT_EXIT(again, ExitNotFound);

        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, u"c"_s}), ExitOk);
        i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(0));
        QCOMPARE(i.value(u"logicalBytes"_s).toInteger(), qint64(0));
        QCOMPARE(i.value(u"paddingRatio"_s).toDouble(), 0.0);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void removeLargeObjectGivesSpaceBack()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        const QString idvd = sb.collectionDir(ruid) + u"/idvd"_s;
        // A small object first: the catalog and the SmallBlock settle in unit 0.
        QVERIFY(writeFile(sb.path(u"small"_s), "small"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"small"_s, u"small"_s}), ExitOk);
        const qint64 before = sb.info(u"c"_s).value(u"idvdBytes"_s).toInteger();
        QCOMPARE(before, 16 * MiB);

        QVERIFY(writeFile(sb.path(u"big"_s), randomBytes(40 * MiB, 40)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"big"_s, u"big"_s}), ExitOk);
        QJsonObject i = sb.info(u"c"_s);
        // its two 16 MiB blocks need two new units; the rest fits the gaps of unit 0
        QVERIFY2(i.value(u"idvdBytes"_s).toInteger() >= before + 32 * MiB, qPrintable(QString::number(i.value(u"idvdBytes"_s).toInteger())));
        QCOMPARE(QFileInfo(idvd).size(), i.value(u"idvdBytes"_s).toInteger());

        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, u"big"_s}), ExitOk);
        i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"idvdBytes"_s).toInteger(), before);
        QCOMPARE(QFileInfo(idvd).size(), before);
        QCOMPARE(i.value(u"dataBlockBytes"_s).toInteger(), qint64(0));
        QCOMPARE(i.value(u"units"_s).toInteger() * 16 * MiB, i.value(u"idvdBytes"_s).toInteger());
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"small"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QCOMPARE(get.out, QByteArray("small"));
    }

    void removeLargeObjectFromFreshCollection()
    {
        // The same with nothing stored before the large object.
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        const qint64 before = sb.info(u"c"_s).value(u"idvdBytes"_s).toInteger();
        QCOMPARE(before, 16 * MiB);
        QVERIFY(writeFile(sb.path(u"big"_s), randomBytes(40 * MiB, 41)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"big"_s, u"big"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, u"big"_s}), ExitOk);
        const QJsonObject i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(0));
        QCOMPARE(i.value(u"dataBlockBytes"_s).toInteger(), qint64(0));
        QVERIFY(i.value(u"allocatedBytes"_s).toInteger() <= 16 * MiB); // everything left fits one unit
        QCOMPARE(i.value(u"idvdBytes"_s).toInteger(), before);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void infoAccounting()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());

        const QJsonObject fresh = sb.info(u"c"_s);
        const QStringList fields = {u"allocatedBytes"_s, u"blocksPerClass"_s, u"catalogBlocks"_s, u"catalogBytes"_s, u"catalogLiveBytes"_s,
                                    u"committed"_s, u"created"_s, u"dataBlockBytes"_s, u"dataBlocks"_s, u"generation"_s,
                                    u"idvdBytes"_s, u"logicalBytes"_s, u"name"_s, u"objectBytes"_s, u"objects"_s, u"paddingRatio"_s,
                                    u"path"_s, u"reserveBytes"_s, u"ruid"_s, u"smallBlockBytes"_s, u"smallBlocks"_s, u"smallSlots"_s,
                                    u"smallStoredBytes"_s, u"snapshots"_s, u"treeBytes"_s, u"units"_s, u"vnodes"_s, u"warnings"_s};
        QCOMPARE(fresh.keys(), fields);
        QCOMPARE(fresh.value(u"ruid"_s).toString(), ruid);
        QCOMPARE(fresh.value(u"name"_s).toString(), u"c"_s);
        QCOMPARE(fresh.value(u"path"_s).toString(), sb.collectionDir(ruid));
        QCOMPARE(fresh.value(u"generation"_s).toInteger(), qint64(1));
        QVERIFY(isIsoUtc(fresh.value(u"created"_s)) && isIsoUtc(fresh.value(u"committed"_s)));
        QCOMPARE(fresh.value(u"units"_s).toInteger(), qint64(1));
        QCOMPARE(fresh.value(u"idvdBytes"_s).toInteger(), 16 * MiB);
        QCOMPARE(fresh.value(u"allocatedBytes"_s).toInteger(), MiB); // the head block
        QCOMPARE(fresh.value(u"objects"_s).toInteger(), qint64(0));
        QCOMPARE(fresh.value(u"logicalBytes"_s).toInteger(), qint64(0));
        QCOMPARE(fresh.value(u"paddingRatio"_s).toDouble(), 0.0);
        QVERIFY(fresh.value(u"warnings"_s).isArray() && fresh.value(u"warnings"_s).toArray().isEmpty());

        // 17.5 MiB: one 16 MiB and one 1 MiB data block, the tail packed.
        const qint64 size = 35 * MiB / 2;
        QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(size, 17)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);
        QJsonObject i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"generation"_s).toInteger(), qint64(2));
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(1));
        QCOMPARE(i.value(u"logicalBytes"_s).toInteger(), size);
        QVERIFY2(i.value(u"dataBlockBytes"_s).toInteger() <= 18 * MiB, qPrintable(QString::number(i.value(u"dataBlockBytes"_s).toInteger())));
        QVERIFY(i.value(u"dataBlockBytes"_s).toInteger() + i.value(u"smallStoredBytes"_s).toInteger() <= 18 * MiB);
        QVERIFY(i.value(u"dataBlockBytes"_s).toInteger() + i.value(u"smallStoredBytes"_s).toInteger() >= size);
        QCOMPARE(i.value(u"smallSlots"_s).toInteger(), qint64(1));
        QVERIFY(i.value(u"dataBlocks"_s).toInteger() <= 2);
        checkConsistent(i);
        if (QTest::currentTestFailed())
            return;

        // More objects: logicalBytes is the sum of what `objects` lists.
        for (qint64 s : {qint64(0), qint64(1), qint64(4096), 3 * MiB + 1}) {
            QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(s, 5)));
            EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"size %1"_s.arg(s)}), ExitOk);
        }
        i = sb.info(u"c"_s);
        const QJsonArray objs = sb.objects(u"c"_s);
        qint64 sum = 0;
        for (const QJsonValue &v : objs)
            sum += v.toObject().value(u"size"_s).toInteger();
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(objs.size()));
        QCOMPARE(objs.size(), 5);
        QCOMPARE(i.value(u"logicalBytes"_s).toInteger(), sum);
        QCOMPARE(i.value(u"generation"_s).toInteger(), qint64(6));
        checkConsistent(i);
        if (QTest::currentTestFailed())
            return;

        // The text form says the same.
        const Run text = sb.run({u"-c"_s, u"c"_s, u"info"_s});
        EXPECT_EXIT(text, ExitOk);
        EXPECT_CONTAINS(text.outText(), u"collection   c (%1)\n"_s.arg(ruid));
        EXPECT_CONTAINS(text.outText(), u"generation   6, committed "_s);
        EXPECT_CONTAINS(text.outText(), u"objects      5 holding "_s);
        EXPECT_CONTAINS(text.outText(), u"units        %1 of 16 MiB"_s.arg(i.value(u"units"_s).toInteger()));
        EXPECT_CONTAINS(text.outText(), u"padding      "_s);
    }

    void fsckHealthy()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(5 * MiB, 5)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);
        const auto before = fingerprint(sb.collectionDir(ruid));

        const Run text = sb.run({u"-c"_s, u"c"_s, u"fsck"_s});
        EXPECT_EXIT(text, ExitOk);
        QVERIFY2(text.outText().startsWith(u"clean: 0 faults; checked 0 nodes, 1 object, "_s), qPrintable(text.describe()));
        QVERIFY(text.err.isEmpty());

        const Run quiet = sb.run({u"-c"_s, u"c"_s, u"-q"_s, u"fsck"_s});
        EXPECT_EXIT(quiet, ExitOk);
        QVERIFY(quiet.out.isEmpty() && quiet.err.isEmpty());

        const Run json = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"fsck"_s});
        EXPECT_EXIT(json, ExitOk);
        const QJsonObject o = parseJson(json).toObject();
        QCOMPARE(o.keys(), (QStringList{u"bitmapRebuilt"_s, u"blocks"_s, u"bytesVerified"_s, u"clean"_s, u"faults"_s, u"notHere"_s,
                                        u"objects"_s, u"overcountedBlocks"_s, u"pages"_s, u"reclaimableBytes"_s, u"slots"_s, u"vnodes"_s}));
        QCOMPARE(o.value(u"clean"_s).toBool(), true);
        QCOMPARE(o.value(u"bitmapRebuilt"_s).toBool(), false);
        QVERIFY(o.value(u"faults"_s).isArray() && o.value(u"faults"_s).toArray().isEmpty());
        QCOMPARE(o.value(u"objects"_s).toInteger(), qint64(1));
        QVERIFY(o.value(u"bytesVerified"_s).toInteger() >= 5 * MiB);
        QVERIFY(o.value(u"pages"_s).toInteger() >= 1);

        // fsck reads; it does not write. --repair on a healthy collection changes nothing either.
        QVERIFY(fingerprint(sb.collectionDir(ruid)) == before);
        const Run repair = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"fsck"_s, u"--repair"_s});
        EXPECT_EXIT(repair, ExitOk);
        QCOMPARE(parseJson(repair).toObject().value(u"clean"_s).toBool(), true);
        QCOMPARE(parseJson(repair).toObject().value(u"bitmapRebuilt"_s).toBool(), false);
        QVERIFY(fingerprint(sb.collectionDir(ruid)) == before);
        const Run repairText = sb.run({u"-c"_s, u"c"_s, u"fsck"_s, u"--repair"_s});
        EXPECT_EXIT(repairText, ExitOk);
        QVERIFY2(repairText.outText().startsWith(u"clean: "_s), qPrintable(repairText.describe()));
        QCOMPARE(sb.info(u"c"_s).value(u"generation"_s).toInteger(), qint64(2));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void fsckFindsCorruption()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        const QByteArray data = randomBytes(5 * MiB, 55);
        QVERIFY(writeFile(sb.path(u"f"_s), data));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"victim"_s}), ExitOk);
        QVERIFY(writeFile(sb.path(u"g"_s), "bystander"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"g"_s, u"bystander"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);

        // Find the object's bytes in idvd and flip one of them.
        const QString idvdPath = sb.collectionDir(ruid) + u"/idvd"_s;
        const QByteArray idvd = readFile(idvdPath);
        const QByteArray sample = data.mid(2 * MiB, 64);
        const qsizetype at = idvd.indexOf(sample);
        QVERIFY2(at >= MiB, "the object's data lies after the head block");
        QCOMPARE(idvd.indexOf(sample, at + 1), qsizetype(-1));
        {
            QFile f(idvdPath);
            QVERIFY(f.open(QIODevice::ReadWrite));
            QVERIFY(f.seek(at + 32));
            const char flipped = char(idvd.at(at + 32) ^ 0x10);
            QCOMPARE(f.write(&flipped, 1), qint64(1));
        }

        const Run text = sb.run({u"-c"_s, u"c"_s, u"fsck"_s});
        EXPECT_EXIT(text, ExitCorrupt);
        QVERIFY2(text.outText().startsWith(u"FAULTS FOUND: 1 fault;"_s), qPrintable(text.describe()));
        EXPECT_CONTAINS(text.errText(), u"fault: object 'victim'"_s);
        EXPECT_CONTAINS(text.errText(), u"SHA-256"_s);

        const Run quiet = sb.run({u"-c"_s, u"c"_s, u"-q"_s, u"fsck"_s});
        EXPECT_EXIT(quiet, ExitCorrupt);
        EXPECT_CONTAINS(quiet.outText(), u"FAULTS FOUND"_s); // -q still reports faults

        const Run json = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"fsck"_s});
        EXPECT_EXIT(json, ExitCorrupt);
        const QJsonObject o = parseJson(json).toObject();
        QCOMPARE(o.value(u"clean"_s).toBool(true), false);
        const QJsonArray faults = o.value(u"faults"_s).toArray();
        QCOMPARE(faults.size(), 1);
        EXPECT_CONTAINS(faults.at(0).toString(), u"object 'victim'"_s);

        // Reading it fails with Corruption and leaves no file behind.
        QVERIFY(QDir().mkpath(sb.path(u"out"_s)));
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"victim"_s, u"out/victim"_s});
        EXPECT_EXIT(get, ExitCorrupt);
        EXPECT_CONTAINS(get.errText(), u"vdrive: corruption: "_s);
        EXPECT_CONTAINS(get.errText(), u"does not match its SHA-256"_s);
        QVERIFY(QDir(sb.path(u"out"_s)).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot));
        QVERIFY(writeFile(sb.path(u"out/old"_s), "old"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"victim"_s, u"out/old"_s}), ExitCorrupt);
        QCOMPARE(readFile(sb.path(u"out/old"_s)), QByteArray("old"));
        QCOMPARE(QDir(sb.path(u"out"_s)).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{u"old"_s});
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"victim"_s, u"-"_s}), ExitCorrupt);

        // The rest of the collection is still readable.
        const Run other = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"bystander"_s, u"-"_s});
        EXPECT_EXIT(other, ExitOk);
        QCOMPARE(other.out, QByteArray("bystander"));
    }

    void repairBitmap()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        const QByteArray data = randomBytes(5 * MiB, 77);
        QVERIFY(writeFile(sb.path(u"f"_s), data));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);
        const QString dir = sb.collectionDir(ruid);
        QVERIFY(QFile::resize(dir + u"/.bitmap"_s, 0));
        const auto damaged = fingerprint(dir);

        // Nothing opens it, and nothing that fails to open writes to it.
        for (const QStringList &args : {QStringList{u"info"_s}, QStringList{u"objects"_s}, QStringList{u"fsck"_s},
                                        QStringList{u"get-object"_s, u"k"_s, u"out"_s}, QStringList{u"put-object"_s, u"f"_s, u"k2"_s},
                                        QStringList{u"rm-object"_s, u"k"_s}}) {
            const Run r = sb.run(QStringList{u"-c"_s, u"c"_s} + args);
            QVERIFY2(r.code != ExitOk, qPrintable(r.describe()));
            QVERIFY(r.out.isEmpty());
            EXPECT_CONTAINS(r.errText(), u".bitmap"_s);
            EXPECT_CONTAINS(r.errText(), u"fsck --repair"_s);
            QVERIFY2(fingerprint(dir) == damaged, qPrintable(r.what));
        }
        const Run info = sb.run({u"-c"_s, u"c"_s, u"info"_s});
        EXPECT_EXIT(info, ExitCorrupt);
        QVERIFY(!QFileInfo::exists(sb.path(u"out"_s)));

        const Run repair = sb.run({u"-c"_s, u"c"_s, u"fsck"_s, u"--repair"_s});
        EXPECT_EXIT(repair, ExitOk);
        QVERIFY2(repair.outText().startsWith(u"rebuilt .bitmap from the blocks in use\nclean: 0 faults"_s), qPrintable(repair.describe()));
        QVERIFY(QFileInfo(dir + u"/.bitmap"_s).size() > 0);

        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"info"_s}), ExitOk);
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"k"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QVERIFY(get.out == data);
        const Run fsck = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"fsck"_s});
        EXPECT_EXIT(fsck, ExitOk);
        QCOMPARE(parseJson(fsck).toObject().value(u"clean"_s).toBool(), true);
        // And it takes writes again.
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k2"_s}), ExitOk);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void repairBitmapJson()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(3 * MiB, 3)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);
        QVERIFY(QFile::resize(sb.collectionDir(ruid) + u"/.bitmap"_s, 0));
        const Run repair = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"fsck"_s, u"--repair"_s});
        EXPECT_EXIT(repair, ExitOk);
        const QJsonObject o = parseJson(repair).toObject();
        QCOMPARE(o.value(u"bitmapRebuilt"_s).toBool(), true);
        QCOMPARE(o.value(u"clean"_s).toBool(), true);
        QCOMPARE(o.value(u"objects"_s).toInteger(), qint64(1));
    }

    void writerLockNamesHolder()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(u"c"_s).isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), "second writer"));

        QProcess holder;
        sb.start(holder, {u"-c"_s, u"c"_s, u"put-object"_s, u"-"_s, u"held"_s});
        QVERIFY(holder.waitForStarted(kTimeoutMs));
        // Once the holder has taken 2 MiB from its stdin (more than a pipe
        // holds), it is inside put-object: it holds the writer lock. (Probing
        // with a writer before that could take the lock from under it.)
        const QByteArray first = randomBytes(2 * MiB, 1);
        QVERIFY2(feed(holder, first), holder.readAllStandardError().constData());

        const QString pid = u"pid %1 "_s.arg(holder.processId());
        const Run writer = sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"other"_s});
        EXPECT_EXIT(writer, ExitBusy);
        EXPECT_CONTAINS(writer.errText(), u"vdrive: busy: "_s);
        EXPECT_CONTAINS(writer.errText(), u"is locked by "_s + pid);
        EXPECT_CONTAINS(writer.errText(), u"put-object - held"_s);
        const Run rm = sb.run({u"-c"_s, u"c"_s, u"rm-object"_s, u"held"_s});
        EXPECT_EXIT(rm, ExitBusy);
        EXPECT_CONTAINS(rm.errText(), pid);
        // Readers wait for no writer either: they are refused as well.
        const Run reader = sb.run({u"-c"_s, u"c"_s, u"info"_s});
        EXPECT_EXIT(reader, ExitBusy);
        EXPECT_CONTAINS(reader.errText(), pid);
        // `collections` reads only .meta and takes no lock.
        EXPECT_EXIT(sb.run({u"collections"_s}), ExitOk);

        const QByteArray second = randomBytes(MiB + 3, 2);
        holder.write(second);
        holder.closeWriteChannel();
        QVERIFY(holder.waitForFinished(kTimeoutMs));
        QCOMPARE(holder.exitStatus(), QProcess::NormalExit);
        QVERIFY2(holder.exitCode() == ExitOk, holder.readAllStandardError().constData());
        QVERIFY(holder.readAllStandardOutput().startsWith("stored held ("));

        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"held"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QVERIFY(get.out == first + second);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"other"_s}), ExitOk);
        const QJsonArray objs = sb.objects(u"c"_s);
        QCOMPARE(objs.size(), 2);
    }

    void killedWriterLeavesNoTrace()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        QVERIFY(writeFile(sb.path(u"f"_s), "kept"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"kept"_s}), ExitOk);
        const QString idvd = sb.collectionDir(ruid) + u"/idvd"_s;
        QCOMPARE(QFileInfo(idvd).size(), 16 * MiB);

        QProcess holder;
        sb.start(holder, {u"-c"_s, u"c"_s, u"put-object"_s, u"-"_s, u"killed"_s});
        QVERIFY(holder.waitForStarted(kTimeoutMs));
        // 20 MiB taken from the pipe: the first 16 MiB block has been written
        // (uncommitted), chunk by chunk as it came, and the next one begun:
        // idvd has grown by more than a unit.
        QVERIFY2(feed(holder, randomBytes(20 * MiB, 20)), holder.readAllStandardError().constData());
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(idvd).size() >= 32 * MiB, kTimeoutMs);

        holder.kill(); // SIGKILL, mid-write
        QVERIFY(holder.waitForFinished(kTimeoutMs));
        QCOMPARE(holder.exitStatus(), QProcess::CrashExit);

        // The lock died with the process: no waiting, no stale lock file.
        const Run fsck = sb.run({u"-c"_s, u"c"_s, u"fsck"_s});
        EXPECT_EXIT(fsck, ExitOk);
        QVERIFY(writeFile(sb.path(u"g"_s), "after"));
        const Run writer = sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"g"_s, u"after"_s});
        EXPECT_EXIT(writer, ExitOk);

        const QJsonArray objs = sb.objects(u"c"_s);
        QStringList keys;
        for (const QJsonValue &v : objs)
            keys << v.toObject().value(u"key"_s).toString();
        QCOMPARE(keys, (QStringList{u"after"_s, u"kept"_s}));
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"killed"_s, u"-"_s});
        EXPECT_EXIT(get, ExitNotFound);
        const QJsonObject i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(2));
        QCOMPARE(i.value(u"dataBlockBytes"_s).toInteger(), qint64(0));
        QCOMPARE(i.value(u"idvdBytes"_s).toInteger(), 16 * MiB); // the uncommitted growth is given back
        const Run fsckAfter = sb.run({u"-c"_s, u"c"_s, u"--json"_s, u"fsck"_s});
        EXPECT_EXIT(fsckAfter, ExitOk);
        QCOMPARE(parseJson(fsckAfter).toObject().value(u"clean"_s).toBool(), true);
    }

    void interruptRollsBack_data()
    {
        QTest::addColumn<int>("signal");
        QTest::newRow("SIGINT (Ctrl-C)") << int(SIGINT);
        QTest::newRow("SIGTERM") << int(SIGTERM);
    }

    void interruptRollsBack()
    {
        QFETCH(int, signal);
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(u"c"_s);
        QVERIFY(!ruid.isEmpty());
        QVERIFY(writeFile(sb.path(u"old"_s), "the old version"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"old"_s, u"k"_s}), ExitOk);
        const qint64 generation = sb.info(u"c"_s).value(u"generation"_s).toInteger();

        // Replacing k from stdin, interrupted half-way.
        QProcess writer;
        sb.start(writer, {u"-c"_s, u"c"_s, u"put-object"_s, u"-"_s, u"k"_s});
        QVERIFY(writer.waitForStarted(kTimeoutMs));
        // Reading its input: the lock is held and the signal handlers are set.
        QVERIFY2(feed(writer, randomBytes(18 * MiB, 18)), writer.readAllStandardError().constData());
        QCOMPARE(::kill(pid_t(writer.processId()), signal), 0);
        // The next read notices the signal (or the end of the input does).
        writer.write(randomBytes(MiB, 19));
        writer.closeWriteChannel();
        QVERIFY(writer.waitForFinished(kTimeoutMs));
        QCOMPARE(writer.exitStatus(), QProcess::NormalExit);
        QCOMPARE(writer.exitCode(), int(ExitCancelled));
        QVERIFY(writer.readAllStandardOutput().isEmpty());
        EXPECT_CONTAINS(QString::fromUtf8(writer.readAllStandardError()), u"vdrive: cancelled: storing 'k' was cancelled"_s);

        const QJsonObject i = sb.info(u"c"_s);
        QCOMPARE(i.value(u"generation"_s).toInteger(), generation); // nothing committed
        QCOMPARE(i.value(u"objects"_s).toInteger(), qint64(1));
        QCOMPARE(i.value(u"idvdBytes"_s).toInteger(), 16 * MiB); // the blocks it wrote are free again
        const Run get = sb.run({u"-c"_s, u"c"_s, u"get-object"_s, u"k"_s, u"-"_s});
        EXPECT_EXIT(get, ExitOk);
        QCOMPARE(get.out, QByteArray("the old version"));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void interruptGetObject()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(u"c"_s).isEmpty());
        const qint64 size = 40 * MiB;
        QVERIFY(writeFile(sb.path(u"f"_s), randomBytes(size, 4)));
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"put-object"_s, u"f"_s, u"k"_s}), ExitOk);

        QProcess reader;
        sb.start(reader, {u"-c"_s, u"c"_s, u"get-object"_s, u"k"_s, u"-"_s});
        QVERIFY(reader.waitForStarted(kTimeoutMs));
        reader.closeWriteChannel();
        // Its first bytes on stdout: it is inside get-object, blocked on the
        // full pipe, with the signal handlers set.
        QVERIFY(reader.waitForReadyRead(kTimeoutMs));
        QCOMPARE(::kill(pid_t(reader.processId()), SIGINT), 0);
        QVERIFY(reader.waitForFinished(kTimeoutMs));
        QCOMPARE(reader.exitStatus(), QProcess::NormalExit);
        QCOMPARE(reader.exitCode(), int(ExitCancelled));
        QVERIFY(reader.readAllStandardOutput().size() < size);
        EXPECT_CONTAINS(QString::fromUtf8(reader.readAllStandardError()), u"vdrive: cancelled: reading 'k' was cancelled"_s);
        EXPECT_EXIT(sb.run({u"-c"_s, u"c"_s, u"fsck"_s}), ExitOk);
    }

    void ambiguousName()
    {
        // Two collections of one name can meet in a data directory when a
        // folder is moved in from another one: then only the RUID selects.
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString first = sb.init(u"twin"_s);
        QVERIFY(!first.isEmpty());
        const Run other = sb.runRaw({u"--data-dir"_s, sb.path(u"other"_s), u"init"_s, u"twin"_s});
        EXPECT_EXIT(other, ExitOk);
        const QString second = other.outText().trimmed();
        QVERIFY(QDir().rename(sb.path(u"other/collections/"_s) + second, sb.collectionDir(second)));

        const Run list = sb.run({u"collections"_s});
        EXPECT_EXIT(list, ExitOk);
        QCOMPARE(list.out.count('\n'), 2);
        const Run byName = sb.run({u"-c"_s, u"twin"_s, u"info"_s});
        EXPECT_EXIT(byName, ExitFailure);
        EXPECT_CONTAINS(byName.errText(), u"vdrive: conflict: 2 collections are named 'twin'; name one by its RUID"_s);
        for (const QString &ruid : {first, second}) {
            const Run byRuid = sb.run({u"-c"_s, ruid, u"--json"_s, u"info"_s});
            EXPECT_EXIT(byRuid, ExitOk);
            QCOMPARE(parseJson(byRuid).toObject().value(u"ruid"_s).toString(), ruid);
        }
        const Run init = sb.run({u"init"_s, u"twin"_s});
        EXPECT_EXIT(init, ExitExists);
    }

private:
    // What info --json promises about its own numbers.
    static void checkConsistent(const QJsonObject &i)
    {
        const QJsonObject perClass = i.value(u"blocksPerClass"_s).toObject();
        QCOMPARE(perClass.keys(), (QStringList{u"16MiB"_s, u"1MiB"_s, u"2MiB"_s, u"4MiB"_s, u"8MiB"_s}));
        qint64 allocated = 0;
        for (int k = 0; k < 5; ++k)
            allocated += perClass.value(u"%1MiB"_s.arg(1 << k)).toInteger() * (MiB << k);
        QCOMPARE(i.value(u"allocatedBytes"_s).toInteger(), allocated);
        QCOMPARE(i.value(u"allocatedBytes"_s).toInteger(),
                 MiB + i.value(u"dataBlockBytes"_s).toInteger() + i.value(u"smallBlockBytes"_s).toInteger() + i.value(u"catalogBytes"_s).toInteger()
                     + i.value(u"reserveBytes"_s).toInteger());
        QVERIFY(i.value(u"allocatedBytes"_s).toInteger() <= i.value(u"idvdBytes"_s).toInteger());
        QCOMPARE(i.value(u"idvdBytes"_s).toInteger(), i.value(u"units"_s).toInteger() * 16 * MiB);
        QVERIFY(i.value(u"smallStoredBytes"_s).toInteger() <= i.value(u"smallBlockBytes"_s).toInteger());
        QVERIFY(i.value(u"catalogLiveBytes"_s).toInteger() <= i.value(u"catalogBytes"_s).toInteger());
        const double logical = double(i.value(u"logicalBytes"_s).toInteger());
        const double expected = logical > 0 ? double(i.value(u"dataBlockBytes"_s).toInteger() + i.value(u"smallBlockBytes"_s).toInteger()) / logical : 0.0;
        QVERIFY(qAbs(i.value(u"paddingRatio"_s).toDouble() - expected) < 1e-9);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
