//go:build unix

package server

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/store"
)

// The measurements behind the README's guildd figures. They are not timed
// tests: they print numbers and run only with GUILDD_MEASURE=1, e.g.
//
//	GUILDD_MEASURE=1 go test -C cmd -run Measure -v ./internal/server

// cpuTime is the process's user+system CPU time so far: on a shared machine
// wall time says more about the neighbours than about the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(t *testing.T) {
	if os.Getenv("GUILDD_MEASURE") == "" {
		t.Skip("set GUILDD_MEASURE=1 to measure")
	}
}

// TestMeasureLoad1M: 1,000,000 members written to bbolt, the store reopened,
// the time to load it and build the sets, and the heap per member after GC.
func TestMeasureLoad1M(t *testing.T) {
	measure(t)
	n := 1_000_000
	path := filepath.Join(t.TempDir(), "guildd.db")
	st, err := store.Open(path)
	require.NoError(t, err)
	require.NoError(t, <-st.PutGuild(DemoGuild, "big", demoRoles))
	rng := rand.New(rand.NewPCG(3, 3))
	for base := 0; base < n; base += 100_000 {
		ms := make([]guild.Member, 100_000)
		for i := range ms {
			ms[i] = demoMember(rng, uint64(1_000_000+base+i))
		}
		require.NoError(t, st.BulkPutMembers(DemoGuild, ms))
	}
	require.NoError(t, st.Close())

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	t0 := time.Now()
	st, err = store.Open(path)
	require.NoError(t, err)
	t.Logf("store.Open: %v", time.Since(t0).Round(time.Millisecond))
	srv, err := New(st, Config{})
	require.NoError(t, err)
	elapsed, cpu := time.Since(t0), cpuTime()-cpu0
	runtime.GC()
	debug.FreeOSMemory()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fi, _ := os.Stat(path)
	t.Logf("loaded %d members from disk and built the sets in %v wall, %v CPU (user+sys, both cores)", n, elapsed.Round(time.Millisecond), cpu.Round(time.Millisecond))
	t.Logf("heap in use after GC: %.1f bytes/member (HeapInuse %+d MiB; db file %d MiB, mmapped, not heap)",
		float64(after.HeapInuse-before.HeapInuse)/float64(n), int64(after.HeapInuse-before.HeapInuse)>>20, fi.Size()>>20)
	runtime.KeepAlive(srv)
	srv.Close()
	st.Close()
}

// TestMeasureWriteThroughput: acknowledged (committed) member PUTs per
// second from 256 concurrent HTTP clients over loopback.
func TestMeasureWriteThroughput(t *testing.T) {
	measure(t)
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "w", "roles": e2eRoles}, nil)
	var acked atomic.Int64
	const writers = 256
	const d = 5 * time.Second
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; time.Now().Before(deadline); i++ {
				if e.call("PUT", fmt.Sprintf("/guilds/1/members/%d", w*1_000_000+i), randBody(rng), nil) == 200 {
					acked.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	t.Logf("%d acknowledged membership writes in %v: %.0f/s", acked.Load(), d, float64(acked.Load())/d.Seconds())
}

// TestMeasurePresence: presence changes applied per second, in batches of
// 1,000 from 8 clients, on a 100,000-member guild with 3 sessions subscribed.
func TestMeasurePresence(t *testing.T) {
	measure(t)
	e := start(t, Config{})
	require.NoError(t, e.srv.SeedDemo(100_000))
	for i := 0; i < 3; i++ {
		c := e.dial()
		c.subscribe(t, "1", [2]int{i * 100, i*100 + 99})
	}
	var applied atomic.Int64
	const d = 5 * time.Second
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for time.Now().Before(deadline) {
				batch := make([]map[string]string, 1000)
				for i := range batch {
					batch[i] = map[string]string{"id": fmt.Sprint(1_000_000 + rng.IntN(100_000)),
						"status": []string{"online", "idle", "dnd", "offline"}[rng.IntN(4)]}
				}
				var res struct{ Updated int }
				if e.call("POST", "/guilds/1/presences", batch, &res) == 200 {
					applied.Add(int64(res.Updated))
				}
			}
		}(w)
	}
	wg.Wait()
	t.Logf("%d presence changes applied in %v: %.0f/s", applied.Load(), d, float64(applied.Load())/d.Seconds())
}

// TestMeasureDelivery: S sessions on [0, 99] of the 100,000-member demo guild;
// R renames per second of 40 hot members at the top of the list (durable
// PUTs); the time from sending each PUT to each session receiving the frame
// that carries the new name. Sessions read raw frames and look for the name
// token, so the measuring side costs little next to the server.
func TestMeasureDelivery(t *testing.T) {
	measure(t)
	sessions, rate, d := envInt("GUILDD_SESSIONS", 1000), envInt("GUILDD_RATE", 1000), 10*time.Second
	e := start(t, Config{})
	require.NoError(t, e.srv.SeedDemo(100_000))
	for h := 0; h < 40; h++ {
		e.mustCall("PUT", fmt.Sprintf("/guilds/1/members/%d", 10+h), map[string]any{"name": fmt.Sprintf("!h%09d", h), "roles": []string{"11"}, "status": "online"}, nil)
	}
	var sent sync.Map // token -> time.Time
	var mu sync.Mutex
	var lat []time.Duration
	var conns []*websocket.Conn
	for i := 0; i < sessions; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/gateway", nil)
		cancel()
		require.NoError(t, err)
		c.SetReadLimit(16 << 20)
		conns = append(conns, c)
		require.NoError(t, c.Write(context.Background(), websocket.MessageText, []byte(`{"op":"subscribe","guild_id":"1","ranges":[[0,99]]}`)))
		go func() {
			seen := map[string]bool{}
			for {
				_, data, err := c.Read(context.Background())
				if err != nil {
					return
				}
				now := time.Now()
				for rest := data; ; {
					k := bytes.Index(rest, []byte(`"!h`))
					if k < 0 || len(rest) < k+13 {
						break
					}
					tok := string(rest[k+1 : k+12])
					if t0, ok := sent.Load(tok); ok && !seen[tok] {
						seen[tok] = true
						mu.Lock()
						lat = append(lat, now.Sub(t0.(time.Time)))
						mu.Unlock()
					}
					rest = rest[k+12:]
				}
			}
		}()
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	time.Sleep(time.Second) // SYNCs delivered
	var applied atomic.Int64
	deadline := time.Now().Add(d)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for n := 1; time.Now().Before(deadline); n++ {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			defer func() { <-sem }()
			token := fmt.Sprintf("!h%09d", 100+n)
			now := time.Now()
			sent.Store(token, now)
			if e.call("PUT", fmt.Sprintf("/guilds/1/members/%d", 10+n%40), map[string]any{"name": token, "roles": []string{"11"}}, nil) == 200 {
				applied.Add(1)
			}
		}(n)
	}
	wg.Wait()
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	require.NotEmpty(t, lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("%d sessions, %d renames/s asked, %.0f/s acknowledged; %d deliveries: p50 %v p99 %v max %v; queue drops %d",
		sessions, rate, float64(applied.Load())/d.Seconds(), len(lat), q(0.5), q(0.99), lat[len(lat)-1], e.srv.metrics.QueueDrops.Load())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
