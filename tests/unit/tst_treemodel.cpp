// Model-based random test of the tree: thousands of random operations —
// folders, files of many sizes, range writes and appends, moves, copies,
// removes to the trash and for good, trash restores, JSON imports and
// edits, snapshots (create, delete, restore from), gc, commits, rollbacks
// and reopens — each checked against an in-memory model of what a user
// should see, the live tree after every step and the snapshots often.
#include "testsupport.h"

#include "io/env.h"
#include "storage/collection.h"
#include "tree/drive.h"

#include <QBuffer>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <map>

using namespace vd;
using namespace vd::tree;
using vd::storage::Access;

namespace {

struct Entry
{
    Kind kind = Kind::File; // File, Directory, or JsonObject for a document
    QByteArray data;        // file bytes; a document's compact text
    bool operator==(const Entry &) const = default;
};
using Tree = std::map<QString, Entry>; // by path; "/" is the root

QString parentOf(const QString &path)
{
    const qsizetype i = path.lastIndexOf(QLatin1Char('/'));
    return i <= 0 ? QStringLiteral("/") : path.left(i);
}

bool isUnder(const QString &path, const QString &top)
{
    return path == top || path.startsWith(top == QLatin1String("/") ? top : top + QLatin1Char('/'));
}

Tree subtree(const Tree &t, const QString &top)
{
    Tree out;
    for (const auto &[p, e] : t)
        if (isUnder(p, top))
            out[p] = e;
    return out;
}

void eraseSubtree(Tree &t, const QString &top)
{
    for (auto it = t.begin(); it != t.end();)
        it = isUnder(it->first, top) ? t.erase(it) : std::next(it);
}

void graft(Tree &t, const Tree &sub, const QString &from, const QString &to)
{
    for (const auto &[p, e] : sub)
        t[to + p.mid(from.size())] = e;
}

// A path inside a JSON document the model holds as one entry.
bool isUnderDoc(const Tree &t, const QString &path)
{
    for (const auto &[p, e] : t)
        if (e.kind == Kind::JsonObject && path.startsWith(p + QLatin1Char('/')))
            return true;
    return false;
}

struct Trashed
{
    Ruid id;
    QString originalPath;
    Tree sub;
};

struct Model
{
    Tree live;
    std::vector<Trashed> trash;
};

} // namespace

