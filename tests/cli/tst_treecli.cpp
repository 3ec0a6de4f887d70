// The tree commands of vdrive (ls, stat, put, get, mv, cp, rm, trash, json,
// snapshot, du, df, gc, fsck) as a user meets them: the real binary against
// a throw-away sandbox (see clitest.h), checked by exit codes, output and
// the local files it writes — never by peeking into the engine.
#include "clitest.h"

#include <QDirIterator>
#include <QThread>
#include <QSet>

#include <csignal>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace vd::clitest;

namespace {

const QString kCollection = u"d"_s;

// vdrive -c d ARGS...
Run run(const Sandbox &sb, const QStringList &args, const QByteArray &input = {})
{
    return sb.run(QStringList{u"-c"_s, kCollection} + args, input);
}

// Every file and folder under root, by relative path: a file's bytes, or
// "<folder>" (symbolic links as "<link>", not followed).
std::map<QString, QByteArray> localTree(const QString &root)
{
    std::map<QString, QByteArray> out;
    QDirIterator it(root, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QFileInfo fi = it.fileInfo();
        const QString rel = QDir(root).relativeFilePath(path);
        out[rel] = fi.isSymLink() ? QByteArray("<link>") : fi.isDir() ? QByteArray("<folder>") : readFile(path);
    }
    return out;
}

// Empty when equal, else the first difference.
QString compareTrees(const std::map<QString, QByteArray> &want, const std::map<QString, QByteArray> &got)
{
    for (const auto &[path, bytes] : want) {
        const auto it = got.find(path);
        if (it == got.end())
            return u"missing: "_s + path;
        if (it->second != bytes)
            return u"differs: %1 (%2 bytes, want %3)"_s.arg(path).arg(it->second.size()).arg(bytes.size());
    }
    for (const auto &[path, bytes] : got)
        if (!want.count(path))
            return u"unexpected: "_s + path;
    return {};
}

bool makeFile(const QString &path, const QByteArray &bytes)
{
    return QDir().mkpath(QFileInfo(path).absolutePath()) && writeFile(path, bytes);
}

QStringList outLines(const Run &r)
{
    return r.outText().split(u'\n', Qt::SkipEmptyParts);
}

// Names sorted as the drive lists a folder: by their UTF-8 bytes.
QStringList byteOrder(QStringList names)
{
    std::sort(names.begin(), names.end(), [](const QString &a, const QString &b) { return a.toUtf8() < b.toUtf8(); });
    return names;
}

qint64 generation(const Sandbox &sb)
{
    return sb.info(kCollection).value(u"generation"_s).toInteger();
}

QJsonObject df(const Sandbox &sb)
{
    const Run r = run(sb, {u"--json"_s, u"df"_s});
    if (r.code != ExitOk)
        qWarning("%s", qPrintable(r.describe()));
    return parseJson(r).toObject();
}

const QString kJapanese = u"日本語のファイル.txt"_s;

// A Unix socket bound at path (the file stays after the descriptor is closed).
bool makeSocket(const QString &path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const QByteArray name = QFile::encodeName(path);
    if (fd < 0 || size_t(name.size()) >= sizeof addr.sun_path)
        return false;
    std::memcpy(addr.sun_path, name.constData(), size_t(name.size()));
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// A local file named by raw bytes (not UTF-8), created now and removed when
// the test ends: QTemporaryDir cannot remove it (it decodes names as UTF-8).
struct RawFile
{
    explicit RawFile(QByteArray p) : path(std::move(p))
    {
        const int fd = ::open(path.constData(), O_CREAT | O_WRONLY, 0600);
        ok = fd >= 0;
        if (ok)
            ::close(fd);
    }
    ~RawFile() { ::unlink(path.constData()); }
    QByteArray path;
    bool ok = false;
};

// Whether a local path given as raw bytes exists (QFile cannot name it).
bool rawExists(const QByteArray &path)
{
    struct stat st{};
    return ::lstat(path.constData(), &st) == 0;
}

// The names the terminal tests store: what a shell shows GNU ls printing for
// them on a terminal, and what vdrive prints (the same, but for the
// characters GNU ls prints raw: C1 controls and format characters).
struct ShownName
{
    QByteArray raw;
    QByteArray gnu;    // GNU ls --quoting-style=shell-escape, or empty where vdrive differs
    QByteArray vdrive; // vdrive on a terminal
};

const std::vector<ShownName> &shownNames()
{
    static const std::vector<ShownName> names = {
        {"plain.txt", "plain.txt", "plain.txt"},
        {"a\x1b[31mred", "'a'$'\\033''[31mred'", "'a'$'\\033''[31mred'"},
        {"\x1b]0;title\x07", "''$'\\033'']0;title'$'\\a'", "''$'\\033'']0;title'$'\\a'"},
        {"nl\nx", "'nl'$'\\n''x'", "'nl'$'\\n''x'"},
        {"tab\tx", "'tab'$'\\t''x'", "'tab'$'\\t''x'"},
        {"del\x7f", "'del'$'\\177'", "'del'$'\\177'"},
        {"sp ace", "'sp ace'", "'sp ace'"},
        {"it's", "\"it's\"", "\"it's\""},
        {"it's $x", "'it'\\''s $x'", "'it'\\''s $x'"},
        {"#start", "'#start'", "'#start'"},
        {"mid#dle", "mid#dle", "mid#dle"},
        {"~tilde", "'~tilde'", "'~tilde'"},
        {"a=b", "'a=b'", "'a=b'"},
        {"br{x}", "br{x}", "br{x}"},
        {"{", "'{'", "'{'"},
        {"q?", "'q?'", "'q?'"},
        {"dq\"x", "'dq\"x'", "'dq\"x'"},
        {"back\\slash", "'back\\slash'", "'back\\slash'"},
        {"\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac", "\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac", "\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac"}, // é日本
        {"rlo\xe2\x80\xae" "evil", {}, "'rlo'$'\\u202E''evil'"},                                          // U+202E
        {"c1\xc2\x85x", {}, "'c1'$'\\u0085''x'"},                                                      // U+0085
        {"zw\xe2\x80\x8bj", {}, "'zw'$'\\u200B''j'"},                                                 // U+200B
    };
    return names;
}

// n small files put into /t (walks of a few hundred entries); the put's run.
Run putSmallFiles(const Sandbox &sb, int n)
{
    const QString src = sb.path(u"src"_s);
    for (int i = 0; i < n; ++i)
        if (!makeFile(u"%1/f%2"_s.arg(src).arg(i), QByteArray::number(i)))
            return Run{u"making %1"_s.arg(src), -1, {}, {}};
    return run(sb, {u"put"_s, u"-r"_s, src, u"/t"_s});
}

// The local tree the session stores: nested folders, an empty folder, a
// hidden file, and files of 0 B, 1 B, 3 KiB, 2 MiB and 17 MiB.
bool makeSourceTree(const QString &root)
{
    QDir().mkpath(root + u"/emptyfolder"_s);
    return makeFile(root + u"/empty"_s, {}) && makeFile(root + u"/one"_s, "1") && makeFile(root + u"/three.bin"_s, randomBytes(3 * 1024, 1))
           && makeFile(root + u"/two.bin"_s, randomBytes(2 * MiB, 2)) && makeFile(root + u"/seventeen.bin"_s, randomBytes(17 * MiB, 3))
           && makeFile(root + u'/' + kJapanese, u"こんにちは\n"_s.toUtf8()) && makeFile(root + u"/.hidden"_s, "dot")
           && makeFile(root + u"/sub/inner.txt"_s, "inner\n") && makeFile(root + u"/sub/deeper/deep.bin"_s, randomBytes(100 * 1024, 4))
           && makeFile(root + u"/sub/deeper/deepest/leaf"_s, "leaf bytes");
}

} // namespace

// Through a node (servedMode()), the cases about the collection's files and
// locks themselves do not apply: each is listed here with the reason.
const ServedExclusion servedExclusions[] = {
    {"cacheFolder", "the tree's LMDB cache is a file of the CLI process's own; the node serves its collections without it"},
    {"fsckInterrupted", "through a node the Ctrl-C travels as a message: no moment tells the test it has arrived (tst_serve covers the client's Ctrl-C)"},
};

class TestTreeCli : public QObject
{
    Q_OBJECT

private:
    // One collection for the error table: every row fails, so none changes it.
    Sandbox m_errors;
    qint64 m_errorsGeneration = 0;

private Q_SLOTS:
    void init()
    {
        if (const char *why = servedExclusion(servedExclusions, QTest::currentTestFunction()))
            QSKIP(why);
    }

    void initTestCase()
    {
        QVERIFY(m_errors.isValid());
        QVERIFY(!m_errors.init(kCollection).isEmpty());
        QVERIFY(writeFile(m_errors.path(u"f.txt"_s), "small file"));
        QVERIFY(writeFile(m_errors.path(u"bad.json"_s), "{\n  \"a\": 1,\n  \"b\": ,\n  \"c\": 3\n}\n"));
        QVERIFY(writeFile(m_errors.path(u"doc.json"_s), "{\"a\": 1}"));
        QVERIFY(writeFile(m_errors.path(u"local-exists"_s), "do not overwrite"));
        EXPECT_EXIT(run(m_errors, {u"mkdir"_s, u"-p"_s, u"/full/sub"_s}), ExitOk);
        EXPECT_EXIT(run(m_errors, {u"put"_s, u"f.txt"_s, u"/full/f"_s}), ExitOk);
        EXPECT_EXIT(run(m_errors, {u"put"_s, u"f.txt"_s, u"/file.txt"_s}), ExitOk);
        EXPECT_EXIT(run(m_errors, {u"json"_s, u"import"_s, u"doc.json"_s, u"/doc.json"_s}), ExitOk);
        EXPECT_EXIT(run(m_errors, {u"snapshot"_s, u"create"_s, u"s1"_s}), ExitOk);
        m_errorsGeneration = generation(m_errors);
        QVERIFY(m_errorsGeneration > 1);
    }

    void helpListsTreeCommands()
    {
        Sandbox sb;
        const Run help = sb.runRaw({u"--help"_s});
        EXPECT_EXIT(help, ExitOk);
        for (const QString &s : {u"ls [-l] [VPATH]"_s, u"stat VPATH..."_s, u"put [-r] LOCAL... VPATH"_s, u"get [-r] [--force] VPATH LOCAL"_s,
                                 u"rm [-r] [--permanent] VPATH..."_s, u"trash restore ID [--to VPATH]"_s, u"json set VPATH JSONTEXT"_s,
                                 u"snapshot diff FROM [TO]"_s, u"du [-s] [VPATH]"_s, u"--at <SNAPSHOT>"_s, u"--no-cache"_s})
            EXPECT_CONTAINS(help.outText(), s);
    }

    // A user's afternoon with a drive, from init to a clean fsck.
    void session()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString src = sb.path(u"src"_s);
        QVERIFY(makeSourceTree(src));
        const auto source = localTree(src);

