//go:build linux

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// A gateway that accepts the
// WebSocket and closes it before any SYNC (a crashed or restarting server,
// or Ctrl-C, which reaches the spawned guildd too) must fail the session
// phase at once, not after the 2-minute wait for SYNCs that cannot come.
func TestSessionClosedBeforeSyncIsReportedPromptly(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gateway":
			c, _, _, err := ws.UpgradeHTTP(r, w)
			if err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
			c.Close() // no SYNC, no close frame: the server went away
		default:
			w.Write([]byte(`{"id":"777","member_count":0,"online_count":0,"size":0,"groups":[]}`))
		}
	}))
	defer hs.Close()
	cfg := defaultConfig()
	cfg.Sessions, cfg.HotMembers = 2, 0
	addr := strings.TrimPrefix(hs.URL, "http://")
	r := &runner{cfg: cfg, out: &strings.Builder{}, api: newAPI(addr, 4), addr: addr, gid: "777"}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	var sessions []*session
	var stopping interface{ Store(bool) }
	go func() {
		ss, _, st, err := r.openSessions(context.Background())
		sessions, stopping = ss, st
		done <- result{len(ss), err}
	}()
	select {
	case res := <-done:
		if res.err == nil {
			t.Fatalf("openSessions succeeded with %d sessions the server closed", res.n)
		}
		t.Logf("reported: %v", res.err)
	case <-time.After(10 * time.Second):
		t.Fatal("openSessions still waiting 10 s after the server closed every session before its SYNC")
	}
	stopping.Store(true)
	for _, s := range sessions {
		s.shutdown()
		<-s.done
	}
}
