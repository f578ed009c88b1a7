package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/replica"
	"github.com/bucketed/sortedset/cmd/internal/store"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// httpClient keeps connections alive: the default keeps only 2 idle per host,
// and concurrent tests would open a new connection for almost every request.
var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}

type testEnv struct {
	t   *testing.T
	srv *Server
	hs  *httptest.Server
	url string
}

// start runs a Server on 127.0.0.1:0 (httptest) with a temp data dir.
func start(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "guildd.db"))
	require.NoError(t, err)
	srv, err := New(st, cfg)
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		st.Close()
	})
	return &testEnv{t, srv, hs, hs.URL}
}

// call sends a request and decodes a JSON reply into out (if not nil).
func (e *testEnv) call(method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	resp, err := httpClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	if out != nil {
		require.NoError(e.t, json.Unmarshal(data, out), "%s %s: %s", method, path, data)
	}
	return resp.StatusCode
}

func (e *testEnv) mustCall(method, path string, body any, out any) {
	e.t.Helper()
	var raw json.RawMessage
	code := e.call(method, path, body, &raw)
	require.Equal(e.t, 200, code, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(e.t, json.Unmarshal(raw, out))
	}
}

type listReply struct {
	Size  int         `json:"size"`
	Start int         `json:"start"`
	Items []wire.Item `json:"items"`
}

func (e *testEnv) list(gid string, start, count int) listReply {
	e.t.Helper()
	var l listReply
	e.mustCall("GET", fmt.Sprintf("/guilds/%s/list?start=%d&count=%d", gid, start, count), nil, &l)
	return l
}

// wsClient is a gateway session whose updates go into a replica.
type wsClient struct {
	c      *websocket.Conn
	mu     sync.Mutex
	r      *replica.Replica
	errs   []string // ERROR messages
	fail   error    // first replica error
	closed error
	ranges [][2]int
	done   chan struct{}
}

func (e *testEnv) dial() *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/gateway", nil)
	require.NoError(e.t, err)
	c.SetReadLimit(16 << 20)
	w := &wsClient{c: c, r: replica.New(), done: make(chan struct{})}
	go w.read()
	e.t.Cleanup(func() { c.CloseNow(); <-w.done })
	return w
}

func (w *wsClient) read() {
	defer close(w.done)
	for {
		_, data, err := w.c.Read(context.Background())
		if err != nil {
			w.mu.Lock()
			w.closed = err
			w.mu.Unlock()
			return
		}
		msg, err := wire.DecodeServer(data)
		w.mu.Lock()
		switch {
		case err != nil:
			w.fail = err
		case msg.T == wire.TypeError:
			if msg.Seq != 0 {
				w.fail = fmt.Errorf("ERROR with seq %d", msg.Seq)
			}
			w.errs = append(w.errs, msg.Message)
		default:
			if err := w.r.Apply(&msg.Update); err != nil && w.fail == nil {
				w.fail = err
			}
		}
		w.mu.Unlock()
	}
}

func (w *wsClient) send(t *testing.T, v any) {
	t.Helper()
	var data []byte
	if s, ok := v.(string); ok {
		data = []byte(s)
	} else {
		var err error
		data, err = json.Marshal(v)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, w.c.Write(ctx, websocket.MessageText, data))
}

func (w *wsClient) subscribe(t *testing.T, gid string, ranges ...[2]int) {
	w.mu.Lock()
	w.ranges = ranges
	w.mu.Unlock()
	w.send(t, wire.Subscribe{Op: "subscribe", GuildID: gid, Ranges: ranges})
}

// eventually polls cond until it returns "" or the deadline passes.
func eventually(t *testing.T, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mismatch compares a session's slots with GET /list for each of its ranges;
// "" when equal.
func (e *testEnv) mismatch(gid string, w *wsClient) string {
	w.mu.Lock()
	ranges := w.ranges
	w.mu.Unlock()
	for _, r := range ranges {
		l := e.list(gid, r[0], r[1]-r[0]+1)
		w.mu.Lock()
		if w.fail != nil {
			w.mu.Unlock()
			return "replica: " + w.fail.Error()
		}
		if w.r.Size() != l.Size {
			defer w.mu.Unlock()
			return fmt.Sprintf("size %d, list says %d", w.r.Size(), l.Size)
		}
		got, ok := w.r.Range(r[0], r[1])
		w.mu.Unlock()
		if !ok {
			return fmt.Sprintf("range %v has unknown slots", r)
		}
		if len(got) != len(l.Items) {
			return fmt.Sprintf("range %v: %d slots, list has %d", r, len(got), len(l.Items))
		}
		for i := range got {
			if !got[i].Equal(l.Items[i]) {
				return fmt.Sprintf("range %v slot %d: %v, list has %v", r, r[0]+i, got[i], l.Items[i])
			}
		}
	}
	return ""
}
