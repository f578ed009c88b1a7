package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/require"
)

// dialSmallBuffer opens a WebSocket to e's gateway with a 4 KiB receive
// buffer, so that a client that does not read fills its socket quickly.
func dialSmallBuffer(t *testing.T, e *testEnv) net.Conn {
	t.Helper()
	d := ws.Dialer{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		return nd.DialContext(ctx, network, addr)
	}}
	conn, _, _, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(e.url, "http")+"/gateway")
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Clients that send pings and do not read their pongs must not hold the
// writer pool: the reader's pong waits for the socket, and a pool writer
// that waited for it in turn took another session's updates 9 s to arrive.
func TestPingFloodDoesNotStallOtherSessions(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": "a", "status": "online"}, nil)
	e.mustCall("PUT", "/guilds/2", map[string]any{"name": "h"}, nil)
	ping, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewPingFrame(bytes.Repeat([]byte("p"), 125))))
	require.NoError(t, err)
	flood := bytes.Repeat(ping, 20000)
	for range writers { // as many bad clients as the pool has writers
		conn := dialSmallBuffer(t, e)
		_, err = conn.Write(clientFrame(t, `{"op":"subscribe","guild_id":"2","ranges":[[0,9]]}`))
		require.NoError(t, err)
		go func() {
			conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
			for {
				if _, err := conn.Write(flood); err != nil {
					return
				}
			}
		}()
	}
	c := e.dial()
	c.subscribe(t, "1", [2]int{0, 9})
	eventually(t, 5*time.Second, func() string { return e.mismatch("1", c) })
	time.Sleep(time.Second) // the bad clients' sockets fill with pongs
	// A change in the bad clients' guild gives each of their sessions an
	// update for a pool writer.
	e.mustCall("PUT", "/guilds/2/members/20", map[string]any{"name": "x", "status": "online"}, nil)
	time.Sleep(200 * time.Millisecond)
	t0 := time.Now()
	e.mustCall("PUT", "/guilds/1/members/11", map[string]any{"name": "b", "status": "online"}, nil)
	eventually(t, 15*time.Second, func() string { return e.mismatch("1", c) })
	require.Less(t, time.Since(t0), 2*time.Second, "an update took %v to reach a well-behaved session", time.Since(t0))
}

// Close returns promptly although a subscribed client stopped reading and
// its socket is full (the bar of TestShutdownWithAStalledReader): it took
// the whole write timeout, waiting behind the blocked write to send the
// close frame.
func TestShutdownWithAClientThatDoesNotRead(t *testing.T) {
	e := start(t, Config{QueueLen: 2})
	e.mustCall("PUT", "/guilds/3", map[string]any{"name": "g"}, nil)
	long := strings.Repeat("n", 90)
	for id := 0; id < 300; id++ {
		e.mustCall("PUT", fmt.Sprintf("/guilds/3/members/%d", 1000+id), map[string]any{"name": fmt.Sprintf("%s%03d", long, id), "status": "online"}, nil)
	}
	conn := dialSmallBuffer(t, e)
	_, err := conn.Write(clientFrame(t, `{"op":"subscribe","guild_id":"3","ranges":[[0,299]]}`))
	require.NoError(t, err)
	t0 := time.Now()
	for step := 0; e.srv.metrics.QueueDrops.Load() == 0; step++ { // until its queue overflows: the socket is full
		require.Less(t, time.Since(t0), 8*time.Second, "no queue drop")
		var batch []map[string]string
		for k := 0; k < 100; k++ {
			batch = append(batch, map[string]string{"id": fmt.Sprint(1000 + (step*100+k)%300), "status": []string{"online", "offline"}[step%2]})
		}
		e.mustCall("POST", "/guilds/3/presences", batch, nil)
		time.Sleep(20 * time.Millisecond)
	}
	t1 := time.Now()
	closed := closeAsync(e)
	select {
	case <-closed:
	case <-time.After(writeTimeout / 2):
		<-closed
		t.Fatalf("Close took %v with a client that does not read", time.Since(t1))
	}
}
