package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// The browser tests drive a real headless Chromium: Debian's, at
// /usr/bin/chromium (apt-get install -y chromium), or the one named by
// $CHROMIUM. They skip when there is none, unless $WEBUI_REQUIRE_BROWSER is
// set (as CI does), when they fail instead.

const noChromium = "no Chromium found: install Debian's chromium (apt-get install -y chromium) or set $CHROMIUM to a Chromium binary"

// skipWithoutChromium skips the test when there is no Chromium.
func skipWithoutChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("WEBUI_REQUIRE_BROWSER") != "" {
			t.Fatal(noChromium + " ($WEBUI_REQUIRE_BROWSER is set, so this is a failure)")
		}
		t.Skip(noChromium)
	}
	return path
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return ""
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a
// tab's context, which is cancelled (and the browser closed) when the test
// ends. Uncaught page exceptions and console errors are collected in *pageErrs.
func newBrowser(t *testing.T) (context.Context, *pageErrors) {
	t.Helper()
	path := skipWithoutChromium(t)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })

	// The first action starts the browser, which lives as long as the
	// context of that call: so no timeout on it. Each later action gets its
	// own (see evalJS).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	errs := &pageErrors{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			errs.add(fmt.Sprintf("exception at %d:%d: %s", d.LineNumber+1, d.ColumnNumber+1, msg))
		case *cdpruntime.EventConsoleAPICalled:
			if ev.Type == cdpruntime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value))
				}
				errs.add("console.error: " + strings.Join(parts, " "))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, errs
}

type pageErrors struct {
	mu   sync.Mutex
	list []string
}

func (p *pageErrors) add(s string) { p.mu.Lock(); p.list = append(p.list, s); p.mu.Unlock() }
func (p *pageErrors) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// evalJS evaluates a JavaScript expression in the page, with a timeout.
func evalJS[T any](ctx context.Context, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// openPage starts a browser with a width x height viewport and loads url
// in it, failing the test if it cannot.
func openPage(t *testing.T, url string, width, height int64) (context.Context, *pageErrors) {
	t.Helper()
	ctx, errs := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatal(err)
	}
	if err := navigate(ctx, url); err != nil {
		t.Fatal(err)
	}
	return ctx, errs
}

