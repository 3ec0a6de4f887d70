#include "lmdbcache.h"

#include "core/bytes.h"
#include "core/hash.h"
#include "io/env.h"

#include <QFile>

#include <lmdb.h>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace vd::cache {

static_assert(std::is_same_v<MDB_dbi, unsigned int>, "the header stores MDB_dbi as unsigned int");

namespace {

constexpr uint8_t kValueFormat = 1;
constexpr qsizetype kValueHeaderBytes = 9; // format + checksum
constexpr qsizetype kHashedKeyBytes = LmdbCache::kInlineKeyBytes + Hash256::size;
constexpr char kFormatMagic[8] = {'V', 'D', 'R', 'V', 'C', 'A', 'C', 'H'};
constexpr char kSealMagic[8] = {'V', 'D', 'L', 'M', 'S', 'E', 'A', 'L'};
constexpr uint16_t kSealFormat = 1;
constexpr qsizetype kSealBytes = 56;
constexpr size_t kHashChunk = size_t(1) << 20;

// Indexed by LmdbCache::Db.
constexpr const char *kDbNames[] = {"meta", "paths", "records", "blocks"};
struct Limits
{
    qsizetype maxKey;
    qsizetype minPayload;
    qsizetype maxPayload;
};
constexpr Limits kLimits[] = {
    {16, 0, LmdbCache::kMaxStampBytes},
    {LmdbCache::kMaxPathBytes, Ruid::size, Ruid::size},
    {Ruid::size, 0, LmdbCache::kMaxRecordBytes},
    {LmdbCache::kMaxBlockKeyBytes, 0, LmdbCache::kMaxBlockLocationBytes},
};

QByteArrayView formatKey() { return "format"; }
QByteArrayView stampKey() { return "stamp"; }

QString dataPath(const QString &dir) { return dir + QStringLiteral("/data.mdb"); }
QString sealPath(const QString &dir) { return dir + QStringLiteral("/data.seal"); }

bool isHashedKey(QByteArrayView storedKey) { return storedKey.size() == kHashedKeyBytes; }

QByteArray storedKeyOf(QByteArrayView key)
{
    if (key.size() <= LmdbCache::kInlineKeyBytes)
        return key.toByteArray();
    QByteArray k = key.first(LmdbCache::kInlineKeyBytes).toByteArray();
    k.append(sha256(key).view());
    return k;
}

MDB_val valOf(QByteArrayView v) { return MDB_val{size_t(v.size()), const_cast<char *>(v.data())}; }
QByteArrayView viewOf(const MDB_val &v) { return {static_cast<const char *>(v.mv_data), qsizetype(v.mv_size)}; }

QString lmdbMessage(int rc) { return QString::fromLocal8Bit(mdb_strerror(rc)); }

// The db and the key are hashed with the value, so a value moved under
// another key or into another database fails its check too.
uint64_t checksum(uint8_t db, QByteArrayView storedKey, QByteArrayView body)
{
    Sha256 h;
    const char head[3] = {char(db), char(uint8_t(storedKey.size())), char(uint8_t(storedKey.size() >> 8))};
    const char format = char(kValueFormat);
    h.add(QByteArrayView(head, 3));
    h.add(storedKey);
    h.add(QByteArrayView(&format, 1));
    h.add(body);
    const Hash256 d = h.finish();
    uint64_t c = 0;
    for (int i = 7; i >= 0; --i)
        c = (c << 8) | d.bytes[size_t(i)];
    return c;
}

QByteArray encodeValue(uint8_t db, QByteArrayView storedKey, QByteArrayView key, QByteArrayView payload)
{
    QByteArray body;
    ByteWriter b(&body);
    if (isHashedKey(storedKey))
        b.blob(key);
    b.bytes(payload);
    QByteArray value;
    value.reserve(kValueHeaderBytes + body.size());
    ByteWriter w(&value);
    w.u8(kValueFormat);
    w.u64(checksum(db, storedKey, body));
    w.bytes(body);
    return value;
}

Result<Hash256> hashFile(io::File &file, uint64_t size)
{
    Sha256 h;
    QByteArray buf(qsizetype(kHashChunk), Qt::Uninitialized);
    for (uint64_t at = 0; at < size;) {
        const size_t n = size_t(std::min<uint64_t>(kHashChunk, size - at));
        VD_TRY(file.read(at, buf.data(), n));
        h.add(QByteArrayView(buf.constData(), qsizetype(n)));
        at += n;
    }
    return h.finish();
}

// Empty when data.mdb is exactly the file the last clean close sealed;
// otherwise why it cannot be trusted.
QString checkSeal(io::Env &env, const QString &dir)
{
    auto seal = io::readWholeFile(env, sealPath(dir), kSealBytes);
    if (!seal.isOk()) {
        if (seal.status().code() == ErrorCode::NotFound)
            return QStringLiteral("data.mdb was not closed cleanly (it has no seal)");
        return QStringLiteral("its seal cannot be read: %1").arg(seal.status().message());
    }
    ByteReader r(*seal, QStringLiteral("data.seal"));
    const bool magicOk = r.bytes(8) == QByteArrayView(kSealMagic, 8);
    const uint16_t format = r.u16();
    r.skip(6);
    const uint64_t size = r.u64();
    const Hash256 hash = Hash256::fromView(r.bytes(Hash256::size));
    if (!r.finish().isOk() || !magicOk || format != kSealFormat)
        return QStringLiteral("its seal is damaged");
    // The size first: a file grown or cut (by garbage, say) is rejected without reading it.
    auto file = env.open(dataPath(dir), io::OpenMode::ReadOnly);
    auto actualSize = file.isOk() ? (*file)->size() : Result<uint64_t>(file.status());
    if (!actualSize.isOk())
        return QStringLiteral("data.mdb cannot be read: %1").arg(actualSize.status().message());
    if (*actualSize != size)
        return QStringLiteral("data.mdb is %1 bytes; it was %2 when sealed").arg(*actualSize).arg(size);
    auto actualHash = hashFile(**file, size);
    if (!actualHash.isOk())
        return QStringLiteral("data.mdb cannot be read: %1").arg(actualHash.status().message());
    if (*actualHash != hash)
        return QStringLiteral("data.mdb does not match its seal");
    return {};
}

// Best effort: a missing or stale seal only makes the next open start empty.
void writeSeal(io::Env &env, const QString &dir)
{
    auto data = env.open(dataPath(dir), io::OpenMode::ReadOnly);
    if (!data.isOk())
        return;
    auto size = (*data)->size();
    auto hash = size.isOk() ? hashFile(**data, *size) : Result<Hash256>(size.status());
    if (!hash.isOk())
        return;
    QByteArray seal;
    ByteWriter w(&seal);
    w.bytes(QByteArrayView(kSealMagic, 8));
    w.u16(kSealFormat);
    w.u16(0);
    w.u32(0);
    w.u64(*size);
    w.bytes(hash->view());
    // Through a rename, so a seal is never half written.
    const QString tmp = sealPath(dir) + QStringLiteral(".tmp");
    (void)env.remove(tmp);
    {
        auto file = env.open(tmp, io::OpenMode::CreateNew);
        if (!file.isOk() || !(*file)->write(0, seal).isOk())
            return;
    }
    (void)env.rename(tmp, sealPath(dir));
}

Result<std::unique_ptr<io::FileLock>> lockFolder(io::Env &env, const QString &dir)
{
    const QString path = dir + QStringLiteral("/cache.lock");
    auto created = env.open(path, io::OpenMode::CreateNew);
    if (!created.isOk() && created.status().code() != ErrorCode::AlreadyExists)
        return created.takeStatus();
    return env.lock(path, io::LockMode::Exclusive);
}

// A write transaction's cursor must be closed before the transaction ends.
class Cursor
{
public:
    Cursor(MDB_txn *txn, MDB_dbi dbi) : m_rc(mdb_cursor_open(txn, dbi, &m_cursor)) {}
    ~Cursor()
    {
        if (m_rc == 0)
            mdb_cursor_close(m_cursor);
    }
    Cursor(const Cursor &) = delete;
    Cursor &operator=(const Cursor &) = delete;
    int openError() const { return m_rc; }
    int get(MDB_val *key, MDB_val *value, MDB_cursor_op op) { return mdb_cursor_get(m_cursor, key, value, op); }
    int del() { return mdb_cursor_del(m_cursor, 0); }

private:
    MDB_cursor *m_cursor = nullptr;
    int m_rc;
};

} // namespace

