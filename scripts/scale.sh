#!/usr/bin/env bash
# The scale benchmark: the same run at 10k, 100k and 1M jobs (RTT 0, batches of 100,
# tuned workers). wfbench's own peak RSS must stay flat and its time grow linearly with
# the jobs. Each run writes its report under OUT/scale-<jobs>/.
# Usage: scripts/scale.sh BIN OUT [JOBS...]
set -euo pipefail
bin=$1 out=$2
shift 2
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
mkdir -p "$out" # each run's log goes beside its folder, before the run creates it
# field prints the first numeric value of a JSON key in a file (0 when absent).
field() { { grep -o "\"$1\": *[0-9.e+-]*" "$2" || echo ": 0"; } | head -1 | sed 's/.*: *//'; }
printf '%-9s %10s %12s %12s %14s\n' jobs wall_s peak_rss_mb total_s us_per_job
for n in "${sizes[@]}"; do
	dir=$out/scale-$n
	start=$(date +%s.%N)
	"$bin" run --rtt 0 --batch 100 --poll tuned --jobs "$n" --progress none -o "$dir" > "$dir.log" 2>&1 || {
		echo "scale: run of $n jobs failed (exit $?), see $dir.log" >&2
		exit 1
	}
	end=$(date +%s.%N)
	res=$dir/result.json
	rss=$(field peak_rss_mb "$res")
	total=$(field total "$res")
	awk -v n="$n" -v s="$start" -v e="$end" -v rss="$rss" -v t="$total" \
		'BEGIN { printf "%-9d %10.1f %12.1f %12.1f %14.1f\n", n, e - s, rss, t, t * 1e6 / n }'
done
