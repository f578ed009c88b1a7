package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// TestWriteFrames: one batch becomes well-formed text messages in order,
// updates numbered on from the given seq and raw frames sent as they are,
// across the 7-, 16- and 64-bit payload lengths.
func TestWriteFrames(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	c := newWSConn(srv)
	body := func(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }
	frames := []*guild.Frame{
		{Body: []byte(`,"a":1}`)},
		{Body: []byte(`{"t":"ERROR"}`), Raw: true},
		{Body: body(125)}, {Body: body(126)}, {Body: body(65535 - len(guild.UpdatePrefix) - 1)},
		{Body: body(1 << 16)},
	}
	var want [][]byte
	seq := int64(41)
	for _, f := range frames {
		if f.Raw {
			want = append(want, f.Body)
			continue
		}
		seq++
		want = append(want, append([]byte(string(guild.UpdatePrefix)+strconv.FormatInt(seq, 10)), f.Body...))
	}
	done := make(chan error, 1)
	last := int64(41)
	c.writeFrames(frames, &last, func(err error) { done <- err }) // a pipe is not a socket: written in the background
	require.Equal(t, seq, last)
	for i, w := range want {
		got, op, err := wsutil.ReadServerData(cli)
		require.NoError(t, err)
		require.Equal(t, ws.OpText, op)
		require.Equal(t, string(w), string(got), "message %d", i)
	}
	require.NoError(t, <-done)
}

// TestGatewayControlAndLimits: pings are answered while a session is live,
// and a message over 64 KiB closes with 1009 also when it comes in small
// frames.
func TestGatewayControlAndLimits(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	c := e.dial()
	c.subscribe(t, "1", [2]int{0, 9})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.c.Ping(ctx))

	w, err := c.c.Writer(ctx, websocket.MessageText)
	require.NoError(t, err)
	chunk := []byte(strings.Repeat(" ", 1000))
	for n := 0; n <= wire.MaxFrame; n += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			break // the server may close before the whole message is out
		}
	}
	w.Close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed after a fragmented message over 64 KiB")
	}
	require.Equal(t, websocket.StatusMessageTooBig, websocket.CloseStatus(c.closed), "%v", c.closed)
}

// TestClosedSessionLeavesABusyGuild: a session that ends while its guild's
// inbox stays full longer than Do waits is still unsubscribed once the guild
// catches up (it used to stay registered and be fed for ever).
func TestClosedSessionLeavesABusyGuild(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	c := e.dial()
	c.subscribe(t, "1", [2]int{0, 9})
	o := e.srv.owner(1)
	sessions := func() (n int) {
		require.NoError(t, o.Do(context.Background(), func(*guild.List) { n = o.Sessions() }))
		return n
	}
	eventually(t, 5*time.Second, func() string {
		if n := sessions(); n != 1 {
			return fmt.Sprintf("%d sessions subscribed", n)
		}
		return ""
	})
	release := make(chan struct{})
	go o.Do(context.Background(), func(*guild.List) { <-release }) // the owner is stuck
	// More commands than the inbox holds: it stays full.
	for range 5000 {
		go o.Do(context.Background(), func(*guild.List) {})
	}
	time.Sleep(100 * time.Millisecond)
	c.c.CloseNow()
	time.Sleep(2500 * time.Millisecond) // past the 2 s a Do waits for room
	close(release)
	eventually(t, 10*time.Second, func() string {
		if n := sessions(); n != 0 {
			return fmt.Sprintf("%d sessions subscribed after the client left", n)
		}
		return ""
	})
}

// TestWriterPoolKeepsEachSessionInOrder: frames queued to several sessions,
// also while their writers are busy, all arrive, in order, with seq 1, 2, 3...
func TestWriterPoolKeepsEachSessionInOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := newWriterPool(ctx, 3, 16)
	const sessions, frames = 5, 300
	var clients []net.Conn
	var queues []*guild.Session
	for range sessions {
		srv, cli := net.Pipe()
		defer cli.Close()
		out := newOutbox(newWSConn(srv), pool, func() {})
		out.sess = guild.NewSession(frames+1, nil, func() { pool.schedule(out) })
		clients, queues = append(clients, cli), append(queues, out.sess)
	}
	for _, q := range queues {
		go func() {
			for i := range frames {
				q.PushRaw([]byte(strconv.Itoa(i + 1)))
			}
		}()
	}
	for k, cli := range clients {
		for i := range frames {
			got, _, err := wsutil.ReadServerData(cli)
			require.NoError(t, err)
			require.Equal(t, strconv.Itoa(i+1), string(got), "session %d", k)
		}
	}
}