LmdbCache::LmdbCache(QString dir, Options options)
    : m_dir(std::move(dir))
    , m_options(options)
    , m_files(options.env ? *options.env : *io::Env::posix())
{
}

Result<std::unique_ptr<LmdbCache>> LmdbCache::open(const QString &dir, const Options &options)
{
    if (options.mapSizeBytes <= 0)
        return Status::invalidArgument(QStringLiteral("cache map size %1 is not positive").arg(options.mapSizeBytes));
    io::Env &env = options.env ? *options.env : *io::Env::posix();
    const auto cannotCreate = [&dir](const Status &st) {
        return Status::ioError(QStringLiteral("cannot create a cache in '%1': %2").arg(dir, st.message()));
    };
    if (Status st = env.makeDirs(dir); !st.isOk())
        return cannotCreate(st);
    auto lock = lockFolder(env, dir);
    if (!lock.isOk())
        return lock.status().code() == ErrorCode::Busy ? lock.takeStatus() : cannotCreate(lock.status());

    std::unique_ptr<LmdbCache> cache(new LmdbCache(dir, options));
    cache->m_lock = std::move(lock).value();
    auto hasData = env.exists(dataPath(dir));
    if (!hasData.isOk())
        return cannotCreate(hasData.status());
    QString problem;
    if (*hasData) {
        problem = checkSeal(env, dir);
        if (problem.isEmpty()) {
            if (Status st = cache->openEnv(false); !st.isOk())
                problem = st.message();
        }
    }
    if (!*hasData || !problem.isEmpty()) {
        if (!problem.isEmpty()) {
            cache->m_resets = 1;
            cache->m_resetReason = problem;
        }
        if (Status st = cache->startFresh(); !st.isOk())
            return cannotCreate(st);
    }
    return cache;
}

