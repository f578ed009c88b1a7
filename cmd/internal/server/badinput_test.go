package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// snapshot is everything a bad request must leave alone.
func (e *testEnv) snapshot() string {
	var g, all json.RawMessage
	e.mustCall("GET", "/guilds/1", nil, &g)
	e.mustCall("GET", "/guilds", nil, &all)
	l := e.list("1", 0, 1000)
	data, _ := json.Marshal(l)
	return string(g) + string(all) + string(data)
}

func TestBadHTTPInput(t *testing.T) {
	e := start(t, Config{MaxMembers: 3})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g", "roles": []roleJSON{{"5", "r", 1, true}}}, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": "a", "roles": []string{"5"}, "status": "online"}, nil)
	e.mustCall("PUT", "/guilds/1/members/11", map[string]any{"name": "b"}, nil)
	e.mustCall("PUT", "/guilds/1/members/12", map[string]any{"name": "c", "status": "dnd"}, nil)
	before := e.snapshot()

	long := strings.Repeat("x", 101)
	big := `{"name":"` + strings.Repeat("x", MaxBody) + `"}`
	var manyPresences strings.Builder
	manyPresences.WriteString("[")
	for i := 0; i <= MaxPresences; i++ {
		if i > 0 {
			manyPresences.WriteString(",")
		}
		fmt.Fprintf(&manyPresences, `{"id":"10","status":"idle"}`)
	}
	manyPresences.WriteString("]")

	cases := []struct {
		method, path string
		body         any
		code         int
	}{
		// guilds
		{"PUT", "/guilds/abc", `{"name":"x"}`, 400},
		{"PUT", "/guilds/-1", `{"name":"x"}`, 400},
		{"PUT", "/guilds/007", `{"name":"x"}`, 400},
		{"PUT", "/guilds/18446744073709551616", `{"name":"x"}`, 400},
		{"PUT", "/guilds/1", `{"name":`, 400},
		{"PUT", "/guilds/1", `{"name":"x"} {}`, 400},
		{"PUT", "/guilds/1", `{"roles":[]}`, 400},
		{"PUT", "/guilds/1", `{"name":""}`, 400},
		{"PUT", "/guilds/1", `{"name":"` + long + `"}`, 400},
		{"PUT", "/guilds/1", []byte("{\"name\":\"\xff\xfe\"}"), 400},
		{"PUT", "/guilds/1", `{"name":5}`, 400},
		{"PUT", "/guilds/1", `{"name":"x","roles":"r"}`, 400},
		{"PUT", "/guilds/1", `{"name":"x","roles":[{"id":"x","name":"r"}]}`, 400},
		{"PUT", "/guilds/1", `{"name":"x","roles":[{"id":"1","name":"r"},{"id":"1","name":"s"}]}`, 400},
		{"PUT", "/guilds/1", `{"name":"x","roles":[{"id":"1","name":"r","position":"high"}]}`, 400},
		{"PUT", "/guilds/1", big, 413},
		{"POST", "/guilds/1", `{}`, 405},
		{"DELETE", "/guilds/1", nil, 405},
		{"GET", "/guilds/2", nil, 404},
		{"GET", "/guilds/1/nope", nil, 404},
		{"POST", "/guilds", nil, 405},
		// members
		{"PUT", "/guilds/2/members/10", `{"name":"a"}`, 404},
		{"PUT", "/guilds/1/members/x", `{"name":"a"}`, 400},
		{"PUT", "/guilds/1/members/10", `{"name":""}`, 400},
		{"PUT", "/guilds/1/members/10", `{"name":"` + long + `"}`, 400},
		{"PUT", "/guilds/1/members/10", []byte("{\"name\":\"a\x80\"}"), 400},
		{"PUT", "/guilds/1/members/10", `{}`, 400},
		{"PUT", "/guilds/1/members/10", `{"name":"a","status":"away"}`, 400},
		{"PUT", "/guilds/1/members/10", `{"name":"a","status":1}`, 400},
		{"PUT", "/guilds/1/members/10", `{"name":"a","roles":[5]}`, 400},
		{"PUT", "/guilds/1/members/10", `{"name":"a","roles":["6"]}`, 400}, // unknown role
		{"PUT", "/guilds/1/members/10", `{"name":"a","roles":["5","5"]}`, 400},
		{"PUT", "/guilds/1/members/10", `[1,2]`, 400},
		{"PUT", "/guilds/1/members/10", big, 413},
		{"PUT", "/guilds/1/members/13", `{"name":"d"}`, 409}, // full: MaxMembers 3
		{"DELETE", "/guilds/1/members/99", nil, 404},
		{"DELETE", "/guilds/2/members/10", nil, 404},
		{"DELETE", "/guilds/1/members/1x", nil, 400},
		{"POST", "/guilds/1/members/10", `{}`, 405},
		// presences
		{"POST", "/guilds/2/presences", `[]`, 404},
		{"POST", "/guilds/1/presences", `{"id":"10"}`, 400},
		{"POST", "/guilds/1/presences", `[{"id":"10","status":"idle"},{"id":"x","status":"idle"}]`, 400},
		{"POST", "/guilds/1/presences", `[{"id":"10","status":"idle"},{"id":"11","status":"gone"}]`, 400},
		{"POST", "/guilds/1/presences", manyPresences.String(), 413},
		{"GET", "/guilds/1/presences", nil, 405},
		// list
		{"GET", "/guilds/1/list", nil, 400},
		{"GET", "/guilds/1/list?start=0", nil, 400},
		{"GET", "/guilds/1/list?start=-1&count=10", nil, 400},
		{"GET", "/guilds/1/list?start=0&count=0", nil, 400},
		{"GET", "/guilds/1/list?start=0&count=1001", nil, 400},
		{"GET", "/guilds/1/list?start=a&count=10", nil, 400},
		{"GET", "/guilds/1/list?start=0&count=1.5", nil, 400},
		{"GET", "/guilds/2/list?start=0&count=10", nil, 404},
		{"PUT", "/guilds/1/list?start=0&count=10", nil, 405},
	}
	for _, c := range cases {
		var body map[string]any
		code := e.call(c.method, c.path, c.body, &body)
		require.Equal(t, c.code, code, "%s %s %v", c.method, c.path, c.body)
		require.NotEmpty(t, body["error"], "%s %s: %v", c.method, c.path, body)
	}
	require.Equal(t, before, e.snapshot(), "bad requests changed the state")

	// The limits are limits, not off by one.
	e.mustCall("GET", "/guilds/1/list?start=5000&count=1000", nil, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": strings.Repeat("y", 100)}, nil)
}