// TestWriteFramesDoesNotWaitForTheSocket: a batch larger than the socket
// takes is finished in the background, so the caller (a pool writer) is free
// while the client has not read it.
func TestWriteFramesDoesNotWaitForTheSocket(t *testing.T) {
	srv, cli := tcpPair(t)
	c := newWSConn(srv)
	big := bytes.Repeat([]byte("0123456789"), 3<<20) // 30 MB: more than any socket buffer
	done := make(chan error, 1)
	var seq int64
	c.writeFrames([]*guild.Frame{{Body: big, Raw: true}, {Body: []byte("after"), Raw: true}}, &seq, func(err error) { done <- err })
	select {
	case err := <-done:
		t.Fatalf("the batch cannot be out before the client reads (err %v)", err)
	default:
	}
	got, _, err := wsutil.ReadServerData(cli)
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, got))
	got, _, err = wsutil.ReadServerData(cli)
	require.NoError(t, err)
	require.Equal(t, "after", string(got))
	require.NoError(t, <-done)
}

// tcpPair returns the two ends of a loopback TCP connection, closed when the
// test ends.
func tcpPair(t *testing.T) (srv, cli net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cli, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	srv, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv, cli
}

// TestWriteAfterAnExpiredDeadline: the deadline of a write that waited for
// the socket (here a pong) does not outlive it. The non-blocking path
// honours write deadlines too, and every update after a ping went quiet
// for writeTimeout used to fail with a timeout and close the session.
func TestWriteAfterAnExpiredDeadline(t *testing.T) {
	srv, cli := tcpPair(t)
	c := newWSConn(srv)
	c.timeout = 20 * time.Millisecond
	c.mu.Lock()
	require.NoError(t, c.writeControl(ws.NewPongFrame([]byte("p"))))
	c.mu.Unlock()
	time.Sleep(3 * c.timeout)
	done := make(chan error, 1)
	var seq int64
	c.writeFrames([]*guild.Frame{{Body: []byte(`,"x":1}`)}}, &seq, func(err error) { done <- err })
	require.NoError(t, <-done)
	cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := ws.ReadFrame(cli)
	require.NoError(t, err)
	require.Equal(t, ws.OpPong, f.Header.OpCode)
	got, _, err := wsutil.ReadServerData(cli)
	require.NoError(t, err)
	require.Equal(t, string(guild.UpdatePrefix)+`1,"x":1}`, string(got))
}

// TestWriteFramesOverIOVMax: a batch of more frames than one writev takes
// (two buffers a frame, 1,024 buffers a writev) is sent whole and in order.
func TestWriteFramesOverIOVMax(t *testing.T) {
	srv, cli := tcpPair(t)
	c := newWSConn(srv)
	const n = 1500
	var frames []*guild.Frame
	for i := range n {
		frames = append(frames, &guild.Frame{Body: []byte(strconv.Itoa(i)), Raw: true})
	}
	done := make(chan error, 1)
	var seq int64
	c.writeFrames(frames, &seq, func(err error) { done <- err })
	cli.SetReadDeadline(time.Now().Add(10 * time.Second)) // fail, not hang, when nothing comes
	for i := range n {
		got, _, err := wsutil.ReadServerData(cli)
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(i), string(got))
	}
	require.NoError(t, <-done)
}

// dialRaw opens a gateway WebSocket with gobwas/ws, for tests that write
// frames by hand.
func dialRaw(t *testing.T, e *testEnv) net.Conn {
	t.Helper()
	conn, _, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(e.url, "http")+"/gateway")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// clientFrame is a masked text frame, as a client sends it.
func clientFrame(t *testing.T, payload string) []byte {
	t.Helper()
	b, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewTextFrame([]byte(payload))))
	require.NoError(t, err)
	return b
}

// TestErrorRepliesSurviveASubscribe: the ERROR for a bad message is sent
// also when a subscribe follows at once (a new subscription used to empty
// the whole queue, ERRORs included).
func TestErrorRepliesSurviveASubscribe(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	both := append(clientFrame(t, `{"op":"bogus"}`), clientFrame(t, `{"op":"subscribe","guild_id":"1","ranges":[[0,9]]}`)...)
	for i := range 30 {
		conn := dialRaw(t, e)
		_, err := conn.Write(both)
		require.NoError(t, err)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var types []string
		for len(types) < 2 {
			data, _, err := wsutil.ReadServerData(conn)
			require.NoError(t, err)
			msg, err := wire.DecodeServer(data)
			require.NoError(t, err)
			types = append(types, msg.T)
		}
		require.Equal(t, []string{wire.TypeError, wire.TypeUpdate}, types, "try %d", i)
		conn.Close()
	}
}

