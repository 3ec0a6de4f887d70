// What the crash-writer helper stores as object n, so a test can check it.
#pragma once

#include <QByteArray>

QByteArray crashWriterPayload(int n);
