#include "hash.h"

#include <openssl/evp.h>

#include <cstring>

namespace vd {

bool Hash256::isNull() const
{
    for (uint8_t b : bytes)
        if (b)
            return false;
    return true;
}

Hash256 Hash256::fromView(QByteArrayView v)
{
    Hash256 h;
    if (v.size() == size)
        std::memcpy(h.bytes.data(), v.data(), size);
    return h;
}

QString Hash256::toHex() const
{
    return QString::fromLatin1(QByteArray(reinterpret_cast<const char *>(bytes.data()), size).toHex());
}

Hash256 sha256(QByteArrayView data)
{
    Hash256 h;
    unsigned int len = 0;
    EVP_Digest(data.data(), size_t(data.size()), h.bytes.data(), &len, EVP_sha256(), nullptr);
    return h;
}

struct Sha256::Ctx
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : m_ctx(std::make_unique<Ctx>())
{
    EVP_DigestInit_ex(m_ctx->md, EVP_sha256(), nullptr);
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256 &&) noexcept = default;
Sha256 &Sha256::operator=(Sha256 &&) noexcept = default;

void Sha256::add(QByteArrayView data)
{
    EVP_DigestUpdate(m_ctx->md, data.data(), size_t(data.size()));
}

Hash256 Sha256::finish()
{
    Hash256 h;
    unsigned int len = 0;
    EVP_DigestFinal_ex(m_ctx->md, h.bytes.data(), &len);
    EVP_DigestInit_ex(m_ctx->md, EVP_sha256(), nullptr);
    return h;
}

} // namespace vd
