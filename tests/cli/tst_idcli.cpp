// `vdrive id`, driven as a real process: the node identity of a data
// directory, made on first use, the same on every later run, its own per data
// directory, and not carried along when a collection folder is copied.
#include "clitest.h"

#include "node/nodeid.h"

#include <sys/stat.h>

using namespace vd::clitest;

namespace {

const QRegularExpression kIdForm(u"^([A-Z2-7]{7}-){7}[A-Z2-7]{7}$"_s);

// The id line `vdrive id` printed, checked for its form.
QString idOf(const Run &r)
{
    const QString id = r.outText().trimmed();
    if (r.code != ExitOk || !kIdForm.match(id).hasMatch()) {
        qWarning("%s", qPrintable(r.describe()));
        return {};
    }
    return id;
}

bool copyTree(const QString &from, const QString &to)
{
    QDir().mkpath(to);
    const QDir src(from);
    for (const QFileInfo &fi : src.entryInfoList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot)) {
        const QString target = to + u'/' + fi.fileName();
        if (fi.isDir() ? !copyTree(fi.filePath(), target) : !QFile::copy(fi.filePath(), target))
            return false;
    }
    return true;
}

} // namespace

class TestIdCli : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void madeOnceThenStable()
    {
        Sandbox sb;
        const Run first = sb.run({u"id"_s, u"--json"_s});
        EXPECT_EXIT(first, ExitOk);
        const QJsonObject o = parseJson(first).toObject();
        QVERIFY2(kIdForm.match(o[u"id"_s].toString()).hasMatch(), qPrintable(first.describe()));
        QCOMPARE(o[u"created"_s].toBool(), true);
        QCOMPARE(o[u"key"_s].toString(), sb.dataDir() + u"/node/key.pem"_s);
        QCOMPARE(o[u"certificate"_s].toString(), sb.dataDir() + u"/node/cert.pem"_s);
        QVERIFY(QRegularExpression(u"^[0-9a-f]{16}$"_s).match(o[u"shortId"_s].toString()).hasMatch());
        QCOMPARE(o[u"shortId"_s].toString(), QString::number(vd::node::NodeId::parse(o[u"id"_s].toString())->shortId(), 16).rightJustified(16, u'0'));
        struct stat st;
        QCOMPARE(::stat(QFile::encodeName(sb.dataDir() + u"/node/key.pem"_s).constData(), &st), 0);
        QCOMPARE(st.st_mode & 07777, mode_t(0600));

        for (int i = 0; i < 3; ++i)
            QCOMPARE(idOf(sb.run({u"id"_s})), o[u"id"_s].toString());
        const QJsonObject again = parseJson(sb.run({u"id"_s, u"--json"_s})).toObject();
        QCOMPARE(again[u"id"_s], o[u"id"_s]);
        QCOMPARE(again[u"created"_s].toBool(), false);
    }

    void eachDataDirectoryHasItsOwn()
    {
        Sandbox sb;
        const QString a = idOf(sb.run({u"id"_s}));
        const QString b = idOf(sb.runRaw({u"--data-dir"_s, sb.path(u"other"_s), u"id"_s}));
        QVERIFY(!a.isEmpty() && !b.isEmpty());
        QVERIFY(a != b);
    }

    // The identity is the data directory's, not the collection's: a
    // collection folder copied into another data directory works there,
    // under that directory's identity.
    void copiedCollectionDoesNotCarryTheIdentity()
    {
        Sandbox sb;
        const QString ruid = sb.init(u"photos"_s);
        QVERIFY(!ruid.isEmpty());
        EXPECT_EXIT(sb.run({u"-c"_s, u"photos"_s, u"mkdir"_s, u"/2024"_s}), ExitOk);
        const auto collectionBefore = fingerprint(sb.collectionDir(ruid));
        const QString here = idOf(sb.run({u"id"_s}));
        QVERIFY(!here.isEmpty());
        QCOMPARE(fingerprint(sb.collectionDir(ruid)), collectionBefore); // `id` does not touch collections
        QCOMPARE(QDir(sb.collectionDir(ruid)).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 QStringList({u".bitmap"_s, u".meta"_s, u"idvd"_s}));

        const QString other = sb.path(u"other"_s);
        QVERIFY(copyTree(sb.collectionDir(ruid), other + u"/collections/"_s + ruid));
        const Run ls = sb.runRaw({u"--data-dir"_s, other, u"-c"_s, u"photos"_s, u"ls"_s, u"/"_s});
        EXPECT_EXIT(ls, ExitOk);
        QCOMPARE(ls.outText(), u"2024/\n"_s);
        QVERIFY(!QFile::exists(other + u"/node"_s));
        const QString there = idOf(sb.runRaw({u"--data-dir"_s, other, u"id"_s}));
        QVERIFY(!there.isEmpty());
        QVERIFY(there != here);
        QCOMPARE(idOf(sb.run({u"id"_s})), here);
    }

    // The id is SHA-256 of the certificate's public key, as openssl(1) reads it.
    void idIsTheHashOfThePublicKey()
    {
        Sandbox sb;
        const QString id = idOf(sb.run({u"id"_s}));
        QVERIFY(!id.isEmpty());
        QProcess x509;
        x509.start(u"openssl"_s, {u"x509"_s, u"-in"_s, sb.dataDir() + u"/node/cert.pem"_s, u"-noout"_s, u"-pubkey"_s});
        QVERIFY2(x509.waitForFinished(kTimeoutMs) && x509.exitCode() == 0,
                 "openssl(1) is needed here (scripts/install-deps.sh installs it)");
        QProcess der;
        der.start(u"openssl"_s, {u"pkey"_s, u"-pubin"_s, u"-outform"_s, u"DER"_s});
        QVERIFY(der.waitForStarted(kTimeoutMs));
        der.write(x509.readAllStandardOutput());
        der.closeWriteChannel();
        QVERIFY(der.waitForFinished(kTimeoutMs) && der.exitCode() == 0);
        const QByteArray spki = der.readAllStandardOutput();
        QVERIFY(spki.size() > 64);
        QCOMPARE(vd::node::NodeId::parse(id)->view(), QByteArrayView(QCryptographicHash::hash(spki, QCryptographicHash::Sha256)));
        // And the certificate names the node.
        QProcess subject;
        subject.start(u"openssl"_s, {u"x509"_s, u"-in"_s, sb.dataDir() + u"/node/cert.pem"_s, u"-noout"_s, u"-subject"_s});
        QVERIFY(subject.waitForFinished(kTimeoutMs) && subject.exitCode() == 0);
        EXPECT_CONTAINS(QString::fromUtf8(subject.readAllStandardOutput()), u"CN = "_s + id);
    }

    void keyOpenToOthersIsRefused()
    {
        Sandbox sb;
        EXPECT_EXIT(sb.run({u"id"_s}), ExitOk);
        const QString key = sb.dataDir() + u"/node/key.pem"_s;
        QVERIFY(QFile::setPermissions(key, QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther));
        const QByteArray before = readFile(key);
        const Run r = sb.run({u"id"_s});
        EXPECT_EXIT(r, ExitFailure);
        QVERIFY(r.out.isEmpty());
        EXPECT_CONTAINS(r.errText(), u"vdrive: permission-denied: "_s + key);
        EXPECT_CONTAINS(r.errText(), u"chmod 600"_s);
        QCOMPARE(readFile(key), before);
    }

    void damagedKeyIsRefusedNotReplaced()
    {
        Sandbox sb;
        EXPECT_EXIT(sb.run({u"id"_s}), ExitOk);
        const QString key = sb.dataDir() + u"/node/key.pem"_s;
        QVERIFY(writeFile(key, "not a key\n"));
        for (int i = 0; i < 2; ++i) {
            const Run r = sb.run({u"id"_s});
            EXPECT_EXIT(r, ExitCorrupt);
            QVERIFY(r.out.isEmpty());
            EXPECT_CONTAINS(r.errText(), u"vdrive: corruption: "_s + key + u" does not hold a private key"_s);
            EXPECT_CONTAINS(r.errText(), u"remove the folder "_s + sb.dataDir() + u"/node"_s);
        }
        QCOMPARE(readFile(key), QByteArray("not a key\n"));
    }

    void usage()
    {
        Sandbox sb;
        EXPECT_EXIT(sb.run({u"id"_s, u"extra"_s}), ExitUsage);
        const Run at = sb.run({u"id"_s, u"--at"_s, u"snap"_s});
        EXPECT_EXIT(at, ExitUsage);
        EXPECT_CONTAINS(at.errText(), u"--at does not apply to"_s);
        QVERIFY(!QFile::exists(sb.dataDir())); // a usage error touches nothing
    }
};

QTEST_GUILESS_MAIN(TestIdCli)
#include "tst_idcli.moc"
