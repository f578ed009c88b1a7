package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// buildGuildd compiles this package into a temp dir.
func buildGuildd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "guildd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// runGuildd starts the binary on 127.0.0.1:0 and returns its base URL.
func runGuildd(t *testing.T, bin, data string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", data)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
			go io.Copy(io.Discard, stderr)
			return cmd, url
		}
	}
	t.Fatal("guildd did not start")
	return nil, ""
}

var client = &http.Client{Timeout: 10 * time.Second}

func call(method, url, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// state of one member id as its only writer saw it: "" = absent.
type idState struct {
	acked      string
	pending    string // the op in flight when the server died
	hasPending bool
}

// TestDurabilityAcrossSIGKILL: every PUT answered 200 survives a SIGKILL in
// the middle of a write load, and every DELETE answered 200 stays deleted.
func TestDurabilityAcrossSIGKILL(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	cmd, url := runGuildd(t, bin, data)
	code, body, err := call("PUT", url+"/guilds/1", `{"name":"durable"}`)
	require.NoError(t, err)
	require.Equal(t, 200, code, "%s", body)

	const workers = 16
	states := make([]map[uint64]*idState, workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		states[w] = map[uint64]*idState{}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			st := states[w]
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := uint64(w*1_000_000 + n%40) // 40 ids per worker, revisited
				s := st[id]
				if s == nil {
					s = &idState{}
					st[id] = s
				}
				next, method, payload := fmt.Sprintf("n%d-%d", w, n), "PUT", ""
				if s.acked != "" && n%3 == 0 {
					next, method = "", "DELETE"
				} else {
					payload = fmt.Sprintf(`{"name":%q}`, next)
				}
				s.pending, s.hasPending = next, true
				code, _, err := call(method, fmt.Sprintf("%s/guilds/1/members/%d", url, id), payload)
				if err != nil {
					return // the server is gone: this op stays pending
				}
				if code == 200 {
					s.acked, s.hasPending = next, false
				} else if code != 429 && code != 503 {
					t.Errorf("%s %d: %d", method, id, code)
					return
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	close(stop)
	wg.Wait()

	_, url = runGuildd(t, bin, data)
	checked, present := 0, 0
	for w := 0; w < workers; w++ {
		for id, s := range states[w] {
			code, body, err := call("GET", fmt.Sprintf("%s/guilds/1/members/%d", url, id), "")
			require.NoError(t, err)
			got := ""
			if code == 200 {
				var m struct{ Name string }
				require.NoError(t, json.Unmarshal(body, &m))
				got = m.Name
				present++
			} else {
				require.Equal(t, 404, code, "%s", body)
			}
			ok := got == s.acked || (s.hasPending && got == s.pending)
			require.True(t, ok, "member %d is %q after restart; acknowledged %q, in flight %q (%v)", id, got, s.acked, s.pending, s.hasPending)
			checked++
		}
	}
	t.Logf("checked %d members after SIGKILL, %d present", checked, present)
	require.Greater(t, present, 100, "the load did too little to test anything")
}

// TestGracefulShutdown: SIGTERM exits 0 and keeps what was written.
func TestGracefulShutdown(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	cmd, url := runGuildd(t, bin, data)
	for _, req := range [][3]string{
		{"PUT", "/guilds/5", `{"name":"g","roles":[{"id":"1","name":"r","position":1,"hoist":true}]}`},
		{"PUT", "/guilds/5/members/9", `{"name":"Zoe","roles":["1"],"status":"online"}`},
	} {
		code, body, err := call(req[0], url+req[1], req[2])
		require.NoError(t, err)
		require.Equal(t, 200, code, "%s", body)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	_, url = runGuildd(t, bin, data)
	code, body, err := call("GET", url+"/guilds/5/list?start=0&count=10", "")
	require.NoError(t, err)
	require.Equal(t, 200, code)
	// Presence is not durable: Zoe is back, offline.
	require.JSONEq(t, `{"size":2,"start":0,"items":[{"group":{"id":"offline","count":1}},{"member":{"id":"9","name":"Zoe","roles":["1"],"status":"offline"}}]}`, string(bytes.TrimSpace(body)))
}

// TestBadStartFailsClearly: a bad flag or a taken address ends guildd at once
// with a message naming the problem (the address before the store loads).
func TestBadStartFailsClearly(t *testing.T) {
	bin := buildGuildd(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-demo-members", "-1"}, "-demo-members -1 is outside"},
		{[]string{"-demo-members", "2000000"}, "-demo-members 2000000 is outside"},
		{[]string{"-addr", ln.Addr().String()}, "address already in use"},
	} {
		cmd := exec.Command(bin, append(tc.args, "-data", t.TempDir())...)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%v: %s", tc.args, out)
		require.Contains(t, string(out), tc.want)
	}
}
