#include "identity.h"

#include "core/ruid.h"

#include <QDir>
#include <QFile>
#include <QSaveFile>
#include <QStringList>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vd::node {

namespace {

template<auto F>
struct Free
{
    template<typename T>
    void operator()(T *p) const
    {
        F(p);
    }
};
using PKey = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using Cert = std::unique_ptr<X509, Free<X509_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO_free_all>>;
using BigNum = std::unique_ptr<BIGNUM, Free<BN_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;

constexpr const char *kCurve = "P-256";

// What OpenSSL's error queue says (and empties it), for a message.
QString sslError()
{
    QStringList reasons;
    while (const unsigned long e = ERR_get_error()) {
        const char *r = ERR_reason_error_string(e);
        const QString reason = r ? QString::fromLatin1(r) : QStringLiteral("error %1").arg(e, 0, 16);
        if (!reasons.contains(reason))
            reasons << reason;
    }
    return reasons.isEmpty() ? QStringLiteral("no detail") : reasons.join(QStringLiteral(", "));
}

QString errnoText(int err) { return QString::fromLocal8Bit(std::strerror(err)); }

// A key protected by a passphrase is refused, never prompted for.
int noPassphrase(char *, int, int, void *) { return -1; }

// Wipes key material before its memory goes back.
void wipe(QByteArray &bytes)
{
    if (!bytes.isEmpty())
        OPENSSL_cleanse(bytes.data(), size_t(bytes.size()));
    bytes.clear();
}

QByteArray bioBytes(BIO *bio)
{
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? QByteArray(data, qsizetype(n)) : QByteArray();
}

QByteArray spkiOfKey(EVP_PKEY *key)
{
    const int n = i2d_PUBKEY(key, nullptr);
    if (n <= 0)
        return {};
    QByteArray out(n, '\0');
    auto *p = reinterpret_cast<unsigned char *>(out.data());
    return i2d_PUBKEY(key, &p) == n ? out : QByteArray();
}

QByteArray spkiOfCertificate(X509 *cert)
{
    X509_PUBKEY *pub = X509_get_X509_PUBKEY(cert);
    const int n = pub ? i2d_X509_PUBKEY(pub, nullptr) : 0;
    if (n <= 0)
        return {};
    QByteArray out(n, '\0');
    auto *p = reinterpret_cast<unsigned char *>(out.data());
    return i2d_X509_PUBKEY(pub, &p) == n ? out : QByteArray();
}

Status syncDir(const QString &dir)
{
    const int fd = ::open(QFile::encodeName(dir).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return Status::ioError(QStringLiteral("cannot open %1: %2").arg(dir, errnoText(errno)));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0)
        return Status::ioError(QStringLiteral("cannot sync %1: %2").arg(dir, errnoText(err)));
    return {};
}

// A whole identity file, at most kMaxFileBytes. NotFound when it is not
// there. The private key must be a regular file of this user that nobody
// else may read or write (as ssh asks of its keys).
Result<QByteArray> readIdentityFile(const QString &path, bool privateKey)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT)
            return Status::notFound(QStringLiteral("%1 does not exist").arg(path));
        return Status::ioError(QStringLiteral("cannot open %1: %2").arg(path, errnoText(err)));
    }
    struct Closer
    {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st;
    if (::fstat(fd, &st) != 0)
        return Status::ioError(QStringLiteral("cannot stat %1: %2").arg(path, errnoText(errno)));
    if (!S_ISREG(st.st_mode))
        return Status::corruption(QStringLiteral("%1 is not a regular file").arg(path));
    if (privateKey && st.st_uid != ::geteuid())
        return Status::permissionDenied(QStringLiteral("%1 belongs to user %2, not to this user (%3): a node's private key is its own user's "
                                                       "(run vdrive as user %2, or chown the file)")
                                            .arg(path)
                                            .arg(st.st_uid)
                                            .arg(::geteuid()));
    if (privateKey && (st.st_mode & 077) != 0)
        return Status::permissionDenied(QStringLiteral("%1 is open to other users (mode %2): a node's private key must be private to its user; "
                                                       "run: chmod 600 '%1'")
                                            .arg(path)
                                            .arg(st.st_mode & 07777, 4, 8, QLatin1Char('0')));
    if (st.st_size > NodeIdentity::kMaxFileBytes)
        return Status::corruption(QStringLiteral("%1 is %2 bytes long, more than a node's key or certificate can be (%3)")
                                      .arg(path)
                                      .arg(st.st_size)
                                      .arg(NodeIdentity::kMaxFileBytes));
    QByteArray bytes(NodeIdentity::kMaxFileBytes + 1, '\0');
    qsizetype got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + got, size_t(bytes.size() - got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            wipe(bytes);
            return Status::ioError(QStringLiteral("cannot read %1: %2").arg(path, errnoText(err)));
        }
        if (n == 0)
            break;
        got += n;
    }
    if (got > NodeIdentity::kMaxFileBytes) { // it grew while being read
        wipe(bytes);
        return Status::corruption(QStringLiteral("%1 is more than %2 bytes long").arg(path).arg(NodeIdentity::kMaxFileBytes));
    }
    bytes.truncate(got);
    return bytes;
}

