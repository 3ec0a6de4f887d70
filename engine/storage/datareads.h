// Reading an owner's bytes out of one catalog: the code the collection's
// writer and the pinned readers (readertable.h) share. Where a piece's bytes
// come from is the caller's: the writer reads through its working state,
// a pinned reader through its generation's records.
//
// Internal to engine/storage. Thread safety: as the piece functions given.
#pragma once

#include "catalogreader.h"
#include "collection.h"
#include "records.h"

#include <QFuture>
#include <QIODevice>

#include <functional>

namespace vd::storage {

class IdvdFile;

// Bytes [from, from + length) of one piece, verified (a content piece in a
// data block: only the 1 MiB chunks the range touches are read and checked).
using ReadPieceFn = std::function<Result<QByteArray>(const Piece &, uint64_t from, uint64_t length)>;
// How streamOwner gets one piece: a data block of named content held here
// is read and checked chunk by chunk by streamOwner itself (`block`: its
// location, the block's header and chunk list already checked against the
// name); any other piece arrives whole (`bytes`: being read or checked).
struct PieceRead
{
    std::optional<LocationRecord> block;
    QFuture<Result<QByteArray>> bytes;
};
using StartReadFn = std::function<Result<PieceRead>(const Piece &)>;

// The bytes of a zero piece (full-size ones share one buffer).
QByteArray zeroBytes(uint32_t length);

// Named content (catalog format 3). What a reference to content with no
// location here, or one held elsewhere, reads as.
Status notHere(const Hash256 &name, uint32_t length);
// The location record's answer for a content piece: NotHere when there is
// none or it is held elsewhere, Corruption when it disagrees with the piece.
Result<LocationRecord> placedContent(const std::optional<QByteArray> &raw, const Piece &piece);
// Checks a data block's chunk list against the name and its header against
// the location record.
Status checkNamedBlock(IdvdFile &idvd, const Hash256 &name, const LocationRecord &loc);
// Checks the block (as above), then reads bytes [from, from + length) of
// it, each chunk they touch verified.
Result<QByteArray> readNamedBlock(IdvdFile &idvd, const Hash256 &name, const LocationRecord &loc, uint64_t from, uint64_t length);
// A packed payload read back (its raw SHA-256 already checked) against its name.
Status checkSlotName(const Hash256 &name, const LocationRecord &loc, QByteArrayView bytes);
// Writes an owner of `size` bytes to out, read a few chunks ahead (data
// blocks from idvd).
Status streamOwner(IdvdFile &idvd, CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress, const QString &what,
                   const StartReadFn &startRead);
// Bytes [offset, offset + length) of an owner of `size` bytes (at most 1 GiB).
Result<QByteArray> readOwnerRange(CatalogReader &catalog, const Ruid &owner, uint64_t size, uint64_t offset, uint64_t length, const QString &what,
                                  const ReadPieceFn &readPiece);

} // namespace vd::storage