LmdbCache::~LmdbCache()
{
    closeEnv();
    if (m_fileChanged && m_broken.isOk())
        writeSeal(m_files, m_dir);
}

// fresh: create the databases and the format record. Otherwise check that
// the environment has them; any failure leaves the environment closed.
Status LmdbCache::openEnv(bool fresh)
{
    const auto lmdbError = [this](int rc, const QString &what) {
        closeEnv();
        return Status::ioError(QStringLiteral("%1: %2").arg(what, lmdbMessage(rc)));
    };
    int rc = mdb_env_create(&m_env);
    if (rc != 0) {
        m_env = nullptr;
        return lmdbError(rc, QStringLiteral("cannot create an LMDB environment"));
    }
    if ((rc = mdb_env_set_maxdbs(m_env, DbCount)) != 0 || (rc = mdb_env_set_mapsize(m_env, size_t(m_options.mapSizeBytes))) != 0)
        return lmdbError(rc, QStringLiteral("cannot configure LMDB"));
    if (const int maxKey = mdb_env_get_maxkeysize(m_env); maxKey < kHashedKeyBytes) {
        closeEnv();
        return Status::internal(QStringLiteral("this LMDB takes keys of at most %1 bytes; the cache needs %2").arg(maxKey).arg(kHashedKeyBytes));
    }
    // NOSYNC: a cache needs no durability, and the seal catches what a system
    // crash tears. NOLOCK: one LmdbCache per folder is enforced by cache.lock,
    // and without LMDB's writer mutex the write transaction may be carried
    // from one thread to the next. NOTLS: a reader, should one be added, is
    // not tied to a thread either.
    const unsigned flags = MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOLOCK | MDB_NOTLS;
    if ((rc = mdb_env_open(m_env, QFile::encodeName(m_dir).constData(), flags, 0644)) != 0)
        return lmdbError(rc, QStringLiteral("LMDB cannot open data.mdb"));
    if ((rc = mdb_txn_begin(m_env, nullptr, 0, &m_txn)) != 0) {
        m_txn = nullptr;
        return lmdbError(rc, QStringLiteral("LMDB cannot begin a transaction"));
    }
    for (int db = 0; db < DbCount; ++db) {
        rc = mdb_dbi_open(m_txn, kDbNames[db], fresh ? MDB_CREATE : 0, &m_dbi[size_t(db)]);
        if (rc == MDB_NOTFOUND) {
            closeEnv();
            return Status::corruption(QStringLiteral("it has no database '%1'").arg(QLatin1String(kDbNames[db])));
        }
        if (rc != 0)
            return lmdbError(rc, QStringLiteral("LMDB cannot open database '%1'").arg(QLatin1String(kDbNames[db])));
    }

    const QByteArray storedKey = storedKeyOf(formatKey());
    MDB_val key = valOf(storedKey);
    QByteArray expected;
    ByteWriter w(&expected);
    w.bytes(QByteArrayView(kFormatMagic, 8));
    w.u16(kFormat);
    if (fresh) {
        const QByteArray value = encodeValue(MetaDb, storedKey, formatKey(), expected);
        MDB_val val = valOf(value);
        if ((rc = mdb_put(m_txn, m_dbi[MetaDb], &key, &val, 0)) != 0)
            return lmdbError(rc, QStringLiteral("LMDB cannot write"));
        m_txnWrote = true;
    } else {
        MDB_val val;
        rc = mdb_get(m_txn, m_dbi[MetaDb], &key, &val);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return lmdbError(rc, QStringLiteral("LMDB cannot read the format record"));
        const std::optional<Entry> e = rc == 0 ? decode(MetaDb, storedKey, viewOf(val)) : std::nullopt;
        if (!e || e->payload.size() != expected.size() || !e->payload.startsWith(QByteArrayView(kFormatMagic, 8))) {
            closeEnv();
            return Status::corruption(QStringLiteral("it is not a vdrive cache (no valid format record)"));
        }
        if (e->payload != expected) {
            ByteReader r(e->payload, QStringLiteral("format record"));
            r.skip(8);
            const uint16_t format = r.u16();
            closeEnv();
            return Status::versionMismatch(QStringLiteral("it has cache format %1; this build uses %2").arg(format).arg(kFormat));
        }
    }
    // The handles opened here stay valid for the environment's life only if
    // this transaction commits.
    MDB_txn *t = std::exchange(m_txn, nullptr);
    if ((rc = mdb_txn_commit(t)) != 0)
        return lmdbError(rc, QStringLiteral("LMDB cannot commit"));
    if (std::exchange(m_txnWrote, false))
        m_fileChanged = true;
    return {};
}

