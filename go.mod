module github.com/bucketed/sortedset

go 1.24.0

require (
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/leanovate/gopter v0.2.11
)

require golang.org/x/sys v0.41.0 // indirect
