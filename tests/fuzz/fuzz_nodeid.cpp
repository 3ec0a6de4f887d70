// Fuzzes NodeId::parse (node/nodeid.h), which reads node ids typed or pasted
// by people (and, later, sent by peers). The input is read as UTF-8 text.
//
// Whatever parses must be exactly what toString() writes once case,
// dashes and white space are set aside and 0/1/8 read as O/I/B (there is one
// text per id), and must print back to a text that parses to the same id.
// With 32 bytes of input, the bytes are also taken as an id: its text must
// parse back to it.
#include "fuzz_common.h"

#include "node/nodeid.h"

using namespace vd;
using namespace vd::node;

namespace {

// The input as parse() reads it: upper case, no separators, look-alike digits mapped.
QString normalised(const QString &text)
{
    QString out;
    for (QChar c : text) {
        const char16_t u = c.unicode();
        if (u == u'-' || u == u' ' || u == u'\t' || u == u'\n' || u == u'\r')
            continue;
        QChar d = c.toUpper();
        if (d == QLatin1Char('0'))
            d = QLatin1Char('O');
        else if (d == QLatin1Char('1'))
            d = QLatin1Char('I');
        else if (d == QLatin1Char('8'))
            d = QLatin1Char('B');
        out += d;
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView raw = fuzz::view(data, size);
    const QString text = QString::fromUtf8(raw);
    auto id = NodeId::parse(text);
    if (id) {
        const QString printed = id->toString();
        FUZZ_CHECK(printed.size() == NodeId::kTextLength);
        FUZZ_CHECK(normalised(text) == QString(printed).remove(QLatin1Char('-')));
        auto again = NodeId::parse(printed);
        FUZZ_CHECK(again && *again == *id);
    } else {
        FUZZ_CHECK(id.status().code() == ErrorCode::InvalidArgument);
    }
    if (size == size_t(NodeId::size)) {
        const NodeId asBytes = NodeId::fromView(raw);
        auto back = NodeId::parse(asBytes.toString());
        FUZZ_CHECK(back && *back == asBytes);
    }
    return 0;
}