class TestTreeModel : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    io::Env *m_env = io::Env::posix();
    QRandomGenerator m_rng{qEnvironmentVariableIntValue("VD_MODEL_SEED") > 0 ? quint32(qEnvironmentVariableIntValue("VD_MODEL_SEED")) : 20261125u};

    int pick(int n) { return int(m_rng.bounded(n)); }

    QString randomPath(int maxDepth)
    {
        static const QStringList dirs{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("日本")};
        static const QStringList leaves{QStringLiteral("f"), QStringLiteral("g"), QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("doc.json")};
        QString p;
        const int depth = pick(maxDepth);
        for (int i = 0; i < depth; ++i)
            p += QLatin1Char('/') + dirs[pick(int(dirs.size()))];
        return p + QLatin1Char('/') + leaves[pick(int(leaves.size()))];
    }

    QString existing(const Tree &t, bool allowRoot = false)
    {
        std::vector<QString> paths;
        for (const auto &[p, e] : t)
            if (allowRoot || p != QLatin1String("/"))
                paths.push_back(p);
        return paths.empty() ? QString() : paths[size_t(pick(int(paths.size())))];
    }

    QByteArray randomDoc()
    {
        nlohmann::ordered_json j = nlohmann::ordered_json::object();
        const int n = pick(4);
        for (int i = 0; i < n; ++i) {
            const std::string key(1, char('p' + pick(8)));
            switch (pick(4)) {
            case 0: j[key] = int64_t(m_rng.generate64() >> 1) * (pick(2) ? 1 : -1); break;
            case 1: j[key] = std::string(size_t(pick(10)), 'x'); break;
            case 2: j[key] = nlohmann::ordered_json::array({1, true, nullptr}); break;
            default: j[key] = nlohmann::ordered_json::object({{"in", pick(100)}});
            }
        }
        return QByteArray::fromStdString(j.dump());
    }

    static QByteArray readAll(Drive &d, const QString &path, const QString &at = {})
    {
        QByteArray out;
        QBuffer buf(&out);
        buf.open(QIODevice::WriteOnly);
        const Status st = d.readFile(path, buf, {}, at);
        return st ? out : QByteArray("<failed: ") + st.toString().toUtf8() + '>';
    }

    static QByteArray exportCompact(Drive &d, const QString &path, const QString &at = {})
    {
        QByteArray out;
        QBuffer buf(&out);
        buf.open(QIODevice::WriteOnly);
        const Status st = d.exportJson(path, buf, -1, at);
        return st ? out.trimmed() : QByteArray("<failed: ") + st.toString().toUtf8() + '>';
    }

    // What the drive shows, in the model's terms.
    Tree observe(Drive &d, const QString &at = {})
    {
        Tree out;
        out[QStringLiteral("/")] = Entry{Kind::Directory, {}};
        std::function<void(const QString &)> walk = [&](const QString &dir) {
            auto kids = d.list(dir, at);
            if (!kids) {
                out[dir].data = "<list failed: " + kids.status().toString().toUtf8() + '>';
                return;
            }
            for (const VNode &k : *kids) {
                const QString p = dir == QLatin1String("/") ? QLatin1Char('/') + k.name : dir + QLatin1Char('/') + k.name;
                if (k.kind == Kind::Directory) {
                    out[p] = Entry{Kind::Directory, {}};
                    walk(p);
                } else if (k.kind == Kind::File) {
                    out[p] = Entry{Kind::File, readAll(d, p, at)};
                } else {
                    out[p] = Entry{Kind::JsonObject, exportCompact(d, p, at)};
                }
            }
        };
        walk(QStringLiteral("/"));
        return out;
    }

    static QString describe(const Tree &a, const Tree &b)
    {
        for (const auto &[p, e] : a) {
            const auto it = b.find(p);
            if (it == b.end())
                return QStringLiteral("only in the model: %1").arg(p);
            if (!(it->second == e))
                return QStringLiteral("differs at %1: model %2 bytes kind %3, drive %4 bytes kind %5 (%6)")
                    .arg(p)
                    .arg(e.data.size())
                    .arg(int(e.kind))
                    .arg(it->second.data.size())
                    .arg(int(it->second.kind))
                    .arg(QString::fromUtf8(it->second.data.left(80)));
        }
        for (const auto &[p, e] : b)
            if (!a.count(p))
                return QStringLiteral("only in the drive: %1").arg(p);
        return QString();
    }