void LmdbCache::closeEnv()
{
    if (m_txn)
        mdb_txn_abort(std::exchange(m_txn, nullptr));
    // Even an aborted transaction may have spilled pages into the file.
    if (std::exchange(m_txnWrote, false))
        m_fileChanged = true;
    if (m_env)
        mdb_env_close(std::exchange(m_env, nullptr));
}

Status LmdbCache::startFresh()
{
    closeEnv();
    io::Env &env = m_files;
    // The seal goes first: whatever happens next, an old seal must not vouch for a new file.
    for (const QString &name : {QStringLiteral("data.seal"), QStringLiteral("data.mdb"), QStringLiteral("lock.mdb")}) {
        Status st = env.remove(m_dir + QLatin1Char('/') + name);
        if (!st.isOk() && st.code() != ErrorCode::NotFound)
            return st;
    }
    m_fileChanged = true;
    return openEnv(true);
}

void LmdbCache::reset(const QString &reason)
{
    ++m_resets;
    m_resetReason = reason;
    if (Status st = startFresh(); !st.isOk())
        m_broken = Status::ioError(QStringLiteral("cache in '%1' reset (%2) and could not be recreated: %3").arg(m_dir, reason, st.message()));
}

MDB_txn *LmdbCache::txn()
{
    // Two tries: a failure to begin resets the cache, and the fresh one gets a second chance.
    for (int attempt = 0; attempt < 2 && !m_txn && m_env; ++attempt) {
        const int rc = mdb_txn_begin(m_env, nullptr, 0, &m_txn);
        if (rc != 0) {
            m_txn = nullptr;
            reset(QStringLiteral("LMDB cannot begin a transaction: %1").arg(lmdbMessage(rc)));
        }
    }
    return m_txn;
}

bool LmdbCache::failed(int rc, const char *what, Db db)
{
    if (rc == 0)
        return false;
    reset(QStringLiteral("LMDB failed %1 '%2': %3").arg(QLatin1String(what), QLatin1String(kDbNames[db]), lmdbMessage(rc)));
    return true;
}

