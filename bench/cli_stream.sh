#!/usr/bin/env bash
# bench/cli_stream.sh: one large file in and out through the `vdrive` command, as a
# user would run it, beside cp/cat + sync in the same run (docs/PERFORMANCE.md §13).
#
# The source: VD_BENCH_BYTES (default 1 GiB) of random bytes, written once to
# $VD_BENCH_DIR (default /var/tmp)/vdcli-XXXXXX/source.bin. Then VD_BENCH_RUNS
# (default 5) rounds; within a round the variants run in a random order, and
# before each timed command the page cache is dropped (sync; drop_caches, when
# permitted; then each program is run once, untimed, so that its own code is
# in the cache), so every variant reads its source from the disk:
#   put   cp      `cp source.bin copy; sync`
#         direct  `vdrive -c rK put source.bin /big; sync`, no node running: the
#                 command opens the collection itself (a fresh collection per
#                 round, so nothing is deduplicated against an earlier round)
#         served  the same command with `vdrive serve` running on its data
#                 directory: it goes through the control socket and runs in the node
#   get   cat     `cat source.bin > out; sync`
#         direct  `vdrive -c rK get /big out; sync` (no node), then cmp with the source
#         served  the same through the node
# The `sync` is inside the timing on both sides (put commits durably anyway;
# cp and get leave dirty pages). Each round prints its times and the ratios
# baseline/vdrive (above 1: vdrive is faster); the end prints the medians.
#
# Usage: bench/cli_stream.sh [VDRIVE_BINARY]   (default build/bench/app/vdrive/vdrive)
# Environment: VD_BENCH_DIR, VD_BENCH_BYTES (e.g. 256M, 1G), VD_BENCH_RUNS,
# VD_BENCH_MODES (default "direct served").
set -euo pipefail

VDRIVE=$(realpath "${1:-build/bench/app/vdrive/vdrive}")
BASE=${VD_BENCH_DIR:-/var/tmp}
BYTES=${VD_BENCH_BYTES:-1G}
RUNS=${VD_BENCH_RUNS:-5}
MODES=${VD_BENCH_MODES:-direct served}
WORK=$(mktemp -d "$BASE/vdcli-XXXXXX")
SERVE_PID=
cleanup() {
    [[ -n $SERVE_PID ]] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
[[ -x $VDRIVE ]] || { echo "cli_stream.sh: no vdrive binary at $VDRIVE" >&2; exit 2; }

drop() {
    sync
    if [[ -w /proc/sys/vm/drop_caches ]]; then echo 3 >/proc/sys/vm/drop_caches; fi
    # The programs themselves (vdrive's Qt and OpenSSL libraries, cp, cat)
    # back in the cache, as they are when a user runs them: only the data
    # is read from the disk.
    "$VDRIVE" --version >/dev/null
    cp --version >/dev/null
    cat --version >/dev/null
}
# elapsed CMD...: runs CMD (stdout discarded), prints its wall time in seconds.
elapsed() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", ns / 1e9 }'
}

SRC=$WORK/source.bin
count=$(numfmt --from=iec "$BYTES")
head -c "$count" /dev/urandom >"$SRC"
export VDRIVE_CACHE_DIR=$WORK/cache
for mode in $MODES; do
    mkdir -p "$WORK/$mode"
    for k in $(seq 1 "$RUNS"); do "$VDRIVE" --data-dir "$WORK/$mode" init "r$k" >/dev/null; done
done
if [[ $MODES == *served* ]]; then
    "$VDRIVE" --data-dir "$WORK/served" serve >"$WORK/serve.out" 2>&1 &
    SERVE_PID=$!
    for _ in $(seq 1 500); do grep -q serving "$WORK/serve.out" && break; sleep 0.01; done
    "$VDRIVE" --data-dir "$WORK/served" status | grep -q "pid $SERVE_PID" ||
        { echo "cli_stream.sh: the node is not serving" >&2; exit 1; }
fi

put_cp() { cp "$SRC" "$WORK/copy" && sync; }
put_vd() { "$VDRIVE" --data-dir "$WORK/$1" -c "r$2" put "$SRC" /big && sync; }
get_cat() { cat "$SRC" >"$WORK/out" && sync; }
get_vd() { "$VDRIVE" --data-dir "$WORK/$1" -c "r$2" get --force /big "$WORK/out" && sync; }

printf "%s bytes, %s rounds, modes: %s\n" "$count" "$RUNS" "$MODES"
declare -A T
for k in $(seq 1 "$RUNS"); do
    for v in $(printf '%s\n' cp $MODES | shuf); do
        drop
        if [[ $v == cp ]]; then T[put,cp,$k]=$(elapsed put_cp); rm -f "$WORK/copy"
        else T[put,$v,$k]=$(elapsed put_vd "$v" "$k"); fi
    done
    for v in $(printf '%s\n' cat $MODES | shuf); do
        drop
        if [[ $v == cat ]]; then T[get,cat,$k]=$(elapsed get_cat)
        else
            T[get,$v,$k]=$(elapsed get_vd "$v" "$k")
            cmp -s "$SRC" "$WORK/out" || { echo "cli_stream.sh: get ($v) gave other bytes" >&2; exit 1; }
        fi
        rm -f "$WORK/out"
    done
    line="round $k: put cp ${T[put,cp,$k]} s"
    for m in $MODES; do
        line+=", $m ${T[put,$m,$k]} s ($(awk -v a="${T[put,cp,$k]}" -v b="${T[put,$m,$k]}" 'BEGIN { printf "%.2f", a / b }')x)"
    done
    line+=" | get cat ${T[get,cat,$k]} s"
    for m in $MODES; do
        line+=", $m ${T[get,$m,$k]} s ($(awk -v a="${T[get,cat,$k]}" -v b="${T[get,$m,$k]}" 'BEGIN { printf "%.2f", a / b }')x)"
    done
    echo "$line"
done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratios() { # op base mode: the per-round ratios base/mode
    for k in $(seq 1 "$RUNS"); do awk -v a="${T[$1,$2,$k]}" -v b="${T[$1,$3,$k]}" 'BEGIN { printf "%.3f\n", a / b }'; done
}
mb() { awk -v s="$1" -v n="$count" 'BEGIN { printf "%.0f", n / s / 1e6 }'; }
for op in put get; do
    base=cp; [[ $op == get ]] && base=cat
    bt=$(for k in $(seq 1 "$RUNS"); do echo "${T[$op,$base,$k]}"; done | median)
    printf "%s median: %-6s %6s MB/s" "$op" "$base" "$(mb "$bt")"
    for m in $MODES; do
        mt=$(for k in $(seq 1 "$RUNS"); do echo "${T[$op,$m,$k]}"; done | median)
        rs=$(ratios "$op" "$base" "$m" | sort -n)
        printf " | %s %6s MB/s, ratio median %s (min %s)" "$m" "$(mb "$mt")" \
            "$(echo "$rs" | median)" "$(echo "$rs" | head -1)"
    done
    echo
done
if [[ $MODES == *served* && $MODES == *direct* ]]; then
    for op in put get; do
        rs=$(for k in $(seq 1 "$RUNS"); do awk -v a="${T[$op,direct,$k]}" -v b="${T[$op,served,$k]}" 'BEGIN { printf "%.3f\n", a / b }'; done | sort -n)
        echo "$op served/direct speed: median $(echo "$rs" | median) (min $(echo "$rs" | head -1))"
    done
fi
