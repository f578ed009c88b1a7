package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memberCount returns the member_count of GET /guilds/1 at url.
func memberCount(t *testing.T, url string) int {
	t.Helper()
	body := mustCall(t, "GET", url+"/guilds/1", "")
	var g struct {
		MemberCount int `json:"member_count"`
	}
	require.NoError(t, json.Unmarshal(body, &g))
	return g.MemberCount
}

// TestDemoSeedSurvivesACrash: guildd -demo killed while it seeds the demo
// guild for the first time, then started again with -demo, must end with a
// seeded demo guild, not an empty one that is never seeded again (and whose
// churn, having no members to pick from, never does anything).
func TestDemoSeedSurvivesACrash(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	const n = 200000
	cmd, _ := startGuildd(t, bin, data, "loaded the store in", "-demo", "-demo-members", "200000")
	time.Sleep(40 * time.Millisecond) // the guild record is committed; the members are not yet
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()

	_, url := startGuildd(t, bin, data, "listening on ", "-demo", "-demo-members", "200000")
	require.InDelta(t, n, memberCount(t, url), 1000, "demo guild after a crash during its seeding and a restart with -demo")
}

// TestDemoLeavesAnotherGuild1Alone: -demo on a data dir whose guild 1 is
// somebody's own guild (not one -demo seeded) must not rename or remove its
// members, durably, behind its owner's back: either it refuses to start or
// it leaves that guild's membership as it was.
func TestDemoLeavesAnotherGuild1Alone(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	cmd, url := runGuildd(t, bin, data)
	mustCall(t, "PUT", url+"/guilds/1", `{"name":"mine","roles":[{"id":"5","name":"Staff","position":1,"hoist":true}]}`)
	const n = 20
	for i := 0; i < n; i++ {
		mustCall(t, "PUT", fmt.Sprintf("%s/guilds/1/members/%d", url, 100+i), fmt.Sprintf(`{"name":"user%d","roles":["5"]}`, i))
	}
	before := snapshotList(t, url)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())

	demo := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", data, "-demo", "-demo-members", "1000")
	require.NoError(t, demo.Start())
	t.Cleanup(func() { demo.Process.Kill(); demo.Wait() })
	time.Sleep(3 * time.Second) // it either refused and exited, or runs its churn
	demo.Process.Signal(syscall.SIGTERM)
	demo.Wait()

	_, url = runGuildd(t, bin, data)
	require.Equal(t, before, snapshotList(t, url), "guild 1's membership after a run with -demo")
}

// snapshotList is guild 1's members (id, name, roles), statuses left out.
func snapshotList(t *testing.T, url string) string {
	t.Helper()
	body := mustCall(t, "GET", url+"/guilds/1/list?start=0&count=1000", "")
	var l struct {
		Items []struct {
			Member *struct {
				ID    string   `json:"id"`
				Name  string   `json:"name"`
				Roles []string `json:"roles"`
			} `json:"member"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(body, &l))
	var b strings.Builder
	for _, it := range l.Items {
		if it.Member != nil {
			fmt.Fprintf(&b, "%s %s %v\n", it.Member.ID, it.Member.Name, it.Member.Roles)
		}
	}
	return b.String()
}

// TestDemoRestarts: a second -demo run on the demo's own data dir starts
// and keeps the demo guild's members.
func TestDemoRestarts(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	cmd, _ := startGuildd(t, bin, data, "listening on ", "-demo", "-demo-members", "500")
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	cmd, url := startGuildd(t, bin, data, "listening on ", "-demo", "-demo-members", "500")
	require.InDelta(t, 500, memberCount(t, url), 50)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
}
