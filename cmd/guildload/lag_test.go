//go:build linux

package main

import (
	"fmt"
	"testing"
	"time"
)

// A session that lags behind by more
// changes of one hot member than the slot's short history holds (a slow
// session, or one resynchronised after a queue drop) still gets a latency
// sample for every change its frame delivers. The oldest changes waited
// longest; dropping them biases p99 and max down exactly under overload.
func TestLaggingSessionTimesEveryChange(t *testing.T) {
	s, h := hotSession(t)
	now := time.Now()
	const n = histLen + 4
	var all []*tracked
	for k := 1; k <= n; k++ {
		sent := now.Add(-time.Duration(n-k+1) * 100 * time.Millisecond) // oldest sent 1.2 s ago
		all = append(all, track(h, uint64(k), fmt.Sprintf("Staff 000 #%d", k), "online", sent))
	}
	// the resync shows the latest state
	s.handle(hotFrame(2, `{"op":"SYNC","range":[0,1],"items":[{"group":{"id":"11","count":1}},`+hotItem(fmt.Sprintf("Staff 000 #%d", n), "online")+`]}`), now, s.p.cache, s.p.st)
	if s.fail != nil {
		t.Fatal(s.fail)
	}
	lat := s.p.st.lat.Load()
	for _, tr := range all {
		if tr.deliveries.Load() != 1 {
			t.Errorf("change %d: %d deliveries, want 1", tr.seq, tr.deliveries.Load())
		}
	}
	if lat.count() != n {
		t.Errorf("%d latency samples, want %d", lat.count(), n)
	}
	if m := lat.maximum(); m < time.Duration(n)*100*time.Millisecond {
		t.Errorf("max %v, want >= %v (the oldest change's wait)", m, time.Duration(n)*100*time.Millisecond)
	}
}
