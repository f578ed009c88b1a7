package server

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/store"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// failCommit makes a commit fail as a full disk would, with time to queue
// more writes into it: a transaction of n members of guild 2 (which must
// exist) holds bbolt's write lock, and a member of a guild the store never
// saw is queued behind it. Writes queued before wait returns fail too.
func (e *testEnv) failCommit(n int) (wait func()) {
	t := e.t
	big := make([]guild.Member, n)
	for i := range big {
		big[i] = guild.Member{ID: uint64(1_000_000 + i), Name: fmt.Sprintf("bulk-%d", i)}
	}
	bulkDone := make(chan error, 1)
	t0 := time.Now()
	go func() {
		err := e.srv.store.BulkPutMembers(2, big)
		t.Logf("bulk transaction took %v", time.Since(t0))
		bulkDone <- err
	}()
	time.Sleep(20 * time.Millisecond)
	failing := e.srv.store.PutMember(999, guild.Member{ID: 1, Name: "x"})
	return func() {
		require.Error(t, <-failing)
		require.NoError(t, <-bulkDone)
	}
}

// putGuildAndLeave sends PUT /guilds/{id} from a client that has gone
// before the reply.
func (e *testEnv) putGuildAndLeave(id string) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "PUT", "/guilds/"+id, strings.NewReader(`{"name":"g"}`))
	e.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
}

// TestWriteRefusedByTheFailingCommitChangesNothing: a PUT whose own commit
// fails (it was queued while the commit that fails was under way) is
// answered 503, and, like every refused write, must not show in GET /list:
// it is not on disk and disappears at the next restart.
func TestWriteRefusedByTheFailingCommitChangesNothing(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": "a"}, nil)
	e.mustCall("PUT", "/guilds/2", map[string]any{"name": "bulk"}, nil)
	before := e.list("1", 0, 100)

	// The failing commit and the PUT after it are both queued while the
	// writer waits.
	wait := e.failCommit(300000)
	time.Sleep(5 * time.Millisecond)

	var body map[string]any
	code := e.call("PUT", "/guilds/1/members/11", map[string]any{"name": "b"}, &body)
	wait()
	require.NotEqual(t, 200, code, "the store failed before this write was committed: %v", body)
	require.Equal(t, before, e.list("1", 0, 100), "a PUT answered %d changed the list", code)
}

// TestGuildCreatedByAFailedCommitIsUndoneAfterTheClientLeft: a PUT /guilds
// that creates a guild in the commit that fails must not leave the guild in
// memory (it is not on disk) also when its client has gone: the reply's Do
// then fails with the request's context, and the commit went unwatched, so
// nothing rolled the guild back. Do picks the context or the inbox at
// random, hence several tries.
func TestGuildCreatedByAFailedCommitIsUndoneAfterTheClientLeft(t *testing.T) {
	for try := 0; try < 12; try++ {
		e := start(t, Config{})
		e.mustCall("PUT", "/guilds/2", map[string]any{"name": "bulk"}, nil)
		wait := e.failCommit(20000)
		e.putGuildAndLeave("1")
		wait()
		eventually(t, 2*time.Second, func() string {
			if code := e.call("GET", "/guilds/1", nil, nil); code != 404 {
				return fmt.Sprintf("try %d: GET /guilds/1 is %d: a guild the store refused is still served", try, code)
			}
			return ""
		})
	}
}

// TestDemoChurnOfAFailedCommitIsUndone: the demo churn's writes go through
// the same store; when their commit fails, the list must come back to what
// the store holds, as for an HTTP write (no HTTP write was in that commit to
// roll it back, so the churn's joins, leaves and renames stayed in memory).
func TestDemoChurnOfAFailedCommitIsUndone(t *testing.T) {
	e := start(t, Config{})
	require.NoError(t, e.srv.SeedDemo(50))
	e.mustCall("PUT", "/guilds/2", map[string]any{"name": "bulk"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	churned := make(chan struct{})
	go func() { e.srv.RunDemoChurn(ctx); close(churned) }()
	defer func() { cancel(); <-churned }()

	e.failCommit(300000)() // the churn queues some writes meanwhile, and they fail too

	stored := map[string]string{}
	require.NoError(t, e.srv.store.Load(func(g *store.Guild) error {
		if g.ID == DemoGuild {
			for _, m := range g.Members {
				stored[wire.FormatID(m.ID)] = m.Name
			}
		}
		return nil
	}))
	eventually(t, 2*time.Second, func() string {
		served := map[string]string{}
		for _, it := range e.list("1", 0, 1000).Items {
			if it.Member != nil {
				served[it.Member.ID] = it.Member.Name
			}
		}
		if !maps.Equal(stored, served) {
			return fmt.Sprintf("GET /list has %d members, the store %d (or other names): changes that are not on disk are served", len(served), len(stored))
		}
		return ""
	})
}

// TestFailedCommitAfterClose: a commit that fails after Close (its client
// had left, so a goroutine of the server waits for it) must not crash the
// server. Its rollback stopped the owner of the guild that the failed
// commit had created, which Close had stopped already: a panic (close of a
// closed channel) on the way out of a guildd that was shutting down.
func TestFailedCommitAfterClose(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/2", map[string]any{"name": "bulk"}, nil)
	wait := e.failCommit(100000)
	e.putGuildAndLeave("1") // its commit is watched by a goroutine of the server's
	e.srv.Close()
	wait()
	time.Sleep(200 * time.Millisecond) // for the rollback
}

// TestSessionsOfARolledBackGuildAreTold: a session subscribed to a guild
// whose creation the store then refused gets an ERROR when the rollback
// removes the guild, instead of waiting for updates that never come.
func TestSessionsOfARolledBackGuildAreTold(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/2", map[string]any{"name": "bulk"}, nil)
	wait := e.failCommit(300000)
	put := make(chan int, 1)
	go func() { put <- e.call("PUT", "/guilds/1", map[string]any{"name": "doomed"}, nil) }()
	w := e.dial()
	eventually(t, 5*time.Second, func() string { // the guild is in memory, its commit not done
		w.subscribe(t, "1", [2]int{0, 9})
		time.Sleep(20 * time.Millisecond)
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.r.Seq() == 0 {
			w.errs = nil
			return "no SYNC of guild 1 yet"
		}
		return ""
	})
	wait()
	require.NotEqual(t, 200, <-put, "the guild's commit failed")
	eventually(t, 5*time.Second, func() string {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, m := range w.errs {
			if strings.Contains(m, "guild 1 is gone") {
				return ""
			}
		}
		return fmt.Sprintf("no ERROR after the rollback of guild 1 (errors: %q)", w.errs)
	})
}