func TestTooManySessions(t *testing.T) {
	e := start(t, Config{MaxSessions: 1})
	e.dial()
	var body map[string]any
	code := e.call("GET", "/gateway", nil, &body)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.NotEmpty(t, body["error"])
}

func TestBadGatewayInput(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": "a"}, nil)
	c := e.dial()
	bad := []string{
		`not json`,
		`{"op":"subscribe"`,
		`{"op":"unsubscribe","guild_id":"1","ranges":[[0,9]]}`,
		`{"guild_id":"1","ranges":[[0,9]]}`,
		`{"op":"subscribe","guild_id":1,"ranges":[[0,9]]}`,
		`{"op":"subscribe","guild_id":"x","ranges":[[0,9]]}`,
		`{"op":"subscribe","guild_id":"2","ranges":[[0,9]]}`, // unknown guild
		`{"op":"subscribe","guild_id":"1","ranges":[]}`,
		`{"op":"subscribe","guild_id":"1","ranges":[[-1,9]]}`,
		`{"op":"subscribe","guild_id":"1","ranges":[[9,0]]}`,
		`{"op":"subscribe","guild_id":"1","ranges":[[0,300]]}`,
		`{"op":"subscribe","guild_id":"1","ranges":[[0,1,2]]}`,
		`{"op":"subscribe","guild_id":"1","ranges":[[0,1],[2,3],[4,5],[6,7]]}`,
		`{"op":"subscribe","guild_id":"1","ranges":[[0.5,1]]}`,
		`{"op":"subscribe","guild_id":"1","ranges":"all"}`,
	}
	for _, m := range bad {
		c.send(t, m)
	}
	eventually(t, 5*time.Second, func() string {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.errs) < len(bad) {
			return fmt.Sprintf("%d ERRORs for %d bad messages", len(c.errs), len(bad))
		}
		return ""
	})
	c.mu.Lock()
	require.Len(t, c.errs, len(bad))
	require.Zero(t, c.r.Seq(), "bad messages must not subscribe")
	require.NoError(t, c.fail)
	c.mu.Unlock()

	// A good subscribe still works, and its seq starts at 1.
	c.subscribe(t, "1", [2]int{0, 299})
	eventually(t, 5*time.Second, func() string { return e.mismatch("1", c) })
	c.mu.Lock()
	require.Equal(t, int64(1), c.r.Seq())
	c.mu.Unlock()

	// A frame over 64 KiB closes the connection with 1009.
	c.send(t, `{"op":"subscribe","guild_id":"1","ranges":[[0,1]],"pad":"`+strings.Repeat("x", wire.MaxFrame)+`"}`)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed after a too-big frame")
	}
	require.Equal(t, websocket.StatusMessageTooBig, websocket.CloseStatus(c.closed), "%v", c.closed)

	// The server is still fine.
	e.mustCall("GET", "/healthz", nil, nil)
}

