package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkRandomLoad measures the machine, not a container: the latency of
// one load from a random cache line of an array as large as a workload's
// data (8 MiB is 1M int64; a Set of 1M int64 spans about 10 MiB, and 16 MiB
// bounds it from above). Each load's address comes from the previous
// load, so the loads cannot overlap and ns/op is the latency itself. A
// lookup in any container must read the line that holds its item, so at 1M
// this is the floor under IndexOf and under each half of a churn step.
func BenchmarkRandomLoad(b *testing.B) {
	for _, mib := range []int{1, 8, 16} {
		const perLine = 8 // int64s per 64-byte line
		n := mib << 20 / 8
		lines := rand.New(rand.NewPCG(3, 3)).Perm(n / perLine)
		next := make([]int64, n)
		for i, l := range lines {
			next[l*perLine] = int64(lines[(i+1)%len(lines)] * perLine)
		}
		b.Run(fmt.Sprintf("size=%dMiB", mib), func(b *testing.B) {
			p := int64(lines[0] * perLine)
			for b.Loop() {
				p = next[p]
			}
			runtime.KeepAlive(p)
		})
	}
}
