package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// stubGuild serves the page, one guild "9" of size rows where row i is
// member "row i", and a gateway that answers each subscribe with what
// answer returns for the n-th subscribe (from 1) of the connection.
func stubGuild(t *testing.T, size int, answer func(n int, ranges [][2]int, seq *int) [][]byte) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /", Handler())
	mux.HandleFunc("GET /guilds", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"guilds":[{"id":"9","name":"Stub","member_count":%d}]}`, size-1)
	})
	mux.HandleFunc("GET /guilds/9", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id":"9","name":"Stub","member_count":%d,"online_count":%d,"size":%d,"groups":[{"id":"online","count":%d}],"roles":[]}`, size-1, size-1, size, size-1)
	})
	mux.HandleFunc("GET /gateway", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		seq, n := 0, 0
		for {
			_, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			var sub struct {
				Ranges [][2]int `json:"ranges"`
			}
			json.Unmarshal(data, &sub)
			n++
			for _, msg := range answer(n, sub.Ranges, &seq) {
				if err := c.Write(r.Context(), websocket.MessageText, msg); err != nil {
					return
				}
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// stubItems are rows rg of a stub guild of size rows: the "online" header,
// then member "row i" at row i.
func stubItems(size int, rg [2]int) []map[string]any {
	items := []map[string]any{}
	for i := rg[0]; i <= min(rg[1], size-1); i++ {
		if i == 0 {
			items = append(items, map[string]any{"group": map[string]any{"id": "online", "count": size - 1}})
			continue
		}
		items = append(items, map[string]any{"member": map[string]any{
			"id": fmt.Sprint(1000 + i), "name": fmt.Sprintf("row %d", i), "roles": []string{}, "status": "online"}})
	}
	return items
}

// stubSync is the SYNC answer of the stub guild for ranges.
func stubSync(size int, ranges [][2]int, seq *int) []byte {
	var ops []map[string]any
	for _, rg := range ranges {
		ops = append(ops, map[string]any{"op": "SYNC", "range": rg, "items": stubItems(size, rg)})
	}
	*seq++
	msg, _ := json.Marshal(map[string]any{"t": "GUILD_MEMBER_LIST_UPDATE", "seq": *seq, "guild_id": "9",
		"member_count": size - 1, "online_count": size - 1, "size": size,
		"groups": []map[string]any{{"id": "online", "count": size - 1}}, "ops": ops})
	return msg
}

// The gateway refuses a subscribe with
// {"t":"ERROR","message":"guild is busy, subscribe again later"} (guildd's
// answer when the guild's inbox stays full, gateway.go), which by issue 4
// "changes nothing". The page must subscribe again; it must not sit for ever
// on ranges the server never took, showing placeholder rows.
func TestBusySubscribeIsRetried(t *testing.T) {
	const size = 5000
	var subs atomic.Int32
	srv := stubGuild(t, size, func(n int, ranges [][2]int, seq *int) [][]byte {
		subs.Add(1)
		if n == 1 {
			return [][]byte{[]byte(`{"t":"ERROR","message":"guild is busy, subscribe again later"}`)}
		}
		return [][]byte{stubSync(size, ranges, seq)}
	})
	ctx, _ := openPage(t, srv.URL+"/?guild=9", 1280, 800)
	err := waitJS(ctx, `!!(window.__memberlist && __memberlist.ready && (() => { const rs = __memberlist.rowsOnScreen(); return rs.length > 5 && rs.every(r => r.kind !== 'unknown'); })())`, 10*time.Second)
	if err != nil {
		st, _ := evalJS[any](ctx, `({ready: __memberlist.ready, size: __memberlist.size, ranges: __memberlist.ranges, errors: __memberlist.errors, unknownOnScreen: __memberlist.rowsOnScreen().filter(r => r.kind === 'unknown').length})`)
		t.Fatalf("after one busy ERROR the page never showed the list (%d subscribes sent): %v\npage state: %v", subs.Load(), err, st)
	}
}

// A view of more than 300 rows (a tall or zoomed-out
// window) must still get every row in view subscribed: the gateway allows 3
// ranges of 300.
func TestTallViewAllRowsKnown(t *testing.T) {
	const size = 5000
	srv := stubGuild(t, size, func(n int, ranges [][2]int, seq *int) [][]byte {
		return [][]byte{stubSync(size, ranges, seq)}
	})
	ctx, _ := openPage(t, srv.URL+"/?guild=9", 1280, 14000)
	if err := waitJS(ctx, `!!(window.__memberlist && __memberlist.ready)`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := evalJS[any](ctx, `__memberlist.scrollToIndex(2000)`); err != nil {
		t.Fatal(err)
	}
	err := waitJS(ctx, `(() => { const rs = __memberlist.rowsOnScreen(); return rs.length > 300 && rs.every(r => r.kind !== 'unknown'); })()`, 10*time.Second)
	if err != nil {
		st, _ := evalJS[any](ctx, `({view: __memberlist.view, ranges: __memberlist.ranges, onScreen: __memberlist.rowsOnScreen().length, unknown: __memberlist.rowsOnScreen().filter(r => r.kind === 'unknown').map(r => r.index)})`)
		t.Fatalf("%v\n%v", err, st)
	}
}

// Renaming a hoisted role (PUT /guilds/{g}) while the
// page is open: once settled, the header of its group reads the new name, as
// GET /guilds/{g} has it.
func TestRoleRenameShown(t *testing.T) {
	skipWithoutChromium(t)
	base := startGuildd(t, buildGuildd(t))
	const g = "32"
	roles := func(admin string) []map[string]any {
		return []map[string]any{
			{"id": "11", "name": admin, "position": 3, "hoist": true},
			{"id": "12", "name": "Moderators", "position": 2, "hoist": true},
			{"id": "13", "name": "Regulars", "position": 1, "hoist": false},
		}
	}
	if err := call("PUT", base+"/guilds/"+g, map[string]any{"name": "Roles", "roles": roles("Admins")}, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		m := testMember{Name: fmt.Sprintf("admin %d", i), Roles: []string{"11"}, Status: "online"}
		if err := call("PUT", fmt.Sprintf("%s/guilds/%s/members/%d", base, g, 100+i), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, _ := newBrowser(t)
	if err := navigate(ctx, base+"/?guild="+g); err != nil {
		t.Fatal(err)
	}
	header := `(document.querySelector('#spacer .row.group[data-group="11"] .gname') || {}).textContent`
	if err := waitJS(ctx, header+` === 'Admins'`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := call("PUT", base+"/guilds/"+g, map[string]any{"name": "Roles", "roles": roles("Owners")}, nil); err != nil {
		t.Fatal(err)
	}
	// More changes to the list, after the rename.
	for i := 0; i < 3; i++ {
		time.Sleep(3 * time.Second)
		m := testMember{Name: fmt.Sprintf("late admin %d", i), Roles: []string{"11"}, Status: "online"}
		if err := call("PUT", fmt.Sprintf("%s/guilds/%s/members/%d", base, g, 200+i), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := waitJS(ctx, header+` === 'Owners'`, 5*time.Second); err != nil {
		got, _ := evalJS[string](ctx, header)
		t.Fatalf("role 11 renamed to Owners in GET /guilds/%s; the page's header still reads %q 14 s later", g, got)
	}
}
