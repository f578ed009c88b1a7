//go:build !amd64 || purego

package sortedset

import "math"

// cpuKernels returns the kernels this build can run: without the amd64
// assembly, only the generic one.
func cpuKernels() []kernel {
	return []kernel{genericKernel}
}

// Without the assembly there is no prefetch, and no Set asks for one.
var prefetchPast = math.MaxInt

func prefetchLines(p *byte, n int) {}
