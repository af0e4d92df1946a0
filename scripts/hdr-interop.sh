#!/usr/bin/env bash
# Reads a result's histograms back with HdrHistogram's Java implementation (an
# independent one) and checks that it agrees with wfbench: the encoded histograms in
# result.json decode to the same count, p50, p99 and max, and Java's percentile
# distribution of each matches wfbench's .hgrm file line for line. Each run's interval
# logs (.hlog) are read with Java's HistogramLogReader: their intervals' counts add up to
# the run's count for that timing point, interval by interval as result.json's series
# says, at the same interval starts.
#
#   scripts/hdr-interop.sh RESULT_DIR    (a folder written by wfbench run / scenario run)
#
# Installs default-jdk-headless and libhdrhistogram-java with apt-get when missing.
set -euo pipefail
dir=${1:?usage: scripts/hdr-interop.sh RESULT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
jar=/usr/share/java/hdrhistogram.jar
if ! command -v javac >/dev/null || [ ! -f "$jar" ]; then
	echo "hdr-interop: installing default-jdk-headless and libhdrhistogram-java with apt-get"
	sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends default-jdk-headless libhdrhistogram-java >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One file per histogram: <slug>.<point>.enc, named as wfbench names its .hgrm files,
# plus what result.json says its percentiles are.
python3 - "$dir/result.json" "$work" <<'PY'
import json, re, sys, collections
res = json.load(open(sys.argv[1]))
def slug(s):
    s = re.sub(r'[^a-z0-9.-]+', '_', s.lower()).strip('_')
    return s if s.strip('.') else 'run'
taken = collections.Counter()
for run in res['runs']:
    base = slug(run['name']); s = base; n = 2
    while taken[s]:
        s = f"{base}_{n}"; n += 1
    taken[s] += 1
    for point, enc in run['histograms'].items():
        open(f"{sys.argv[2]}/{s}.{point}.enc", 'w').write(enc)
        p = run['latency_ms'][point]
        open(f"{sys.argv[2]}/{s}.{point}.want", 'w').write(f"count={p['count']} p50={p['p50']} p99={p['p99']} max={p['max']}\n")
PY
fail=0; n=0
for enc in "$work"/*.enc; do
	name=$(basename "$enc" .enc)
	got=$(java -cp "$jar" "$here/interop/HdrInterop.java" "$enc" "$work/$name.java.hgrm")
	want=$(cat "$work/$name.want")
	# result.json keeps ms with 3 decimals; Java answers in µs.
	ok=$(python3 - "$got" "$want" <<'PY'
import sys
g = dict(kv.split('=') for kv in sys.argv[1].split())
w = dict(kv.split('=') for kv in sys.argv[2].split())
same = int(g['count']) == int(w['count']) and all(abs(int(g[k]) / 1000 - float(w[k])) <= 0.0011 for k in ('p50', 'p99', 'max'))
print('ok' if same else 'DIFFERS')
PY
)
	if ! diff -q "$work/$name.java.hgrm" "$dir/$name.hgrm" >/dev/null; then
		ok="$ok, .hgrm DIFFERS"; diff "$work/$name.java.hgrm" "$dir/$name.hgrm" | head -5
	else
		ok="$ok, .hgrm identical"
	fi
	printf '%-45s java: %-45s wfbench: %-40s %s\n' "$name" "$got" "$want" "$ok"
	n=$((n+1))
	case "$ok" in *DIFFERS*) fail=1 ;; esac
done
[ "$n" -gt 0 ] || { echo "hdr-interop: no histograms in $dir/result.json"; exit 1; }
[ "$fail" -eq 0 ] && echo "hdr-interop: $n histograms read back by HdrHistogram (Java) with the same figures; every .hgrm identical to Java's"

# Interval logs: what result.json says each holds (<file>.hwant: the series' interval
# count, starts and counts, and the run's count for the point).
python3 - "$dir/result.json" "$work" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
for run in res['runs']:
    series = (run.get('intervals') or {}).get('series', [])
    for point, name in (run.get('hlogs') or {}).items():
        starts = ','.join('%.3f' % s['start_s'] for s in series)
        counts = ','.join(str(s.get('latency_ms', {}).get(point, {}).get('count', 0)) for s in series)
        open(f"{sys.argv[2]}/{name}.hwant", 'w').write(
            f"intervals={len(series)} count={run['latency_ms'][point]['count']} starts={starts} counts={counts}\n")
PY
h=0
for want in "$work"/*.hwant; do
	[ -e "$want" ] || break
	name=$(basename "$want" .hwant)
	[ -f "$dir/$name" ] || { echo "$name: named in result.json, not in $dir"; fail=1; continue; }
	got=$(java -cp "$jar" "$here/interop/HlogInterop.java" "$dir/$name")
	ok=$(python3 - "$got" "$(cat "$want")" <<'PY'
import sys
g = dict(kv.split('=', 1) for kv in sys.argv[1].split())
w = dict(kv.split('=', 1) for kv in sys.argv[2].split())
# Java keeps each start as whole ms since the epoch (truncated): within 2 ms.
starts = lambda d: [float(x) for x in d['starts'].split(',') if x]
same = all(g[k] == w[k] for k in ('intervals', 'count', 'counts'))
same = same and len(starts(g)) == len(starts(w)) and all(abs(a - b) <= 0.002 for a, b in zip(starts(g), starts(w)))
print('ok' if same else 'DIFFERS')
PY
)
	field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$2"; }
	printf '%-45s java: %4s intervals, count %-8s result.json: %4s intervals, count %-8s %s\n' "$name" \
		"$(field intervals "$got")" "$(field count "$got")" "$(field intervals "$(cat "$want")")" "$(field count "$(cat "$want")")" "$ok"
	[ "$ok" = ok ] || { echo "  java:        $got"; echo "  result.json: $(cat "$want")"; fail=1; }
	h=$((h+1))
done
[ "$h" -gt 0 ] || { echo "hdr-interop: no interval logs named in $dir/result.json"; fail=1; }
[ "$fail" -eq 0 ] && echo "hdr-interop: $h interval logs read back by HdrHistogram's HistogramLogReader (Java): each interval's start and count as result.json's series says, adding up to the run's count"
exit "$fail"
