//go:build linux

package main

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/replica"
)

func update(seq int, name string) []byte {
	return fmt.Appendf(nil, `{"t":"GUILD_MEMBER_LIST_UPDATE","seq":%d,"guild_id":"1","member_count":1,"online_count":1,"size":2,`+
		`"groups":[{"id":"online","count":1}],"ops":[{"op":"SYNC","range":[0,1],"items":[{"group":{"id":"online","count":1}},`+
		`{"member":{"id":"5","name":%q,"roles":[],"status":"online"}}]}]}`, seq, name)
}

func compile(t *testing.T, f ws.Frame) []byte {
	b, err := ws.CompileFrame(f)
	require.NoError(t, err)
	return b
}

func testSession() *session {
	st := &sessionStats{}
	st.lat.Store(&hist{})
	st.window.Store(&hist{})
	p := &poller{cache: newFrameCache(nil), st: st, stopping: new(atomic.Bool)}
	return &session{fd: -1, p: p, done: make(chan struct{}), r: replica.New()}
}

// TestFeedSplitAnywhere: a stream of server frames (one long enough for a
// 16-bit length, one fragmented, a ping among them) gives the same messages
// however the reads cut it.
func TestFeedSplitAnywhere(t *testing.T) {
	long := update(2, strings.Repeat("x", 200))
	third := update(3, "c")
	var stream []byte
	stream = append(stream, compile(t, ws.NewTextFrame(update(1, "a")))...)
	stream = append(stream, compile(t, ws.NewPingFrame([]byte("hi")))...)
	stream = append(stream, compile(t, ws.NewTextFrame(long))...)
	stream = append(stream, compile(t, ws.Frame{Header: ws.Header{OpCode: ws.OpText, Length: 10}, Payload: third[:10]})...)
	stream = append(stream, compile(t, ws.Frame{Header: ws.Header{OpCode: ws.OpContinuation, Fin: true, Length: int64(len(third) - 10)}, Payload: third[10:]})...)
	for cut := 1; cut < len(stream); cut++ {
		s := testSession()
		for rest := stream; len(rest) > 0; {
			n := min(cut, len(rest))
			require.True(t, s.feed(rest[:n], time.Now()), "cut %d: %v", cut, s.wsErr)
			rest = rest[n:]
		}
		require.NoError(t, s.fail, "cut %d", cut)
		require.Equal(t, int64(3), s.r.Seq(), "cut %d", cut)
		it, ok := s.r.Get(1)
		require.True(t, ok)
		require.Equal(t, "c", it.Member.Name)
		require.Equal(t, int64(3), s.p.st.frames.Load())
		require.Empty(t, s.pending)
	}
}

// TestFeedStopsAtClose: a close frame ends the stream, and so does a frame
// that breaks the protocol.
func TestFeedStopsAtClose(t *testing.T) {
	s := testSession()
	require.False(t, s.feed(compile(t, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusGoingAway, "bye"))), time.Now()))
	require.ErrorContains(t, s.wsErr, "1001")
	s = testSession()
	require.False(t, s.feed(compile(t, ws.Frame{Header: ws.Header{OpCode: ws.OpContinuation, Fin: true, Length: 1}, Payload: []byte("x")}), time.Now()))
	require.Error(t, s.wsErr)
	s = testSession()
	require.True(t, s.feed(compile(t, ws.NewTextFrame([]byte(`{"t":"ERROR","message":"no"}`))), time.Now()))
	require.ErrorContains(t, s.fail, "ERROR message: no")
}
