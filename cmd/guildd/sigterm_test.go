package main

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSIGTERMUnderWriteLoad: SIGTERM in the middle of a write load exits 0
// and keeps every acknowledged write; nothing unacknowledged and not in
// flight appears.
func TestSIGTERMUnderWriteLoad(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	cmd, url := runGuildd(t, bin, data)
	mustCall(t, "PUT", url+"/guilds/1", `{"name":"durable"}`)

	var mu sync.Mutex
	codes := map[int]int{}
	states, wait := writeLoad(url, 16, nil, func(s *idState, _ string, _ uint64, code int) bool {
		mu.Lock()
		codes[code]++
		mu.Unlock()
		switch code {
		case 200:
			return true
		case 429:
			s.hasPending = false
			return true
		}
		return false // 503 while shutting down: may or may not have been applied
	})
	time.Sleep(1000 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	werr := cmd.Wait()
	wait()
	t.Logf("codes %v", codes)
	require.NoError(t, werr, "exit status after SIGTERM")

	_, url = runGuildd(t, bin, data)
	checkWrites(t, url, states)
}