// navigate loads a page, with a timeout.
func navigate(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(ctx context.Context, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := evalJS[bool](ctx, expr)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("waiting for %s: %w", expr, err)
			}
			return fmt.Errorf("waiting for %s: still false after %v", expr, timeout)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// applyLogicJS checks the page's list model and apply function against a
// plain array that follows the gateway contract literally (a list of size
// slots, splice for INSERT and DELETE, cut or pad to size after each
// message), over random messages, and checks the subscribed ranges it asks
// for. It evaluates to "ok" or to a description of the first difference.
const applyLogicJS = `(() => {
  const { SlotList, applyMessage, wantedRanges, covers } = window.__memberlist;
  function reference(arr, msg) {
    for (const op of msg.ops) {
      switch (op.op) {
      case 'SYNC': {
        const [a, b] = op.range;
        for (let i = a; i <= b; i++) { while (arr.length <= i) arr.push(undefined); arr[i] = undefined; }
        op.items.forEach((it, k) => { arr[a + k] = it; });
        break;
      }
      case 'INSERT': while (arr.length < op.index) arr.push(undefined); arr.splice(op.index, 0, op.item); break;
      case 'DELETE': if (op.index < arr.length) arr.splice(op.index, 1); break;
      case 'UPDATE': while (arr.length <= op.index) arr.push(undefined); arr[op.index] = op.item; break;
      case 'INVALIDATE': for (let i = op.range[0]; i <= op.range[1] && i < arr.length; i++) arr[i] = undefined; break;
      }
    }
    while (arr.length > msg.size) arr.pop();
    while (arr.length < msg.size) arr.push(undefined);
  }
  let seed = 12345;
  const rnd = n => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return seed % n; };
  let uid = 0;
  const member = () => ({ member: { id: String(++uid), name: 'm' + uid, roles: [], status: 'online' } });
  const group = () => ({ group: { id: 'online', count: ++uid } });
  for (let trial = 0; trial < 1500; trial++) {
    const list = new SlotList(), arr = [];
    let size = rnd(3) === 0 ? 0 : rnd(40);
    for (let m = 0; m < 25; m++) {
      const ops = [];
      for (let o = 0, n = 1 + rnd(6); o < n; o++) {
        switch (rnd(5)) {
        case 0: {
          const a = rnd(size + 5), w = rnd(10), items = [];
          for (let k = 0; k <= w; k++) items.push(rnd(5) ? member() : group());
          ops.push({ op: 'SYNC', range: [a, a + w], items });
          size = Math.max(size, a + w + 1);
          break;
        }
        case 1: ops.push({ op: 'INSERT', index: rnd(size + 1), item: member() }); size++; break;
        case 2: if (size > 0) { ops.push({ op: 'DELETE', index: rnd(size) }); size--; } break;
        case 3: if (size > 0) ops.push({ op: 'UPDATE', index: rnd(size), item: member() }); break;
        case 4: { const a = rnd(size + 2); ops.push({ op: 'INVALIDATE', range: [a, a + rnd(8)] }); break; }
        }
      }
      if (rnd(4) === 0) size = Math.max(0, size + rnd(7) - 3);
      const msg = { t: 'GUILD_MEMBER_LIST_UPDATE', seq: m + 1, guild_id: '1', size, ops };
      const bad = applyMessage(list, msg, 1);
      reference(arr, msg);
      if (bad !== 0) return 'applyMessage reported ' + bad + ' unknown ops';
      if (rnd(8) === 0) {
        const a = rnd(size + 3), b = a + rnd(12);
        list.retain([[a, b]]);
        for (let i = 0; i < arr.length; i++) if (i < a || i > b) arr[i] = undefined;
      }
      if (list.size !== arr.length) return 'trial ' + trial + ' message ' + m + ': size ' + list.size + ', want ' + arr.length;
      for (let i = 0; i < arr.length + 3; i++) {
        const got = list.get(i), x = JSON.stringify(got && got.item), y = JSON.stringify(arr[i]);
        if (x !== y) return 'trial ' + trial + ' message ' + m + ' slot ' + i + ': ' + x + ', want ' + y + ' after ' + JSON.stringify(msg);
      }
      for (let j = 0; j < list.runs.length; j++) {
        const r = list.runs[j], prev = list.runs[j - 1];
        if (r.items.length === 0) return 'empty run after ' + JSON.stringify(msg);
        if (prev && prev.start + prev.items.length >= r.start) return 'runs out of order or adjacent: ' + JSON.stringify(list.runs.map(r => [r.start, r.items.length]));
      }
      let known = 0;
      for (const v of arr) if (v !== undefined) known++;
      if (list.known() !== known) return 'known ' + list.known() + ', want ' + known;
    }
  }
  // Flash times: an INSERT or UPDATE is a change, the first SYNC of a slot is
  // not, a SYNC that repeats the same item keeps its time.
  {
    const l = new SlotList();
    applyMessage(l, { size: 2, ops: [{ op: 'SYNC', range: [0, 1], items: [member(), member()] }] }, 5);
    if (l.get(0).t !== 0) return 'first SYNC marked as a change';
    const same = l.get(1).item, other = member();
    applyMessage(l, { size: 3, ops: [{ op: 'INSERT', index: 0, item: other }] }, 7);
    if (l.get(0).t !== 7) return 'INSERT not marked as a change';
    applyMessage(l, { size: 3, ops: [{ op: 'SYNC', range: [0, 2], items: [other, member(), same] }] }, 9);
    if (l.get(0).t !== 7 || l.get(1).t !== 9 || l.get(2).t !== 0) return 'SYNC change times wrong: ' + [0, 1, 2].map(i => l.get(i).t);
  }
  // Subscribed ranges: 1 to 3, each at most 300 wide, starting at >= 0, and
  // covering any view of up to 200 rows.
  for (let k = 0; k < 20000; k++) {
    const first = rnd(3) === 0 ? rnd(400) : rnd(2000000), last = first + rnd(200);
    const rs = wantedRanges(first, last);
    if (rs.length < 1 || rs.length > 3) return 'wantedRanges gave ' + rs.length + ' ranges';
    for (const [a, b] of rs) if (a < 0 || b < a || b - a + 1 > 300) return 'bad range ' + JSON.stringify(rs) + ' for view ' + first + '..' + last;
    if (!covers(rs, first, last)) return JSON.stringify(rs) + ' does not cover view ' + first + '..' + last;
  }
  if (covers([[0, 99], [200, 299]], 50, 250)) return 'covers missed a gap';
  if (!covers([[100, 199], [0, 99]], 0, 199)) return 'covers missed adjacent ranges';
  return 'ok';
})()`

// TestApplyLogicInBrowser runs the page's own list model in Chromium, against
// a stub server that has no guilds.
func TestApplyLogicInBrowser(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /", Handler())
	mux.HandleFunc("GET /guilds", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"guilds":[]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, errs := newBrowser(t)
	if err := navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!window.__memberlist`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	result, err := evalJS[string](ctx, applyLogicJS)
	if err != nil {
		t.Fatal(err)
	}
	if result != "ok" {
		t.Fatal(result)
	}
	text, err := evalJS[string](ctx, `document.getElementById('guild-name').textContent`)
	if err != nil {
		t.Fatal(err)
	}
	if text != "No guilds yet" {
		t.Errorf("with no guilds the page says %q", text)
	}
	for _, e := range errs.get() {
		t.Errorf("page error: %s", e)
	}
}

// ---------------------------------------------------------------------------
// The end-to-end test: the real guildd, a real browser, churn over HTTP.

// buildGuildd builds the server from this module into a temp dir.
func buildGuildd(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("no go tool to build guildd with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "guildd")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/bucketed/sortedset/cmd/guildd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build guildd: %v\n%s", err, out)
	}
	return bin
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startGuildd runs bin on a free loopback port with a temp data dir and
// returns its base URL once /healthz answers.
func startGuildd(t *testing.T, bin string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "-addr", addr, "-data", filepath.Join(t.TempDir(), "data"))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("guildd output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("guildd exited before it was healthy:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("guildd not healthy after 15s: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// call sends a JSON request and decodes a JSON answer into out (if not nil);
// any status but 200 is an error.
func call(method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type testMember struct {
	Name   string   `json:"name"`
	Roles  []string `json:"roles"`
	Status string   `json:"status"`
}

var (
	firstNames = []string{"ada", "Bram", "cleo", "Dario", "eun-ji", "Farah", "gus", "Hana", "ivo", "Jun", "kai", "Lena", "mo", "Nia", "oskar", "Pia", "quinn", "Rosa", "sol", "Tariq", "uma", "Vik", "wren", "Xia", "yusuf", "Zoë"}
	lastNames  = []string{"ash", "birch", "cedar", "dune", "ember", "fjord", "grove", "heath", "isle", "juniper", "kestrel", "lark", "moss", "north", "oak", "pine"}
	statuses   = []string{"online", "online", "online", "idle", "dnd", "offline", "offline", "offline"}
)

func randomMember(r *rand.Rand, n int) testMember {
	m := testMember{
		Name:   fmt.Sprintf("%s %s %d", firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))], n),
		Roles:  []string{},
		Status: statuses[r.IntN(len(statuses))],
	}
	switch x := r.IntN(100); {
	case x < 3:
		m.Roles = []string{"11", "13"}
	case x < 10:
		m.Roles = []string{"12"}
	case x < 40:
		m.Roles = []string{"13"}
	}
	return m
}

// parallel runs f(i) for i in [0, n) on a few goroutines and returns the
// first error.
func parallel(n, workers int, f func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

type screenRow struct {
	Index  int    `json:"index"`
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Group  string `json:"group"`
	Count  int    `json:"count"`
}

type listItem struct {
	Group *struct {
		ID    string `json:"id"`
		Count int    `json:"count"`
	} `json:"group"`
	Member *struct {
		ID     string   `json:"id"`
		Name   string   `json:"name"`
		Roles  []string `json:"roles"`
		Status string   `json:"status"`
	} `json:"member"`
}

func (it listItem) String() string {
	switch {
	case it.Group != nil:
		return fmt.Sprintf("group %s (%d)", it.Group.ID, it.Group.Count)
	case it.Member != nil:
		return fmt.Sprintf("member %s %q %s", it.Member.ID, it.Member.Name, it.Member.Status)
	}
	return "empty item"
}

func (r screenRow) matches(it listItem) bool {
	switch r.Kind {
	case "group":
		return it.Group != nil && it.Group.ID == r.Group && it.Group.Count == r.Count
	case "member":
		return it.Member != nil && it.Member.ID == r.ID && it.Member.Name == r.Name && it.Member.Status == r.Status
	}
	return false
}

func (r screenRow) String() string {
	switch r.Kind {
	case "group":
		return fmt.Sprintf("group %s (%d)", r.Group, r.Count)
	case "member":
		return fmt.Sprintf("member %s %q %s", r.ID, r.Name, r.Status)
	}
	return r.Kind
}

// compareScreen checks that the rows on screen are consecutive, all known,
// and equal to GET /list for the same window.
func compareScreen(ctx context.Context, base, guild string) ([]screenRow, error) {
	rows, err := evalJS[[]screenRow](ctx, `window.__memberlist.rowsOnScreen()`)
	if err != nil {
		return nil, err
	}
	if len(rows) < 5 {
		return rows, fmt.Errorf("only %d rows on screen", len(rows))
	}
	var list struct {
		Size  int        `json:"size"`
		Start int        `json:"start"`
		Items []listItem `json:"items"`
	}
	if err := call("GET", fmt.Sprintf("%s/guilds/%s/list?start=%d&count=%d", base, guild, rows[0].Index, len(rows)), nil, &list); err != nil {
		return rows, err
	}
	var diffs []string
	for k, r := range rows {
		if r.Index != rows[0].Index+k {
			return rows, fmt.Errorf("rows on screen are not consecutive: %d after %d", r.Index, rows[0].Index+k-1)
		}
		switch {
		case k >= len(list.Items):
			diffs = append(diffs, fmt.Sprintf("row %d: page shows %v, GET /list has nothing (size %d)", r.Index, r, list.Size))
		case !r.matches(list.Items[k]):
			diffs = append(diffs, fmt.Sprintf("row %d: page shows %v, GET /list has %v", r.Index, r, list.Items[k]))
		}
	}
	if len(diffs) > 0 {
		return rows, errors.New(strings.Join(diffs, "\n"))
	}
	return rows, nil
}

// waitSettled waits until the page's last seq has not moved for quiet and
// every row on screen is known.
func waitSettled(ctx context.Context, quiet, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	var last int64 = -1
	since := time.Now()
	for time.Now().Before(deadline) {
		st, err := evalJS[struct {
			Seq     int64 `json:"seq"`
			Unknown int   `json:"unknown"`
		}](ctx, `({seq: __memberlist.seq, unknown: __memberlist.rowsOnScreen().filter(r => r.kind === 'unknown').length})`)
		if err != nil {
			return 0, err
		}
		if st.Seq != last || st.Unknown > 0 {
			last, since = st.Seq, time.Now()
		} else if time.Since(since) >= quiet {
			return last, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last, fmt.Errorf("page did not settle in %v (last seq %d)", timeout, last)
}

func TestBrowserLiveMemberList(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test skipped in -short mode")
	}
	skipWithoutChromium(t)
	start := time.Now()
	base := startGuildd(t, buildGuildd(t))
	t.Logf("guildd built and started at %s in %v", base, time.Since(start).Round(time.Millisecond))

	const guild = "4242"
	roles := []map[string]any{
		{"id": "11", "name": "Admins", "position": 3, "hoist": true},
		{"id": "12", "name": "Moderators", "position": 2, "hoist": true},
		{"id": "13", "name": "Regulars", "position": 1, "hoist": false},
	}
	if err := call("PUT", base+"/guilds/"+guild, map[string]any{"name": "Browser test guild", "roles": roles}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	const firstID = 500000
	r := rand.New(rand.NewPCG(1, 2))
	members := make([]testMember, n)
	for i := range members {
		members[i] = randomMember(r, i)
	}
	t0 := time.Now()
	if err := parallel(n, 8, func(i int) error {
		return call("PUT", fmt.Sprintf("%s/guilds/%s/members/%d", base, guild, firstID+i), members[i], nil)
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("joined %d members in %v", n, time.Since(t0).Round(time.Millisecond))

	ctx, pageErrs := openPage(t, base+"/?guild="+guild, 1280, 800)
	if err := waitJS(ctx, `!!(window.__memberlist && __memberlist.ready && __memberlist.guildId === '`+guild+`' && __memberlist.rowsOnScreen().some(r => r.kind === 'member'))`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := waitSettled(ctx, 300*time.Millisecond, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if rows, err := compareScreen(ctx, base, guild); err != nil {
		t.Fatalf("top of the list: %v", err)
	} else if rows[0].Index != 0 || rows[0].Kind != "group" || rows[0].Group != "11" {
		t.Errorf("top of the list starts with %v at %d, want the Admins header at 0", rows[0], rows[0].Index)
	}

	// Scroll to the middle, as a user would, and wait for the page to
	// subscribe there.
	size, err := evalJS[int](ctx, `__memberlist.size`)
	if err != nil {
		t.Fatal(err)
	}
	if size < n {
		t.Fatalf("page's list size is %d, want at least %d members", size, n)
	}
	mid := size / 2
	if _, err := evalJS[any](ctx, fmt.Sprintf(`__memberlist.scrollToIndex(%d)`, mid)); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, fmt.Sprintf(`(() => { const rs = __memberlist.ranges || []; return rs.some(r => r[0] <= %d && %d <= r[1]); })()`, mid, mid), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := waitSettled(ctx, 300*time.Millisecond, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// Churn: status changes, renames, role changes, leaves and joins. Most
	// come in small batches, so the server sends them as INSERT, DELETE and
	// UPDATE ops that the page must splice in; a few big presence batches make
	// it send a SYNC of the ranges instead.
	present := make(map[int]bool, n)
	for i := 0; i < n; i++ {
		present[i] = true
	}
	next := n
	changes := 0
	t1 := time.Now()
	for round := 0; round < 40; round++ {
		size := 4
		if round%10 == 9 {
			size = 300
		}
		var batch []map[string]string
		for k := 0; k < size; k++ {
			i := r.IntN(next)
			if present[i] {
				batch = append(batch, map[string]string{"id": fmt.Sprint(firstID + i), "status": statuses[r.IntN(len(statuses))]})
			}
		}
		if err := call("POST", fmt.Sprintf("%s/guilds/%s/presences", base, guild), batch, nil); err != nil {
			t.Fatal(err)
		}
		changes += len(batch)
		var writes []func() error
		for k := 0; k < 4; k++ {
			i := r.IntN(next)
			if !present[i] {
				continue
			}
			switch (round + k) % 4 {
			case 0: // leave
				present[i] = false
				writes = append(writes, func() error {
					return call("DELETE", fmt.Sprintf("%s/guilds/%s/members/%d", base, guild, firstID+i), nil, nil)
				})
			case 1: // join
				j := next
				next++
				present[j] = true
				m := randomMember(r, j)
				writes = append(writes, func() error {
					return call("PUT", fmt.Sprintf("%s/guilds/%s/members/%d", base, guild, firstID+j), m, nil)
				})
			case 2: // rename
				m := randomMember(r, i)
				writes = append(writes, func() error {
					return call("PUT", fmt.Sprintf("%s/guilds/%s/members/%d", base, guild, firstID+i), m, nil)
				})
			case 3: // role change
				m := members[i%n]
				m.Roles = []string{[]string{"11", "12", "13"}[r.IntN(3)]}
				m.Status = "online"
				writes = append(writes, func() error {
					return call("PUT", fmt.Sprintf("%s/guilds/%s/members/%d", base, guild, firstID+i), m, nil)
				})
			}
		}
		if err := parallel(len(writes), 4, func(k int) error { return writes[k]() }); err != nil {
			t.Fatal(err)
		}
		changes += len(writes)
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("drove %d changes in %v", changes, time.Since(t1).Round(time.Millisecond))

	seq, err := waitSettled(ctx, 700*time.Millisecond, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := compareScreen(ctx, base, guild)
	if err != nil {
		t.Fatalf("middle of the list after churn (seq %d): %v", seq, err)
	}
	now, err := evalJS[int](ctx, `__memberlist.size`)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Index < now/4 || rows[0].Index > now*3/4 {
		t.Errorf("after scrolling to the middle the screen starts at row %d of %d", rows[0].Index, now)
	}
	stats, err := evalJS[struct {
		Seq        int64          `json:"seq"`
		SeqGaps    int            `json:"seqGaps"`
		UnknownOps int            `json:"unknownOps"`
		InDOM      int            `json:"inDOM"`
		Errors     []string       `json:"errors"`
		Messages   int            `json:"messages"`
		OpCounts   map[string]int `json:"opCounts"`
	}](ctx, `({seq: __memberlist.seq, seqGaps: __memberlist.seqGaps, unknownOps: __memberlist.unknownOps, inDOM: __memberlist.rowsInDOM, errors: __memberlist.errors, messages: __memberlist.messages, opCounts: __memberlist.opCounts})`)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Seq < 3 || stats.Messages < 3 {
		t.Errorf("page saw %d messages, last seq %d: the churn did not reach it", stats.Messages, stats.Seq)
	}
	if stats.OpCounts["INSERT"] == 0 || stats.OpCounts["DELETE"] == 0 || stats.OpCounts["UPDATE"] == 0 {
		t.Errorf("page received ops %v: the churn did not exercise INSERT, DELETE and UPDATE", stats.OpCounts)
	}
	if stats.SeqGaps != 0 || stats.UnknownOps != 0 || len(stats.Errors) != 0 {
		t.Errorf("page reported %d seq gaps, %d unknown ops, errors %q", stats.SeqGaps, stats.UnknownOps, stats.Errors)
	}
	// Virtual scrolling: only the view and a few rows beyond it are in the DOM.
	if stats.InDOM > len(rows)+2*8+2 {
		t.Errorf("%d rows in the DOM for %d on screen: not virtual", stats.InDOM, len(rows))
	}
	t.Logf("screen rows %d–%d of %d equal GET /list at seq %d (%d messages, ops %v)", rows[0].Index, rows[len(rows)-1].Index, now, stats.Seq, stats.Messages, stats.OpCounts)

	// Switch guilds with the picker, as a user would: the page must
	// subscribe to the other guild and show its list from the top.
	const other = "77"
	if err := call("PUT", base+"/guilds/"+other, map[string]any{"name": "Second guild", "roles": roles}, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		m := randomMember(r, i)
		if err := call("PUT", fmt.Sprintf("%s/guilds/%s/members/%d", base, other, 900+i), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The picker was filled at load: reload the guild list the way the page
	// does, by navigating to the same URL, then pick the other guild.
	if err := navigate(ctx, base+"/?guild="+guild); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `!!(window.__memberlist && __memberlist.ready && document.querySelector('#guild-select option[value="`+other+`"]'))`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := evalJS[any](ctx, `(() => { const s = document.getElementById('guild-select'); s.value = '`+other+`'; s.dispatchEvent(new Event('change')); })()`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `__memberlist.guildId === '`+other+`' && __memberlist.ready && __memberlist.size > 0 && __memberlist.size < 40`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := waitSettled(ctx, 300*time.Millisecond, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if rows, err := compareScreen(ctx, base, other); err != nil {
		t.Fatalf("after switching to guild %s: %v", other, err)
	} else if rows[0].Index != 0 {
		t.Errorf("after switching guilds the screen starts at row %d, want 0", rows[0].Index)
	}
	if _, err := evalJS[any](ctx, `(() => { const s = document.getElementById('guild-select'); s.value = '`+guild+`'; s.dispatchEvent(new Event('change')); })()`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `__memberlist.guildId === '`+guild+`' && __memberlist.ready && __memberlist.size > 1000`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := evalJS[any](ctx, fmt.Sprintf(`__memberlist.scrollToIndex(%d)`, mid)); err != nil {
		t.Fatal(err)
	}
	if _, err := waitSettled(ctx, 300*time.Millisecond, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := compareScreen(ctx, base, guild); err != nil {
		t.Fatalf("back on guild %s: %v", guild, err)
	}

	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "memberlist.png")
	if dir := os.Getenv("WEBUI_SCREENSHOT_DIR"); dir != "" {
		shot = filepath.Join(dir, "memberlist.png")
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	for _, e := range pageErrs.get() {
		t.Errorf("page error: %s", e)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// TestMillionRowScrolling checks virtual scrolling over a 1,000,000-row list,
// taller than a browser can lay out, against a stub gateway whose row i is
// always member "row i": the page must show exactly the rows around where it
// is scrolled, keep only those in the DOM, and subscribe to them.
func TestMillionRowScrolling(t *testing.T) {
	const size = 1_000_000
	mux := http.NewServeMux()
	mux.Handle("GET /", Handler())
	mux.HandleFunc("GET /guilds", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"guilds":[{"id":"5","name":"Big","member_count":999999}]}`)
	})
	mux.HandleFunc("GET /guilds/5", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":"5","name":"Big","member_count":999999,"online_count":999999,"size":1000000,"groups":[{"id":"online","count":999999}],"roles":[]}`)
	})
	var subscribes sync.Map // ranges (as JSON) -> true
	mux.HandleFunc("GET /gateway", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		seq := 0
		for {
			_, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var sub struct {
				Op      string   `json:"op"`
				GuildID string   `json:"guild_id"`
				Ranges  [][2]int `json:"ranges"`
			}
			if err := json.Unmarshal(data, &sub); err != nil || sub.Op != "subscribe" || sub.GuildID != "5" ||
				len(sub.Ranges) < 1 || len(sub.Ranges) > 3 {
				t.Errorf("bad subscribe %s", data)
				return
			}
			var ops []map[string]any
			for _, rg := range sub.Ranges {
				if rg[0] < 0 || rg[1] < rg[0] || rg[1]-rg[0] >= 300 {
					t.Errorf("bad range in %s", data)
					return
				}
				ops = append(ops, map[string]any{"op": "SYNC", "range": rg, "items": stubItems(size, rg)})
			}
			subscribes.Store(fmt.Sprint(sub.Ranges), true)
			seq++
			msg, _ := json.Marshal(map[string]any{"t": "GUILD_MEMBER_LIST_UPDATE", "seq": seq, "guild_id": "5",
				"member_count": size - 1, "online_count": size - 1, "size": size,
				"groups": []map[string]any{{"id": "online", "count": size - 1}}, "ops": ops})
			if err := c.Write(r.Context(), websocket.MessageText, msg); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, errs := openPage(t, srv.URL+"/", 1280, 800)
	if err := waitJS(ctx, `!!(window.__memberlist && __memberlist.ready && __memberlist.size === 1000000)`, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	// check waits until the rows on screen are known, then checks that they
	// are consecutive, start at first (if first >= 0), and are the right rows.
	check := func(what string, first int) []screenRow {
		t.Helper()
		if err := waitJS(ctx, `(() => { const rs = __memberlist.rowsOnScreen(); return rs.length > 5 && rs.every(r => r.kind !== 'unknown'); })()`, 10*time.Second); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		rows, err := evalJS[[]screenRow](ctx, `__memberlist.rowsOnScreen()`)
		if err != nil {
			t.Fatal(err)
		}
		if first >= 0 && rows[0].Index != first {
			t.Errorf("%s: screen starts at row %d, want %d", what, rows[0].Index, first)
		}
		for k, r := range rows {
			want := fmt.Sprintf("row %d", r.Index)
			if r.Index != rows[0].Index+k || (r.Index > 0 && (r.Kind != "member" || r.Name != want)) {
				t.Fatalf("%s: screen row %d is %v (index %d), want %q at index %d", what, k, r, r.Index, want, rows[0].Index+k)
			}
		}
		inDOM, err := evalJS[int](ctx, `__memberlist.rowsInDOM`)
		if err != nil {
			t.Fatal(err)
		}
		if inDOM > len(rows)+2*8+2 {
			t.Errorf("%s: %d rows in the DOM for %d on screen", what, inDOM, len(rows))
		}
		return rows
	}
	check("top", 0)
	scrollHeight, err := evalJS[int](ctx, `document.getElementById('scroller').scrollHeight`)
	if err != nil {
		t.Fatal(err)
	}
	if scrollHeight > 20_000_000 {
		t.Errorf("scroll height %d px: taller than browsers lay out", scrollHeight)
	}
	t.Logf("%d rows of 40 px on a %d px scrollbar", size, scrollHeight)
	for _, i := range []int{500_000, 123_457, 999_000} {
		if _, err := evalJS[any](ctx, fmt.Sprintf(`__memberlist.scrollToIndex(%d)`, i)); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("scrolled to %d", i), i)
	}

	// The wheel moves row by row even though the scrollbar is scaled: 10
	// notches of 80 px are 20 rows of 40 px.
	before := check("before the wheel", -1)[0].Index
	if _, err := evalJS[any](ctx, `(() => { const s = document.getElementById('scroller'); for (let k = 0; k < 10; k++) s.dispatchEvent(new WheelEvent('wheel', {deltaY: 80, cancelable: true})); })()`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, fmt.Sprintf(`__memberlist.view.first === %d`, before+20), 5*time.Second); err != nil {
		t.Fatalf("after the wheel: %v", err)
	}
	check("after the wheel", before+20)

	// Dragging the scrollbar to the end shows the last rows.
	if _, err := evalJS[any](ctx, `(() => { const s = document.getElementById('scroller'); s.scrollTop = s.scrollHeight; })()`); err != nil {
		t.Fatal(err)
	}
	if err := waitJS(ctx, `(() => { const rs = __memberlist.rowsOnScreen(); return rs.length > 0 && rs[rs.length - 1].index === 999999; })()`, 10*time.Second); err != nil {
		t.Fatalf("scrolled to the end: %v", err)
	}
	rows := check("at the end", -1)
	if last := rows[len(rows)-1].Index; last != size-1 {
		t.Errorf("at the end the last row on screen is %d, want %d", last, size-1)
	}
	n := 0
	subscribes.Range(func(k, v any) bool { n++; return true })
	if n < 5 {
		t.Errorf("the page subscribed to %d range sets while scrolling to 6 places", n)
	}
	for _, e := range errs.get() {
		t.Errorf("page error: %s", e)
	}
}
