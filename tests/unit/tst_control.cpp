// The control socket (engine/control/): frames and their reader.
#include "testsupport.h"

#include "control/frame.h"

#include <QCborMap>
#include <QCborStreamWriter>



using namespace vd;
using namespace vd::control;

namespace {

QByteArray frameOf(const Message &m)
{
    auto f = encodeFrame(m);
    return f ? *f : QByteArray();
}

QByteArray le32(uint32_t n)
{
    QByteArray b(4, '\0');
    for (int i = 0; i < 4; ++i)
        b[i] = char((n >> (8 * i)) & 0xff);
    return b;
}

QByteArray rawFrame(const QByteArray &body) { return le32(uint32_t(body.size())) + body; }

QCborMap mapOf(std::initializer_list<std::pair<const char *, QCborValue>> fields)
{
    QCborMap m;
    for (const auto &[k, v] : fields)
        m.insert(QLatin1String(k), v);
    return m;
}

} // namespace

class TestControl : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    // --- frames -------------------------------------------------------------

    void everyKindRoundTripsByteByByte()
    {
        QCborArray items;
        items.append(1);
        items.append(QStringLiteral("two"));
        Chunk data;
        data.id = 9;
        data.seq = 3;
        data.data = QByteArray("\x00\x01payload", 9);
        Chunk itemChunk;
        itemChunk.id = 9;
        itemChunk.seq = 4;
        itemChunk.isItems = true;
        itemChunk.items = items;
        itemChunk.end = true;
        const std::vector<Message> messages = {
            Hello{1, QStringLiteral("vdrive ls")},
            Welcome{1, QStringLiteral("vdrive serve"), 4242},
            Request{7, QStringLiteral("ls"), mapOf({{"path", QStringLiteral("/a")}}), 1 << 20, true},
            Reply{7, {}, mapOf({{"entries", 3}})},
            Reply{8, Status::notFound(QStringLiteral("no '/b'")), {}},
            data,
            itemChunk,
            Credit{9, 65536},
            Cancel{9},
            Progress{9, 5, 10},
            Event{QStringLiteral("changes/docs"), mapOf({{"seq", 12}})},
            Error{Status::versionMismatch(QStringLiteral("speaks 2"))},
        };
        QByteArray stream;
        for (const Message &m : messages)
            stream += frameOf(m);
        FrameReader reader;
        std::vector<FrameReader::Frame> got;
        for (char byte : stream) {
            reader.append(QByteArrayView(&byte, 1));
            auto f = reader.next();
            VD_VERIFY_OK(f);
            if (*f)
                got.push_back(std::move(**f));
        }
        VD_VERIFY_OK(reader.atEnd());
        QCOMPARE(got.size(), messages.size());
        for (size_t i = 0; i < messages.size(); ++i) {
            QCOMPARE(got[i].message.index(), messages[i].index());
            QCOMPARE(frameOf(got[i].message), frameOf(messages[i]));
            QCOMPARE(qsizetype(got[i].size), frameOf(messages[i]).size());
        }
        const auto &request = std::get<Request>(got[2].message);
        QCOMPARE(request.method, QStringLiteral("ls"));
        QCOMPARE(request.credit, uint64_t(1) << 20);
        QVERIFY(request.upload);
        const auto &failed = std::get<Reply>(got[4].message);
        QCOMPARE(failed.error.code(), ErrorCode::NotFound);
        QCOMPARE(failed.error.message(), QStringLiteral("no '/b'"));
        QCOMPARE(std::get<Chunk>(got[5].message).data, data.data);
        QCOMPARE(std::get<Chunk>(got[6].message).items, items);
        QVERIFY(std::get<Chunk>(got[6].message).end);
        QCOMPARE(std::get<Error>(got[11].message).status.code(), ErrorCode::VersionMismatch);
    }

    void unknownFieldsAreIgnored()
    {
        QCborMap m = mapOf({{"kind", QStringLiteral("cancel")}, {"id", 5}, {"from-the-future", true}});
        auto decoded = decodeBody(m.toCborValue().toCbor());
        VD_VERIFY_OK(decoded);
        QCOMPARE(std::get<Cancel>(*decoded).id, uint64_t(5));
    }

    void errorCodesRoundTrip()
    {
        for (int c = int(ErrorCode::NotFound); c <= int(ErrorCode::Internal); ++c) {
            const Status s = statusFromWire(wireCodeName(ErrorCode(c)), QStringLiteral("m"));
            QCOMPARE(int(s.code()), c);
            QCOMPARE(s.message(), QStringLiteral("m"));
        }
        const Status unknown = statusFromWire(QStringLiteral("out-of-cheese"), QStringLiteral("m"));
        QCOMPARE(unknown.code(), ErrorCode::Internal);
        QVERIFY(unknown.message().contains(QStringLiteral("'out-of-cheese'")));
    }

    void badFramesAreClearErrors_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");

        QTest::newRow("oversize length, no body yet") << le32(kMaxFrameBytes + 1) << QStringLiteral("exceeds the bound of 1048576 bytes");
        QTest::newRow("4 GiB length") << le32(0xffffffffu) << QStringLiteral("frame of 4294967295 bytes");
        QTest::newRow("empty body") << rawFrame(QByteArray()) << QStringLiteral("not CBOR");
        QTest::newRow("not CBOR") << rawFrame(QByteArray("\xff\xfe garbage")) << QStringLiteral("not CBOR");
        QTest::newRow("cut CBOR") << rawFrame(QByteArray("\xa2\x64kind")) << QStringLiteral("not CBOR");
        QTest::newRow("array claims 2^64 items")
            << rawFrame(QByteArray("\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9)) << QStringLiteral("not CBOR");
        QTest::newRow("not a map") << rawFrame(QCborValue(42).toCbor()) << QStringLiteral("not a CBOR map");
        QTest::newRow("bytes after the item")
            << rawFrame(mapOf({{"kind", QStringLiteral("cancel")}, {"id", 1}}).toCborValue().toCbor() + QByteArray(1, '\0'))
            << QStringLiteral("1 bytes follow the CBOR item");
        QTest::newRow("no kind") << rawFrame(mapOf({{"id", 1}}).toCborValue().toCbor()) << QStringLiteral("without field 'kind'");
        QTest::newRow("unknown kind") << rawFrame(mapOf({{"kind", QStringLiteral("shout")}}).toCborValue().toCbor())
                                      << QStringLiteral("unknown kind 'shout'");
        QTest::newRow("request without id")
            << rawFrame(mapOf({{"kind", QStringLiteral("request")}, {"method", QStringLiteral("ls")}}).toCborValue().toCbor())
            << QStringLiteral("a request without field 'id'");
        QTest::newRow("id as text")
            << rawFrame(mapOf({{"kind", QStringLiteral("cancel")}, {"id", QStringLiteral("1")}}).toCborValue().toCbor())
            << QStringLiteral("field 'id' of a cancel is not an unsigned integer");
        QTest::newRow("negative id") << rawFrame(mapOf({{"kind", QStringLiteral("cancel")}, {"id", -1}}).toCborValue().toCbor())
                                     << QStringLiteral("field 'id' of a cancel is not an unsigned integer");
        QTest::newRow("method too long")
            << rawFrame(mapOf({{"kind", QStringLiteral("request")}, {"id", 1}, {"method", QString(300, QLatin1Char('m'))}})
                            .toCborValue()
                            .toCbor())
            << QStringLiteral("longer than 256 characters");
        QTest::newRow("reply with ok and error")
            << rawFrame(mapOf({{"kind", QStringLiteral("reply")},
                               {"id", 1},
                               {"ok", 1},
                               {"error", mapOf({{"code", QStringLiteral("busy")}, {"message", QStringLiteral("m")}})}})
                            .toCborValue()
                            .toCbor())
            << QStringLiteral("exactly one of 'ok' and 'error'");
        QTest::newRow("chunk without payload")
            << rawFrame(mapOf({{"kind", QStringLiteral("chunk")}, {"id", 1}, {"seq", 0}}).toCborValue().toCbor())
            << QStringLiteral("exactly one of 'data' and 'items'");
        QTest::newRow("error frame saying ok")
            << rawFrame(mapOf({{"kind", QStringLiteral("error")}, {"code", QStringLiteral("ok")}, {"message", QString()}})
                            .toCborValue()
                            .toCbor())
            << QStringLiteral("code 'ok'");
        {
            QByteArray twice;
            QCborStreamWriter w(&twice);
            w.startMap(3);
            w.append(QLatin1String("kind"));
            w.append(QLatin1String("cancel"));
            w.append(QLatin1String("id"));
            w.append(1);
            w.append(QLatin1String("id"));
            w.append(2);
            w.endMap();
            QTest::newRow("a key twice") << rawFrame(twice) << QStringLiteral("key 'id' twice");
        }
        {
            QCborMap m = mapOf({{"kind", QStringLiteral("cancel")}, {"id", 1}});
            m.insert(7, 8);
            QTest::newRow("a key not text") << rawFrame(m.toCborValue().toCbor()) << QStringLiteral("not text");
        }
        {
            // 100,000 nested arrays: the parser would recurse that deep.
            const QByteArray prefix("\xa3\x64kind\x67request\x62id\x01\x64" "args"); // {kind: request, id: 1, args: …}
            QByteArray deep = prefix;
            deep += QByteArray(100000, '\x81') + QByteArray(1, '\x01');
            QTest::newRow("arrays nested 100,000 deep") << rawFrame(deep) << QStringLiteral("nests deeper than 300 levels");
            QByteArray tags = prefix;
            for (int i = 0; i < 1000; ++i)
                tags += QByteArray("\xd8\x20", 2); // tag 32 (URI)
            tags += QByteArray("\x61x", 2);
            QTest::newRow("tags nested 1,000 deep") << rawFrame(tags) << QStringLiteral("nests deeper than 300 levels");
        }
    }

    void badFramesAreClearErrors()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        FrameReader reader;
        // A good frame first: the error comes after it, not instead of it.
        reader.append(frameOf(Cancel{1}));
        auto good = reader.next();
        VD_VERIFY_OK(good);
        QVERIFY(good->has_value());
        reader.append(bytes);
        auto bad = reader.next();
        VD_VERIFY_CODE(bad, ErrorCode::ProtocolError);
        QVERIFY2(bad.status().message().contains(expected), qPrintable(bad.status().message()));
        // Sticky: a stream cannot be resynchronised.
        reader.append(frameOf(Cancel{2}));
        VD_VERIFY_CODE(reader.next(), ErrorCode::ProtocolError);
        QVERIFY(reader.hasFailed());
    }

    void aTruncatedFrameIsNamedAtTheEnd()
    {
        const QByteArray frame = frameOf(Request{1, QStringLiteral("ls"), QCborValue(QStringLiteral("/")), 0, false});
        FrameReader reader;
        reader.append(frame.left(frame.size() - 3));
        auto f = reader.next();
        VD_VERIFY_OK(f);
        QVERIFY(!f->has_value());
        const Status end = reader.atEnd();
        QCOMPARE(end.code(), ErrorCode::ProtocolError);
        QVERIFY2(end.message().contains(QStringLiteral("inside a frame (%1 of %2 bytes)").arg(frame.size() - 7).arg(frame.size() - 4)),
                 qPrintable(end.message()));
        FrameReader header;
        header.append(QByteArray(2, '\x01'));
        QVERIFY(header.atEnd().message().contains(QStringLiteral("inside a frame's length (2 of 4 bytes)")));
    }

    void tooBigToEncodeIsRefused()
    {
        auto f = encodeFrame(Reply{1, {}, QByteArray(qsizetype(kMaxFrameBytes), 'x')});
        VD_VERIFY_CODE(f, ErrorCode::InvalidArgument);
        QVERIFY(f.status().message().contains(QStringLiteral("exceeds the bound")));
    }

};

QTEST_GUILESS_MAIN(TestControl)
#include "tst_control.moc"