// What to do about a bad or missing key.pem (`what` names it in the advice).
QString keyAdvice(const QString &dataDir, const QString &what = QStringLiteral("it"))
{
    return QStringLiteral("restore %1 from a backup; or, to give this data directory a new identity (its peers will see a new node), "
                          "remove the folder %2")
        .arg(what, NodeIdentity::folder(dataDir));
}

Result<PKey> parseKey(QByteArray pem, const QString &dataDir)
{
    const QString path = NodeIdentity::keyPath(dataDir);
    ERR_clear_error();
    Bio bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    PKey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
    const bool encrypted = pem.contains("ENCRYPTED");
    wipe(pem);
    if (!key && encrypted)
        return Status::corruption(QStringLiteral("%1 holds a private key protected by a passphrase, which a node cannot ask for: write it "
                                                 "without one (openssl pkey -in OLD -out %1; then chmod 600 %1)")
                                      .arg(path));
    if (!key)
        return Status::corruption(QStringLiteral("%1 does not hold a private key in PEM (OpenSSL: %2): %3").arg(path, sslError(), keyAdvice(dataDir)));
    // A well-formed key of another kind may come from a later vdrive that
    // moved to another algorithm: a version mismatch, not damage.
    const QString otherKind = QStringLiteral("if a newer vdrive made it, use that one; otherwise %1").arg(keyAdvice(dataDir));
    if (!EVP_PKEY_is_a(key.get(), "EC"))
        return Status::versionMismatch(QStringLiteral("%1 holds an %2 key, and this vdrive's node keys are EC %3: %4")
                                           .arg(path, QString::fromLatin1(EVP_PKEY_get0_type_name(key.get())), QLatin1String(kCurve), otherKind));
    char group[64] = {};
    size_t groupLen = 0;
    if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &groupLen) != 1 || OBJ_txt2nid(group) != NID_X9_62_prime256v1)
        return Status::versionMismatch(QStringLiteral("%1 holds an EC key on the curve %2, and this vdrive's node keys are on %3: %4")
                                           .arg(path, QString::fromLatin1(group), QLatin1String(kCurve), otherKind));
    PKeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!ctx || EVP_PKEY_check(ctx.get()) != 1)
        return Status::corruption(QStringLiteral("%1 holds an EC key that fails its check (OpenSSL: %2): %3").arg(path, sslError(), keyAdvice(dataDir)));
    return key;
}

Result<PKey> generateKey()
{
    ERR_clear_error();
    PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", kCurve));
    if (!key)
        return Status::internal(QStringLiteral("OpenSSL could not make an EC %1 key: %2").arg(QLatin1String(kCurve), sslError()));
    return key;
}

