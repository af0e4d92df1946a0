#!/usr/bin/env bash
# malformed.sh — issue 13's bad-input transcript: starts `wfbench serve all` on loopback
# ports of its own, sends malformed requests to its API (each must get a 4xx), checks
# that /healthz still answers 200 and that a 7.9 KB gzip batch bomb leaves the API's RSS
# within 64 MB, and stops the server on exit.
#
#   scripts/malformed.sh               # builds bin/wfbench-malformed first
#   WFBENCH=bin/wfbench scripts/malformed.sh
#
# Exit 0 when every malformed request got a 4xx, /healthz answered 200 and the bomb grew
# the RSS by less than 64 MB; 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

API=127.0.0.1:${MALFORMED_API_PORT:-18080}
FAKTORY=127.0.0.1:${MALFORMED_FAKTORY_PORT:-17419}
BASE=http://$API
tmp=$(mktemp -d /tmp/wfbench-malformed.XXXXXX)
pid=

stop() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid" # as Ctrl-C: the parts stop in order, redis-server with them
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

bin=${WFBENCH:-}
if [[ -z $bin ]]; then
	export PATH=/usr/local/go/bin:$PATH
	bin=$tmp/wfbench
	go build -o "$bin" ./cmd/wfbench || exit 1
fi

"$bin" serve all --bind-api "$API" --bind-faktory "$FAKTORY" >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
	[[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz") == 200 ]] && break
	kill -0 "$pid" 2>/dev/null || { echo "wfbench serve all exited:"; cat "$tmp/serve.log"; exit 1; }
	sleep 0.1
done

# The inputs.
big_id=$(head -c 102400 /dev/zero | tr '\0' 'x')                         # 100 KB request_id
printf '{"a":1,"b":2,"request_id":"%s"}' "$big_id" >"$tmp/big-id.json"
pad=$(head -c 70000 /dev/zero | tr '\0' 'p')                               # a 70 KB header
long_run=$(head -c 65 /dev/zero | tr '\0' 'r')                             # run header over 64 bytes
python3 - "$tmp" <<'EOF'
import gzip, sys
d = sys.argv[1]
items = lambda n: b'{"jobs":[' + b','.join([b'{"type":"add","a":1,"b":2}'] * n) + b']}'
open(d + "/over-limit.json", "wb").write(items(1001))
# 2.7M empty objects, 8.1 MB inflated (under the 8 MiB body limit), 7.9 KB compressed.
open(d + "/bomb.gz", "wb").write(gzip.compress(b'{"jobs":[' + b",".join([b"{}"] * 2_700_000) + b"]}", 9))
open(d + "/huge.json", "wb").write(b'{"a":1,"b":2,"request_id":"' + b"x" * (9 << 20) + b'"}')
EOF

n=0 bad=0
# send DESCRIPTION CURL-ARGS...: one request, one line: number, status, description.
send() {
	local desc=$1
	shift
	local code
	code=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 30 "$@")
	n=$((n + 1))
	printf '%03d  %s  %s\n' "$n" "$code" "$desc"
	if [[ $code != 4?? ]]; then
		bad=$((bad + 1))
		echo "     ^ not a 4xx; body: $(head -c 300 "$tmp/body")"
	fi
}
json=(-H 'Content-Type: application/json')

send "POST /jobs/add with a 100 KB request_id" "${json[@]}" --data-binary @"$tmp/big-id.json" "$BASE/jobs/add"
send "GET /jobs/{100 KB request_id} (request line over 64 KiB)" "$BASE/jobs/$big_id"
send "GET /jobs/{request_id with a space}" "$BASE/jobs/a%20b"
for ep in /jobs/add /jobs/batch /jobs/some-id /completions /healthz /metrics /ping; do
	for m in PUT DELETE PATCH; do
		send "$m $ep (wrong method)" -X "$m" "$BASE$ep"
	done
done
send "GET /completions (wrong method)" "$BASE/completions"
for ep in /jobs/add /jobs/batch /completions; do
	send "cross-origin text/plain POST $ep (Origin: https://evil.example)" -H 'Content-Type: text/plain' \
		-H 'Origin: https://evil.example' --data-binary '{"a":1,"b":2}' "$BASE$ep"
done
send "cross-site POST /jobs/add (Sec-Fetch-Site: cross-site, application/json)" "${json[@]}" \
	-H 'Sec-Fetch-Site: cross-site' --data-binary '{"a":1,"b":2}' "$BASE/jobs/add"
send "POST /jobs/add, Content-Type text/plain (same origin)" -H 'Content-Type: text/plain' --data-binary '{"a":1,"b":2}' "$BASE/jobs/add"
send "POST /jobs/add, Content-Type application/x-www-form-urlencoded" --data 'a=1&b=2' "$BASE/jobs/add"
send "POST /jobs/add, bad JSON" "${json[@]}" --data-binary 'not json' "$BASE/jobs/add"
send "POST /jobs/add, truncated JSON" "${json[@]}" --data-binary '{"a":1,"b":' "$BASE/jobs/add"
send "POST /jobs/add, trailing data after the object" "${json[@]}" --data-binary '{"a":1,"b":2} {}' "$BASE/jobs/add"
send "POST /jobs/add, empty body" "${json[@]}" --data-binary '' "$BASE/jobs/add"
send "POST /jobs/add, wrong type (a is a string)" "${json[@]}" --data-binary '{"a":"one","b":2}' "$BASE/jobs/add"
send "POST /jobs/add, wrong type (request_id is a number)" "${json[@]}" --data-binary '{"a":1,"b":2,"request_id":7}' "$BASE/jobs/add"
send "POST /jobs/add, b missing" "${json[@]}" --data-binary '{"a":1}' "$BASE/jobs/add"
send "POST /jobs/add, unknown field" "${json[@]}" --data-binary '{"a":1,"b":2,"c":3}' "$BASE/jobs/add"
send "POST /jobs/add, request_id with a space" "${json[@]}" --data-binary '{"a":1,"b":2,"request_id":"a b"}' "$BASE/jobs/add"
send "POST /jobs/pow (unknown operation)" "${json[@]}" --data-binary '{"a":1,"b":2}' "$BASE/jobs/pow"
send "POST /jobs/batch, unknown operation in an item" "${json[@]}" --data-binary '{"jobs":[{"type":"pow","a":1,"b":2}]}' "$BASE/jobs/batch"
send "POST /jobs/batch, jobs not an array" "${json[@]}" --data-binary '{"jobs":{}}' "$BASE/jobs/batch"
send "POST /jobs/batch, empty batch" "${json[@]}" --data-binary '{"jobs":[]}' "$BASE/jobs/batch"
send "POST /jobs/batch, 1001 jobs (over FAKTORY_MAX_BATCH_SIZE=1000)" "${json[@]}" --data-binary @"$tmp/over-limit.json" "$BASE/jobs/batch"
send "POST /jobs/add, 9 MiB body (over the 8 MiB limit)" "${json[@]}" --data-binary @"$tmp/huge.json" "$BASE/jobs/add"
send "POST /jobs/add, Content-Encoding gzip on a plain body" "${json[@]}" -H 'Content-Encoding: gzip' --data-binary '{"a":1,"b":2}' "$BASE/jobs/add"
send "POST /jobs/add, Content-Encoding br (unsupported)" "${json[@]}" -H 'Content-Encoding: br' --data-binary '{"a":1,"b":2}' "$BASE/jobs/add"
send "POST /jobs/add, a 70 KB header (over 64 KiB)" "${json[@]}" -H "X-Pad: $pad" --data-binary '{"a":1,"b":2}' "$BASE/jobs/add"
send "POST /jobs/add, X-Wfbench-Run of 65 bytes (over 64)" "${json[@]}" -H "X-Wfbench-Run: $long_run" --data-binary '{"a":1,"b":2}' "$BASE/jobs/add"
send "POST /jobs/add, X-Wfbench-Queue not wfbench-*" "${json[@]}" -H 'X-Wfbench-Queue: default' --data-binary '{"a":1,"b":2}' "$BASE/jobs/add"
send "POST /completions, bad JSON" "${json[@]}" --data-binary '{"completions":[{' "$BASE/completions"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
before=$(rss)
send "POST /jobs/batch, gzip bomb ($(stat -c %s "$tmp/bomb.gz") B: 2.7M {} items)" "${json[@]}" \
	-H 'Content-Encoding: gzip' --data-binary @"$tmp/bomb.gz" "$BASE/jobs/batch"
after=$(rss)
growth=$(((after - before) / 1024))
echo "API process (pid $pid) RSS: ${before} kB before the bomb, ${after} kB after (+${growth} MB)"

health=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 10 "$BASE/healthz")
echo "GET /healthz: $health $(cat "$tmp/body")"

fail=0
((bad > 0)) && { echo "FAIL: $bad of $n malformed requests did not get a 4xx"; fail=1; }
[[ $health == 200 ]] || { echo "FAIL: /healthz answered $health"; fail=1; }
((growth < 64)) || { echo "FAIL: the bomb grew the RSS by $growth MB (limit 64 MB)"; fail=1; }
((fail == 0)) && echo "ok: $n malformed requests, each a 4xx; /healthz 200; RSS +$growth MB"
exit $fail
