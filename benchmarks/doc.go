// Package benchmarks measures github.com/bucketed/sortedset against its
// peers: a plain sorted []int64, github.com/tidwall/btree and
// github.com/google/btree. It is a separate module so that the library's own
// go.mod never requires the peers.
//
// Every benchmark is named Benchmark<Workload>/n=<size>/impl=<name>, so
//
//	go test -run X -bench . -count 6 > results/peers.txt
//	benchstat -col /impl results/peers.txt
//
// prints each peer's time as a ratio of the first column from one run.
// Set SORTEDSET_BENCH_10M=1 to add 10M items. The charts in ../docs are drawn
// by ./cmd/charts from the files under results/.
package benchmarks
