#!/usr/bin/env bash
# bench/compare.sh runs the benchmarks of BENCHMARKS.md, each beside its
# baseline: every variant (SDK or plain client, proxy or bare ReverseProxy)
# in its own process, the variants alternating (ABBA order), RUNS times, and
# prints the medians with benchstat (go install golang.org/x/perf/cmd/benchstat@latest).
#
#	bench/compare.sh                 # RUNS=15 BENCHTIME=300ms
#	RUNS=25 bench/compare.sh root    # only the SDK benchmarks
#	OLD=/tmp/before bench/compare.sh # also run the binaries in $OLD (root.test,
#	                                 # localplane.test, built from an older commit)
#	                                 # in the same alternation, and compare
#
# Groups: root (Spawn, Status, SpawnParallel, StatusStream, StreamMemory) and
# localplane (SpawnToReady, ProxyThroughput). Raw results land in $OUT
# (default a new temporary directory) as new.txt and old.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-15}
BENCHTIME=${BENCHTIME:-300ms}
OUT=${OUT:-$(mktemp -d)}
groups=${*:-root localplane}
benchstat=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")

mkdir -p "$OUT/bin"
go test -c -o "$OUT/bin/root.test" .
go test -c -o "$OUT/bin/localplane.test" ./localplane/

# Each case: binary|-test.bench pattern[|benchtime] (so no "|" in a pattern). Cases on one line
# separated by ";" alternate with each other within a run.
cases_root=(
	"root|^BenchmarkSpawn\$/^sdk\$;root|^BenchmarkSpawn\$/^net-http\$"
	"root|^BenchmarkStatus\$/^sdk\$;root|^BenchmarkStatus\$/^net-http\$"
	"root|^BenchmarkSpawnParallel\$/^sdk\$;root|^BenchmarkSpawnParallel\$/^net-http\$"
	"root|^BenchmarkStatusStream\$/impl=sdk\$;root|^BenchmarkStatusStream\$/impl=plain\$"
	"root|^BenchmarkStreamMemory\$/impl=sdk/|1x;root|^BenchmarkStreamMemory\$/impl=plain/|1x"
	"root|^BenchmarkSpawnPaired\$"
	"root|^BenchmarkStatusPaired\$"
	"root|^BenchmarkSpawnParallelPaired\$"
)
cases_localplane=(
	"localplane|^BenchmarkSpawnToReady\$/^process\$"
	"localplane|^BenchmarkProxyThroughput\$"
	"localplane|^BenchmarkProxyPaired\$"
)

# Old binaries may name the variants without a key; give them one so that
# benchstat can put them in columns (-col /impl).
normalise() {
	sed -E -e 's#^(Benchmark[A-Za-z]+)/net-http([- ])#\1/plain\2#' \
		-e 's#^(Benchmark[A-Za-z]+)/(sdk|plain|direct|bare-reverseproxy|proxy|process|handler)([- ])#\1/impl=\2\3#'
}

run() { # run BIN-DIR BINARY PATTERN BENCHTIME
	local bin=$1/$2.test pattern=$3 benchtime=$4 dir=.
	[ -x "$bin" ] || return 0
	[ "$2" = localplane ] && dir=localplane
	(cd "$dir" && "$bin" -test.run '^$' -test.bench "$pattern" -test.benchmem \
		-test.benchtime "$benchtime" -test.count 1) | { grep -E '^(Benchmark|goos|goarch|pkg|cpu)' || true; } | normalise
}

: >"$OUT/new.txt"
: >"$OUT/old.txt"
for i in $(seq "$RUNS"); do
	echo "run $i/$RUNS" >&2
	for g in $groups; do
		eval 'list=("${cases_'"$g"'[@]}")'
		for line in "${list[@]}"; do
			IFS=';' read -ra variants <<<"$line"
			if ((i % 2 == 0)); then # ABBA: reverse every other run
				for ((k = 0, j = ${#variants[@]} - 1; k < j; k++, j--)); do
					t=${variants[k]}; variants[k]=${variants[j]}; variants[j]=$t
				done
			fi
			for v in "${variants[@]}"; do
				IFS='|' read -r b p t <<<"$v"
				run "$OUT/bin" "$b" "$p" "${t:-$BENCHTIME}" >>"$OUT/new.txt"
				if [ -n "${OLD:-}" ]; then run "$OLD" "$b" "$p" "${t:-$BENCHTIME}" >>"$OUT/old.txt"; fi
			done
		done
	done
done

echo "== medians of $RUNS alternating runs, each variant in its own process ($OUT/new.txt)"
# benchstat filters (golang.org/x/perf/benchproc/syntax): one table each.
"$benchstat" -col /impl -filter 'pkg:github.com/jamsocket-go/jamsocket -.name:/Paired$/' "$OUT/new.txt"
"$benchstat" -filter '.name:/Paired$/' "$OUT/new.txt"
if grep -q '^pkg: .*/localplane$' "$OUT/new.txt"; then
	"$benchstat" -col /impl -filter '.name:ProxyThroughput' "$OUT/new.txt"
	"$benchstat" -filter '.name:ProxyPaired' "$OUT/new.txt"
	"$benchstat" -filter '.name:SpawnToReady' "$OUT/new.txt"
fi
if [ -s "$OUT/old.txt" ]; then
	echo "== before ($OLD) against now"
	"$benchstat" -row .fullname "old=$OUT/old.txt" "new=$OUT/new.txt"
fi
