// Fuzzes the decoders of the DriveApi's values on the control socket
// (engine/control/apicodec.h): what a client or a node in another process
// can send. Byte 0 picks the decoder (modulo 13; 11: a JSON document's
// stream of values; 12: a list of RUIDs; 'M', 'O' and 'F', before the
// modulo: the block map's, the block owners' and a check's (fsck) streams
// of items); the rest is CBOR.
//
// Whatever decodes must survive a round trip: encoding it and decoding that
// gives a value that encodes to the same CBOR. Whatever does not decode is a
// ProtocolError.
#include "fuzz_common.h"

#include "control/apicodec.h"

using namespace vd;
using namespace vd::control::codec;

namespace {

template<typename T, typename Decode, typename Encode>
void check(const QCborValue &v, Decode decode, Encode encode)
{
    Result<T> first = decode(v);
    if (!first) {
        FUZZ_CHECK(first.status().code() == ErrorCode::ProtocolError);
        return;
    }
    const QCborValue once = QCborValue(encode(*first));
    Result<T> second = decode(once);
    FUZZ_CHECK(second.isOk());
    FUZZ_CHECK(QCborValue(encode(*second)).toCbor() == once.toCbor());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    QCborParserError error;
    const QCborValue v = QCborValue::fromCbor(QByteArray(reinterpret_cast<const char *>(data) + 1, qsizetype(size - 1)), &error);
    if (error.error != QCborError::NoError)
        return 0;
    if (data[0] == 'F') {
        if (v.isArray()) {
            auto r = toFsckReport(v.toArray());
            FUZZ_CHECK(r.isOk() || r.status().code() == ErrorCode::ProtocolError);
            if (r) {
                auto again = toFsckReport(fromFsckReport(*r));
                FUZZ_CHECK(again.isOk() && fromFsckReport(*again).toCborValue().toCbor() == fromFsckReport(*r).toCborValue().toCbor());
            }
        }
        return 0;
    }
    if ((data[0] == 'M' || data[0] == 'O') && v.isArray()) {
        if (data[0] == 'M') {
            auto m = toBlockMap(v.toArray(), 1);
            FUZZ_CHECK(m.isOk() || m.status().code() == ErrorCode::ProtocolError);
            if (m) {
                auto again = toBlockMap(fromBlockMap(*m), 1);
                FUZZ_CHECK(again.isOk() && fromBlockMap(*again).toCborValue().toCbor() == fromBlockMap(*m).toCborValue().toCbor());
            }
        } else {
            auto o = toBlockOwners(v.toArray(), 1);
            FUZZ_CHECK(o.isOk() || o.status().code() == ErrorCode::ProtocolError);
            if (o) {
                auto again = toBlockOwners(fromBlockOwners(*o), 1);
                FUZZ_CHECK(again.isOk() && fromBlockOwners(*again).toCborValue().toCbor() == fromBlockOwners(*o).toCborValue().toCbor());
            }
        }
        return 0;
    }
    switch (data[0] % 13) {
    case 0: check<tree::VNode>(v, toVNode, fromVNode); break;
    case 1: check<client::CollectionSummary>(v, toCollection, fromCollection); break;
    case 2: check<client::Usage>(v, toUsage, fromUsage); break;
    case 3: check<tree::TrashEntry>(v, toTrashEntry, fromTrashEntry); break;
    case 4: check<tree::SnapshotInfo>(v, toSnapshot, fromSnapshot); break;
    case 5: check<tree::DiffEntry>(v, toDiffEntry, fromDiffEntry); break;
    case 6: check<tree::ChangeRecord>(v, toChange, fromChange); break;
    case 7: check<transfer::TransferProgress>(v, toProgress, fromProgress); break;
    case 8: check<client::TransferReport>(v, toReport, fromReport); break;
    case 9: check<tree::ClusterInfo>(v, toCluster, fromCluster); break;
    case 11:
        if (v.isArray()) {
            auto t = toJsonTree(v.toArray(), 1);
            FUZZ_CHECK(t.isOk() || t.status().code() == ErrorCode::ProtocolError);
            if (t) {
                auto again = toJsonTree(fromJsonTree(*t), 1);
                FUZZ_CHECK(again.isOk() && fromJsonTree(*again).toCborValue().toCbor() == fromJsonTree(*t).toCborValue().toCbor());
            }
        }
        break;
    case 12: check<std::vector<Ruid>>(v, [](const QCborValue &x) { return toRuidList(x, "ids"); }, fromRuidList); break;
    case 10: {
        auto r = toRuid(v, "ruid");
        FUZZ_CHECK(r.isOk() || r.status().code() == ErrorCode::ProtocolError);
        break;
    }
    }
    return 0;
}