// TestBadFrameFloodIsBounded: a client that sends bad frames and never reads
// their ERRORs stalls on its own socket; the server's memory does not grow
// with what it sends (7 MB of one-byte frames grew the heap by 134 MB).
func TestBadFrameFloodIsBounded(t *testing.T) {
	e := start(t, Config{})
	conn := dialRaw(t, e)
	flood := bytes.Repeat(clientFrame(t, "x"), 1_000_000)
	before := liveHeap()
	conn.SetWriteDeadline(time.Now().Add(3 * time.Second))
	n, _ := conn.Write(flood) // stops when the server stops reading
	grown := int64(liveHeap()) - int64(before)
	t.Logf("the client got %d of %d bytes out; the live heap grew by %d KB", n, len(flood), grown>>10)
	require.Less(t, n, len(flood), "the server never stopped reading")
	require.Less(t, grown, int64(16<<20))
	require.Equal(t, 200, e.call("GET", "/healthz", nil, nil))
}

// TestShutdownWithAStalledReader: a session whose reader waits for its
// ERRORs to be written does not hold up Close, although the writer pool
// stops with the server (Close used to wait for it for ever).
func TestShutdownWithAStalledReader(t *testing.T) {
	e := start(t, Config{})
	conn := dialRaw(t, e)
	conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	conn.Write(bytes.Repeat(clientFrame(t, "x"), 1_000_000)) // never reads the ERRORs
	select {
	case <-closeAsync(e):
	case <-time.After(writeTimeout / 2):
		t.Fatal("Close did not return (a stalled reader held it until a write timed out, or for ever)")
	}
}

// closeAsync starts closing e's server and returns a channel that is
// closed when Close returns.
func closeAsync(e *testEnv) <-chan struct{} {
	closed := make(chan struct{})
	go func() {
		e.srv.Close()
		close(closed)
	}()
	return closed
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestGatewayHandshakeErrorsAreJSON: a request to /gateway that is not a
// WebSocket handshake gets a JSON error, as every other error does.
func TestGatewayHandshakeErrorsAreJSON(t *testing.T) {
	e := start(t, Config{})
	ok := map[string]string{"Upgrade": "websocket", "Connection": "keep-alive, Upgrade",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
	for _, tc := range []struct {
		name, header, value string
		code                int
	}{
		{"no upgrade", "Upgrade", "", http.StatusBadRequest},
		{"no connection upgrade", "Connection", "keep-alive", http.StatusBadRequest},
		{"old version", "Sec-WebSocket-Version", "8", http.StatusUpgradeRequired},
		{"short key", "Sec-WebSocket-Key", "c2hvcnQ=", http.StatusBadRequest},
		{"key not base64", "Sec-WebSocket-Key", "not base64!", http.StatusBadRequest},
	} {
		req, err := http.NewRequest("GET", e.url+"/gateway", nil)
		require.NoError(t, err)
		for k, v := range ok {
			req.Header.Set(k, v)
		}
		req.Header.Set(tc.header, tc.value)
		resp, err := httpClient.Do(req)
		require.NoError(t, err, tc.name)
		var body struct{ Error string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), tc.name)
		resp.Body.Close()
		require.Equal(t, tc.code, resp.StatusCode, tc.name)
		require.NotEmpty(t, body.Error, tc.name)
		if tc.code == http.StatusUpgradeRequired {
			require.Equal(t, "13", resp.Header.Get("Sec-WebSocket-Version"))
		}
	}
}

// TestManyBadFramesAllAnswered: a client that sends many bad frames at once
// and reads gets an ERROR for each, in order, while the reader waits for
// the writer every MaxRaw of them.
func TestManyBadFramesAllAnswered(t *testing.T) {
	e := start(t, Config{})
	conn := dialRaw(t, e)
	const n = 2000
	go conn.Write(bytes.Repeat(clientFrame(t, `{"op":"nope"}`), n))
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := range n {
		data, _, err := wsutil.ReadServerData(conn)
		require.NoError(t, err, "after %d ERROR replies", i)
		msg, err := wire.DecodeServer(data)
		require.NoError(t, err)
		require.Equal(t, wire.TypeError, msg.T)
	}
}

// A subscribe that the server refuses with an ERROR ("guild is busy") must
// change nothing: the session's previous subscription keeps receiving
// updates. (The session had already moved to a generation no owner served.)
func TestBusySubscribeKeepsTheOldSubscription(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": "a", "status": "online"}, nil)
	c := e.dial()
	c.subscribe(t, "1", [2]int{0, 9})
	eventually(t, 5*time.Second, func() string { return e.mismatch("1", c) })

	o := e.srv.owner(1)
	release := make(chan struct{})
	go o.Do(context.Background(), func(*guild.List) { <-release }) // the owner is stuck
	time.Sleep(50 * time.Millisecond)
	for range 5000 { // more commands than the inbox holds: it stays full
		go o.Do(context.Background(), func(*guild.List) {})
	}
	time.Sleep(100 * time.Millisecond)
	// Sent raw: c.subscribe would record the new ranges as in force.
	c.send(t, `{"op":"subscribe","guild_id":"1","ranges":[[0,4]]}`)
	eventually(t, 5*time.Second, func() string {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.errs) == 0 {
			return "no ERROR for the subscribe to a busy guild"
		}
		return ""
	})
	c.mu.Lock()
	require.True(t, strings.Contains(c.errs[0], "busy"), c.errs[0])
	c.mu.Unlock()
	close(release)

	// The guild catches up; changes must still reach the old subscription.
	for id := 11; id < 14; id++ {
		e.mustCall("PUT", fmt.Sprintf("/guilds/1/members/%d", id), map[string]any{"name": fmt.Sprint("b", id), "status": "online"}, nil)
	}
	eventually(t, 5*time.Second, func() string { return e.mismatch("1", c) })
}