        // mkdir -p, and ls of the new folders.
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"-p"_s, u"a/b/c"_s}), ExitOk);
        QCOMPARE(run(sb, {u"ls"_s}).outText(), u"a/\n"_s);
        QCOMPARE(run(sb, {u"ls"_s, u"/a"_s}).outText(), u"b/\n"_s);
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"-p"_s, u"/a/b"_s}), ExitOk); // -p: no error when it exists

        // put -r of a folder to a path that does not exist: the path becomes the copy.
        const QString tree = u"/a/b/c/tree"_s;
        const Run put = run(sb, {u"put"_s, u"-r"_s, src, tree});
        EXPECT_EXIT(put, ExitOk);
        EXPECT_CONTAINS(put.outText(), u"stored 10 files"_s);
        QVERIFY2(put.err.isEmpty(), qPrintable(put.describe()));

        // get -r back: every name and every byte.
        const QString back = sb.path(u"back"_s);
        const Run get = run(sb, {u"get"_s, u"-r"_s, tree, back});
        EXPECT_EXIT(get, ExitOk);
        const QString difference = compareTrees(source, localTree(back));
        QVERIFY2(difference.isEmpty(), qPrintable(difference));
        QCOMPARE(QFileInfo(back + u"/seventeen.bin"_s).size(), 17 * MiB);
        // A second get -r refuses to overwrite, and says nothing was written.
        const Run again = run(sb, {u"get"_s, u"-r"_s, tree, back});
        EXPECT_EXIT(again, ExitExists);
        EXPECT_CONTAINS(again.errText(), u"nothing was written"_s);

        // ls: names in byte order, folders with '/'.
        const QStringList expected = byteOrder({u".hidden"_s, u"empty"_s, u"emptyfolder/"_s, u"one"_s, u"seventeen.bin"_s, u"sub/"_s, u"three.bin"_s,
                                                u"two.bin"_s, kJapanese});
        QCOMPARE(outLines(run(sb, {u"ls"_s, tree})), expected);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"a/b/c/tree/"_s})), expected); // no leading '/', a trailing one
        const QStringList longList = outLines(run(sb, {u"ls"_s, u"-l"_s, tree}));
        QCOMPARE(longList.size(), expected.size());
        const auto lineFor = [&](const QString &name) {
            for (const QString &l : longList)
                if (l.endsWith(u"  "_s + name))
                    return l;
            return QString();
        };
        QVERIFY2(QRegularExpression(u"^file +17825792  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(Z|[+-]\\d\\d:\\d\\d)  seventeen\\.bin$"_s)
                     .match(lineFor(u"seventeen.bin"_s))
                     .hasMatch(),
                 qPrintable(longList.join(u'\n')));
        QVERIFY2(QRegularExpression(u"^directory +2  \\S+  sub/$"_s).match(lineFor(u"sub/"_s)).hasMatch(), qPrintable(longList.join(u'\n')));
        QVERIFY2(QRegularExpression(u"^file +0  \\S+  empty$"_s).match(lineFor(u"empty"_s)).hasMatch(), qPrintable(longList.join(u'\n')));

        const QJsonArray listed = parseJson(run(sb, {u"ls"_s, u"--json"_s, tree})).toArray();
        QCOMPARE(listed.size(), expected.size());
        QStringList jsonNames;
        for (const QJsonValue &v : listed) {
            const QJsonObject o = v.toObject();
            QCOMPARE(o.keys(), (QStringList{u"clusters"_s, u"created"_s, u"id"_s, u"kind"_s, u"modified"_s, u"name"_s, u"size"_s, u"version"_s}));
            QVERIFY(isRuid(o.value(u"id"_s).toString()));
            QVERIFY(isIsoUtc(o.value(u"created"_s)) && isIsoUtc(o.value(u"modified"_s)));
            jsonNames << o.value(u"name"_s).toString();
            if (o.value(u"name"_s).toString() == u"seventeen.bin"_s) {
                QCOMPARE(o.value(u"kind"_s).toString(), u"file"_s);
                QCOMPARE(o.value(u"size"_s).toInteger(), 17 * MiB);
                QVERIFY(o.value(u"clusters"_s).toInteger() >= 1);
            }
            if (o.value(u"name"_s).toString() == u"sub"_s)
                QCOMPARE(o.value(u"kind"_s).toString(), u"directory"_s);
        }
        QCOMPARE(jsonNames.size(), expected.size());
        QCOMPARE(QSet<QString>(jsonNames.begin(), jsonNames.end()).size(), expected.size());

        // stat --json: the node and how its bytes are laid out.
        const QJsonArray stats = parseJson(run(sb, {u"stat"_s, u"--json"_s, tree + u"/seventeen.bin"_s})).toArray();
        QCOMPARE(stats.size(), 1);
        const QJsonObject st = stats.at(0).toObject();
        QCOMPARE(st.value(u"path"_s).toString(), tree + u"/seventeen.bin"_s);
        QCOMPARE(st.value(u"kind"_s).toString(), u"file"_s);
        QCOMPARE(st.value(u"size"_s).toInteger(), 17 * MiB);
        // Its version: made by this data directory's node, the one `vdrive id` prints.
        const QString self = parseJson(sb.run({u"id"_s, u"--json"_s})).toObject().value(u"shortId"_s).toString();
        const QJsonObject version = st.value(u"version"_s).toObject();
        QCOMPARE(version.keys(), QStringList{self});
        QVERIFY(version.value(self).toInteger() > 0);
        const QJsonArray layout = st.value(u"layout"_s).toArray();
        QCOMPARE(layout.size(), st.value(u"clusters"_s).toInteger());
        qint64 covered = 0;
        for (const QJsonValue &c : layout) {
            QCOMPARE(c.toObject().value(u"start"_s).toInteger(), covered);
            qint64 inPieces = 0;
            for (const QJsonValue &p : c.toObject().value(u"pieces"_s).toArray()) {
                const QJsonObject piece = p.toObject();
                QVERIFY(isRuid(piece.value(u"block"_s).toString()));
                QVERIFY(QRegularExpression(u"^[0-9a-f]{64}$"_s).match(piece.value(u"hash"_s).toString()).hasMatch());
                QVERIFY(QRegularExpression(u"^(packed|1MiB|2MiB|4MiB|8MiB|16MiB)$"_s).match(piece.value(u"class"_s).toString()).hasMatch());
                inPieces += piece.value(u"length"_s).toInteger();
            }
            QCOMPARE(inPieces, c.toObject().value(u"length"_s).toInteger());
            covered += inPieces;
        }
        QCOMPARE(covered, 17 * MiB);
        const Run statText = run(sb, {u"stat"_s, tree + u"/three.bin"_s, tree + u"/sub"_s});
        EXPECT_EXIT(statText, ExitOk);
        EXPECT_CONTAINS(statText.outText(), u"size      3072 (3.00 KiB)"_s);
        EXPECT_CONTAINS(statText.outText(), u"kind      directory"_s);
        EXPECT_CONTAINS(statText.outText(), u"sha256 "_s);

        // du and df after the put.
        const QJsonArray du = parseJson(run(sb, {u"du"_s, u"-s"_s, u"--json"_s, tree})).toArray();
        QCOMPARE(du.size(), 1);
        QCOMPARE(du.at(0).toObject().value(u"files"_s).toInteger(), qint64(10));
        QCOMPARE(du.at(0).toObject().value(u"directories"_s).toInteger(), qint64(5));
        qint64 localBytes = 0;
        for (const auto &[path, bytes] : source)
            localBytes += bytes == "<folder>" ? 0 : bytes.size();
        QCOMPARE(du.at(0).toObject().value(u"logicalBytes"_s).toInteger(), localBytes);
        // du: every folder, each after the folders inside it.
        const QStringList duLines = outLines(run(sb, {u"du"_s, tree}));
        QStringList duPaths;
        for (const QString &l : duLines)
            duPaths << l.section(u"  "_s, -1);
        QCOMPARE(duPaths.size(), 5);
        QCOMPARE(duPaths.last(), tree);
        QVERIFY2(duPaths.indexOf(tree + u"/sub/deeper/deepest"_s) < duPaths.indexOf(tree + u"/sub/deeper"_s)
                     && duPaths.indexOf(tree + u"/sub/deeper"_s) < duPaths.indexOf(tree + u"/sub"_s) && duPaths.contains(tree + u"/emptyfolder"_s)
                     && duPaths.indexOf(tree + u"/sub/deeper/deepest"_s) >= 0,
                 qPrintable(duLines.join(u'\n')));

        // cat and a single file put into an existing folder (under its own name).
        QCOMPARE(run(sb, {u"cat"_s, tree + u"/one"_s, tree + u"/sub/inner.txt"_s}).out, QByteArray("1inner\n"));
        EXPECT_EXIT(run(sb, {u"put"_s, src + u"/one"_s, u"/a"_s}), ExitOk);
        QCOMPARE(run(sb, {u"cat"_s, u"/a/one"_s}).out, QByteArray("1"));

        // mv: rename, then into a folder.
        EXPECT_EXIT(run(sb, {u"mv"_s, u"/a/one"_s, u"/a/uno"_s}), ExitOk);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/a"_s})), (QStringList{u"b/"_s, u"uno"_s}));
        EXPECT_EXIT(run(sb, {u"mv"_s, u"/a/uno"_s, u"/a/b"_s}), ExitOk);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/a/b"_s})), (QStringList{u"c/"_s, u"uno"_s}));

        // cp -r shares the blocks: no data block is written.
        const QJsonObject beforeCopy = df(sb);
        EXPECT_EXIT(run(sb, {u"cp"_s, tree, u"/copy"_s}), ExitUsage);
        EXPECT_EXIT(run(sb, {u"cp"_s, u"-r"_s, tree, u"/copy"_s}), ExitOk);
        QCOMPARE(run(sb, {u"cat"_s, u"/copy/two.bin"_s}).out, source.at(u"two.bin"_s));
        const QJsonObject afterCopy = df(sb);
        QCOMPARE(afterCopy.value(u"dataBytes"_s).toInteger(), beforeCopy.value(u"dataBytes"_s).toInteger());
        QCOMPARE(afterCopy.value(u"logicalBytes"_s).toInteger(), beforeCopy.value(u"logicalBytes"_s).toInteger() + localBytes);

        // rm: folders need -r; to the trash, restored, removed, emptied.
        const Run rmFolder = run(sb, {u"rm"_s, u"/copy"_s});
        EXPECT_EXIT(rmFolder, ExitUsage);
        EXPECT_CONTAINS(rmFolder.errText(), u"rm -r"_s);
        EXPECT_EXIT(run(sb, {u"rm"_s, u"-r"_s, u"/copy"_s}), ExitOk);
        QCOMPARE(outLines(run(sb, {u"ls"_s})), (QStringList{u"a/"_s}));
        QJsonArray trash = parseJson(run(sb, {u"trash"_s, u"list"_s, u"--json"_s})).toArray();
        QCOMPARE(trash.size(), 1);
        QCOMPARE(trash.at(0).toObject().value(u"originalPath"_s).toString(), u"/copy"_s);
        QCOMPARE(trash.at(0).toObject().value(u"kind"_s).toString(), u"directory"_s);
        QVERIFY(isIsoUtc(trash.at(0).toObject().value(u"deleted"_s)));
        const QString trashId = trash.at(0).toObject().value(u"id"_s).toString();
        EXPECT_CONTAINS(run(sb, {u"trash"_s, u"list"_s}).outText(), trashId);
        const Run restored = run(sb, {u"trash"_s, u"restore"_s, trashId});
        EXPECT_EXIT(restored, ExitOk);
        QCOMPARE(restored.outText(), u"restored /copy\n"_s);
        QCOMPARE(run(sb, {u"cat"_s, u"/copy/sub/deeper/deepest/leaf"_s}).out, QByteArray("leaf bytes"));
        EXPECT_EXIT(run(sb, {u"rm"_s, u"-r"_s, u"/copy"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"rm"_s, u"--permanent"_s, u"/a/b/uno"_s}), ExitOk); // not to the trash
        QCOMPARE(parseJson(run(sb, {u"trash"_s, u"list"_s, u"--json"_s})).toArray().size(), 1);
        QCOMPARE(run(sb, {u"trash"_s, u"empty"_s}).outText(), u"removed 1 entry from the trash\n"_s);
        QCOMPARE(parseJson(run(sb, {u"trash"_s, u"list"_s, u"--json"_s})).toArray().size(), 0);

        // JSON: key order, exact numbers, set/del, export.
        QVERIFY(writeFile(sb.path(u"doc.json"_s),
                          u"{\"zeta\": 1, \"alpha\": [true, null, 2.50],\n \"big\": 12345678901234567890,\n"
                          "\"nested\": {\"k\": \"v\", \"日本\": \"語\"}, \"z\": -0}"_s.toUtf8()));
        const Run imported = run(sb, {u"json"_s, u"import"_s, sb.path(u"doc.json"_s), u"/conf.json"_s});
        EXPECT_EXIT(imported, ExitOk);
        EXPECT_CONTAINS(imported.outText(), u"imported /conf.json"_s);
        const QByteArray pretty = u"{\n  \"zeta\": 1,\n  \"alpha\": [\n    true,\n    null,\n    2.50\n  ],\n  \"big\": 12345678901234567890,\n"
                                  "  \"nested\": {\n    \"k\": \"v\",\n    \"日本\": \"語\"\n  },\n  \"z\": -0\n}\n"_s.toUtf8();
        QCOMPARE(run(sb, {u"json"_s, u"get"_s, u"/conf.json"_s}).out, pretty);
        QCOMPARE(run(sb, {u"json"_s, u"get"_s, u"/conf.json"_s, u"--compact"_s}).out,
                 u"{\"zeta\":1,\"alpha\":[true,null,2.50],\"big\":12345678901234567890,\"nested\":{\"k\":\"v\",\"日本\":\"語\"},\"z\":-0}\n"_s.toUtf8());
        QCOMPARE(run(sb, {u"json"_s, u"get"_s, u"/conf.json/big"_s}).out, QByteArray("12345678901234567890\n"));
        QCOMPARE(run(sb, {u"cat"_s, u"/conf.json"_s}).out, pretty);
        const QJsonArray members = parseJson(run(sb, {u"ls"_s, u"--json"_s, u"/conf.json"_s})).toArray();
        QStringList memberNames;
        for (const QJsonValue &m : members)
            memberNames << m.toObject().value(u"name"_s).toString();
        QCOMPARE(memberNames, (QStringList{u"zeta"_s, u"alpha"_s, u"big"_s, u"nested"_s, u"z"_s})); // document order
        QCOMPARE(members.at(2).toObject().value(u"value"_s).toString(), u"12345678901234567890"_s);
        EXPECT_EXIT(run(sb, {u"json"_s, u"set"_s, u"/conf.json/zeta"_s, u"\"x\""_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"json"_s, u"set"_s, u"/conf.json/alpha/3"_s, u"42"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"json"_s, u"set"_s, u"/conf.json/added"_s, u"{\"a\":1}"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"json"_s, u"set"_s, u"/conf.json/neg"_s, u"--"_s, u"-7"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"json"_s, u"del"_s, u"/conf.json/z"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"json"_s, u"del"_s, u"/conf.json/alpha/0"_s}), ExitOk);
        const QByteArray edited =
            u"{\"zeta\":\"x\",\"alpha\":[null,2.50,42],\"big\":12345678901234567890,\"nested\":{\"k\":\"v\",\"日本\":\"語\"},\"added\":{\"a\":1},\"neg\":-7}\n"_s
                .toUtf8();
        QCOMPARE(run(sb, {u"json"_s, u"get"_s, u"--compact"_s, u"conf.json"_s}).out, edited);
        const QString exported = sb.path(u"exported.json"_s);
        EXPECT_EXIT(run(sb, {u"json"_s, u"export"_s, u"/conf.json"_s, exported, u"--compact"_s}), ExitOk);
        QCOMPARE(readFile(exported), edited);
        EXPECT_EXIT(run(sb, {u"json"_s, u"export"_s, u"/conf.json"_s, exported}), ExitExists);
        EXPECT_EXIT(run(sb, {u"json"_s, u"export"_s, u"/conf.json"_s, exported, u"--force"_s}), ExitOk);
        QCOMPARE(readFile(exported), run(sb, {u"json"_s, u"get"_s, u"/conf.json"_s}).out);
        QCOMPARE(run(sb, {u"json"_s, u"export"_s, u"/conf.json/nested"_s, u"-"_s, u"--compact"_s}).out, u"{\"k\":\"v\",\"日本\":\"語\"}\n"_s.toUtf8());
        // A round trip: the exported text imported again reads back the same.
        EXPECT_EXIT(run(sb, {u"json"_s, u"import"_s, exported, u"/conf.json"_s}), ExitExists);
        EXPECT_EXIT(run(sb, {u"json"_s, u"import"_s, exported, u"/copy.json"_s}), ExitOk);
        QCOMPARE(run(sb, {u"json"_s, u"get"_s, u"--compact"_s, u"/copy.json"_s}).out, edited);
        EXPECT_EXIT(run(sb, {u"json"_s, u"import"_s, u"--replace"_s, sb.path(u"doc.json"_s), u"/copy.json"_s}), ExitOk);
        QCOMPARE(run(sb, {u"json"_s, u"get"_s, u"/copy.json"_s}).out, pretty);

        // Snapshots: create, change things, diff, read the past, restore.
        const Run snap = run(sb, {u"snapshot"_s, u"create"_s, u"s1"_s});
        EXPECT_EXIT(snap, ExitOk);
        EXPECT_CONTAINS(snap.outText(), u"created snapshot s1"_s);
        QVERIFY(writeFile(sb.path(u"three-v2"_s), "version two"));
        EXPECT_EXIT(run(sb, {u"put"_s, sb.path(u"three-v2"_s), tree + u"/three.bin"_s}), ExitOk); // M
        EXPECT_EXIT(run(sb, {u"rm"_s, tree + u"/one"_s}), ExitOk);                                // D (to the trash)
        EXPECT_EXIT(run(sb, {u"rm"_s, u"--permanent"_s, tree + u"/seventeen.bin"_s}), ExitOk);   // D (for good)
        EXPECT_EXIT(run(sb, {u"put"_s, sb.path(u"three-v2"_s), u"/a/new.txt"_s}), ExitOk);       // A
        EXPECT_EXIT(run(sb, {u"mv"_s, tree + u"/sub"_s, tree + u"/sub2"_s}), ExitOk);            // R
        EXPECT_EXIT(run(sb, {u"json"_s, u"set"_s, u"/conf.json/zeta"_s, u"\"changed\""_s}), ExitOk);
        const Run diff = run(sb, {u"snapshot"_s, u"diff"_s, u"s1"_s});
        EXPECT_EXIT(diff, ExitOk);
        const QStringList diffLines = outLines(diff);
        for (const QString &line : {u"M "_s + tree + u"/three.bin"_s, u"D "_s + tree + u"/one"_s, u"D "_s + tree + u"/seventeen.bin"_s,
                                    u"A /a/new.txt"_s, u"R %1/sub -> %1/sub2"_s.arg(tree)})
            QVERIFY2(diffLines.contains(line), qPrintable(u"'%1' not in:\n%2"_s.arg(line, diffLines.join(u'\n'))));
        for (const QString &line : diffLines)
            QVERIFY2(!line.contains(u"two.bin"_s) && !line.contains(u"inner.txt"_s), qPrintable(diff.describe())); // unchanged
        bool movedInJson = false;
        for (const QJsonValue &v : parseJson(run(sb, {u"snapshot"_s, u"diff"_s, u"s1"_s, u"--json"_s})).toArray()) {
            const QJsonObject o = v.toObject();
            if (o.value(u"change"_s).toString() == u"moved"_s) {
                QCOMPARE(o.value(u"oldPath"_s).toString(), tree + u"/sub"_s);
                QCOMPARE(o.value(u"path"_s).toString(), tree + u"/sub2"_s);
                QCOMPARE(o.value(u"kind"_s).toString(), u"directory"_s);
                movedInJson = true;
            }
        }
        QVERIFY(movedInJson);

        // --at reads the snapshot: the old content, names and documents.
        QCOMPARE(run(sb, {u"--at"_s, u"s1"_s, u"cat"_s, tree + u"/three.bin"_s}).out, source.at(u"three.bin"_s));
        QCOMPARE(run(sb, {u"cat"_s, tree + u"/three.bin"_s}).out, QByteArray("version two"));
        QCOMPARE(outLines(run(sb, {u"ls"_s, tree, u"--at"_s, u"s1"_s})), expected);
        const QString old17 = sb.path(u"old17.bin"_s);
        EXPECT_EXIT(run(sb, {u"get"_s, u"--at"_s, u"s1"_s, tree + u"/seventeen.bin"_s, old17}), ExitOk);
        QVERIFY(readFile(old17) == source.at(u"seventeen.bin"_s));
        QCOMPARE(run(sb, {u"json"_s, u"get"_s, u"/conf.json/zeta"_s, u"--at"_s, u"s1"_s}).out, QByteArray("\"x\"\n"));
        QCOMPARE(parseJson(run(sb, {u"stat"_s, u"--json"_s, u"--at"_s, u"s1"_s, tree + u"/seventeen.bin"_s})).toArray().at(0).toObject().value(u"size"_s).toInteger(),
                 17 * MiB);
        QCOMPARE(parseJson(run(sb, {u"du"_s, u"-s"_s, u"--json"_s, u"--at"_s, u"s1"_s, tree})).toArray().at(0).toObject().value(u"files"_s).toInteger(),
                 qint64(10));
        EXPECT_EXIT(run(sb, {u"cat"_s, tree + u"/one"_s}), ExitNotFound);
        const Run back1 = run(sb, {u"snapshot"_s, u"restore"_s, u"s1"_s, tree + u"/one"_s});
        EXPECT_EXIT(back1, ExitOk);
        QCOMPARE(run(sb, {u"cat"_s, tree + u"/one"_s}).out, QByteArray("1"));
        EXPECT_EXIT(run(sb, {u"snapshot"_s, u"restore"_s, u"s1"_s, tree + u"/three.bin"_s, u"--to"_s, u"/a/three-old.bin"_s}), ExitOk);
        QCOMPARE(run(sb, {u"cat"_s, u"/a/three-old.bin"_s}).out, source.at(u"three.bin"_s));

        // The 17 MiB file lives on only in s1: deleting s1 gives its space back.
        const QJsonArray snaps = parseJson(run(sb, {u"snapshot"_s, u"list"_s, u"--json"_s})).toArray();
        QCOMPARE(snaps.size(), 1);
        const QJsonObject s1 = snaps.at(0).toObject();
        QCOMPARE(s1.value(u"name"_s).toString(), u"s1"_s);
        QVERIFY(isIsoUtc(s1.value(u"created"_s)));
        QVERIFY2(s1.value(u"uniqueBytes"_s).toInteger() >= 16 * MiB, qPrintable(QString::fromUtf8(QJsonDocument(s1).toJson())));
        QVERIFY(s1.value(u"fileBytes"_s).toInteger() >= 17 * MiB);
        EXPECT_CONTAINS(run(sb, {u"snapshot"_s, u"list"_s}).outText(), u"s1  "_s);
        const qint64 allocatedBefore = df(sb).value(u"allocatedBytes"_s).toInteger();
        const Run deleted = run(sb, {u"snapshot"_s, u"delete"_s, u"s1"_s, u"--json"_s});
        EXPECT_EXIT(deleted, ExitOk);
        const QJsonObject gc = parseJson(deleted).toObject().value(u"gc"_s).toObject();
        QVERIFY2(gc.value(u"bytesFreed"_s).toInteger() >= 16 * MiB, qPrintable(deleted.describe()));
        const QJsonObject after = df(sb);
        QVERIFY2(after.value(u"allocatedBytes"_s).toInteger() <= allocatedBefore - 16 * MiB, qPrintable(QString::number(allocatedBefore)));
        QCOMPARE(after.value(u"snapshots"_s).toInteger(), qint64(0));
        EXPECT_EXIT(run(sb, {u"ls"_s, u"--at"_s, u"s1"_s}), ExitNotFound);
        QCOMPARE(run(sb, {u"snapshot"_s, u"list"_s}).out, QByteArray());

        // df and gc.
        QCOMPARE(after.keys(), (QStringList{u"allocatedBytes"_s, u"dataBytes"_s, u"files"_s, u"folders"_s, u"idvdBytes"_s, u"jsonNodes"_s,
                                            u"logicalBytes"_s, u"name"_s, u"objectBytes"_s, u"objects"_s, u"paddingRatio"_s, u"ruid"_s,
                                            u"snapshots"_s, u"trashEntries"_s, u"treeBytes"_s, u"vnodes"_s}));
        const QJsonObject whole = parseJson(run(sb, {u"du"_s, u"-s"_s, u"--json"_s})).toArray().at(0).toObject();
        QCOMPARE(after.value(u"files"_s).toInteger(), whole.value(u"files"_s).toInteger());
        QCOMPARE(after.value(u"treeBytes"_s).toInteger(), whole.value(u"logicalBytes"_s).toInteger());
        QCOMPARE(after.value(u"trashEntries"_s).toInteger(), qint64(1)); // the `one` rm put there (the restore made a new one)
        EXPECT_CONTAINS(run(sb, {u"df"_s}).outText(), u"padding"_s);
        const Run gcRun = run(sb, {u"gc"_s, u"--json"_s});
        EXPECT_EXIT(gcRun, ExitOk);
        QCOMPARE(parseJson(gcRun).toObject().keys(), (QStringList{u"blocksFreed"_s, u"bytesFreed"_s, u"catalogBlocksFreed"_s, u"countsFixed"_s,
                                                                  u"slotsMoved"_s, u"smallBlocksRepacked"_s, u"trashExpired"_s}));

        // fsck: clean, with the tree's checks.
        const Run fsck = run(sb, {u"fsck"_s});
        EXPECT_EXIT(fsck, ExitOk);
        QVERIFY2(fsck.outText().startsWith(u"clean: 0 faults"_s), qPrintable(fsck.describe()));
        QCOMPARE(parseJson(run(sb, {u"fsck"_s, u"--json"_s})).toObject().value(u"clean"_s).toBool(), true);
    }

    void errors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exit");
        QTest::addColumn<QString>("message");
        const QString longName = QString(300, u'x');
        QTest::newRow("ls missing") << QStringList{u"ls"_s, u"/missing"_s} << int(ExitNotFound) << u"not-found: no such file or folder: /missing"_s;
        QTest::newRow("cat missing") << QStringList{u"cat"_s, u"missing"_s} << int(ExitNotFound) << u"/missing"_s;
        QTest::newRow("stat missing") << QStringList{u"stat"_s, u"/file.txt"_s, u"/missing"_s} << int(ExitNotFound) << u"/missing"_s;
        QTest::newRow("get missing") << QStringList{u"get"_s, u"/missing"_s, u"out"_s} << int(ExitNotFound) << u"/missing"_s;
        QTest::newRow("rm missing") << QStringList{u"rm"_s, u"/file.txt"_s, u"/missing"_s} << int(ExitNotFound) << u"/missing"_s;
        QTest::newRow("mv missing") << QStringList{u"mv"_s, u"/missing"_s, u"/x"_s} << int(ExitNotFound) << u"/missing"_s;
        QTest::newRow("mkdir without parent") << QStringList{u"mkdir"_s, u"/nope/deeper"_s} << int(ExitNotFound) << u"/nope"_s;
        QTest::newRow("put without parent") << QStringList{u"put"_s, u"f.txt"_s, u"/nope/f.txt"_s} << int(ExitNotFound) << u"/nope"_s;
        QTest::newRow("put missing local") << QStringList{u"put"_s, u"no-such-file"_s, u"/x"_s} << int(ExitNotFound) << u"cannot read 'no-such-file'"_s;
        QTest::newRow("json import missing local") << QStringList{u"json"_s, u"import"_s, u"no-such.json"_s, u"/x.json"_s} << int(ExitNotFound)
                                                   << u"cannot read"_s;
        QTest::newRow("--at unknown snapshot") << QStringList{u"--at"_s, u"nosuch"_s, u"ls"_s} << int(ExitNotFound) << u"no snapshot 'nosuch'"_s;
        QTest::newRow("diff unknown snapshot") << QStringList{u"snapshot"_s, u"diff"_s, u"nosuch"_s} << int(ExitNotFound) << u"nosuch"_s;
        QTest::newRow("delete unknown snapshot") << QStringList{u"snapshot"_s, u"delete"_s, u"nosuch"_s} << int(ExitNotFound) << u"nosuch"_s;
        QTest::newRow("restore id not in trash") << QStringList{u"trash"_s, u"restore"_s, QString(32, u'a')} << int(ExitNotFound) << u"trash"_s;

        QTest::newRow("mkdir existing") << QStringList{u"mkdir"_s, u"/full"_s} << int(ExitExists) << u"already-exists: /full already exists"_s;
        QTest::newRow("mv onto existing") << QStringList{u"mv"_s, u"/file.txt"_s, u"/full/f"_s} << int(ExitExists) << u"/full/f"_s;
        QTest::newRow("cp onto existing") << QStringList{u"cp"_s, u"/file.txt"_s, u"/full/f"_s} << int(ExitExists) << u"/full/f"_s;
        QTest::newRow("json import existing") << QStringList{u"json"_s, u"import"_s, u"doc.json"_s, u"/doc.json"_s} << int(ExitExists) << u"/doc.json"_s;
        QTest::newRow("snapshot create existing") << QStringList{u"snapshot"_s, u"create"_s, u"s1"_s} << int(ExitExists) << u"s1"_s;
        QTest::newRow("get onto existing local") << QStringList{u"get"_s, u"/file.txt"_s, u"local-exists"_s} << int(ExitExists) << u"--force"_s;
        QTest::newRow("put many onto a file") << QStringList{u"put"_s, u"f.txt"_s, u"doc.json"_s, u"/file.txt"_s} << int(ExitExists) << u"not a folder"_s;

        QTest::newRow("name of 300 bytes") << QStringList{u"mkdir"_s, u"/"_s + longName} << int(ExitUsage) << u"at most 255 bytes"_s;
        QTest::newRow("put to a name of 300 bytes") << QStringList{u"put"_s, u"f.txt"_s, u"/full/"_s + longName + u"/x"_s} << int(ExitUsage)
                                                    << u"at most 255 bytes"_s;
        QTest::newRow("dot-dot") << QStringList{u"mkdir"_s, u"-p"_s, u"/full/../x"_s} << int(ExitUsage) << u"'..' cannot be a name"_s;
        QTest::newRow("ls dot-dot") << QStringList{u"ls"_s, u"/.."_s} << int(ExitUsage) << u"'..' cannot be a name"_s;
        QTest::newRow("invalid JSON import") << QStringList{u"json"_s, u"import"_s, u"bad.json"_s, u"/bad.json"_s} << int(ExitUsage)
                                             << u"invalid JSON at line 3, column "_s;
        QTest::newRow("invalid JSON set") << QStringList{u"json"_s, u"set"_s, u"/doc.json/b"_s, u"{\"a\": "_s} << int(ExitUsage)
                                          << u"invalid JSON at line 1, column 7"_s;
        QTest::newRow("rm non-empty folder") << QStringList{u"rm"_s, u"/full"_s} << int(ExitUsage) << u"/full is a folder and not empty: use rm -r"_s;
        QTest::newRow("cp folder without -r") << QStringList{u"cp"_s, u"/full"_s, u"/x"_s} << int(ExitUsage) << u"use cp -r"_s;
        QTest::newRow("get folder without -r") << QStringList{u"get"_s, u"/full"_s, u"x"_s} << int(ExitUsage) << u"use get -r"_s;
        QTest::newRow("put folder without -r") << QStringList{u"put"_s, u"."_s, u"/x"_s} << int(ExitUsage) << u"use put -r"_s;
        QTest::newRow("--at with mv") << QStringList{u"--at"_s, u"s1"_s, u"mv"_s, u"/file.txt"_s, u"/y"_s} << int(ExitUsage)
                                      << u"--at reads a snapshot, and 'mv' changes the collection"_s;
        QTest::newRow("--at with put") << QStringList{u"put"_s, u"f.txt"_s, u"/y"_s, u"--at"_s, u"s1"_s} << int(ExitUsage) << u"--at"_s;
        QTest::newRow("--at with df") << QStringList{u"df"_s, u"--at"_s, u"s1"_s} << int(ExitUsage) << u"--at does not apply to 'df'"_s;
        QTest::newRow("-p with ls") << QStringList{u"ls"_s, u"-p"_s} << int(ExitUsage) << u"-p does not apply to 'ls'"_s;
        QTest::newRow("trash restore bad id") << QStringList{u"trash"_s, u"restore"_s, u"zzz"_s} << int(ExitUsage) << u"not a trash id"_s;
        QTest::newRow("trash alone") << QStringList{u"trash"_s} << int(ExitUsage) << u"usage: vdrive trash"_s;
        QTest::newRow("json unknown") << QStringList{u"json"_s, u"frob"_s} << int(ExitUsage) << u"unknown command 'json frob'"_s;
        QTest::newRow("put one argument") << QStringList{u"put"_s, u"f.txt"_s} << int(ExitUsage) << u"usage: vdrive put [-r] LOCAL... VPATH"_s;
        QTest::newRow("older-than not a number") << QStringList{u"trash"_s, u"empty"_s, u"--older-than"_s, u"soon"_s} << int(ExitUsage)
                                                 << u"--older-than"_s;
        QTest::newRow("stdin into a folder") << QStringList{u"put"_s, u"-"_s, u"/full"_s} << int(ExitUsage) << u"needs a name"_s;
    }

    // Each failing command says why on stderr, exits with its code, prints
    // nothing on stdout, and changes nothing.
    void errors()
    {
        VD_SAMPLED_ROW();
        QFETCH(QStringList, args);
        QFETCH(int, exit);
        QFETCH(QString, message);
        const Run r = run(m_errors, args);
        EXPECT_EXIT(r, exit);
        EXPECT_CONTAINS(r.errText(), message);
        QVERIFY2(r.errText().startsWith(u"vdrive: "_s), qPrintable(r.describe()));
        QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
        QCOMPARE(generation(m_errors), m_errorsGeneration);
        QCOMPARE(readFile(m_errors.path(u"local-exists"_s)), QByteArray("do not overwrite"));
        QVERIFY(!QFileInfo::exists(m_errors.path(u"out"_s)) && !QFileInfo::exists(m_errors.path(u"x"_s)));
    }

    // A drive is at most 1,000 levels deep: a command that would go deeper
    // says so and exits 2 (changing nothing); a tree exactly that deep
    // checks clean and can be removed.
    void depthLimit()
    {
        Sandbox sb;
        QVERIFY(!sb.init(kCollection).isEmpty());
        auto deep = [](int levels) {
            QString p;
            for (int i = 0; i < levels; ++i)
                p += u"/d"_s;
            return p;
        };
        const QString limit = u"a drive is at most 1000 levels deep"_s;
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"-p"_s, deep(999)}), ExitOk);
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"-p"_s, deep(1000)}), ExitOk);
        const qint64 atLimit = generation(sb);
        const Run tooDeep = run(sb, {u"mkdir"_s, u"-p"_s, deep(1001)});
        EXPECT_EXIT(tooDeep, ExitUsage);
        EXPECT_CONTAINS(tooDeep.errText(), limit);
        QVERIFY2(tooDeep.errText().size() < 400, qPrintable(tooDeep.describe())); // the path is shortened
        const Run jsonTooDeep = run(sb, {u"json"_s, u"set"_s, deep(998) + u"/doc"_s, u"[[[1]]]"_s});
        EXPECT_EXIT(jsonTooDeep, ExitUsage);
        EXPECT_CONTAINS(jsonTooDeep.errText(), limit);
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"/s"_s, u"/s/t"_s}), ExitOk);
        const Run mvTooDeep = run(sb, {u"mv"_s, u"/s"_s, deep(999) + u"/s"_s});
        EXPECT_EXIT(mvTooDeep, ExitUsage);
        EXPECT_CONTAINS(mvTooDeep.errText(), limit);
        EXPECT_EXIT(run(sb, {u"mv"_s, u"/s"_s, deep(998) + u"/s"_s}), ExitOk);
        QVERIFY(generation(sb) > atLimit);
        const Run fsck = run(sb, {u"fsck"_s});
        EXPECT_EXIT(fsck, ExitOk);
        QVERIFY2(fsck.outText().startsWith(u"clean: 0 faults"_s), qPrintable(fsck.describe()));
        EXPECT_EXIT(run(sb, {u"rm"_s, u"-r"_s, u"--permanent"_s, u"/d"_s}), ExitOk);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/"_s})), QStringList());
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
    }

    // get -r writes only under LOCAL and never through a symbolic link
    // already there, whatever the drive's names (which the engine keeps
    // safe anyway); get of one file refuses a link as its target too.
    void getRefusesSymlinks()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        QVERIFY(makeFile(sb.path(u"src/top.txt"_s), "top"));
        QVERIFY(makeFile(sb.path(u"src/sub/f.txt"_s), "inside sub"));
        EXPECT_EXIT(run(sb, {u"put"_s, u"-r"_s, sb.path(u"src"_s), u"/t"_s}), ExitOk);
        const QString outside = sb.path(u"outside"_s);
        QVERIFY(QDir().mkpath(outside));

        // A folder named like the drive's folder "sub", linking outside.
        const QString local = sb.path(u"local"_s);
        QVERIFY(QDir().mkpath(local));
        QVERIFY(QFile::link(outside, local + u"/sub"_s));
        for (const QStringList &opts : {QStringList{}, QStringList{u"--force"_s}}) {
            const Run r = run(sb, QStringList{u"get"_s, u"-r"_s, u"/t"_s, local} + opts);
            EXPECT_EXIT(r, ExitFailure);
            EXPECT_CONTAINS(r.errText(), u"permission-denied: nothing was written: refusing to write through the symbolic link"_s);
            QVERIFY2(QDir(outside).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot), "wrote outside LOCAL");
            QCOMPARE(localTree(local).size(), size_t(1)); // only the link: nothing else was written either
        }

        // A file named like the drive's file, linking to a file outside.
        const QString local2 = sb.path(u"local2"_s);
        QVERIFY(QDir().mkpath(local2));
        QVERIFY(QFile::link(outside + u"/target.txt"_s, local2 + u"/top.txt"_s));
        const Run r2 = run(sb, {u"get"_s, u"-r"_s, u"--force"_s, u"/t"_s, local2});
        EXPECT_EXIT(r2, ExitFailure);
        EXPECT_CONTAINS(r2.errText(), u"symbolic link"_s);
        QVERIFY(!QFileInfo::exists(outside + u"/target.txt"_s));

        // One file, to a link or into a folder holding a link of its name.
        const Run r3 = run(sb, {u"get"_s, u"--force"_s, u"/t/top.txt"_s, local2 + u"/top.txt"_s});
        EXPECT_EXIT(r3, ExitFailure);
        const Run r4 = run(sb, {u"get"_s, u"--force"_s, u"/t/top.txt"_s, local2});
        EXPECT_EXIT(r4, ExitFailure);
        QVERIFY(!QFileInfo::exists(outside + u"/target.txt"_s));
        QVERIFY(QDir(outside).isEmpty(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot));

        // Where nothing is in the way, the same copy works.
        const QString fresh = sb.path(u"fresh/deeper"_s);
        EXPECT_EXIT(run(sb, {u"get"_s, u"-r"_s, u"/t"_s, fresh}), ExitOk);
        QCOMPARE(readFile(fresh + u"/sub/f.txt"_s), QByteArray("inside sub"));
        EXPECT_EXIT(run(sb, {u"get"_s, u"/t/top.txt"_s, sb.path(u"fresh"_s)}), ExitOk); // into a folder, under its name
        QCOMPARE(readFile(sb.path(u"fresh/top.txt"_s)), QByteArray("top"));
        // LOCAL itself, named on the command line, may be a link to a folder: it is followed.
        QVERIFY(QDir().mkpath(sb.path(u"real"_s)));
        QVERIFY(QFile::link(sb.path(u"real"_s), sb.path(u"via-link"_s)));
        EXPECT_EXIT(run(sb, {u"get"_s, u"-r"_s, u"/t"_s, sb.path(u"via-link"_s)}), ExitOk);
        QCOMPARE(readFile(sb.path(u"real/sub/f.txt"_s)), QByteArray("inside sub"));
    }

    void putSkipsLinksAndSpecialFiles()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString src = sb.path(u"src"_s);
        QVERIFY(makeFile(src + u"/a"_s, "a"));
        QVERIFY(QDir().mkpath(src + u"/d"_s));
        QVERIFY(QFile::link(src + u"/a"_s, src + u"/link-to-a"_s));
        QVERIFY(QFile::link(u"/etc"_s, src + u"/d/etc"_s));
        QCOMPARE(::mkfifo(QFile::encodeName(src + u"/fifo"_s).constData(), 0600), 0);
        QVERIFY(makeSocket(src + u"/sock"_s));
        // A name that is not UTF-8 (any bytes but '/' and NUL make a Linux name).
        const RawFile badName(QFile::encodeName(src) + "/bad-\xff-name");
        QVERIFY(badName.ok);
        const Run r = run(sb, {u"put"_s, u"-r"_s, src, u"/s"_s});
        EXPECT_EXIT(r, ExitOk);
        EXPECT_CONTAINS(r.errText(), u"vdrive: warning: skipped the symbolic link '%1/link-to-a'"_s.arg(src));
        EXPECT_CONTAINS(r.errText(), u"vdrive: warning: skipped the symbolic link '%1/d/etc'"_s.arg(src));
        EXPECT_CONTAINS(r.errText(), u"vdrive: warning: skipped '%1/fifo': a FIFO, not a regular file or folder"_s.arg(src));
        EXPECT_CONTAINS(r.errText(), u"vdrive: warning: skipped '%1/sock': a socket, not a regular file or folder"_s.arg(src));
        EXPECT_CONTAINS(r.errText(), u"its name is not valid UTF-8"_s);
        EXPECT_CONTAINS(r.outText(), u"skipped 5"_s);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/s"_s})), (QStringList{u"a"_s, u"d/"_s}));
        QCOMPARE(run(sb, {u"ls"_s, u"/s/d"_s}).out, QByteArray());
        // put into an existing folder puts the folder inside it (cp -r's rule).
        EXPECT_EXIT(run(sb, {u"put"_s, u"-r"_s, src + u"/d"_s, u"/s"_s}), ExitOk);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/s"_s})), (QStringList{u"a"_s, u"d/"_s}));
        EXPECT_EXIT(run(sb, {u"put"_s, u"-r"_s, src, u"/s"_s}), ExitOk);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/s"_s})), (QStringList{u"a"_s, u"d/"_s, u"src/"_s}));
        // Standard input to a file, and several files into a new folder.
        EXPECT_EXIT(run(sb, {u"put"_s, u"-"_s, u"/s/stdin.txt"_s}, "from stdin"), ExitOk);
        QCOMPARE(run(sb, {u"cat"_s, u"/s/stdin.txt"_s}).out, QByteArray("from stdin"));
        EXPECT_EXIT(run(sb, {u"put"_s, src + u"/a"_s, sb.path(u"src/a"_s), u"/new/deeper"_s}), ExitUsage); // the same name twice
        EXPECT_EXIT(run(sb, {u"ls"_s, u"/new"_s}), ExitNotFound);                                                 // and nothing kept
        EXPECT_EXIT(run(sb, {u"put"_s, src + u"/a"_s, sb.path(u"src/link-to-a"_s), u"/new/deeper"_s}), ExitOk);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/new/deeper"_s})), (QStringList{u"a"_s, u"link-to-a"_s})); // named links are followed
    }

    // Arguments that are not valid UTF-8 are refused before anything is
    // done (exit 2), naming the argument and showing it escaped. Qt would
    // have turned each invalid byte into U+FFFD, so '/a\xff' and '/a\xfe'
    // would both have named the node '/a<U+FFFD>'.
    void invalidUtf8Arguments()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        QVERIFY(writeFile(sb.path(u"x"_s), "x bytes"));
        const QByteArray fffd = "\xef\xbf\xbd"; // U+FFFD, what Qt makes of an invalid byte
        const QByteArray local = QFile::encodeName(sb.path(u"local-"_s)) + "\xff";
        const RawFile localFile(local); // a local file whose name is not UTF-8
        QVERIFY(localFile.ok);
        // The names the invalid ones would have become.
        EXPECT_EXIT(sb.runBytes({"-c", "d", "put", "x", "/a" + fffd}), ExitOk);
        EXPECT_EXIT(sb.runBytes({"-c", "d", "put-object", "x", "k" + fffd}), ExitOk);
        const qint64 before = generation(sb);

        const std::vector<std::pair<QList<QByteArray>, QString>> cases = {
            {{"-c", "d", "put", "x", "/a\xff"}, u"VPATH '/a'$'\\377' is not valid UTF-8: names, paths and keys in a collection are UTF-8"_s},
            {{"-c", "d", "rm", "/a\xfe"}, u"VPATH '/a'$'\\376' is not valid UTF-8"_s},
            {{"-c", "d", "mv", "/a" + fffd, "/b\xc3("}, u"DST '/b'$'\\303''(' is not valid UTF-8"_s},
            {{"-c", "d", "mkdir", "-p", "/ok", "/also/\xed\xa0\x80"}, u"VPATH '/also/'$'\\355\\240\\200' is not valid UTF-8"_s}, // a surrogate
            {{"-c", "d", "put-object", "x", "--", "k\xff"}, u"KEY 'k'$'\\377' is not valid UTF-8"_s},
            {{"-c", "d", "rm-object", "k\xfe"}, u"KEY 'k'$'\\376'"_s},
            {{"init", "n\xffm"}, u"NAME 'n'$'\\377''m' is not valid UTF-8"_s},
            {{"-c", "d\xff", "ls"}, u"-c 'd'$'\\377' is not valid UTF-8"_s},
            {{"-c", "d", "--at", "s\xff", "ls"}, u"--at 's'$'\\377'"_s},
            {{"-c", "d", "snapshot", "create", "s\xc0\x80"}, u"NAME 's'$'\\300\\200'"_s}, // an overlong NUL
            {{"-c", "d", "json", "set", "/j.json", "\"\xff\""}, u"JSONTEXT"_s},
            {{"-c", "d", "put", local, "/c"}, u"LOCAL '%1'$'\\377' is a local path that is not valid UTF-8"_s.arg(sb.path(u"local-"_s))},
            {{"-c", "d", "get", "/a" + fffd, "out-\xff"}, u"LOCAL 'out-'$'\\377' is a local path that is not valid UTF-8"_s},
            {{"--data-dir", "elsewhere-\xff", "collections"}, u"--data-dir 'elsewhere-'$'\\377' is a local path"_s},
            {{"\xff"}, u"the argument ''$'\\377' is not valid UTF-8"_s},
        };
        for (const auto &[args, message] : cases) {
            const Run r = sb.runBytes(args);
            EXPECT_EXIT(r, ExitUsage);
            EXPECT_CONTAINS(r.errText(), u"vdrive: "_s + message);
            EXPECT_CONTAINS(r.errText(), u"Try 'vdrive --help'."_s);
            QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
        }
        // Nothing changed and nothing aliased.
        QCOMPARE(generation(sb), before);
        QCOMPARE(run(sb, {u"cat"_s, u"/a\uFFFD"_s}).out, QByteArray("x bytes"));
        QCOMPARE(outLines(run(sb, {u"ls"_s})), QStringList{u"a\uFFFD"_s});
        QCOMPARE(sb.objects(kCollection).size(), 1);
        QCOMPARE(outLines(sb.run({u"collections"_s})).size(), 1);
        QVERIFY(!rawExists(QFile::encodeName(sb.path(u"out-"_s)) + "\xff"));
    }

    // A FIFO named on the command line is stored from its stream, as '-'
    // stores standard input; here fed by a writer process.
    void putFifoStoresItsStream()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"/in"_s}), ExitOk);
        const QString fifo = sb.path(u"pipe"_s);
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        const QByteArray bytes = randomBytes(3 * MiB + 5, 11); // far more than a pipe holds
        QVERIFY(writeFile(sb.path(u"src.bin"_s), bytes));

        QProcess put;
        sb.start(put, {u"-c"_s, kCollection, u"put"_s, fifo, u"/in/"_s});
        QVERIFY(put.waitForStarted(kTimeoutMs));
        // The writer opens the FIFO in its own process (a shell redirection),
        // where the open waits for vdrive to open it too; its destructor
        // kills it should vdrive never do so.
        QProcess writer;
        writer.start(u"/bin/sh"_s, {u"-c"_s, u"exec cat \"$1\" > \"$2\""_s, u"sh"_s, sb.path(u"src.bin"_s), fifo});
        QVERIFY(put.waitForFinished(kTimeoutMs));
        const QString err = QString::fromUtf8(put.readAllStandardError());
        QVERIFY2(put.exitStatus() == QProcess::NormalExit && put.exitCode() == ExitOk, qPrintable(err));
        QCOMPARE(put.readAllStandardOutput(), QByteArray("stored /in/pipe (3.00 MiB)\n"));
        QVERIFY(writer.waitForFinished(kTimeoutMs));
        QCOMPARE(writer.exitCode(), 0);
        QCOMPARE(run(sb, {u"cat"_s, u"/in/pipe"_s}).out, bytes);
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
    }

    // A device or a socket named on the command line is refused before
    // anything is stored (exit 2), alone or among other files.
    void putRefusesDevicesAndSockets()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        QVERIFY(writeFile(sb.path(u"f.txt"_s), "f"));
        QVERIFY(makeSocket(sb.path(u"sock"_s)));
        const qint64 before = generation(sb);
        const std::vector<std::pair<QStringList, QString>> cases = {
            {{u"/dev/null"_s, u"/null"_s}, u"'/dev/null' is a character device: put stores regular files, FIFOs"_s},
            {{u"/dev/zero"_s, u"/zero"_s}, u"'/dev/zero' is a character device"_s},
            {{u"-r"_s, u"/dev/zero"_s, u"/zero"_s}, u"'/dev/zero' is a character device"_s},
            {{sb.path(u"sock"_s), u"/sock"_s}, u"'%1' is a socket"_s.arg(sb.path(u"sock"_s))},
            {{sb.path(u"f.txt"_s), u"/dev/null"_s, u"/dir/"_s}, u"'/dev/null' is a character device"_s},
        };
        for (const auto &[args, message] : cases) {
            const Run r = run(sb, QStringList{u"put"_s} + args);
            EXPECT_EXIT(r, ExitUsage);
            EXPECT_CONTAINS(r.errText(), u"vdrive: "_s + message);
            QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
        }
        QCOMPARE(generation(sb), before);
        QCOMPARE(run(sb, {u"ls"_s}).out, QByteArray());
    }

    // get -r of many files writes exactly them, and nothing else.
    void getManyFiles()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString src = sb.path(u"many"_s);
        for (int d = 0; d < 4; ++d)
            for (int i = 0; i < 250; ++i)
                QVERIFY(makeFile(u"%1/d%2/sub%3/f-%4"_s.arg(src).arg(d).arg(i % 5).arg(i), randomBytes(i * 7 % 5000, quint32(d * 1000 + i))));
        QVERIFY(QDir().mkpath(src + u"/empty/deeper"_s));
        EXPECT_EXIT(run(sb, {u"put"_s, u"-r"_s, src, u"/many"_s}), ExitOk);
        const Run get = run(sb, {u"get"_s, u"-r"_s, u"/many"_s, u"restored/here"_s});
        EXPECT_EXIT(get, ExitOk);
        QVERIFY2(get.outText().startsWith(u"wrote 1000 files ("_s) && get.outText().endsWith(u") and 27 folders into restored/here\n"_s),
                 qPrintable(get.describe()));
        const QString diff = compareTrees(localTree(src), localTree(sb.path(u"restored/here"_s)));
        QVERIFY2(diff.isEmpty(), qPrintable(diff));
        // Again with --force over part of the copy (each file replaced whole), and the times kept.
        QVERIFY(writeFile(sb.path(u"restored/here/d1/sub2/f-7"_s), "changed locally"));
        EXPECT_EXIT(run(sb, {u"get"_s, u"-r"_s, u"--force"_s, u"/many/d1/sub2"_s, u"restored/here/d1/sub2"_s}), ExitOk);
        QCOMPARE(compareTrees(localTree(src), localTree(sb.path(u"restored/here"_s))), QString());
        const QJsonObject st = parseJson(run(sb, {u"--json"_s, u"stat"_s, u"/many/d1/sub2/f-7"_s})).toArray().at(0).toObject();
        QCOMPARE(QFileInfo(sb.path(u"restored/here/d1/sub2/f-7"_s)).lastModified().toUTC(),
                 QDateTime::fromString(st.value(u"modified"_s).toString(), Qt::ISODateWithMs));
    }

    // Ctrl-C during get -r keeps nothing of it: no temporary, no file under
    // its final name (not even those written completely before), no folder
    // it created; what LOCAL held before is untouched.
    void getInterrupted()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString src = sb.path(u"src"_s);
        for (int i = 0; i < 200; ++i) // "a/…" comes before "big.bin": written first
            QVERIFY(makeFile(u"%1/a/small-%2"_s.arg(src).arg(i), randomBytes(2000, quint32(i))));
        QVERIFY(makeFile(src + u"/big.bin"_s, randomBytes(96 * MiB, 5)));
        EXPECT_EXIT(run(sb, {u"put"_s, u"-r"_s, src, u"/t"_s}), ExitOk);
        const QString local = sb.path(u"restore"_s);
        QVERIFY(makeFile(local + u"/mine.txt"_s, "keep me"));
        const QString copy = local + u"/copy"_s;

        QProcess get;
        sb.start(get, {u"-c"_s, kCollection, u"get"_s, u"-r"_s, u"/t"_s, copy});
        QVERIFY(get.waitForStarted(kTimeoutMs));
        // Wait (bounded) until big.bin is being written: something but the
        // folder "a" appears in the copy. Then stop vdrive where it is.
        QElapsedTimer clock;
        clock.start();
        auto bigStarted = [&] {
            return QDir(copy).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot).size() > 1;
        };
        while (!bigStarted() && get.state() == QProcess::Running && !clock.hasExpired(kTimeoutMs))
            QThread::usleep(200);
        QVERIFY2(bigStarted(), get.readAllStandardError().constData());
        QCOMPARE(::kill(pid_t(get.processId()), SIGSTOP), 0);
        QVERIFY2(!QFileInfo::exists(copy + u"/big.bin"_s), "big.bin is under its final name before the copy has ended");
        QCOMPARE(::kill(pid_t(get.processId()), SIGINT), 0);
        QCOMPARE(::kill(pid_t(get.processId()), SIGCONT), 0);
        QVERIFY(get.waitForFinished(kTimeoutMs));
        const QString err = QString::fromUtf8(get.readAllStandardError());
        QVERIFY2(get.exitStatus() == QProcess::NormalExit && get.exitCode() == ExitCancelled, qPrintable(err));
        EXPECT_CONTAINS(err, u"vdrive: cancelled: "_s);
        EXPECT_CONTAINS(err, u"nothing of the copy was kept"_s);
        const std::map<QString, QByteArray> want{{u"mine.txt"_s, "keep me"}};
        QCOMPARE(compareTrees(want, localTree(local)), QString());
    }

    // fsck and snapshot list walk every tree: on a terminal they show how far
    // they got, as cp -r does, and clear the line when done.
    void checksShowProgress()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        EXPECT_EXIT(putSmallFiles(sb, 150), ExitOk);
        EXPECT_EXIT(run(sb, {u"snapshot"_s, u"create"_s, u"s1"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"rm"_s, u"-r"_s, u"/t"_s}), ExitOk);

        const Run fsck = sb.runBytes({"-c", "d", "fsck"}, Tty::Stderr);
        EXPECT_EXIT(fsck, ExitOk);
        QVERIFY2(QRegularExpression(u"\\r\\x1b\\[Kchecking: [0-9]+ entries"_s).match(QString::fromUtf8(fsck.err)).hasMatch(), fsck.err.constData());
        QVERIFY2(fsck.err.endsWith("\r\x1b[K"), fsck.err.constData());
        const Run list = sb.runBytes({"-c", "d", "snapshot", "list"}, Tty::Stderr);
        EXPECT_EXIT(list, ExitOk);
        QVERIFY2(QRegularExpression(u"\\r\\x1b\\[Kcounting snapshot sizes: [0-9]+ entries"_s).match(QString::fromUtf8(list.err)).hasMatch(), list.err.constData());
        QVERIFY2(list.err.endsWith("\r\x1b[K"), list.err.constData());
        // Not on a terminal, and not with --json: no line.
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
        QVERIFY(run(sb, {u"fsck"_s}).err.isEmpty());
        QVERIFY(sb.runBytes({"-c", "d", "--json", "snapshot", "list"}, Tty::Stderr).err.isEmpty());
    }

    // Ctrl-C stops fsck: exit 130 and no summary (an unfinished check is
    // neither clean nor faulty). No race: vdrive's stderr is a terminal whose
    // output the test has stopped (tcflow), so vdrive cannot get past its
    // first progress line before the SIGINT, which the test sends once
    // /proc says vdrive catches SIGINT (the progress line is set up).
    void fsckInterrupted()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        EXPECT_EXIT(putSmallFiles(sb, 150), ExitOk);

        int master = -1, slave = -1;
        QCOMPARE(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
        ::fcntl(master, F_SETFD, FD_CLOEXEC);
        ::fcntl(slave, F_SETFD, FD_CLOEXEC);
        termios t{};
        ::tcgetattr(slave, &t);
        ::cfmakeraw(&t);
        ::tcsetattr(slave, TCSANOW, &t);
        QCOMPARE(::tcflow(slave, TCOOFF), 0);
        int outPipe[2];
        QCOMPARE(::pipe2(outPipe, O_CLOEXEC), 0);
        QList<QByteArray> argv{QByteArray(VDRIVE_BINARY), "--data-dir", QFile::encodeName(sb.dataDir()), "-c", "d", "fsck"};
        std::vector<char *> cargv;
        for (QByteArray &a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        QList<QByteArray> env;
        for (const QString &e : sb.env().toStringList())
            env.append(e.toUtf8());
        std::vector<char *> cenv;
        for (QByteArray &e : env)
            cenv.push_back(e.data());
        cenv.push_back(nullptr);
        const pid_t pid = ::fork();
        if (pid == 0) { // the child: async-signal-safe calls only
            const int devNull = ::open("/dev/null", O_RDONLY);
            if (devNull < 0 || ::dup2(devNull, 0) < 0 || ::dup2(outPipe[1], 1) < 0 || ::dup2(slave, 2) < 0)
                ::_exit(127);
            ::execve(cargv[0], cargv.data(), cenv.data());
            ::_exit(127);
        }
        ::close(outPipe[1]);
        QVERIFY(pid > 0);
        // vdrive (not the forked test, whose handlers it has until execve)
        // catches SIGINT.
        auto catchesSigint = [pid] {
            QFile status(u"/proc/%1/status"_s.arg(pid));
            if (!status.open(QIODevice::ReadOnly))
                return false;
            bool isVdrive = false;
            for (const QByteArray &line : status.readAll().split('\n')) {
                if (line.startsWith("Name:"))
                    isVdrive = line.mid(5).trimmed() == "vdrive";
                if (line.startsWith("SigCgt:"))
                    return isVdrive && (line.mid(7).trimmed().toULongLong(nullptr, 16) & (1ULL << (SIGINT - 1))) != 0;
            }
            return false;
        };
        QElapsedTimer clock;
        clock.start();
        int status = 0;
        bool exited = false;
        while (!catchesSigint() && !(exited = ::waitpid(pid, &status, WNOHANG) == pid) && !clock.hasExpired(kTimeoutMs))
            QThread::usleep(200);
        const bool caught = !exited && catchesSigint();
        if (caught)
            QCOMPARE(::kill(pid, SIGINT), 0);
        QCOMPARE(::tcflow(slave, TCOON), 0);
        // Everything it writes, until it exits (bounded).
        QByteArray out, tty;
        pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {master, POLLIN, 0}};
        while (!exited && !clock.hasExpired(2 * kTimeoutMs)) {
            ::poll(fds, 2, 50);
            if (fds[0].fd >= 0 && (fds[0].revents & (POLLIN | POLLHUP)) && drain(fds[0].fd, out) <= 0)
                fds[0].fd = -1;
            if (fds[1].revents & POLLIN)
                drain(master, tty);
            exited = ::waitpid(pid, &status, WNOHANG) == pid;
        }
        if (!exited) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
        }
        while (fds[0].fd >= 0 && drain(fds[0].fd, out) > 0) {
        }
        ::fcntl(master, F_SETFL, O_NONBLOCK);
        while (drain(master, tty) > 0) {
        }
        for (int fd : {outPipe[0], master, slave})
            ::close(fd);
        QVERIFY2(caught, "vdrive never caught SIGINT");
        QVERIFY2(exited && WIFEXITED(status) && WEXITSTATUS(status) == ExitCancelled, qPrintable(u"exited %1 status %2 tty %3 out %4"_s.arg(exited).arg(status).arg(QString::fromUtf8(tty), QString::fromUtf8(out))));
        EXPECT_CONTAINS(QString::fromUtf8(tty), u"vdrive: cancelled: fsck: cancelled"_s);
        QCOMPARE(out, QByteArray()); // no summary
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
    }

    // On a terminal, names are quoted as GNU ls quotes them (shell-escape),
    // so no stored name can send the terminal an escape sequence, a newline
    // or a bidi override; through a pipe, and with --json, the bytes are exact.
    void namesOnTerminal()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString src = sb.path(u"names"_s);
        QVERIFY(QDir().mkpath(src));
        QByteArray rawListing; // ls through a pipe: the names, one a line, byte order
        std::vector<ShownName> sorted = shownNames();
        std::sort(sorted.begin(), sorted.end(), [](const ShownName &a, const ShownName &b) { return a.raw < b.raw; });
        for (const ShownName &n : sorted) {
            QVERIFY(writeFile(src + u'/' + QString::fromUtf8(n.raw), "n"));
            rawListing += n.raw + '\n';
        }
        EXPECT_EXIT(run(sb, {u"put"_s, u"-r"_s, src, u"/n"_s}), ExitOk);

        // ls: a pipe gets the bytes, a terminal the quoted names.
        const Run piped = sb.runBytes({"-c", "d", "ls", "/n"});
        EXPECT_EXIT(piped, ExitOk);
        QCOMPARE(piped.out, rawListing);
        const Run onTty = sb.runBytes({"-c", "d", "ls", "/n"}, Tty::Stdout);
        EXPECT_EXIT(onTty, ExitOk);
        QByteArray want;
        for (const ShownName &n : sorted)
            want += n.vdrive + '\n';
        QCOMPARE(onTty.out, want);
        QVERIFY(!onTty.out.contains('\x1b') && !onTty.out.contains("\xe2\x80\xae"));

        // The same quoting as GNU ls (from coreutils, run here), where GNU escapes.
        QProcess ls;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"LC_ALL"_s, u"C.UTF-8"_s);
        ls.setProcessEnvironment(env);
        ls.start(u"ls"_s, {u"-1"_s, u"--quoting-style=shell-escape"_s, src});
        QVERIFY(ls.waitForFinished(kTimeoutMs));
        QByteArrayList gnu = ls.readAllStandardOutput().split('\n');
        gnu.removeAll(QByteArray());
        std::sort(gnu.begin(), gnu.end());
        QByteArrayList expectedGnu;
        for (const ShownName &n : sorted)
            if (!n.gnu.isEmpty())
                expectedGnu << n.gnu;
        std::sort(expectedGnu.begin(), expectedGnu.end());
        const QByteArrayList outLinesTty = onTty.out.split('\n');
        for (const QByteArray &g : expectedGnu) {
            QVERIFY2(gnu.contains(g), qPrintable(u"GNU ls does not print %1"_s.arg(QString::fromUtf8(g))));
            QVERIFY2(outLinesTty.contains(g), qPrintable(u"vdrive does not print %1"_s.arg(QString::fromUtf8(g))));
        }

        // Everything else that prints names, on a terminal: quoted, never raw.
        const QByteArray esc = "a\x1b[31mred";
        const QByteArray rlo = "rlo\xe2\x80\xae" "evil";
        EXPECT_EXIT(run(sb, {u"snapshot"_s, u"create"_s, u"before"_s}), ExitOk);
        EXPECT_EXIT(sb.runBytes({"-c", "d", "mv", "/n/" + esc, "/n/" + rlo + "2"}), ExitOk);
        EXPECT_EXIT(sb.runBytes({"-c", "d", "rm", "/n/nl\nx"}), ExitOk);
        const std::vector<std::pair<QList<QByteArray>, QByteArrayList>> commands = {
            {{"ls", "-l", "/n"}, {"  'rlo'$'\\u202E''evil2'\n", "  'tab'$'\\t''x'\n"}},
            {{"stat", "/n/" + rlo}, {"path      '/n/rlo'$'\\u202E''evil'"}},
            {{"du", "/n"}, {"/n"}},
            {{"trash", "list"}, {"'/n/nl'$'\\n''x'"}},
            {{"snapshot", "diff", "before"}, {"R '/n/a'$'\\033''[31mred' -> '/n/rlo'$'\\u202E''evil2'", "D '/n/nl'$'\\n''x'"}},
            {{"--at", "before", "ls", "/n"}, {"'a'$'\\033''[31mred'"}},
        };
        for (const auto &[args, shown] : commands) {
            const Run r = sb.runBytes(QList<QByteArray>{"-c", "d"} + args, Tty::Stdout);
            EXPECT_EXIT(r, ExitOk);
            for (const QByteArray &s : shown)
                EXPECT_CONTAINS(r.outText(), QString::fromUtf8(s));
            QVERIFY2(!r.out.contains('\x1b') && !r.out.contains("\xe2\x80\xae"), qPrintable(r.describe()));
        }
        // Errors and warnings on a terminal (stderr).
        const Run missing = sb.runBytes({"-c", "d", "stat", "/n/missing-" + rlo + "\x1b[2J"}, Tty::Stderr);
        EXPECT_EXIT(missing, ExitNotFound);
        EXPECT_CONTAINS(missing.errText(), u"/n/missing-rlo\\u202Eevil\\033[2J"_s);
        QVERIFY2(!missing.err.contains('\x1b') && !missing.err.contains("\xe2\x80\xae"), qPrintable(missing.describe()));
        const QString links = sb.path(u"links"_s);
        QVERIFY(QDir().mkpath(links));
        QVERIFY(QFile::link(src, links + u"/\x1b]0;owned\x07"_s));
        const Run warned = sb.runBytes({"-c", "d", "put", "-r", QFile::encodeName(links), "/l"}, Tty::Both);
        EXPECT_EXIT(warned, ExitOk);
        EXPECT_CONTAINS(warned.errText(), u"vdrive: warning: skipped the symbolic link '%1/'$'\\033'']0;owned'$'\\a'"_s.arg(links));
        QVERIFY2(!warned.err.contains('\x1b') && !warned.err.contains('\x07'), qPrintable(warned.describe()));
        // The same through a pipe: the exact bytes, as before.
        const Run warnedPiped = sb.runBytes({"-c", "d", "put", "-r", QFile::encodeName(links), "/l2"});
        EXPECT_CONTAINS(warnedPiped.errText(), u"vdrive: warning: skipped the symbolic link '%1/\x1b]0;owned\x07'"_s.arg(links));
        // --json is never quoted, terminal or not.
        const Run json = sb.runBytes({"-c", "d", "--json", "stat", "/n/" + rlo}, Tty::Stdout);
        EXPECT_EXIT(json, ExitOk);
        QCOMPARE(parseJson(json).toArray().at(0).toObject().value(u"name"_s).toString().toUtf8(), rlo);
    }

    // 2,000 files in one put -r: a few commits, not one per file.
    void bulkPutCommitsInBatches()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString src = sb.path(u"many"_s);
        for (const QString &dir : {u"x"_s, u"y"_s})
            for (int i = 0; i < 1000; ++i)
                QVERIFY(makeFile(u"%1/%2/file-%3.txt"_s.arg(src, dir).arg(i), u"%1 number %2\n"_s.arg(dir).arg(i).toUtf8()));
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"/bulk"_s}), ExitOk);
        const qint64 before = generation(sb);
        QElapsedTimer clock;
        clock.start();
        const Run put = run(sb, {u"put"_s, u"-r"_s, src, u"/bulk"_s});
        EXPECT_EXIT(put, ExitOk);
        EXPECT_CONTAINS(put.outText(), u"stored 2000 files"_s);
        const qint64 commits = generation(sb) - before;
        QVERIFY2(commits >= 1 && commits <= 5, qPrintable(u"%1 commits"_s.arg(commits)));
        QVERIFY2(clock.elapsed() < 20'000, qPrintable(u"put -r of 2,000 files took %1 ms"_s.arg(clock.elapsed())));
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/bulk/many/x"_s})).size(), 1000);
        const QJsonObject du = parseJson(run(sb, {u"du"_s, u"-s"_s, u"--json"_s, u"/bulk"_s})).toArray().at(0).toObject();
        QCOMPARE(du.value(u"files"_s).toInteger(), qint64(2000));
        // Every name arrived; a sample of contents (getManyFiles copies a
        // whole tree back out).
        QStringList want;
        for (int i = 0; i < 1000; ++i)
            want << u"file-%1.txt"_s.arg(i);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/bulk/many/y"_s})), byteOrder(want));
        for (int i : {0, 499, 999})
            QCOMPARE(run(sb, {u"cat"_s, u"/bulk/many/y/file-%1.txt"_s.arg(i)}).out, u"y number %1\n"_s.arg(i).toUtf8());
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
    }

    // A sparse file costs its data, not its holes, and comes back whole.
    void putOfASparseFileStoresOnlyItsData()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString local = sb.path(u"sparse.img"_s);
        const QByteArray island = randomBytes(100 * 1024, 5);
        {
            QFile f(local);
            QVERIFY(f.open(QIODevice::WriteOnly) && f.resize(qint64(300 * MiB)));
            QVERIFY(f.seek(qint64(200 * MiB) + 3) && f.write(island) == island.size());
        }
        EXPECT_EXIT(run(sb, {u"put"_s, u"-"_s, u"/warm"_s}, "x"), ExitOk); // the first commit takes the reserve
        const qint64 before = df(sb).value(u"allocatedBytes"_s).toInteger();
        EXPECT_EXIT(run(sb, {u"put"_s, local, u"/sparse.img"_s}), ExitOk);
        const qint64 grew = df(sb).value(u"allocatedBytes"_s).toInteger() - before;
        // the island goes into the open SmallBlock (at most a catalog block
        // more is allocated): not 300 MiB, not a 16 MiB block for 100 KiB
        QVERIFY2(grew <= 2 * MiB, qPrintable(u"%1 bytes allocated for 100 KiB of data"_s.arg(grew)));
        const QJsonObject st = parseJson(run(sb, {u"stat"_s, u"--json"_s, u"/sparse.img"_s})).toArray().at(0).toObject();
        QCOMPARE(st.value(u"size"_s).toInteger(), qint64(300 * MiB));
        int zeros = 0;
        for (const QJsonValue &c : st.value(u"layout"_s).toArray())
            for (const QJsonValue &p : c.toObject().value(u"pieces"_s).toArray())
                zeros += p.toObject().value(u"class"_s).toString() == u"zero"_s ? 1 : 0;
        QVERIFY2(zeros >= 17, qPrintable(QString::number(zeros)));
        const QString back = sb.path(u"back.img"_s);
        EXPECT_EXIT(run(sb, {u"get"_s, u"/sparse.img"_s, back}), ExitOk);
        QFile a(local), b(back);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QCOMPARE(b.size(), a.size());
        while (!a.atEnd())
            QVERIFY(a.read(8 * MiB) == b.read(8 * MiB));
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
    }

    // An unreadable file stops put -r; what was stored before it is committed and stays.
    void putStopsAtUnreadableFile()
    {
        if (::geteuid() == 0)
            QSKIP("root reads every file");
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        const QString src = sb.path(u"src"_s);
        for (const QString &name : {u"a/1"_s, u"a/2"_s, u"b/1"_s, u"b/2"_s, u"b/3"_s})
            QVERIFY(makeFile(src + u'/' + name, name.toUtf8()));
        QVERIFY(QFile::setPermissions(src + u"/b/2"_s, QFileDevice::Permissions()));
        const Run r = run(sb, {u"put"_s, u"-r"_s, src, u"/s"_s});
        EXPECT_EXIT(r, ExitFailure);
        EXPECT_CONTAINS(r.errText(), u"vdrive: permission-denied: cannot read '%1/b/2'"_s.arg(src));
        EXPECT_CONTAINS(r.errText(), u"3 files (9 B) and 3 folders stored before were committed and stay"_s);
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/s/a"_s})), (QStringList{u"1"_s, u"2"_s}));
        QCOMPARE(outLines(run(sb, {u"ls"_s, u"/s/b"_s})), (QStringList{u"1"_s}));
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
    }

    // Ctrl-C during put: the batch in progress is rolled back, nothing half-stored stays.
    void putInterrupted()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        QVERIFY(!sb.init(kCollection).isEmpty());
        EXPECT_EXIT(run(sb, {u"mkdir"_s, u"/in"_s}), ExitOk);
        const qint64 before = generation(sb);
        QProcess writer;
        sb.start(writer, {u"-c"_s, kCollection, u"put"_s, u"-"_s, u"/in/stream.bin"_s});
        QVERIFY(writer.waitForStarted(kTimeoutMs));
        QVERIFY2(feed(writer, randomBytes(18 * MiB, 7)), writer.readAllStandardError().constData());
        QCOMPARE(::kill(pid_t(writer.processId()), SIGINT), 0);
        writer.write(randomBytes(MiB, 8));
        writer.closeWriteChannel();
        QVERIFY(writer.waitForFinished(kTimeoutMs));
        QCOMPARE(writer.exitStatus(), QProcess::NormalExit);
        QCOMPARE(writer.exitCode(), int(ExitCancelled));
        EXPECT_CONTAINS(QString::fromUtf8(writer.readAllStandardError()), u"vdrive: cancelled: "_s);
        QCOMPARE(generation(sb), before);
        QCOMPARE(run(sb, {u"ls"_s, u"/in"_s}).out, QByteArray());
        EXPECT_EXIT(run(sb, {u"fsck"_s}), ExitOk);
    }

    // The tree's cache lives in $VDRIVE_CACHE_DIR/<RUID>, and --no-cache keeps it away.
    void cacheFolder()
    {
        Sandbox sb;
        QVERIFY(sb.isValid());
        const QString ruid = sb.init(kCollection);
        QVERIFY(!ruid.isEmpty());
        sb.env().insert(u"VDRIVE_CACHE_DIR"_s, sb.path(u"nocache"_s));
        EXPECT_EXIT(run(sb, {u"--no-cache"_s, u"mkdir"_s, u"/x"_s}), ExitOk);
        EXPECT_EXIT(run(sb, {u"--no-cache"_s, u"ls"_s}), ExitOk);
        QVERIFY(!QFileInfo::exists(sb.path(u"nocache"_s)));
        sb.env().insert(u"VDRIVE_CACHE_DIR"_s, sb.path(u"cache"_s));
        QCOMPARE(run(sb, {u"ls"_s}).out, QByteArray("x/\n"));
        QVERIFY(QFileInfo(sb.path(u"cache/"_s) + ruid).isDir());
        QCOMPARE(run(sb, {u"ls"_s}).out, QByteArray("x/\n")); // and read again through it
    }
};

QTEST_GUILESS_MAIN(TestTreeCli)
#include "tst_treecli.moc"