func TestShutdownClosesSessionsWith1001(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	c := e.dial()
	c.subscribe(t, "1", [2]int{0, 9})
	eventually(t, 5*time.Second, func() string { return e.mismatch("1", c) })
	e.srv.Close()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("session not closed by Close")
	}
	require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(c.closed), "%v", c.closed)
}

func TestHealthzFailsAfterAFailedCommit(t *testing.T) {
	e := start(t, Config{})
	require.Equal(t, 200, e.call("GET", "/healthz", nil, nil))
	// A member of a guild the store never saw makes the commit fail, as a
	// full disk would.
	require.Error(t, <-e.srv.store.PutMember(999, guild.Member{ID: 1, Name: "x"}))
	var body map[string]string
	require.Equal(t, 503, e.call("GET", "/healthz", nil, &body))
	require.Contains(t, body["error"], "commit failed")
}

// After a commit has failed the store takes no writes: a PUT or DELETE is
// answered 503 and must not change what GET /list shows either (it would
// vanish at the next restart, and sessions were told of it).
func TestRefusedWritesAfterAFailedCommitChangeNothing(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": "a"}, nil)
	before := e.list("1", 0, 100)
	require.Error(t, <-e.srv.store.PutMember(999, guild.Member{ID: 1, Name: "x"}))

	var body map[string]any
	require.Equal(t, 503, e.call("PUT", "/guilds/1/members/11", map[string]any{"name": "b"}, &body))
	require.NotEmpty(t, body["error"])
	require.Equal(t, 503, e.call("DELETE", "/guilds/1/members/10", nil, &body))
	require.NotEmpty(t, body["error"])
	require.Equal(t, 503, e.call("PUT", "/guilds/1", map[string]any{"name": "renamed"}, &body))
	require.NotEmpty(t, body["error"])
	require.Equal(t, 503, e.call("PUT", "/guilds/2", map[string]any{"name": "new"}, &body))
	require.NotEmpty(t, body["error"])

	require.Equal(t, before, e.list("1", 0, 100), "refused writes changed the list")
	var g guildJSON
	e.mustCall("GET", "/guilds/1", nil, &g)
	require.Equal(t, "g", g.Name, "a refused PUT /guilds renamed the guild")
	require.Equal(t, 404, e.call("GET", "/guilds/2", nil, nil), "a refused PUT /guilds created the guild")
}

// A JSON \u escape of a lone UTF-16 surrogate names no character and has no
// UTF-8 encoding: a name made with one is not UTF-8 and gets a 400 with no
// change. (encoding/json quietly decodes it to U+FFFD, a name the client
// never sent.)
func TestLoneSurrogateNamesAreRejected(t *testing.T) {
	e := start(t, Config{})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g", "roles": []roleJSON{{"5", "r", 1, true}}}, nil)
	e.mustCall("PUT", "/guilds/1/members/10", map[string]any{"name": "a"}, nil)
	before := e.snapshot()
	for _, c := range []struct{ path, body string }{
		{"/guilds/1/members/11", `{"name":"\ud800"}`},
		{"/guilds/1/members/10", `{"name":"x\udfffy"}`},
		{"/guilds/1/members/10", `{"name":"\udc00\ud800"}`}, // a pair the wrong way round
		{"/guilds/1/members/10", `{"name":"\ud800\u0041"}`}, // high, then not a low one
		{"/guilds/1", `{"name":"\ud83d"}`},
		{"/guilds/1", `{"name":"g","roles":[{"id":"5","name":"\ud800","position":1,"hoist":true}]}`},
	} {
		var body map[string]any
		code := e.call("PUT", c.path, c.body, &body)
		require.Equal(t, 400, code, "PUT %s %s: %v", c.path, c.body, body)
		require.NotEmpty(t, body["error"])
	}
	require.Equal(t, before, e.snapshot(), "rejected requests changed the state")
	var m memberJSON
	e.mustCall("PUT", "/guilds/1/members/12", `{"name":"\ud83d\ude00"}`, nil) // a pair is a character
	e.mustCall("GET", "/guilds/1/members/12", nil, &m)
	require.Equal(t, "😀", m.Name)
	e.mustCall("PUT", "/guilds/1/members/13", `{"name":"\\ud800"}`, nil) // an escaped backslash, then text
	e.mustCall("GET", "/guilds/1/members/13", nil, &m)
	require.Equal(t, `\ud800`, m.Name)
}

