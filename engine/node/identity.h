// NodeIdentity: the identity of the node a data directory belongs to.
//
//   <data dir>/node/key.pem    its private key: EC P-256, PKCS #8, PEM; mode 0600
//   <data dir>/node/cert.pem   a self-signed X.509 v3 certificate of that key, PEM
//
// One per data directory, never inside a collection folder, so copying a
// collection to another data directory does not copy who made its versions.
// The node id (nodeid.h) is the SHA-256 of the certificate's public key: the
// key is the identity, the certificate only presents it (to TLS peers, later).
//
// open() loads it, or makes it when the data directory has none (neither file
// exists). It never makes a new key over a damaged or missing one: a key file
// that is not a P-256 private key, one that others can read, a certificate
// that is not the key's, or a certificate without its key is an error naming
// the file and what to do. A missing certificate beside a good key (a crash
// between the two writes of the first open) is made again from the key; the
// node id does not change.
//
// The files are plain POSIX files, not written through io::Env: they need
// file modes (0600), an exclusive create and OpenSSL's PEM codecs, and are
// written once in a node's life. See FORMAT.md, "The node's identity", for
// the order of the writes.
//
// Thread safety: open() may run in several threads and processes at once on
// one data directory (every one gets the same identity); a NodeIdentity is an
// immutable value.
#pragma once

#include "nodeid.h"

#include "core/status.h"

#include <QByteArray>
#include <QString>

namespace vd::node {

class NodeIdentity
{
public:
    static constexpr qint64 kMaxFileBytes = 64 * 1024; // bound on what key.pem and cert.pem may hold

    // The identity of dataDir, made on first use. Errors: PermissionDenied
    // (key.pem open to other users or owned by another one), Corruption (a
    // damaged or missing key.pem; a damaged or mismatched cert.pem),
    // VersionMismatch (a sound key of another algorithm or curve), IoError.
    static Result<NodeIdentity> open(const QString &dataDir);
    // The same, but it never makes a key: NotFound when dataDir has no
    // identity. (A missing cert.pem beside a good key is made, as by open().)
    static Result<NodeIdentity> load(const QString &dataDir);

    static QString folder(const QString &dataDir); // <data dir>/node
    static QString keyPath(const QString &dataDir);
    static QString certificatePath(const QString &dataDir);

    const NodeId &id() const { return m_id; }
    // The certificate as cert.pem holds it (PEM), and in DER.
    const QByteArray &certificatePem() const { return m_certPem; }
    const QByteArray &certificateDer() const { return m_certDer; }
    // Whether this call made the key (false when it was there already).
    bool wasCreated() const { return m_created; }

private:
    NodeIdentity() = default;
    static Result<NodeIdentity> loadOrCreate(const QString &dataDir, bool create);

    NodeId m_id;
    QByteArray m_certPem;
    QByteArray m_certDer;
    bool m_created = false;
};

} // namespace vd::node