// spliceList is a client that applies the ops exactly as issue 4 words them,
// on a plain array of `size` slots: INSERT splices an item in at index (as
// Array.prototype.splice does, which cannot leave a hole), DELETE splices one
// out, UPDATE replaces, SYNC fills, INVALIDATE forgets; then cut or pad.
type spliceList struct {
	slots []*wire.Item
}

func (s *spliceList) apply(u *wire.Update) error {
	for _, op := range u.Ops {
		switch op.Op {
		case wire.OpInsert:
			i := min(op.Index, len(s.slots)) // splice(i, 0, item) with i past the end appends
			it := *op.Item
			s.slots = append(s.slots[:i], append([]*wire.Item{&it}, s.slots[i:]...)...)
		case wire.OpDelete:
			if op.Index < len(s.slots) {
				s.slots = append(s.slots[:op.Index], s.slots[op.Index+1:]...)
			}
		case wire.OpUpdate:
			if op.Index >= len(s.slots) {
				return fmt.Errorf("UPDATE at %d of a list of %d slots", op.Index, len(s.slots))
			}
			it := *op.Item
			s.slots[op.Index] = &it
		case wire.OpSync:
			for i := range op.Items {
				for len(s.slots) <= op.Range[0]+i {
					s.slots = append(s.slots, nil)
				}
				it := op.Items[i]
				s.slots[op.Range[0]+i] = &it
			}
		case wire.OpInvalidate:
			for i := op.Range[0]; i <= op.Range[1] && i < len(s.slots); i++ {
				s.slots[i] = nil
			}
		}
	}
	for len(s.slots) < u.Size {
		s.slots = append(s.slots, nil)
	}
	s.slots = s.slots[:u.Size]
	return nil
}

// A session on [20, 23] of a 19-slot list; a member joins a group that was
// empty, so its header and itself are inserted at the top and the list grows
// to 21: slot 20 enters the range. The server sent INSERT 20 to a client
// whose list had 19 slots; a splice there appends (at 19), so a client that
// applies the ops as issue 4 words them ended with slot 20 unknown. The
// server now inserts from the client's end instead.
func TestInsertPastTheClientsEnd(t *testing.T) {
	e := start(t, Config{})
	const gid = "9"
	e.mustCall("PUT", "/guilds/"+gid, map[string]any{"name": "g"}, nil)
	for id := 0; id < 18; id++ { // "offline" header + 18 members: 19 slots
		e.mustCall("PUT", fmt.Sprintf("/guilds/%s/members/%d", gid, 100+id), map[string]any{"name": fmt.Sprintf("m%02d", id), "status": "offline"}, nil)
	}
	conn := dialRaw(t, e)
	_, err := conn.Write(clientFrame(t, `{"op":"subscribe","guild_id":"9","ranges":[[20,23]]}`))
	require.NoError(t, err)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	read := func() *wire.Update {
		data, _, err := wsutil.ReadServerData(conn)
		require.NoError(t, err)
		m, err := wire.DecodeServer(data)
		require.NoError(t, err)
		require.Equal(t, wire.TypeUpdate, m.T, "%s", data)
		t.Logf("%s", data)
		return &m.Update
	}
	var sl spliceList
	require.NoError(t, sl.apply(read())) // the SYNC of [20, 23]: no items, size 19
	require.Len(t, sl.slots, 19)
	// The first member of "online" joins: [online header, member] go in at 0.
	e.mustCall("PUT", "/guilds/"+gid+"/members/500", map[string]any{"name": "new", "status": "online"}, nil)
	u := read()
	require.NoError(t, sl.apply(u), "seq %d", u.Seq)
	l := e.list(gid, 20, 4)
	require.Equal(t, 21, l.Size)
	require.NotNil(t, sl.slots[20], "slot 20 unknown")
	require.True(t, sl.slots[20].Equal(l.Items[0]))
}