std::optional<LmdbCache::Entry> LmdbCache::decode(Db db, QByteArrayView storedKey, QByteArrayView value)
{
    const Limits &limits = kLimits[db];
    const bool hashed = isHashedKey(storedKey);
    if (!hashed && storedKey.size() > kInlineKeyBytes)
        return std::nullopt;
    const qsizetype maxValue = kValueHeaderBytes + (hashed ? 10 + limits.maxKey : 0) + limits.maxPayload;
    if (value.size() < kValueHeaderBytes || value.size() > maxValue)
        return std::nullopt;
    ByteReader r(value, QStringLiteral("cache value"));
    if (r.u8() != kValueFormat || r.u64() != checksum(db, storedKey, value.sliced(kValueHeaderBytes)))
        return std::nullopt;
    Entry e;
    if (hashed) {
        e.key = r.blob(uint64_t(limits.maxKey)).toByteArray();
        if (!r.ok() || e.key.size() <= kInlineKeyBytes || storedKeyOf(e.key) != storedKey)
            return std::nullopt;
    } else {
        e.key = storedKey.toByteArray();
    }
    e.payload = r.bytes(r.remaining()).toByteArray();
    if (e.payload.size() < limits.minPayload || e.payload.size() > limits.maxPayload)
        return std::nullopt;
    return e;
}

std::optional<QByteArray> LmdbCache::get(Db db, QByteArrayView key)
{
    if (key.isEmpty() || key.size() > kLimits[db].maxKey)
        return std::nullopt;
    MDB_txn *t = txn();
    if (!t)
        return std::nullopt;
    const QByteArray storedKey = storedKeyOf(key);
    MDB_val k = valOf(storedKey), v;
    const int rc = mdb_get(t, m_dbi[db], &k, &v);
    if (rc == MDB_NOTFOUND || failed(rc, "reading", db))
        return std::nullopt;
    std::optional<Entry> e = decode(db, storedKey, viewOf(v));
    if (!e) {
        reset(QStringLiteral("a value in '%1' failed its check").arg(QLatin1String(kDbNames[db])));
        return std::nullopt;
    }
    if (e->key != key) // another key with the same first 400 bytes and SHA-256
        return std::nullopt;
    return std::move(e->payload);
}

void LmdbCache::put(Db db, QByteArrayView key, QByteArrayView payload)
{
    if (key.isEmpty() || key.size() > kLimits[db].maxKey)
        return;
    if (payload.size() < kLimits[db].minPayload || payload.size() > kLimits[db].maxPayload) {
        remove(db, key);
        return;
    }
    const QByteArray storedKey = storedKeyOf(key);
    const QByteArray value = encodeValue(db, storedKey, key, payload);
    // A full map (or transaction) resets the cache; the put then goes into the empty one.
    for (int attempt = 0; attempt < 2; ++attempt) {
        MDB_txn *t = txn();
        if (!t)
            return;
        MDB_val k = valOf(storedKey), v = valOf(value);
        const int rc = mdb_put(t, m_dbi[db], &k, &v, 0);
        m_txnWrote = true;
        if (!failed(rc, "writing", db) || (rc != MDB_MAP_FULL && rc != MDB_TXN_FULL))
            return;
    }
}

void LmdbCache::remove(Db db, QByteArrayView key)
{
    if (key.isEmpty() || key.size() > kLimits[db].maxKey)
        return;
    MDB_txn *t = txn();
    if (!t)
        return;
    const QByteArray storedKey = storedKeyOf(key);
    MDB_val k = valOf(storedKey);
    const int rc = mdb_del(t, m_dbi[db], &k, nullptr);
    if (rc != MDB_NOTFOUND) {
        m_txnWrote = true;
        failed(rc, "removing from", db);
    }
}

QByteArray LmdbCache::stamp() { return get(MetaDb, stampKey()).value_or(QByteArray()); }

void LmdbCache::setStamp(QByteArrayView stamp) { put(MetaDb, stampKey(), stamp); }

std::optional<Ruid> LmdbCache::pathId(const QString &path)
{
    const std::optional<QByteArray> id = get(PathsDb, path.toUtf8());
    if (!id)
        return std::nullopt;
    return Ruid::fromView(*id);
}

void LmdbCache::putPath(const QString &path, const Ruid &id) { put(PathsDb, path.toUtf8(), id.view()); }

void LmdbCache::invalidatePaths(const QString &path)
{
    const QByteArray p = path.toUtf8();
    if (p.isEmpty() || p == "/") {
        MDB_txn *t = txn();
        if (!t)
            return;
        m_txnWrote = true;
        failed(mdb_drop(t, m_dbi[PathsDb], 0), "emptying", PathsDb);
        return;
    }
    remove(PathsDb, p);
    if (p.size() < kMaxPathBytes)
        removeRange(p + '/');
}

