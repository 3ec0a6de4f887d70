#!/usr/bin/env bash
# bench/smallfiles.sh DIR [FILES]: the small-file source the ingest and restore
# benchmarks share (docs/PERFORMANCE.md §4 and §5).
#
# FILES (default 100,000) files of 1-16 KiB (uniform sizes) in 100 folders
# dir000..dir099; half random bytes, half text-like (words drawn from a small
# vocabulary: compressible). Generated with a fixed seed, so every machine
# gets the same bytes, and only when DIR.params (beside DIR) does not already
# describe what DIR holds.
set -euo pipefail

SRC=${1:?usage: bench/smallfiles.sh DIR [FILES]}
FILES=${2:-100000}
PARAMS="files=$FILES folders=100 sizes=1024-16384 seed=1"
if [[ -f $SRC.params && $(cat "$SRC.params") == "$PARAMS" ]]; then
    exit 0
fi
rm -rf "$SRC" "$SRC.params"
mkdir -p "$SRC"
echo "generating $FILES files in $SRC ..."
python3 - "$SRC" "$FILES" <<'PY'
import os, random, sys
src, files = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
# A vocabulary of 2,000 pseudo-words of 2-10 letters: text-like, compressible.
letters = "etaoinshrdlcumwfgypbvkjxqz"
weights = [12, 9, 8, 8, 7, 7, 6, 6, 6, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
vocab = ["".join(rng.choices(letters, weights, k=rng.randint(2, 10))) for _ in range(2000)]
for d in range(100):
    os.mkdir(os.path.join(src, "dir%03d" % d))
for i in range(files):
    size = rng.randint(1024, 16384)
    if i % 2 == 0:
        data = rng.randbytes(size)
    else:
        words, n = [], 0
        while n < size:
            w = rng.choice(vocab)
            words.append(w)
            n += len(w) + 1
            if rng.random() < 0.08:
                words.append("\n")
        data = " ".join(words).encode()[:size]
    with open(os.path.join(src, "dir%03d" % (i % 100), "file%06d.%s" % (i, "bin" if i % 2 == 0 else "txt")), "wb") as f:
        f.write(data)
PY
echo "$PARAMS" > "$SRC.params"
sync
