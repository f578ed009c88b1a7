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
	return startGuildd(t, bin, data, "listening on ")
}

// startGuildd starts the binary with extra flags and returns it once it has
// logged a line containing until (and the rest of that line).
func startGuildd(t *testing.T, bin, data, until string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-data", data}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), until); ok {
			go io.Copy(io.Discard, stderr)
			return cmd, rest
		}
	}
	t.Fatalf("guildd never logged %q", until)
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

// mustCall is call for a request that must succeed: it fails the test
// unless the answer is a 200, and returns its body.
func mustCall(t *testing.T, method, url, body string) []byte {
	t.Helper()
	code, resp, err := call(method, url, body)
	require.NoError(t, err)
	require.Equal(t, 200, code, "%s %s: %s", method, url, resp)
	return resp
}

// state of one member id as its only writer saw it: "" = absent.
type idState struct {
	acked      string
	pending    string // the op in flight when the server died
	hasPending bool
}

// writeLoad runs workers writers of PUTs and DELETEs of members of guild 1 at
// url, 40 ids each, revisited, until stop is closed, a request fails (the
// server is gone: its op stays pending) or answered, told of every answer
// after a 200 has been recorded, returns false. It returns what each writer
// saw of its ids, and a wait for the writers.
func writeLoad(url string, workers int, stop <-chan struct{}, answered func(s *idState, method string, id uint64, code int) bool) ([]map[uint64]*idState, func()) {
	states := make([]map[uint64]*idState, workers)
	var wg sync.WaitGroup
	for w := range workers {
		states[w] = map[uint64]*idState{}
		wg.Add(1)
		go func(st map[uint64]*idState) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := uint64(w*1_000_000 + n%40)
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
					return
				}
				if code == 200 {
					s.acked, s.hasPending = next, false
				}
				if !answered(s, method, id, code) {
					return
				}
			}
		}(states[w])
	}
	return states, wg.Wait
}

// checkWrites fails t unless every member of guild 1 at url is what its
// writer had acknowledged, or what it had in flight; it returns how many ids
// it checked and how many were present.
func checkWrites(t *testing.T, url string, states []map[uint64]*idState) (checked, present int) {
	t.Helper()
	for _, st := range states {
		for id, s := range st {
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
	return checked, present
}

// TestDurabilityAcrossSIGKILL: every PUT answered 200 survives a SIGKILL in
// the middle of a write load, and every DELETE answered 200 stays deleted.
func TestDurabilityAcrossSIGKILL(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	cmd, url := runGuildd(t, bin, data)
	mustCall(t, "PUT", url+"/guilds/1", `{"name":"durable"}`)

	stop := make(chan struct{})
	states, wait := writeLoad(url, 16, stop, func(_ *idState, method string, id uint64, code int) bool {
		if code != 200 && code != 429 && code != 503 {
			t.Errorf("%s %d: %d", method, id, code)
			return false
		}
		return true
	})
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	close(stop)
	wait()

	_, url = runGuildd(t, bin, data)
	checked, present := checkWrites(t, url, states)
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
		mustCall(t, req[0], url+req[1], req[2])
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
