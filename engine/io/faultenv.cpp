#include "faultenv.h"

namespace vd::io {

namespace {

class FaultFile final : public File
{
public:
    FaultFile(FaultEnv *env, std::unique_ptr<File> base) : m_env(env), m_base(std::move(base)) {}

    Status read(uint64_t offset, char *out, size_t len) override { return m_base->read(offset, out, len); }

    Status write(uint64_t offset, QByteArrayView data) override
    {
        switch (m_env->step()) {
        case FaultEnv::Fault::None: return m_base->write(offset, data);
        case FaultEnv::Fault::TornWrite:
            if (data.size() > 1)
                (void)m_base->write(offset, data.first(data.size() / 2));
            return m_env->deadStatus(QStringLiteral("write"));
        case FaultEnv::Fault::PowerCut: return m_env->deadStatus(QStringLiteral("write"));
        case FaultEnv::Fault::NoSpace:
            return Status::noSpace(QStringLiteral("cannot write '%1': No space left on device (injected)").arg(path()));
        case FaultEnv::Fault::IoError:
            return Status::ioError(QStringLiteral("cannot write '%1': Input/output error (injected)").arg(path()));
        }
        return Status::internal(QStringLiteral("unknown fault"));
    }

    Status sync() override
    {
        return m_env->guard(QStringLiteral("sync '%1'").arg(path()), [&] { return m_base->sync(); });
    }
    Status truncate(uint64_t size) override
    {
        return m_env->guard(QStringLiteral("truncate '%1'").arg(path()), [&] { return m_base->truncate(size); });
    }
    Status punchHole(uint64_t offset, uint64_t len) override
    {
        return m_env->guard(QStringLiteral("punch a hole in '%1'").arg(path()), [&] { return m_base->punchHole(offset, len); });
    }
    Status allocate(uint64_t offset, uint64_t len) override
    {
        return m_env->guard(QStringLiteral("allocate space for '%1'").arg(path()), [&] { return m_base->allocate(offset, len); });
    }
    Result<uint64_t> size() override { return m_base->size(); }
    QString path() const override { return m_base->path(); }
    void adviseWillNeed(uint64_t offset, uint64_t len) override { m_base->adviseWillNeed(offset, len); }
    void startWriteback(uint64_t offset, uint64_t len) override { m_base->startWriteback(offset, len); }

private:
    FaultEnv *m_env;
    std::unique_ptr<File> m_base;
};

} // namespace

void FaultEnv::arm(uint64_t step, Fault fault)
{
    m_steps = 0;
    m_armedAt = step;
    m_fault = fault;
    m_fired = false;
    m_dead = false;
}

void FaultEnv::disarm()
{
    m_armedAt = 0;
    m_fault = Fault::None;
    m_dead = false;
}

FaultEnv::Fault FaultEnv::step()
{
    if (m_dead)
        return Fault::PowerCut;
    const uint64_t n = ++m_steps;
    if (m_armedAt == 0 || n != m_armedAt)
        return Fault::None;
    m_fired = true;
    const Fault f = m_fault;
    if (f == Fault::PowerCut || f == Fault::TornWrite)
        m_dead = true;
    return f;
}

Status FaultEnv::deadStatus(const QString &what) const
{
    return Status::ioError(QStringLiteral("cannot %1: the power is off (injected power cut)").arg(what));
}

Result<std::unique_ptr<File>> FaultEnv::open(const QString &path, OpenMode mode)
{
    if (mode == OpenMode::CreateNew) {
        const Fault f = step();
        if (f == Fault::PowerCut || f == Fault::TornWrite)
            return deadStatus(QStringLiteral("create '%1'").arg(path));
        if (f == Fault::NoSpace)
            return Status::noSpace(QStringLiteral("cannot create '%1': No space left on device (injected)").arg(path));
        if (f == Fault::IoError)
            return Status::ioError(QStringLiteral("cannot create '%1': Input/output error (injected)").arg(path));
    }
    VD_TRY_ASSIGN(auto file, m_base->open(path, mode));
    return std::unique_ptr<File>(std::make_unique<FaultFile>(this, std::move(file)));
}

Status FaultEnv::makeDirs(const QString &dir)
{
    return guard(QStringLiteral("create directory '%1'").arg(dir), [&] { return m_base->makeDirs(dir); });
}

Status FaultEnv::syncDir(const QString &dir)
{
    return guard(QStringLiteral("sync directory '%1'").arg(dir), [&] { return m_base->syncDir(dir); });
}

Status FaultEnv::remove(const QString &path)
{
    return guard(QStringLiteral("remove '%1'").arg(path), [&] { return m_base->remove(path); });
}

Status FaultEnv::rename(const QString &from, const QString &to)
{
    return guard(QStringLiteral("rename '%1'").arg(from), [&] { return m_base->rename(from, to); });
}

} // namespace vd::io
