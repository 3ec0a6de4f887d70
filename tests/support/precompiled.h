// The headers nearly every test program includes, precompiled once per build
// and reused by each of them (tests/CMakeLists.txt, vd_test_pch): parsing Qt
// and the engine's headers was most of what compiling a test cost once the
// optimiser was off. Only headers that change rarely belong here; a test still
// includes what it uses itself.
#pragma once

#include <QBuffer>
#include <QByteArray>
#include <QCborMap>
#include <QCborValue>
#include <QDir>
#include <QFile>
#include <QFuture>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QString>
#include <QTemporaryDir>
#include <QTest>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "node/node.h"
#include "storage/collection.h"
#include "tree/drive.h"

#if defined(QT_WIDGETS_LIB)
#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QTreeView>
#endif