// TestSlowBodyGets408 sends a PUT whose body stops halfway: the server
// answers 408 within BodyTimeout instead of holding the connection, changes
// nothing, and goes on serving.
func TestSlowBodyGets408(t *testing.T) {
	e := start(t, Config{BodyTimeout: 300 * time.Millisecond})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	before := e.snapshot()
	conn, err := net.Dial("tcp", e.hs.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	body := `{"name":"slow","status":"online"}`
	_, err = fmt.Fprintf(conn, "PUT /guilds/1/members/7 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	require.NoError(t, err)
	t0 := time.Now()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer to a stalled body")
	defer resp.Body.Close()
	var reply struct{ Error string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&reply))
	require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, reply.Error)
	require.Contains(t, reply.Error, "body not received")
	require.Less(t, time.Since(t0), 5*time.Second)
	require.Equal(t, before, e.snapshot(), "the stalled PUT changed something")
	e.mustCall("PUT", "/guilds/1/members/8", map[string]any{"name": "fast"}, nil)
}

// TestSlowBodyOfARefusedRequestIsAnswered sends requests that are refused
// before their body is read (unknown guild, bad id, wrong method) and whose
// body stops halfway: net/http reads the rest of an unread body before it
// sends the reply, so without a deadline on that read the client got no
// answer and held a goroutine and a connection for ever.
func TestSlowBodyOfARefusedRequestIsAnswered(t *testing.T) {
	e := start(t, Config{BodyTimeout: 300 * time.Millisecond})
	e.mustCall("PUT", "/guilds/1", map[string]any{"name": "g"}, nil)
	before := e.snapshot()
	body := `{"name":"slow","status":"online"}`
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"PUT", "/guilds/2/members/7", http.StatusNotFound},
		{"PUT", "/guilds/1/members/007", http.StatusBadRequest},
		{"POST", "/guilds/1", http.StatusMethodNotAllowed},
	} {
		conn, err := net.Dial("tcp", e.hs.Listener.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", c.method, c.path, len(body), body[:10])
		require.NoError(t, err)
		t0 := time.Now()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "%s %s: no answer to a stalled body", c.method, c.path)
		var reply struct{ Error string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&reply))
		resp.Body.Close()
		require.Equal(t, c.code, resp.StatusCode, "%s %s: %s", c.method, c.path, reply.Error)
		require.NotEmpty(t, reply.Error)
		require.Less(t, time.Since(t0), 5*time.Second)
	}
	require.Equal(t, before, e.snapshot(), "the stalled requests changed something")
}

// TestReplyToAClientThatDoesNotReadEnds: a client that sends a request and
// never reads the reply held its handler's goroutine and its connection for
// as long as it liked (the server had no write timeout), and delayed
// shutdown by its full grace period. The reply now gets ReplyTimeout.
func TestReplyToAClientThatDoesNotReadEnds(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 64<<20) // more than any socket buffers
	done := make(chan error, 1)
	e := start(t, Config{ReplyTimeout: 300 * time.Millisecond, Index: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(big)
		done <- err
	})})
	conn, err := net.Dial("tcp", e.hs.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close() // without the timeout, this is what ends the write
	_, err = fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	select {
	case err := <-done:
		require.Error(t, err, "64 MiB written to a client that reads nothing")
	case <-time.After(10 * time.Second):
		t.Fatal("the reply to a client that reads nothing is still being written after 10 s")
	}
}
