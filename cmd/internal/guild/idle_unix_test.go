//go:build unix

package guild

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkIdleOwners measures what guilds cost while nobody watches them
// and nothing changes, as most of a server's guilds are: the process's CPU
// time per owner and second, with 2,000 idle owners.
//
//	go test -run X -bench IdleOwners -benchtime 3x ./internal/guild/
func BenchmarkIdleOwners(b *testing.B) {
	const owners = 2000
	all := make([]*Owner, owners)
	for i := range all {
		all[i] = NewOwner(NewList(uint64(i+1), "g", nil, nil), nil)
	}
	defer func() {
		for _, o := range all {
			o.Stop()
		}
	}()
	time.Sleep(100 * time.Millisecond) // let every owner reach its wait
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	used, start := cpu(), time.Now()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	used, elapsed := cpu()-used, time.Since(start)
	b.ReportMetric(float64(used.Nanoseconds())/elapsed.Seconds()/owners, "cpu-ns/owner/s")
}