private Q_SLOTS:
    void randomOperationsMatchTheModel()
    {
        const int steps = qEnvironmentVariableIntValue("VD_MODEL_STEPS") > 0 ? qEnvironmentVariableIntValue("VD_MODEL_STEPS") : 1500;
        auto c = storage::Collection::create(*m_env, m_tmp.path(), QStringLiteral("model"));
        QVERIFY(c.isOk());
        const QString dir = (*c)->path();
        auto opened = Drive::attach(std::move(c).value(), vd::test::testDrive());
        QVERIFY(opened.isOk());
        std::unique_ptr<Drive> d = std::move(opened).value();

        Model model;
        model.live[QStringLiteral("/")] = Entry{Kind::Directory, {}};
        Model committed = model;
        std::map<QString, Tree> snapshots;
        int snapshotCounter = 0;
        QStringList log;

        for (int step = 0; step < steps; ++step) {
            Tree &t = model.live;
            const int op = pick(100);
            QString what;
            Status st;
            bool expectOk = true;
            if (op < 12) { // mkdir -p
                const QString p = parentOf(randomPath(4));
                what = QStringLiteral("mkdir -p %1").arg(p);
                QString cur;
                for (const QString &part : p.split(QLatin1Char('/'), Qt::SkipEmptyParts)) {
                    cur += QLatin1Char('/') + part;
                    if (t.count(cur) && t[cur].kind != Kind::Directory)
                        expectOk = false;
                }
                st = test::statusOf(d->mkdir(p, true));
                if (expectOk && st) {
                    cur.clear();
                    for (const QString &part : p.split(QLatin1Char('/'), Qt::SkipEmptyParts)) {
                        cur += QLatin1Char('/') + part;
                        t[cur] = Entry{Kind::Directory, {}};
                    }
                }
            } else if (op < 30) { // put a file
                const QString p = randomPath(3);
                const int size = pick(10) == 0 ? int(1 << 20) + pick(3 << 20) : pick(20000);
                const QByteArray data = test::randomBytes(size, m_rng.generate(), pick(2) == 0);
                what = QStringLiteral("put %1 (%2 bytes)").arg(p).arg(size);
                expectOk = t.count(parentOf(p)) && t[parentOf(p)].kind == Kind::Directory && (!t.count(p) || t[p].kind == Kind::File);
                st = test::statusOf(d->putFileBytes(p, data));
                if (expectOk && st)
                    t[p] = Entry{Kind::File, data};
            } else if (op < 38) { // range write or append
                const QString p = existing(t);
                if (p.isEmpty() || t[p].kind != Kind::File)
                    continue;
                QByteArray &bytes = t[p].data;
                const QByteArray data = test::randomBytes(1 + pick(70000), m_rng.generate());
                const int offset = pick(3) == 0 ? int(bytes.size()) : pick(int(bytes.size()) + 100);
                what = QStringLiteral("write %1 at %2 (%3 bytes)").arg(p).arg(offset).arg(data.size());
                st = test::statusOf(d->writeFile(p, uint64_t(offset), data));
                if (st) {
                    if (bytes.size() < offset + data.size())
                        bytes.resize(offset + data.size(), '\0');
                    bytes.replace(offset, data.size(), data);
                }
            } else if (op < 48) { // move
                const QString from = existing(t);
                const QString to = randomPath(3);
                if (from.isEmpty())
                    continue;
                what = QStringLiteral("mv %1 %2").arg(from, to);
                expectOk = t.count(parentOf(to)) && t[parentOf(to)].kind == Kind::Directory && !t.count(to) && !isUnder(to, from);
                st = test::statusOf(d->move(from, to));
                if (expectOk && st) {
                    const Tree sub = subtree(t, from);
                    eraseSubtree(t, from);
                    graft(t, sub, from, to);
                }
            } else if (op < 55) { // copy
                const QString from = existing(t);
                const QString to = randomPath(3);
                if (from.isEmpty())
                    continue;
                what = QStringLiteral("cp %1 %2").arg(from, to);
                expectOk = t.count(parentOf(to)) && t[parentOf(to)].kind == Kind::Directory && !t.count(to) && !isUnder(to, from);
                st = test::statusOf(d->copy(from, to));
                if (expectOk && st)
                    graft(t, subtree(t, from), from, to);
            } else if (op < 64) { // remove
                const QString p = existing(t);
                if (p.isEmpty())
                    continue;
                const bool toTrash = pick(2) == 0;
                what = QStringLiteral("rm -r %1%2").arg(p, toTrash ? QStringLiteral(" (to the trash)") : QString());
                const Ruid id = d->stat(p).value().id;
                st = test::statusOf(d->remove(p, true, toTrash));
                if (st) {
                    if (toTrash)
                        model.trash.push_back(Trashed{id, p, subtree(t, p)});
                    eraseSubtree(t, p);
                }
            } else if (op < 68) { // restore from the trash
                auto entries = d->listTrash();
                QVERIFY2(entries.isOk(), qPrintable(entries.status().toString()));
                if (entries->empty())
                    continue;
                const TrashEntry e = (*entries)[size_t(pick(int(entries->size())))];
                what = QStringLiteral("trash restore %1").arg(e.originalPath);
                expectOk = !t.count(e.originalPath);
                QString cur;
                const QString par = parentOf(e.originalPath);
                for (const QString &part : par.split(QLatin1Char('/'), Qt::SkipEmptyParts)) {
                    cur += QLatin1Char('/') + part;
                    if (t.count(cur) && t[cur].kind != Kind::Directory)
                        expectOk = false;
                }
                st = test::statusOf(d->restoreFromTrash(e.id));
                if (expectOk && st) {
                    auto it = std::find_if(model.trash.begin(), model.trash.end(), [&](const Trashed &x) { return x.id == e.id; });
                    QVERIFY(it != model.trash.end());
                    cur.clear();
                    for (const QString &part : par.split(QLatin1Char('/'), Qt::SkipEmptyParts)) {
                        cur += QLatin1Char('/') + part;
                        t[cur] = Entry{Kind::Directory, {}};
                    }
                    graft(t, it->sub, e.originalPath, e.originalPath);
                    model.trash.erase(it);
                }
            } else if (op < 74) { // JSON: import a document or edit one
                std::vector<QString> docs;
                for (const auto &[p, e] : t)
                    if (e.kind == Kind::JsonObject)
                        docs.push_back(p);
                if (docs.empty() || pick(3) == 0) {
                    const QString par = parentOf(randomPath(3));
                    const QString p = (par == QLatin1String("/") ? QString() : par) + QStringLiteral("/doc.json");
                    const QByteArray doc = randomDoc();
                    what = QStringLiteral("json import %1").arg(p);
                    expectOk = t.count(parentOf(p)) && t[parentOf(p)].kind == Kind::Directory && !t.count(p);
                    QBuffer in;
                    in.setData(doc);
                    in.open(QIODevice::ReadOnly);
                    st = test::statusOf(d->importJson(p, in));
                    if (expectOk && st)
                        t[p] = Entry{Kind::JsonObject, doc};
                } else {
                    const QString p = docs[size_t(pick(int(docs.size())))];
                    auto j = nlohmann::ordered_json::parse(t[p].data.toStdString());
                    const std::string key(1, char('p' + pick(8)));
                    if (pick(3) == 0) {
                        what = QStringLiteral("json del %1/%2").arg(p, QString::fromStdString(key));
                        expectOk = j.contains(key);
                        st = d->deleteJson(p + QLatin1Char('/') + QString::fromStdString(key));
                        if (expectOk && st) {
                            j.erase(key);
                            t[p].data = QByteArray::fromStdString(j.dump());
                        }
                    } else {
                        const int64_t v = int64_t(m_rng.generate64() >> 2);
                        what = QStringLiteral("json set %1/%2 %3").arg(p, QString::fromStdString(key)).arg(v);
                        st = test::statusOf(d->setJson(p + QLatin1Char('/') + QString::fromStdString(key), QByteArray::number(qlonglong(v))));
                        if (st) {
                            j[key] = v;
                            t[p].data = QByteArray::fromStdString(j.dump());
                        }
                    }
                }
            } else if (op < 79) { // snapshots
                if (snapshots.empty() || pick(3) > 0) {
                    const QString name = QStringLiteral("s%1").arg(++snapshotCounter);
                    what = QStringLiteral("snapshot create %1").arg(name);
                    st = test::statusOf(d->createSnapshot(name));
                    if (st) {
                        snapshots[name] = t;
                        committed = model;
                    }
                } else if (pick(2) == 0) {
                    auto it = std::next(snapshots.begin(), pick(int(snapshots.size())));
                    what = QStringLiteral("snapshot delete %1").arg(it->first);
                    st = d->deleteSnapshot(it->first);
                    if (st)
                        snapshots.erase(it);
                } else {
                    auto it = std::next(snapshots.begin(), pick(int(snapshots.size())));
                    const QString p = existing(it->second);
                    if (p.isEmpty())
                        continue;
                    what = QStringLiteral("snapshot restore %1 %2").arg(it->first, p);
                    bool blocked = false;
                    for (QString cur = parentOf(p); cur != QLatin1String("/"); cur = parentOf(cur))
                        if (t.count(cur) && t[cur].kind != Kind::Directory)
                            blocked = true;
                    expectOk = !blocked;
                    const Ruid replaced = t.count(p) ? d->stat(p).value().id : Ruid();
                    st = test::statusOf(d->restore(it->first, p));
                    if (expectOk && st) {
                        if (t.count(p)) {
                            model.trash.push_back(Trashed{replaced, p, subtree(t, p)});
                            eraseSubtree(t, p);
                        }
                        for (QString cur = parentOf(p); cur != QLatin1String("/"); cur = parentOf(cur))
                            t[cur] = Entry{Kind::Directory, {}};
                        graft(t, subtree(it->second, p), p, p);
                    }
                }
            } else if (op < 82) {
                what = QStringLiteral("gc");
                auto r = d->gc();
                st = r.status();
                if (st)
                    committed = model;
            } else if (op < 92) {
                what = QStringLiteral("commit");
                st = d->commit();
                if (st)
                    committed = model;
            } else if (op < 96) {
                what = QStringLiteral("rollback");
                st = d->rollback();
                model = committed;
            } else {
                what = QStringLiteral("commit and reopen");
                VD_VERIFY_OK(d->commit());
                committed = model;
                d.reset();
                auto again = Drive::open(*m_env, dir, Access::ReadWrite, vd::test::testDrive());
                QVERIFY2(again.isOk(), qPrintable(again.status().toString()));
                d = std::move(again).value();
            }
            log << what;
            if (log.size() > 12)
                log.removeFirst();
            if (expectOk && !st)
                QFAIL(qPrintable(QStringLiteral("step %1: %2 failed: %3\nlast steps:\n  %4").arg(step).arg(what, st.toString(), log.join(QStringLiteral("\n  ")))));
            if (!expectOk && st)
                QFAIL(qPrintable(QStringLiteral("step %1: %2 succeeded where it should fail\nlast steps:\n  %3").arg(step).arg(what, log.join(QStringLiteral("\n  ")))));
            const Tree seen = observe(*d);
            const QString diffLive = describe(model.live, seen);
            if (!diffLive.isEmpty()) {
                QStringList paths;
                for (const auto &[p, e] : seen)
                    paths << p;
                QFAIL(qPrintable(QStringLiteral("step %1 after %2: %3\nlast steps:\n  %4\ndrive: %5").arg(step).arg(what, diffLive, log.join(QStringLiteral("\n  ")), paths.join(QLatin1Char(' ')))));
            }
            if (step % 20 == 0) {
                for (const auto &[name, snap] : snapshots) {
                    const QString diffSnap = describe(snap, observe(*d, name));
                    if (!diffSnap.isEmpty())
                        QFAIL(qPrintable(QStringLiteral("step %1, snapshot %2: %3\nlast steps:\n  %4").arg(step).arg(name, diffSnap, log.join(QStringLiteral("\n  ")))));
                }
                // Snapshot diffs: reading only the leaves that differ gives
                // what comparing whole indexes gives.
                for (const auto &[name, snap] : snapshots) {
                    auto quick = d->diff(name);
                    auto full = d->diff(name, QString(), true);
                    QVERIFY2(quick.isOk() && full.isOk(), qPrintable(quick.status().toString() + full.status().toString()));
                    QCOMPARE(quick->size(), full->size());
                    for (size_t i = 0; i < quick->size(); ++i) {
                        QCOMPARE((*quick)[i].path, (*full)[i].path);
                        QCOMPARE(int((*quick)[i].change), int((*full)[i].change));
                        QCOMPARE((*quick)[i].oldPath, (*full)[i].oldPath);
                    }
                    // And every path the diff names is where the model says.
                    for (const DiffEntry &e : *quick) {
                        if (e.change == DiffEntry::Change::Removed)
                            QVERIFY2(snap.count(e.path) || isUnderDoc(snap, e.path), qPrintable(e.path));
                        else
                            QVERIFY2(model.live.count(e.path) || isUnderDoc(model.live, e.path), qPrintable(e.path));
                    }
                }
                auto trash = d->listTrash();
                QVERIFY(trash.isOk());
                QCOMPARE(trash->size(), model.trash.size());
            }
            const int fsckEvery = qEnvironmentVariableIntValue("VD_MODEL_FSCK_EVERY") > 0 ? qEnvironmentVariableIntValue("VD_MODEL_FSCK_EVERY") : 100;
            if (step % fsckEvery == fsckEvery - 1) {
                VD_VERIFY_OK(d->commit());
                committed = model;
                const auto r = d->fsck();
                if (!r.isClean())
                    QFAIL(qPrintable(QStringLiteral("step %1: fsck: %2\nlast steps:\n  %3").arg(step).arg(r.faults.front(), log.join(QStringLiteral("\n  ")))));
            }
        }
        // Finally: everything committed, a gc, a reopen read-only, fsck clean
        // and no byte or reference counted that nothing references.
        VD_VERIFY_OK(d->commit());
        VD_VERIFY_OK(d->gc());
        d.reset();
        auto ro = Drive::open(*m_env, dir, Access::ReadOnly);
        QVERIFY(ro.isOk());
        d = std::move(ro).value();
        QCOMPARE(describe(model.live, observe(*d)), QString());
        for (const auto &[name, snap] : snapshots)
            QCOMPARE(describe(snap, observe(*d, name)), QString());
        const auto r = d->fsck();
        QVERIFY2(r.isClean(), qPrintable(r.faults.empty() ? QString() : r.faults.front()));
        QCOMPARE(r.reclaimableBytes, uint64_t(0));
        QCOMPARE(r.overcountedBlocks, uint64_t(0)); // gc left every reference count exact
    }
};

QTEST_GUILESS_MAIN(TestTreeModel)
#include "tst_treemodel.moc"
