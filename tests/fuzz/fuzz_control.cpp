// Fuzzes the control protocol's frames (engine/control/frame.h): what a
// local client, or a node, can send the other side.
//
// Byte 0 bit 0 set: the rest is one frame body, for decodeBody. Clear: the
// rest is a byte stream, fed to a FrameReader in pieces of
// (byte 0 >> 1) + 1 bytes, as a socket would deliver it.
//
// Whatever decodes must survive a round trip: encoding it gives a frame that
// decodes to the same kind, and encoding that again gives the same bytes
// (the first encoding may differ from the input: unknown fields are dropped,
// definite and indefinite lengths are normalised). Whatever does not decode
// is a ProtocolError, and a reader that failed stays failed.
#include "fuzz_common.h"

#include "control/frame.h"

using namespace vd;
using namespace vd::control;

namespace {

void roundTrip(const Message &message)
{
    auto first = encodeFrame(message);
    if (!first) {
        // Only a message bigger than a frame may fail to encode.
        FUZZ_CHECK(first.status().code() == ErrorCode::InvalidArgument);
        return;
    }
    FUZZ_CHECK(first->size() >= 5);
    FUZZ_CHECK(fuzz::readU32(*first, 0) == uint32_t(first->size() - 4));
    auto again = decodeBody(QByteArrayView(*first).sliced(4));
    FUZZ_CHECK(again.isOk() && again->index() == message.index());
    auto second = encodeFrame(*again);
    FUZZ_CHECK(second.isOk() && *second == *first);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const QByteArrayView rest = fuzz::view(data, size).sliced(1);
    if (data[0] & 1) {
        auto message = decodeBody(rest);
        if (message)
            roundTrip(*message);
        else
            FUZZ_CHECK(message.status().code() == ErrorCode::ProtocolError);
        return 0;
    }
    const qsizetype piece = (data[0] >> 1) + 1;
    FrameReader reader;
    for (qsizetype at = 0; at < rest.size(); at += piece) {
        reader.append(rest.sliced(at, std::min(piece, rest.size() - at)));
        for (;;) {
            auto frame = reader.next();
            if (!frame) {
                FUZZ_CHECK(frame.status().code() == ErrorCode::ProtocolError && reader.hasFailed());
                FUZZ_CHECK(reader.next().status().code() == ErrorCode::ProtocolError);
                return 0;
            }
            if (!*frame)
                break;
            FUZZ_CHECK((*frame)->size >= 5 && (*frame)->size <= kMaxFrameBytes + 4);
            roundTrip((*frame)->message);
        }
    }
    const Status end = reader.atEnd();
    FUZZ_CHECK(end.isOk() == (reader.pendingBytes() == 0));
    return 0;
}
