//go:build !amd64 || purego

package sortedset

// cpuKernels returns the kernels this build can run: without the amd64
// assembly, only the generic one.
func cpuKernels() []kernel {
	return []kernel{genericKernel}
}
