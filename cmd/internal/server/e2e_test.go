package server

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var e2eRoles = []roleJSON{
	{"101", "Admin", 30, true}, {"102", "Mod", 20, true}, {"103", "Booster", 20, true}, {"104", "Regular", 5, false},
}

func randBody(rng *rand.Rand) map[string]any {
	names := []string{"ann", "Bo", "cy", "Dee", "eli", "Fay", "gus", "hal", "Ïda", "jo"}
	roles := []string{}
	for _, r := range e2eRoles {
		if rng.IntN(8) == 0 {
			roles = append(roles, r.ID)
		}
	}
	return map[string]any{
		"name":   names[rng.IntN(len(names))] + fmt.Sprint(rng.IntN(500)),
		"roles":  roles,
		"status": []string{"online", "idle", "dnd", "offline", "offline"}[rng.IntN(5)],
	}
}

// TestEndToEnd joins thousands of members, subscribes several sessions to
// different ranges, drives every kind of change from concurrent clients, and
// checks that each session's replicated slots equal GET /list.
func TestEndToEnd(t *testing.T) {
	e := start(t, Config{})
	const gid = "42"
	e.mustCall("PUT", "/guilds/"+gid, map[string]any{"name": "e2e", "roles": e2eRoles}, nil)

	const members = 3000
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for id := w; id < members; id += 8 {
				e.mustCall("PUT", fmt.Sprintf("/guilds/%s/members/%d", gid, 1000+id), randBody(rng), nil)
			}
		}(w)
	}
	wg.Wait()
	var g guildJSON
	e.mustCall("GET", "/guilds/"+gid, nil, &g)
	require.Equal(t, members, g.MemberCount)

	rangeSets := [][][2]int{
		{{0, 99}},
		{{0, 99}}, // same ranges as the first: shares its frames
		{{0, 99}, {100, 199}},
		{{1000, 1299}},
		{{2900, 3050}},
		{{50, 60}, {1500, 1799}, {2990, 3100}},
		{{3500, 3600}}, // past the end until the guild grows
	}
	var clients []*wsClient
	for _, rs := range rangeSets {
		c := e.dial()
		c.subscribe(t, gid, rs...)
		clients = append(clients, c)
	}
	for i, c := range clients {
		eventually(t, 10*time.Second, func() string {
			if m := e.mismatch(gid, c); m != "" {
				return fmt.Sprintf("client %d after subscribe: %s", i, m)
			}
			return ""
		})
	}

	// Churn from 6 workers, each on its own ids so their effects are known.
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			next := 100000 + w*10000
			for step := 0; step < 120; step++ {
				id := 1000 + rng.IntN(members/6)*6 + w
				switch rng.IntN(6) {
				case 0: // join
					e.mustCall("PUT", fmt.Sprintf("/guilds/%s/members/%d", gid, next), randBody(rng), nil)
					next++
				case 1: // leave (404 if it already left)
					code := e.call("DELETE", fmt.Sprintf("/guilds/%s/members/%d", gid, id), nil, nil)
					require.Contains(t, []int{200, 404}, code)
				case 2: // rename, new roles
					body := randBody(rng)
					delete(body, "status")
					e.call("PUT", fmt.Sprintf("/guilds/%s/members/%d", gid, id), body, nil)
				case 3, 4: // presence batch
					var batch []map[string]string
					for k := 0; k < 20; k++ {
						batch = append(batch, map[string]string{
							"id":     fmt.Sprint(1000 + rng.IntN(members)),
							"status": []string{"online", "idle", "dnd", "offline"}[rng.IntN(4)],
						})
					}
					e.mustCall("POST", "/guilds/"+gid+"/presences", batch, nil)
				case 5:
					if w == 0 && step%40 == 0 { // reorder the roles: every group moves
						roles := append([]roleJSON(nil), e2eRoles...)
						roles[1].Position = rng.IntN(40)
						e.mustCall("PUT", "/guilds/"+gid, map[string]any{"name": "e2e", "roles": roles}, nil)
					}
				}
			}
		}(w)
	}
	// Meanwhile one client hops between ranges and guilds' ranges.
	hop := clients[len(clients)-1]
	for i := 0; i < 5; i++ {
		time.Sleep(30 * time.Millisecond)
		hop.subscribe(t, gid, [2]int{i * 500, i*500 + 299})
	}
	wg.Wait()
	for i, c := range clients {
		eventually(t, 10*time.Second, func() string {
			if m := e.mismatch(gid, c); m != "" {
				return fmt.Sprintf("client %d: %s", i, m)
			}
			return ""
		})
	}
	for i, c := range clients {
		c.mu.Lock()
		require.Empty(t, c.errs, "client %d", i)
		require.Positive(t, c.r.Seq(), "client %d", i)
		c.mu.Unlock()
	}
}
