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

// The bytes of one piece, verified.
using ReadPieceFn = std::function<Result<QByteArray>(const Piece &)>;
// Starts reading one piece; the future holds its verified bytes.
using StartReadFn = std::function<Result<QFuture<Result<QByteArray>>>(const Piece &)>;

// The bytes of a zero piece (full-size ones share one buffer).
QByteArray zeroBytes(uint32_t length);
// Writes an owner of `size` bytes to out, pieces read a few ahead.
Status streamOwner(CatalogReader &catalog, const Ruid &owner, uint64_t size, QIODevice &out, const ProgressFn &progress, const QString &what,
                   const StartReadFn &startRead);
// Bytes [offset, offset + length) of an owner of `size` bytes (at most 1 GiB).
Result<QByteArray> readOwnerRange(CatalogReader &catalog, const Ruid &owner, uint64_t size, uint64_t offset, uint64_t length, const QString &what,
                                  const ReadPieceFn &readPiece);

} // namespace vd::storage