// Removes the paths starting with prefix. Stored keys keep a path's first
// kInlineKeyBytes bytes, so they all sort inside the range of keys starting
// with the prefix's first kInlineKeyBytes bytes; a longer prefix needs the
// full path, kept in the value of a hashed key, to tell which are under it.
void LmdbCache::removeRange(const QByteArray &prefix)
{
    MDB_txn *t = txn();
    if (!t)
        return;
    const QByteArray scanned = prefix.left(kInlineKeyBytes);
    const bool needFullKey = prefix.size() > kInlineKeyBytes;
    int rc = 0;
    bool corrupt = false;
    {
        Cursor cursor(t, m_dbi[PathsDb]);
        rc = cursor.openError();
        MDB_val k = valOf(scanned), v;
        if (rc == 0)
            rc = cursor.get(&k, &v, MDB_SET_RANGE);
        while (rc == 0 && viewOf(k).startsWith(scanned)) {
            const QByteArray storedKey = viewOf(k).toByteArray();
            bool under = true;
            if (needFullKey) {
                under = false;
                if (isHashedKey(storedKey)) {
                    const std::optional<Entry> e = decode(PathsDb, storedKey, viewOf(v));
                    if (!e) {
                        corrupt = true;
                        break;
                    }
                    under = e->key.startsWith(prefix);
                }
            }
            if (!under) {
                rc = cursor.get(&k, &v, MDB_NEXT);
                continue;
            }
            if ((rc = cursor.del()) != 0)
                break;
            m_txnWrote = true;
            // Seek again rather than step: where a cursor stands after a
            // delete that merged pages is the subtle part of LMDB.
            k = valOf(storedKey);
            rc = cursor.get(&k, &v, MDB_SET_RANGE);
        }
    }
    if (corrupt)
        reset(QStringLiteral("a value in 'paths' failed its check"));
    else if (rc != MDB_NOTFOUND)
        failed(rc, "invalidating", PathsDb);
}

std::optional<QByteArray> LmdbCache::record(const Ruid &id) { return get(RecordsDb, id.view()); }

void LmdbCache::putRecord(const Ruid &id, QByteArrayView record) { put(RecordsDb, id.view(), record); }

void LmdbCache::removeRecord(const Ruid &id) { remove(RecordsDb, id.view()); }

std::optional<QByteArray> LmdbCache::blockLocation(QByteArrayView blockKey) { return get(BlocksDb, blockKey); }

void LmdbCache::putBlockLocation(QByteArrayView blockKey, QByteArrayView location) { put(BlocksDb, blockKey, location); }

void LmdbCache::removeBlockLocation(QByteArrayView blockKey) { remove(BlocksDb, blockKey); }

void LmdbCache::clear()
{
    MDB_txn *t = txn();
    if (!t)
        return;
    m_txnWrote = true;
    for (Db db : {PathsDb, RecordsDb, BlocksDb}) {
        if (failed(mdb_drop(t, m_dbi[db], 0), "emptying", db))
            return;
    }
    remove(MetaDb, stampKey());
}

Status LmdbCache::flush()
{
    if (m_txn) {
        MDB_txn *t = std::exchange(m_txn, nullptr);
        if (!std::exchange(m_txnWrote, false)) {
            mdb_txn_abort(t); // nothing to write: leave the file (and its seal) as it is
        } else {
            m_fileChanged = true;
            if (const int rc = mdb_txn_commit(t); rc != 0)
                reset(QStringLiteral("LMDB failed committing: %1").arg(lmdbMessage(rc)));
        }
    }
    return m_broken;
}

LmdbCache::Stats LmdbCache::stats()
{
    MDB_txn *t = txn();
    if (!t)
        return {};
    uint64_t counts[DbCount] = {};
    for (Db db : {PathsDb, RecordsDb, BlocksDb}) {
        MDB_stat st;
        if (failed(mdb_stat(t, m_dbi[db], &st), "counting", db))
            return {};
        counts[db] = st.ms_entries;
    }
    return {counts[PathsDb], counts[RecordsDb], counts[BlocksDb]};
}

} // namespace vd::cache
