module github.com/bucketed/sortedset/benchmarks

go 1.26.0

replace github.com/bucketed/sortedset => ../

require (
	github.com/bucketed/sortedset v0.0.0-00010101000000-000000000000
	github.com/google/btree v1.1.3
	github.com/tidwall/btree v1.8.2
)

require (
	github.com/klauspost/cpuid/v2 v2.4.2 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
