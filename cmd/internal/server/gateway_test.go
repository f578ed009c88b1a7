package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
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
		out := newOutbox(newWSConn(srv), pool)
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer cli.Close()
	srv, err := ln.Accept()
	require.NoError(t, err)
	defer srv.Close()
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
