// Status/Result and the bounds-checked ByteReader every decoder relies on.
#include "testsupport.h"

#include "core/bytes.h"
#include "core/hash.h"
#include "core/ruid.h"

using namespace vd;

class TestStatus : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void okStatusCarriesNothing()
    {
        Status s;
        QVERIFY(s.isOk());
        QCOMPARE(s.code(), ErrorCode::Ok);
        QCOMPARE(s.toString(), QStringLiteral("ok"));
        QCOMPARE(sizeof(Status), sizeof(void *));
    }

    void errorsKeepCodeAndMessage()
    {
        const Status s = Status::corruption(QStringLiteral("block 7 failed its checksum"));
        QCOMPARE(s.code(), ErrorCode::Corruption);
        QCOMPARE(s.toString(), QStringLiteral("corruption: block 7 failed its checksum"));
        const Status copy = s;
        QCOMPARE(copy.message(), s.message());
        QCOMPARE(s.withContext(QStringLiteral("reading idvd")).message(), QStringLiteral("reading idvd: block 7 failed its checksum"));
    }

    void resultHoldsValueOrStatus()
    {
        Result<int> good(42);
        QVERIFY(good.isOk());
        QCOMPARE(*good, 42);
        Result<int> bad(Status::notFound(QStringLiteral("nope")));
        QVERIFY(!bad.isOk());
        QCOMPARE(bad.status().code(), ErrorCode::NotFound);
        Result<int> misuse{Status()};
        QCOMPARE(misuse.status().code(), ErrorCode::Internal);
    }

    void readerRoundTripsEveryWidth()
    {
        QByteArray buf;
        ByteWriter w(&buf);
        w.u8(0xab);
        w.u16(0xbeef);
        w.u32(0xdeadbeef);
        w.u64(0x0123456789abcdefULL);
        w.varint(0);
        w.varint(300);
        w.varint(~uint64_t(0));
        w.blob("hello");
        ByteReader r(buf, QStringLiteral("test"));
        QCOMPARE(r.u8(), 0xab);
        QCOMPARE(r.u16(), 0xbeef);
        QCOMPARE(r.u32(), 0xdeadbeefu);
        QCOMPARE(r.u64(), 0x0123456789abcdefULL);
        QCOMPARE(r.varint(), 0u);
        QCOMPARE(r.varint(), 300u);
        QCOMPARE(r.varint(), ~uint64_t(0));
        QCOMPARE(r.blob(10).toByteArray(), QByteArray("hello"));
        VD_VERIFY_OK(r.finish());
    }

    void readerNeverReadsPastTheEnd()
    {
        const QByteArray buf("\x01\x02\x03", 3);
        ByteReader r(buf, QStringLiteral("short thing"));
        QCOMPARE(r.u16(), 0x0201);
        QCOMPARE(r.u32(), 0u); // only one byte left
        QVERIFY(!r.ok());
        QCOMPARE(r.u8(), 0); // sticky
        const Status s = r.status();
        QCOMPARE(s.code(), ErrorCode::Corruption);
        QVERIFY2(s.message().contains(QStringLiteral("short thing")), qPrintable(s.message()));
    }

    void readerRejectsHugeLengths()
    {
        QByteArray buf;
        ByteWriter w(&buf);
        w.varint(uint64_t(1) << 40); // claims a terabyte follows
        w.bytes("abc");
        ByteReader r(buf, QStringLiteral("blob"));
        QVERIFY(r.blob(1024).isEmpty());
        QVERIFY(!r.ok());
        QVERIFY(r.status().message().contains(QStringLiteral("exceeds the limit")));
    }

    void readerRejectsOverlongVarints()
    {
        const QByteArray buf(11, char(0xff));
        ByteReader r(buf, QStringLiteral("varint"));
        r.varint();
        QVERIFY(!r.ok());
    }

    void finishRejectsTrailingBytes()
    {
        const QByteArray buf(5, 'x');
        ByteReader r(buf, QStringLiteral("x"));
        r.u32();
        QCOMPARE(r.finish().code(), ErrorCode::Corruption);
    }

    void sha256MatchesKnownVector()
    {
        QCOMPARE(sha256("abc").toHex(), QStringLiteral("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        Sha256 inc;
        inc.add("a");
        inc.add("bc");
        QCOMPARE(inc.finish(), sha256("abc"));
    }

    void ruidParsesStrictly()
    {
        const Ruid r = Ruid::generate();
        QVERIFY(!r.isNull());
        auto back = Ruid::parse(r.toString());
        QVERIFY(back.isOk());
        QCOMPARE(*back, r);
        QVERIFY(!Ruid::parse(QStringLiteral("xyz")).isOk());
        QVERIFY(!Ruid::parse(r.toString().left(31) + QLatin1Char('g')).isOk());
        QVERIFY(!Ruid::parse(QString(32, QLatin1Char('0'))).isOk());
        QVERIFY(!Ruid::parse(QStringLiteral("../../../../etc/passwd/aaaaaaaaa")).isOk());
    }
};

QTEST_GUILESS_MAIN(TestStatus)
#include "tst_status.moc"