Result<QByteArray> keyToPem(EVP_PKEY *key)
{
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return Status::internal(QStringLiteral("OpenSSL could not write the key: %1").arg(sslError()));
    QByteArray pem = bioBytes(bio.get());
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    if (n > 0)
        OPENSSL_cleanse(data, size_t(n));
    return pem;
}

Status addExtension(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    Extension ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
        return Status::internal(QStringLiteral("OpenSSL could not add the extension %1: %2").arg(QLatin1String(OBJ_nid2sn(nid)), sslError()));
    return {};
}

// A self-signed certificate of key: subject and issuer "CN=<node id>,
// O=vdrive", a random 127-bit serial, valid from the start of today (UTC)
// with no expiry (99991231235959Z, RFC 5280 §4.1.2.5), for TLS clients and
// servers alike, signed with ECDSA-SHA256. Peers pin the node id, not a CA.
Result<Cert> makeCertificate(EVP_PKEY *key, const NodeId &id)
{
    ERR_clear_error();
    Cert cert(X509_new());
    unsigned char serial[16];
    if (!cert || RAND_bytes(serial, sizeof serial) != 1)
        return Status::internal(QStringLiteral("OpenSSL could not start a certificate: %1").arg(sslError()));
    serial[0] = (serial[0] & 0x7f) | 0x40; // positive, and 16 bytes long
    BigNum bn(BN_bin2bn(serial, sizeof serial, nullptr));
    const std::time_t now = std::time(nullptr);
    const QByteArray cn = id.toString().toLatin1();
    X509_NAME *name = X509_get_subject_name(cert.get());
    bool ok = bn && X509_set_version(cert.get(), X509_VERSION_3) == 1 && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))
        && ASN1_TIME_set(X509_getm_notBefore(cert.get()), now - now % 86400) && ASN1_TIME_set_string_X509(X509_getm_notAfter(cert.get()), "99991231235959Z") == 1
        && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char *>(cn.constData()), -1, -1, 0) == 1
        && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char *>("vdrive"), -1, -1, 0) == 1
        && X509_set_issuer_name(cert.get(), name) == 1 && X509_set_pubkey(cert.get(), key) == 1;
    if (!ok)
        return Status::internal(QStringLiteral("OpenSSL could not fill in the certificate: %1").arg(sslError()));
    VD_TRY(addExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
    VD_TRY(addExtension(cert.get(), NID_key_usage, "critical,digitalSignature"));
    VD_TRY(addExtension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
    VD_TRY(addExtension(cert.get(), NID_subject_key_identifier, "hash"));
    if (X509_sign(cert.get(), key, EVP_sha256()) <= 0)
        return Status::internal(QStringLiteral("OpenSSL could not sign the certificate: %1").arg(sslError()));
    return cert;
}

Result<QByteArray> certificateToPem(X509 *cert)
{
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
        return Status::internal(QStringLiteral("OpenSSL could not write the certificate: %1").arg(sslError()));
    return bioBytes(bio.get());
}

QByteArray certificateToDer(X509 *cert)
{
    const int n = i2d_X509(cert, nullptr);
    if (n <= 0)
        return {};
    QByteArray out(n, '\0');
    auto *p = reinterpret_cast<unsigned char *>(out.data());
    return i2d_X509(cert, &p) == n ? out : QByteArray();
}

Status makeFolder(const QString &dataDir)
{
    if (!QDir().mkpath(dataDir))
        return Status::ioError(QStringLiteral("cannot create the data directory %1").arg(dataDir));
    const QString dir = NodeIdentity::folder(dataDir);
    if (::mkdir(QFile::encodeName(dir).constData(), 0700) != 0 && errno != EEXIST)
        return Status::ioError(QStringLiteral("cannot create %1: %2").arg(dir, errnoText(errno)));
    return syncDir(dataDir);
}

// Publishes a new key.pem only if there is none: written to a temporary file
// (0600, synced), then linked to key.pem, which fails when another process
// got there first (QSaveFile's rename would replace theirs). Returns whether
// this key is the one published.
Result<bool> publishKey(const QString &dataDir, const QByteArray &pem)
{
    const QString dir = NodeIdentity::folder(dataDir);
    const QByteArray tmp = QFile::encodeName(dir + QStringLiteral("/.key.pem.") + Ruid::generate().toString() + QStringLiteral(".tmp"));
    const int fd = ::open(tmp.constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return Status::ioError(QStringLiteral("cannot create a file in %1: %2").arg(dir, errnoText(errno)));
    auto failed = [&](const QString &what, int err) -> Status {
        ::close(fd);
        ::unlink(tmp.constData());
        return Status::ioError(QStringLiteral("%1 %2: %3").arg(what, QFile::decodeName(tmp), errnoText(err)));
    };
    if (::fchmod(fd, 0600) != 0) // whatever the umask
        return failed(QStringLiteral("cannot set the mode of"), errno);
    qsizetype done = 0;
    while (done < pem.size()) {
        const ssize_t n = ::write(fd, pem.constData() + done, size_t(pem.size() - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return failed(QStringLiteral("cannot write"), n < 0 ? errno : EIO);
        done += n;
    }
    if (::fsync(fd) != 0)
        return failed(QStringLiteral("cannot sync"), errno);
    ::close(fd);
    const QByteArray key = QFile::encodeName(NodeIdentity::keyPath(dataDir));
    const int rc = ::link(tmp.constData(), key.constData());
    const int err = errno;
    ::unlink(tmp.constData());
    if (rc != 0 && err != EEXIST)
        return Status::ioError(QStringLiteral("cannot create %1: %2").arg(QFile::decodeName(key), errnoText(err)));
    VD_TRY(syncDir(dir));
    return rc == 0;
}

Status writeCertificate(const QString &dataDir, const QByteArray &pem)
{
    const QString path = NodeIdentity::certificatePath(dataDir);
    QSaveFile f(path); // a temporary file, synced, renamed over cert.pem
    if (!f.open(QIODevice::WriteOnly) || f.write(pem) != pem.size() || !f.commit())
        return Status::ioError(QStringLiteral("cannot write %1: %2").arg(path, f.errorString()));
    return syncDir(NodeIdentity::folder(dataDir));
}

} // namespace

QString NodeIdentity::folder(const QString &dataDir) { return dataDir + QStringLiteral("/node"); }
QString NodeIdentity::keyPath(const QString &dataDir) { return folder(dataDir) + QStringLiteral("/key.pem"); }
QString NodeIdentity::certificatePath(const QString &dataDir) { return folder(dataDir) + QStringLiteral("/cert.pem"); }

Result<NodeIdentity> NodeIdentity::open(const QString &dataDir) { return loadOrCreate(dataDir, true); }
Result<NodeIdentity> NodeIdentity::load(const QString &dataDir) { return loadOrCreate(dataDir, false); }

Result<NodeIdentity> NodeIdentity::loadOrCreate(const QString &dataDir, bool create)
{
    const QString keyFile = keyPath(dataDir);
    const QString certFile = certificatePath(dataDir);
    NodeIdentity identity;

    auto keyPem = readIdentityFile(keyFile, true);
    struct stat st;
    if (!keyPem && keyPem.status().code() == ErrorCode::NotFound && ::lstat(QFile::encodeName(certFile).constData(), &st) == 0) {
        // Whoever makes the identity publishes key.pem before it writes
        // cert.pem: a certificate may have appeared since the key was read
        // because another process (or thread) made both meanwhile. Read the
        // key again before calling it missing.
        keyPem = readIdentityFile(keyFile, true);
        if (!keyPem && keyPem.status().code() == ErrorCode::NotFound)
            return Status::corruption(QStringLiteral("the node's private key %1 is missing, but its certificate %2 is there: %3")
                                          .arg(keyFile, certFile, keyAdvice(dataDir, QStringLiteral("key.pem"))));
    }
    if (!keyPem && keyPem.status().code() == ErrorCode::NotFound) {
        if (!create)
            return Status::notFound(QStringLiteral("%1 has no node identity yet (vdrive id makes one)").arg(dataDir));
        VD_TRY(makeFolder(dataDir));
        VD_TRY_ASSIGN(PKey fresh, generateKey());
        VD_TRY_ASSIGN(QByteArray pem, keyToPem(fresh.get()));
        auto published = publishKey(dataDir, pem);
        wipe(pem);
        if (!published)
            return published.takeStatus();
        identity.m_created = *published;
        // Read back what is now there (this key, or one made at the same
        // time elsewhere), through the same checks as every later open.
        keyPem = readIdentityFile(keyFile, true);
    }
    if (!keyPem && keyPem.status().code() == ErrorCode::Corruption)
        return Status::corruption(QStringLiteral("%1: %2").arg(keyPem.status().message(), keyAdvice(dataDir)));
    if (!keyPem)
        return keyPem.takeStatus();
    VD_TRY_ASSIGN(PKey key, parseKey(std::move(keyPem).value(), dataDir));
    const QByteArray spki = spkiOfKey(key.get());
    if (spki.isEmpty())
        return Status::internal(QStringLiteral("OpenSSL could not encode the public key of %1: %2").arg(keyFile, sslError()));
    identity.m_id = NodeId::fromSpki(spki);

    auto certPem = readIdentityFile(certFile, false);
    if (!certPem && certPem.status().code() == ErrorCode::NotFound) {
        // A key without its certificate: the first open stopped between the
        // two writes (or the file was removed). The certificate only presents
        // the key, so a new one keeps the node id.
        VD_TRY_ASSIGN(Cert made, makeCertificate(key.get(), identity.m_id));
        VD_TRY_ASSIGN(QByteArray pem, certificateToPem(made.get()));
        VD_TRY(writeCertificate(dataDir, pem));
        // Read back what is there now (ours, or one made at the same time
        // for the same key), through the same checks as every later open.
        certPem = readIdentityFile(certFile, false);
    }
    const QString remake = QStringLiteral("remove it, and vdrive makes a new one from key.pem (the node id stays %1)").arg(identity.m_id.toString());
    if (!certPem && certPem.status().code() == ErrorCode::Corruption)
        return Status::corruption(QStringLiteral("%1: %2").arg(certPem.status().message(), remake));
    if (!certPem)
        return certPem.takeStatus();
    ERR_clear_error();
    Bio bio(BIO_new_mem_buf(certPem->constData(), int(certPem->size())));
    Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
    if (!cert)
        return Status::corruption(QStringLiteral("%1 does not hold a certificate in PEM (OpenSSL: %2): %3").arg(certFile, sslError(), remake));
    const QByteArray certSpki = spkiOfCertificate(cert.get());
    if (certSpki != spki) {
        const QString other = certSpki.isEmpty() ? QStringLiteral("unreadable") : NodeId::fromSpki(certSpki).toString();
        return Status::corruption(QStringLiteral("%1 is not the certificate of %2: it carries another public key (node id %3; the key's is %4), "
                                                 "so the two files come from different identities. Put back the certificate that belongs to "
                                                 "key.pem, or %5")
                                      .arg(certFile, keyFile, other, identity.m_id.toString(), remake));
    }
    if (X509_verify(cert.get(), key.get()) != 1)
        return Status::corruption(QStringLiteral("%1 is not signed by its own key (OpenSSL: %2): it was altered; %3").arg(certFile, sslError(), remake));
    identity.m_certPem = std::move(certPem).value();
    identity.m_certDer = certificateToDer(cert.get());
    return identity;
}

} // namespace vd::node
