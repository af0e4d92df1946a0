package system

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// asyncBatch posts a batch of n jobs (request ids prefix-0 ...) to an async API, which
// answers 202 once they are buffered.
func asyncBatch(t *testing.T, base, prefix string, n int) []string {
	t.Helper()
	var body strings.Builder
	rids := make([]string, n)
	body.WriteString(`{"jobs":[`)
	for i := range n {
		rids[i] = fmt.Sprintf("%s-%d", prefix, i)
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"type":"add","a":%d,"b":1,"request_id":%q}`, i, rids[i])
	}
	body.WriteString(`]}`)
	if code, ans := postRaw(t, base+"/jobs/batch", []byte(body.String())); code != 202 {
		t.Fatalf("batch: %d %s", code, ans)
	}
	return rids
}

// queued is the size of the API's queue in Faktory.
func queued(t *testing.T, ep Endpoint) int { return faktoryState(t, ep).queued }

// checkNothingDropped waits for Faktory to hold the jobs rids (and the `before` jobs
// flushed ahead of them) and checks that the API refused none and records each as
// enqueued.
func checkNothingDropped(t *testing.T, api *API, results *ResultStore, direct Endpoint, rids []string, before int) {
	t.Helper()
	want := before + len(rids)
	for deadline := time.Now().Add(20 * time.Second); queued(t, direct) < want; {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s Faktory holds %d of the %d accepted jobs (async stats %+v)", queued(t, direct), want, api.AsyncStats())
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	if got := queued(t, direct); got != want {
		t.Errorf("Faktory holds %d jobs, want %d", got, want)
	}
	if st := api.AsyncStats(); st.Refused != 0 || st.Flushed != want {
		t.Errorf("async stats %+v: want all %d flushed, none refused", st, want)
	}
	for _, rid := range rids {
		if r, ok := results.Get(rid); !ok || r.Status != StatusEnqueued {
			t.Errorf("%s: %+v, want enqueued", rid, r)
		}
	}
}

// Faktory refusing a whole PUSHB once (-ERR, as when it is shutting down or
// overloaded) does not drop the jobs the API accepted with 202: the flush is retried.
// Before, any -ERR refused every job of the flush for good.
func TestAsyncCommandErrorRetried(t *testing.T) {
	b := startBroker(t)
	direct := Endpoint{Addr: b.Addr()}
	p := startProxy(t, b.Addr())
	var injected atomic.Int64
	p.setInject(func(line string) (string, bool) {
		if strings.HasPrefix(line, "PUSHB ") && injected.Add(1) == 1 {
			return "-ERR injected: Redis is loading the dataset in memory\r\n", true
		}
		return "", false
	})
	api, results, base := asyncAPIVia(t, p.addr())
	rids := asyncBatch(t, base, "cmderr", 20)
	checkNothingDropped(t, api, results, direct, rids, 0)
	if injected.Load() < 2 {
		t.Errorf("%d PUSHBs went through the proxy, want the refused one and its retry", injected.Load())
	}
}

// Redis refusing writes for a while (here min-replicas-to-write with no replica: every
// write gets NOREPLICAS) makes Faktory answer the PUSHB with an error for every job: a
// failure to store them, not a refusal of the jobs. They stay buffered and are pushed
// again once Redis takes writes. Before, they were counted refused and dropped.
func TestAsyncStorageRefusalRetried(t *testing.T) {
	b := startBroker(t)
	direct := Endpoint{Addr: b.Addr()}
	rc := redis.NewClient(&redis.Options{Network: "unix", Addr: b.red.sock})
	defer rc.Close()
	ctx := context.Background()
	results := NewResultStore(100)
	api := NewAPI(testPool(t, b, 1), APIOptions{Mode: EnqueueAsync, FlushInterval: 10 * time.Millisecond, Results: results})
	base := startAPI(t, api)
	asyncBatch(t, base, "warm", 1) // the queue exists before Redis refuses writes
	waitFor(t, 10*time.Second, "the first job never reached Faktory", func() bool { return queued(t, direct) == 1 })
	if err := rc.ConfigSet(ctx, "min-replicas-to-write", "1").Err(); err != nil {
		t.Fatal(err)
	}
	rids := asyncBatch(t, base, "norepl", 20)
	// Faktory answered their PUSHB (each job refused by Redis) before writes are allowed
	// again; its answer is what the API acts on.
	waitFor(t, 10*time.Second, "no answer to the PUSHB of the jobs", func() bool { return api.AsyncStats().Flushes >= 2 })
	if err := rc.ConfigSet(ctx, "min-replicas-to-write", "0").Err(); err != nil {
		t.Fatal(err)
	}
	checkNothingDropped(t, api, results, direct, rids, 1)
}

// A batch Faktory can never parse (-ERR invalid JSON whenever it holds one job) is
// split until that job is alone: it alone is refused, the others are enqueued, and
// the buffer is not blocked for good.
func TestAsyncUnparsableJobIsolated(t *testing.T) {
	b := startBroker(t)
	direct := Endpoint{Addr: b.Addr()}
	p := startProxy(t, b.Addr())
	p.setInject(func(line string) (string, bool) {
		if strings.HasPrefix(line, "PUSHB ") && strings.Contains(line, `"poison"`) {
			return "-ERR invalid JSON: injected\r\n", true
		}
		return "", false
	})
	api, results, base := asyncAPIVia(t, p.addr())
	var body strings.Builder
	body.WriteString(`{"jobs":[`)
	for i := range 21 {
		rid := fmt.Sprintf("ok-%d", i)
		if i == 7 {
			rid = "poison" // in the middle of one flush: the halves around it go through
		}
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"type":"add","a":1,"b":1,"request_id":%q}`, rid)
	}
	body.WriteString(`]}`)
	if code, ans := postRaw(t, base+"/jobs/batch", []byte(body.String())); code != 202 {
		t.Fatalf("batch: %d %s", code, ans)
	}
	waitFor(t, 30*time.Second, "the unparsable job was never refused", func() bool { return api.AsyncStats().Refused == 1 })
	waitFor(t, 30*time.Second, "the other jobs never reached Faktory", func() bool { return queued(t, direct) == 20 })
	if r, ok := results.Get("poison"); !ok || r.Status != StatusFailed || !strings.Contains(r.Error, "invalid JSON") {
		t.Errorf("poison: %+v, want failed with Faktory's reason", r)
	}
	if st := api.AsyncStats(); st.Flushed != 20 || st.Lost != 0 {
		t.Errorf("async stats %+v, want 20 flushed", st)
	}
}

