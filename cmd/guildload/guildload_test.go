//go:build linux

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/replica"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// TestRunTiny runs every phase against a spawned guildd at tiny sizes and
// wants the final consistency check to pass with latency samples taken.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and spawns guildd")
	}
	cfg := defaultConfig()
	cfg.Spawn = true
	cfg.Members, cfg.Workers = 200, 16
	cfg.Sessions = 5
	cfg.Rate, cfg.Duration, cfg.HotFrac, cfg.HotMembers = 200, 2*time.Second, 0.2, 8
	cfg.ChurnWorkers = 16
	cfg.PresenceDuration, cfg.PresenceBatch = 500*time.Millisecond, 500
	cfg.Progress = 0
	var out strings.Builder
	cfg.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, cfg)
	require.NoError(t, err, out.String())
	rep.print(&out, cfg)
	t.Log(out.String())
	require.True(t, rep.OK(), "consistency check failed")
	require.Equal(t, 5, rep.Checked)
	require.Equal(t, int64(208), rep.Writes)
	require.Positive(t, rep.ChangesApplied)
	require.Positive(t, rep.Lat.count(), "no delivery was timed")
	require.Positive(t, rep.LoadTime)
	require.Positive(t, rep.MemAfterLoad.RSS)
	require.Positive(t, rep.PresenceApplied)
}

// TestMismatchDetected: the check reports a session whose slots differ from
// GET /list, and passes an equal one.
func TestMismatchDetected(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"size":2,"start":0,"items":[{"group":{"id":"online","count":1}},{"member":{"id":"5","name":"a","roles":[],"status":"online"}}]}`))
	}))
	defer hs.Close()
	r := &runner{api: newAPI(strings.TrimPrefix(hs.URL, "http://"), 1), gid: "1"}
	sess := func(name string) *session {
		s := &session{ranges: [][2]int{{0, 99}}, r: replica.New()}
		require.NoError(t, s.r.Apply(&wire.Update{Seq: 1, Size: 2, Ops: []wire.Op{{Op: wire.OpSync, Range: [2]int{0, 99}, Items: []wire.Item{
			{Group: &wire.Group{ID: "online", Count: 1}}, {Member: &wire.Member{ID: "5", Name: name, Roles: []string{}, Status: "online"}}}}}}))
		return s
	}
	lists := map[[2]int]*listReply{}
	require.Empty(t, r.mismatch(context.Background(), sess("a"), lists))
	require.Contains(t, r.mismatch(context.Background(), sess("b"), lists), "slot 1")
}

func TestSplit(t *testing.T) {
	seq, body, ok := split([]byte(`{"t":"GUILD_MEMBER_LIST_UPDATE","seq":42,"guild_id":"1"}`))
	require.True(t, ok)
	require.Equal(t, int64(42), seq)
	require.Equal(t, `,"guild_id":"1"}`, string(body))
	_, _, ok = split([]byte(`{"t":"ERROR","message":"x"}`))
	require.False(t, ok)
}

func TestHistQuantiles(t *testing.T) {
	h := &hist{}
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	p50, p99 := h.quantile(0.5), h.quantile(0.99)
	require.InEpsilon(t, float64(500*time.Millisecond), float64(p50), 0.02)
	require.InEpsilon(t, float64(990*time.Millisecond), float64(p99), 0.02)
	require.Equal(t, time.Second, h.maximum())
	require.GreaterOrEqual(t, p50, 500*time.Millisecond, "never below the true value")
	require.GreaterOrEqual(t, p99, 990*time.Millisecond)

	// Nearest rank, ceil(q·n): the p99 of two samples is the larger one.
	h = &hist{}
	h.add(time.Millisecond)
	h.add(100 * time.Millisecond)
	require.Equal(t, 100*time.Millisecond, h.quantile(0.99))
	h = &hist{}
	for _, ms := range []int{1, 2, 3} {
		h.add(time.Duration(ms) * time.Millisecond)
	}
	require.InEpsilon(t, float64(2*time.Millisecond), float64(h.quantile(0.5)), 0.02)
	require.GreaterOrEqual(t, h.quantile(0.5), 2*time.Millisecond)

	// Samples just over a target never report under it.
	h = &hist{}
	for range 1000 {
		h.add(100300 * time.Microsecond)
	}
	require.Greater(t, h.quantile(0.99), 100*time.Millisecond)
}