// Faktory's refusals of a job for what it is are told from its failures to store one.
func TestJobRefusal(t *testing.T) {
	for reason, want := range map[string]bool{
		"jobs must have a jobtype parameter":                                 true,
		"jobs cannot be reserved for more than one day":                      true,
		"invalid timestamp for 'at': \"x\": bad":                             true,
		"queue names must match ^[a-zA-Z0-9._-]+$":                           true,
		"NOTUNIQUE Job not unique":                                           true,
		"NOREPLICAS Not enough good replicas to write.":                      false,
		"cannot get \"default\" queue: LOADING Redis is loading the dataset": false,
		"OOM command not allowed when used memory > 'maxmemory'.":            false,
		"read unix @->/tmp/redis.sock: i/o timeout":                          false,
	} {
		if got := jobRefusal(reason); got != want {
			t.Errorf("jobRefusal(%q) = %v, want %v", reason, got, want)
		}
	}
}

// asyncAPIVia starts an async API (10 ms flushes) whose one Faktory connection goes to
// addr, with a result store its workers' completions can fill.
func asyncAPIVia(t *testing.T, addr string) (*API, *ResultStore, string) {
	t.Helper()
	pool, err := NewPool(Endpoint{Addr: addr}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	results := NewResultStore(100)
	api := NewAPI(pool, APIOptions{Mode: EnqueueAsync, FlushInterval: 10 * time.Millisecond, Results: results})
	return api, results, startAPI(t, api)
}
