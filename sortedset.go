// Package sortedset provides Set, an ordered set that reports the index of
// every insert and removal: the data structure behind a chat member list,
// where clients hold a window of a sorted list and must be told where rows
// appear and disappear.
//
// A Set keeps its items in buckets of at most BucketSize sorted items, the
// largest item of every bucket in one contiguous array (the fences), and the
// bucket lengths in a Fenwick tree. Finding an item is two binary searches
// (fences, then one bucket; in Sets of items of up to 8 bytes without a key
// and with buckets of at least 128, a row of 15 samples per bucket, kept in
// one more array, first narrows the bucket to a sixteenth); every index is
// a Fenwick walk. With n items and B items per bucket, lookups and index
// queries cost O(log n), and writes cost O(log n + B) for moving items
// inside one bucket, plus an O(n/B) rebuild of the Fenwick tree when a
// bucket splits or merges. A bucket takes at least B/8 inserts between
// splits and falls below B/4 before it merges, so the rebuilds cost an
// amortized O(n/B²) per write.
//
// A Set is not safe for concurrent use when one goroutine writes: like a map,
// it wants one owner. Concurrent reads with no writer are safe, and a Clone
// and its original may be used by two goroutines at once.
package sortedset

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"slices"
	"unsafe"
)

// ErrNotSorted is returned by FromSorted and FromSortedFunc when the input is
// not strictly increasing. Match it with errors.Is.
var ErrNotSorted = errors.New("sortedset: input is not strictly increasing")

// DefaultBucketBytes sets the bucket size of Sets made without
// WithBucketSize: as many items as fit in DefaultBucketBytes, at least 16
// (512 int64s, 128 items of a 32-byte struct). Writes move items inside one
// bucket, so bounding a bucket's bytes rather than its item count keeps
// writes of large items as cheap as those of small ones. It was chosen by
// measurement; see the README.
const DefaultBucketBytes = 4096

// defaultBucketSize is the bucket size DefaultBucketBytes gives items of type T.
func defaultBucketSize[T any]() int {
	var zero T
	return min(maxBucketSize, max(16, DefaultBucketBytes/max(1, int(unsafe.Sizeof(zero)))))
}

const maxBucketSize = 1 << 16

// An Option configures a Set made by New, NewFunc, From, FromSorted or
// FromSortedFunc.
type Option func(*options)

type options struct {
	bucketSize int
	capacity   int
	key        any
}

// WithBucketSize sets the maximum number of items per bucket: larger buckets
// make lookups cheaper and writes dearer. The constructors panic when n is
// outside [2, 65536].
func WithBucketSize(n int) Option {
	return func(o *options) { o.bucketSize = n }
}

// WithCapacity pre-sizes the Set's index arrays for n items. It is a hint:
// the arrays are pre-sized for at most 2^20 buckets (about 2^28 items of up
// to 8 bytes) and grow as needed beyond. The constructors panic when n is
// negative.
func WithCapacity(n int) Option {
	return func(o *options) { o.capacity = n }
}

// WithKey stores key(item) beside every item and searches those keys first,
// with the fastest integer kernel the CPU has; the comparator only breaks ties
// among items with equal keys. key must be monotone in the Set's order:
// compare(a, b) < 0 must imply key(a) <= key(b), and compare(a, b) == 0 must
// imply key(a) == key(b). A key that packs the leading fields of a composite
// order (a group rank in the high bits, a name prefix below) makes
// comparator calls rare. A key that is not monotone makes the Set misplace
// items. The constructors panic when key is nil or its item type is not the
// Set's.
func WithKey[T any](key func(T) uint64) Option {
	return func(o *options) {
		if key == nil {
			panic("sortedset: WithKey with a nil key function")
		}
		o.key = key
	}
}

// Set is an ordered set of distinct items. Make one with New, NewFunc, From,
// FromSorted or FromSortedFunc; the zero Set is not usable.
type Set[T any] struct {
	buckets []bucket[T] // dir[lo:]
	// dir[:lo] is room for buckets added at the front (see insertBucket).
	// The Fenwick tree counts dir, so bucket b is its node lo+b, and At
	// indexes dir with what the tree finds.
	dir    []bucket[T]
	lo     int
	fences []T      // fences[b] is the last item of buckets[b]
	fkeys  []uint64 // fkeys[b] is key(fences[b]) when keyed
	rows   []T      // rows[r+j] is items[(j+1)<<shift-1] of the bucket with row r, where that exists
	free   []int    // rows no bucket uses
	sizes  fenwick  // lengths of dir's slots
	n      int
	hint   int  // bucket of the last write: runs of nearby writes skip the fence search
	writes uint // counts writes, so that iterators notice those made while they run
	last   int  // position in bucket hint of the last insert (or -1 after a removal, 0 when there was none)
	run    int  // inserts in a row, each just after (> 0) or just before (< 0) the last; see split
	owner  *token
	*config[T]
}

// config is what a Set and its clones share and never change.
type config[T any] struct {
	bucketSize int
	shift      uint // log2 of the distance between a row's samples (8 or more); 0 for Sets without rows
	compare    func(a, b T) int
	search     func(s []T, x T) int // lower bound; used when key is nil
	key        func(T) uint64
	keySearch  func(s []uint64, x uint64) int
	kernel     string
	cold       int // Len past which writes prefetch (see searchBucket)
}

// New returns an empty Set ordered by cmp.Compare: NaN sorts before every
// other float and equals NaN, and -0 equals +0.
func New[T cmp.Ordered](opts ...Option) *Set[T] {
	search, compare, kernel := orderedFuncs[T](activeKernel)
	return newSet(compare, search, kernel, opts)
}

// NewFunc returns an empty Set ordered by compare, which must be a strict
// weak order returning a negative number, zero or a positive number as a is
// less than, equal to or greater than b. Items that compare equal are the same
// item. NewFunc panics when compare is nil.
func NewFunc[T any](compare func(a, b T) int, opts ...Option) *Set[T] {
	if compare == nil {
		panic("sortedset: NewFunc with a nil compare function")
	}
	search := func(s []T, x T) int { return lowerBoundFunc(s, x, compare) }
	return newSet(compare, search, "generic", opts)
}

func newSet[T any](compare func(a, b T) int, search func([]T, T) int, kernel string, opts []Option) *Set[T] {
	o := applyOptions(options{bucketSize: defaultBucketSize[T]()}, opts)
	if o.bucketSize < 2 || o.bucketSize > maxBucketSize {
		panic(fmt.Sprintf("sortedset: bucket size %d is outside [2, %d]", o.bucketSize, maxBucketSize))
	}
	if o.capacity < 0 {
		panic(fmt.Sprintf("sortedset: negative capacity %d", o.capacity))
	}
	var zero T
	c := &config[T]{bucketSize: o.bucketSize, compare: compare, search: search, kernel: kernel,
		cold: prefetchPast / max(1, int(unsafe.Sizeof(zero)))}
	if o.bucketSize >= sampleMin && o.key == nil && unsafe.Sizeof(zero) <= 8 {
		// Rows pay for themselves where a search is all cache misses: small
		// items searched by a kernel. A keyed Set searches its keys, whose
		// arrays are small already; for it, and for large items, rows made
		// keyed churn 13% slower when measured (see the README).
		// A power-of-two distance lets the hot paths shift instead of divide.
		c.shift = uint(bits.Len(uint(o.bucketSize/fanout)) - 1)
	}
	if o.key != nil {
		key, ok := o.key.(func(T) uint64)
		if !ok {
			var zero T
			panic(fmt.Sprintf("sortedset: WithKey function is %T, want func(%T) uint64", o.key, zero))
		}
		c.key = key
		c.keySearch = activeKernel.uint64s
		c.kernel = activeKernel.name
	}
	s := &Set[T]{owner: new(token), config: c}
	if nb := min(o.capacity/(o.bucketSize/2), 1<<20); nb > 0 {
		s.dir = make([]bucket[T], 0, nb)
		s.buckets = s.dir
		s.fences = make([]T, 0, nb)
		if c.key != nil {
			s.fkeys = make([]uint64, 0, nb)
		}
	}
	return s
}

// From returns a Set of items, which may be in any order and hold duplicates
// (only one of equal items is kept). items is not modified. It costs
// O(n log n).
func From[T cmp.Ordered](items []T, opts ...Option) *Set[T] {
	sorted := slices.Clone(items)
	slices.SortFunc(sorted, cmp.Compare[T])
	sorted = slices.CompactFunc(sorted, func(a, b T) bool { return cmp.Compare(a, b) == 0 })
	s := New[T](opts...)
	s.load(sorted)
	return s
}

// FromSorted returns a Set of items, which must be strictly increasing in
// cmp.Compare order; otherwise it returns an error matching ErrNotSorted.
// items is not modified or retained. It costs O(n) and fills buckets equally
// to at most B - max(1, B/16) items (15/16 of the bucket size B when 16
// divides it), so the first insert into a bucket does not split it.
func FromSorted[T cmp.Ordered](items []T, opts ...Option) (*Set[T], error) {
	s := New[T](opts...)
	for i := 1; i < len(items); i++ {
		// cmp.Less inlines where a compare function would be a call per item.
		if !cmp.Less(items[i-1], items[i]) {
			return nil, notSorted(i)
		}
	}
	s.load(items)
	return s, nil
}

// FromSortedFunc is FromSorted for a Set ordered by compare (see NewFunc).
func FromSortedFunc[T any](items []T, compare func(a, b T) int, opts ...Option) (*Set[T], error) {
	s := NewFunc(compare, opts...)
	if err := checkSorted(items, compare); err != nil {
		return nil, err
	}
	s.load(items)
	return s, nil
}

func checkSorted[T any](items []T, compare func(a, b T) int) error {
	for i := 1; i < len(items); i++ {
		if compare(items[i-1], items[i]) >= 0 {
			return notSorted(i)
		}
	}
	return nil
}

func notSorted(i int) error {
	return fmt.Errorf("%w: item %d is not greater than item %d", ErrNotSorted, i, i-1)
}

// applyOptions returns o changed by opts. An Option takes a pointer, which
// moves what it points to to the heap; copying o there only when there are
// options keeps New without options one allocation cheaper.
func applyOptions(o options, opts []Option) options {
	if len(opts) == 0 {
		return o
	}
	p := new(options)
	*p = o
	for _, opt := range opts {
		opt(p)
	}
	return *p
}

// load fills the empty Set s with the strictly increasing items.
func (s *Set[T]) load(items []T) { s.rebuild(0, 0, items) }

// rebuild replaces buckets [b0, b1) with buckets holding items, which are
// strictly increasing and fall between the items of bucket b0-1 and those
// of bucket b1. It costs O(len(items) + n/B), plus the amortized O(1) per
// write of bound. It counts as a write (see ascend) and ends any run of
// inserts.
func (s *Set[T]) rebuild(b0, b1 int, items []T) {
	room := headroom(s.bucketSize)
	fill := max(1, s.bucketSize-room)
	nb := (len(items) + fill - 1) / fill
	old := len(s.dir)
	for _, bk := range s.buckets[b0:b1] {
		s.n -= len(bk.items)
		if s.shift > 0 {
			s.freeRow(bk.row)
		}
	}
	s.dir = replaceZero(s.dir, s.lo+b0, s.lo+b1, nb)
	s.buckets = s.dir[s.lo:]
	s.fences = replaceZero(s.fences, b0, b1, nb)
	if s.key != nil {
		s.fkeys = replaceZero(s.fkeys, b0, b1, nb)
	}
	if s.shift > 0 {
		s.rows = slices.Grow(s.rows, max(0, nb-len(s.free))*rowLen)
	}
	for b, left := b0, nb; left > 0; b, left = b+1, left-1 {
		// Equal parts, so that no bucket starts near the merge threshold,
		// each with only the headroom as spare capacity: full buckets and
		// a short last one of capacity B took 12 KiB for 1,000 int64s.
		m := (len(items) + left - 1) / left
		bk := bucket[T]{items: cloneWithRoom(items[:m], room), owner: s.owner}
		if s.shift > 0 {
			bk.row = s.newRow()
		}
		if s.key != nil {
			bk.keys = make([]uint64, m, cap(bk.items))
			for i, x := range bk.items {
				bk.keys[i] = s.key(x)
			}
		}
		s.buckets[b] = bk
		s.refence(b)
		s.resample(b, 0)
		items = items[m:]
		s.n += m
	}
	s.writes++
	s.hint, s.last, s.run = 0, -1, 0
	if s.lo > len(s.buckets) {
		s.dropRoom() // as in dropBucket
		s.reindex(0, len(s.sizes))
	} else {
		s.reindex(s.lo+b0, old)
	}
	// Removing items may take away those that let bound allow the few-item
	// buckets runs left elsewhere, and a merge of items mostly present may
	// add buckets without items.
	s.bound()
}

// rowLen is the number of samples kept per bucket: the ends of the first
// fanout-1 of its fanout parts.
const rowLen = fanout - 1

// resample refreshes the sample row of bucket b from position pos on, after
// the items there changed or moved. A row lives in one dense array with
// every other row, so the search of a bucket that is not in the cache reads
// its row from a cached array and then misses once, on the part the row
// picks, instead of missing on the samples and then on the part. Rows stay
// where they are when buckets split or merge: a bucket names its row.
func (s *Set[T]) resample(b, pos int) {
	if s.shift == 0 {
		return
	}
	bk := &s.buckets[b]
	row := (*[rowLen]T)(s.rows[bk.row:])
	items, j := bk.items, pos>>s.shift
	for i := (j+1)<<s.shift - 1; j < rowLen && i < len(items); j, i = j+1, i+1<<s.shift {
		row[j] = items[i]
	}
	// Samples past the bucket's end are stale: clear them, so that a Set
	// of pointers does not keep removed items reachable.
	if j < rowLen {
		clear(row[j:])
	}
}

// freeRow puts row r on the free list, cleared for the same reason.
func (s *Set[T]) freeRow(r int) {
	clear(s.rows[r : r+rowLen])
	s.free = append(s.free, r)
}

// newRow returns the start of a row no bucket uses, growing rows if none is
// free.
func (s *Set[T]) newRow() int {
	if n := len(s.free); n > 0 {
		r := s.free[n-1]
		s.free = s.free[:n-1]
		return r
	}
	var row [rowLen]T
	s.rows = append(s.rows, row[:]...)
	return len(s.rows) - rowLen
}

// searchBucket returns the number of items of bucket b that are less than x:
// the row of samples narrows the search to one part of the bucket. For a
// write (the caller will move the items after x's position) in a Set whose
// items outgrow the L2 cache, it first asks for the lines the move will
// touch: from the row's part to the bucket's end, or, without rows, the
// whole bucket and its keys. They then arrive while the search waits for
// its own misses, instead of one after another in the move. That took 8 %
// and 18 % off churn at 1M int64 in two runs, 10 % (no key) and 21–24 %
// (WithKey) off the member-row churn at 1M; with the buckets in the cache
// the prefetches cost 14–23 % (int64 churn at 1k to 100k), hence the size
// condition.
func (s *Set[T]) searchBucket(b int, x T, kx uint64, write bool) int {
	bk := &s.buckets[b]
	if s.shift == 0 {
		if write && s.n > s.cold {
			prefetch(bk.keys)
			prefetch(bk.items)
		}
		return s.lowerBound(bk.items, bk.keys, x, kx)
	}
	m := min(rowLen, len(bk.items)>>s.shift)
	c := s.search(s.rows[bk.row:bk.row+m], x)
	lo, hi := c<<s.shift, len(bk.items)
	if write && s.n > s.cold {
		prefetch(bk.items[lo:])
	}
	if c < m {
		hi = lo + 1<<s.shift
	}
	return lo + s.search(bk.items[lo:hi], x)
}

// reindex rebuilds the Fenwick tree after buckets were added or dropped
// and their lengths changed from bucket from on; the nodes that sum only
// earlier buckets are kept, so a split near the end costs O(log(n/B)) and
// not O(n/B). Empty buckets pad the tree to a power of two, which spares
// the descent in At a bounds test per step.
//
// old is the number of buckets the tree was built for: the padding's
// non-zero nodes are those that sum old's last bucket, and only they (and
// the nodes of buckets that are gone) need clearing, not the whole padding.
// from and old count dir's slots, the front room's included.
func (s *Set[T]) reindex(from, old int) {
	nb := len(s.dir)
	n := fenwickLen(nb)
	if n != len(s.sizes) {
		from, old = 0, n
	}
	f := slices.Grow(s.sizes[:0], n)[:n]
	for b := from; b < nb; b++ {
		f[b] = len(s.dir[b].items)
	}
	end := max(from, nb)
	clear(f[end:max(end, min(old, n))])
	for i := old; i > 0 && i <= n; i += i & -i {
		if i > end {
			f[i-1] = 0
		}
	}
	s.sizes = f.build(from, nb)
}

// before returns the number of items in the buckets before bucket b.
func (s *Set[T]) before(b int) int { return s.sizes.prefix(s.lo + b) }

// resize adds d to the length of bucket b in the Fenwick tree.
func (s *Set[T]) resize(b, d int) { s.sizes.add(s.lo+b, d) }

// seek returns the bucket holding index i and i's position in it; i must
// be in [0, Len).
func (s *Set[T]) seek(i int) (b, pos int) {
	b, pos = s.sizes.find(i)
	return b - s.lo, pos
}

// fenwickLen is the length of the Fenwick tree of nb buckets: nb rounded
// up to a power of two.
func fenwickLen(nb int) int {
	if nb == 0 {
		return 0
	}
	return 1 << bits.Len(uint(nb-1))
}

// Len returns the number of items. It costs O(1).
func (s *Set[T]) Len() int { return s.n }

// keyOf returns key(x), or 0 when the Set has no key.
func (s *Set[T]) keyOf(x T) uint64 {
	if s.key == nil {
		return 0
	}
	return s.key(x)
}

// lowerBound returns the number of items of items less than x; keys and kx
// are the keys of items and x when the Set has a key.
func (s *Set[T]) lowerBound(items []T, keys []uint64, x T, kx uint64) int {
	if s.key == nil {
		return s.search(items, x)
	}
	lo := s.keySearch(keys, kx)
	if lo == len(keys) || keys[lo] != kx {
		return lo // no key ties x's: the comparator has nothing to break
	}
	hi := len(keys)
	if kx != math.MaxUint64 {
		hi = lo + s.keySearch(keys[lo:], kx+1)
	}
	return lo + lowerBoundFunc(items[lo:hi], x, s.compare)
}

// noHint is the hint of reads: they come in no runs that would pay for the
// comparisons a hint costs when it misses (without them IndexOf took 21%
// less at 1k and 16% less at 10k).
const noHint = -1

// findBucket returns the first bucket whose fence is >= x, or len(s.buckets)
// when x is greater than every item. Member lists and bulk edits write in
// runs, so writes pass the bucket of the last write as h, and it is tried
// first with the one after it: at most three comparisons, against a fence
// search that misses the cache.
func (s *Set[T]) findBucket(x T, kx uint64, h int) int {
	if h >= 0 && h < len(s.fences) && (h == 0 || s.compareAt(s.fences, s.fkeys, h-1, x, kx) < 0) {
		if s.compareAt(s.fences, s.fkeys, h, x, kx) >= 0 {
			return h
		}
		if h+1 == len(s.fences) || s.compareAt(s.fences, s.fkeys, h+1, x, kx) >= 0 {
			return h + 1
		}
	}
	return s.lowerBound(s.fences, s.fkeys, x, kx)
}

// compareAt compares items[i] with x, like compare. A keyed Set decides by
// the keys when they differ, which spares the comparator, and the cache
// misses behind the pointers it follows, for all but key ties.
func (s *Set[T]) compareAt(items []T, keys []uint64, i int, x T, kx uint64) int {
	if s.key != nil && keys[i] != kx {
		return cmp.Compare(keys[i], kx)
	}
	return s.compare(items[i], x)
}

// compareItem compares item pos of bucket b with x, like compareAt.
func (s *Set[T]) compareItem(b, pos int, x T, kx uint64) int {
	bk := &s.buckets[b]
	return s.compareAt(bk.items, bk.keys, pos, x, kx)
}

// locate returns the bucket where x is or would be, and x's position in it,
// trying bucket h first (see findBucket). When x is greater than every item,
// b is len(s.buckets). write says the caller will move the items after that
// position (see searchBucket).
func (s *Set[T]) locate(x T, kx uint64, h int, write bool) (b, pos int) {
	b = s.findBucket(x, kx, h)
	switch {
	case b == len(s.buckets):
		return b, 0
	case h >= 0 && b == h+1 && s.compareItem(b, 0, x, kx) >= 0:
		// x falls just past the bucket of the last write, as in an
		// ascending run of inserts: one comparison instead of a search.
		return b, 0
	case b == h && s.follows(b, x, kx):
		return b, s.last + 1
	}
	return b, s.searchBucket(b, x, kx, write)
}

// follows reports whether x falls just after the item of the last insert
// in bucket b, as in an ascending run of inserts inside a bucket: two
// comparisons instead of a search (head inserts at 1M took 13% less).
func (s *Set[T]) follows(b int, x T, kx uint64) bool {
	p := s.last
	return p >= 0 && p+1 < len(s.buckets[b].items) &&
		s.compareItem(b, p, x, kx) < 0 && s.compareItem(b, p+1, x, kx) >= 0
}

// Add inserts item and returns its index after the call and whether it was
// added; when an equal item is present, the Set is unchanged and its index is
// returned with false. It costs O(log n + B), plus an amortized O(n/B²) for
// splits.
func (s *Set[T]) Add(item T) (index int, added bool) {
	kx := s.keyOf(item)
	if len(s.buckets) == 0 {
		s.insertBucket(0, bucket[T]{owner: s.owner})
		return s.insert(0, 0, item, kx), true
	}
	b, pos := s.locate(item, kx, s.hint, true)
	switch {
	case b == len(s.buckets):
		b--
		pos = len(s.buckets[b].items)
	case s.compareItem(b, pos, item, kx) == 0:
		return s.before(b) + pos, false
	case pos == 0 && b > 0 && (len(s.buckets[b-1].items) < s.bucketSize || s.hint == b-1 && s.run >= s.longRun()):
		// item falls between two buckets: appending to the left one moves
		// nothing and keeps ascending runs of inserts from splitting, and a
		// run that has filled it goes on in a new bucket (see split) rather
		// than pushing along the items of the right one.
		b--
		pos = len(s.buckets[b].items)
	}
	return s.insert(b, pos, item, kx), true
}

// AddSorted adds the strictly increasing items and returns how many of them
// were not in the Set. When items are not strictly increasing it returns an
// error matching ErrNotSorted and changes nothing. A batch of at least B
// items that is at least an eighth as long as the run of the Set's items it
// spans (its buckets' items from the first to the last it falls in) is
// merged with that run and the run's buckets rebuilt, O(m log B + run +
// n/B) (a search of its bucket per item), with a temporary copy of the run;
// any other batch is added item by item, O(m (log n + B)). So a batch of B
// items or more that is appended or falls in a narrow range costs
// O(m log B + n/B), and one spread over the whole Set O(n + m log B).
func (s *Set[T]) AddSorted(items []T) (added int, err error) {
	if err := checkSorted(items, s.compare); err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, nil
	}
	b0 := s.findBucket(items[0], s.keyOf(items[0]), noHint)
	b1 := s.findBucket(items[len(items)-1], s.keyOf(items[len(items)-1]), noHint)
	b1 = min(b1+1, len(s.buckets))
	run := s.before(b1) - s.before(b0)
	if len(items) < s.bucketSize || len(items) < run/mergeDivisor {
		for _, x := range items {
			if _, ok := s.Add(x); ok {
				added++
			}
		}
		return added, nil
	}
	merged := make([]T, 0, run+len(items))
	for _, bk := range s.buckets[b0:b1] {
		rest := bk.items
		for len(items) > 0 {
			p := s.search(rest, items[0])
			merged = append(merged, rest[:p]...)
			if rest = rest[p:]; len(rest) == 0 {
				break // items[0] is past this bucket
			}
			if s.compare(rest[0], items[0]) != 0 {
				merged = append(merged, items[0])
			}
			items = items[1:]
		}
		merged = append(merged, rest...)
	}
	merged = append(merged, items...)
	s.rebuild(b0, b1, merged)
	return len(merged) - run, nil
}

// mergeDivisor is how much longer than a batch the run of items it spans
// may be for AddSorted to merge it: spread over 1M items, a batch of n/8
// took half as long merged as added item by item, one of n/16 1.7 times as
// long (at 100k: 0.6 and 1.1 times).
const mergeDivisor = 8

// insert puts x at position pos of bucket b, splitting the bucket first when
// it is full, and returns x's index.
func (s *Set[T]) insert(b, pos int, x T, kx uint64) int {
	switch {
	case b == s.hint && pos == s.last+1 && s.run >= 0:
		s.run++
	case b == s.hint && pos == s.last && s.run <= 0:
		s.run--
	default:
		s.run = 0
	}
	// A bucket is split when it is full, and also when an ascending run of
	// B/4 would otherwise push at least B/8 items along on every insert:
	// cut there, it appends instead (see split). The parts have at least
	// B/4 and B/8 items, as in a split of a full bucket by a run.
	n := len(s.buckets[b].items)
	split := n == s.bucketSize || s.run >= s.longRun() && n-pos >= s.edge()
	if split {
		b, pos = s.split(b, pos)
	}
	bk := s.own(b)
	// A bucket grows by a quarter at a time, which keeps memory near the
	// items' size; in a run, by the run's length so far at least: a run
	// tends to go on about as long as it has been.
	grow := min(s.bucketSize, len(bk.items)+max(4, len(bk.items)/4, s.run))
	bk.items = insertAt(bk.items, pos, x, grow)
	if s.key != nil {
		bk.keys = insertAt(bk.keys, pos, kx, grow)
	}
	if pos == len(bk.items)-1 {
		s.refence(b)
	}
	s.resample(b, pos)
	s.resize(b, 1)
	s.n++
	s.writes++
	s.hint, s.last = b, pos // a split may have moved the insert to b+1: the run goes on there
	i := s.before(b) + pos
	if split { // only splits add buckets
		s.bound()
	}
	return i
}

// edge is the least number of items a split outside a run leaves on either
// side of the insert, and the length of a run at the set's ends that starts
// a bucket of its own (see split).
func (c *config[T]) edge() int { return max(1, c.bucketSize/8) }

// longRun is the length of a run that may leave a bucket of a few items
// between others (see split). It is B/4 and not B/8 because a run of B/8
// can refill a bucket that a split has just cut B/8 from its end: runs of
// B/8 at one bucket boundary made two buckets every B/8+2 inserts, past
// 8n/B (TestShortRunsMakeNoTinyBuckets); runs of B/4 make two every B/4+2.
// B/2 would cost a run in the middle of a bucket: it may fill the left part
// of its first split with fewer than B/2 inserts, and then push the right
// part's items along (1000 inserts in the middle at 1M +23%).
func (c *config[T]) longRun() int { return max(1, c.bucketSize/4) }

// split makes room for an insert at position pos of the full bucket b and
// returns where the insert goes. In a run of at least B/8 inserts (see
// insert), one past the end starts a new bucket and one at the front gets a
// bucket of its own; Add sends an insert past the end of a bucket in the
// middle of the set here only in a run of B/4. In a run of B/4, an
// ascending insert elsewhere cuts the bucket at the insert: the run's items
// stay on the left, the items it would push along go right, and the run
// goes on appending to a left part made with room for a full bucket. Any
// other insert splits the bucket at its position, kept B/8 from either end,
// with the new item at the end of the left part. A split that leaves a part
// under B/8 items thus needs a run of B/8 at an end of the set or of B/4
// inside it, which keeps the bucket count below 8n/B under inserts; such a
// part sits beside the bucket the run filled, and delete merges it when it
// removes from that bucket (undoing the run would otherwise strand it),
// and bound catches the patterns that get around that. Without the run, a
// new bucket of one item is dropped again by the removal of that item, and
// a member toggling at a bucket boundary rebuilt the Fenwick tree on every
// write.
func (s *Set[T]) split(b, pos int) (int, int) {
	full := s.buckets[b]
	n := len(full.items)
	edge := s.edge()
	room := headroom(s.bucketSize)
	leftRoom := room
	var at int
	switch {
	case pos == n && s.run >= edge:
		s.insertBucket(b+1, bucket[T]{owner: s.owner})
		return b + 1, 0
	case s.run >= s.longRun():
		at, leftRoom = pos, s.bucketSize-pos
	case pos == 0 && s.run <= -edge:
		at = 0
	default:
		at = min(max(pos, edge), n-edge)
	}
	left := bucket[T]{items: cloneWithRoom(full.items[:at], leftRoom), owner: s.owner}
	right := bucket[T]{items: cloneWithRoom(full.items[at:], room), owner: s.owner}
	if s.key != nil {
		left.keys = cloneWithRoom(full.keys[:at], leftRoom)
		right.keys = cloneWithRoom(full.keys[at:], room)
	}
	left.row = full.row
	s.buckets[b] = left
	s.resample(b, 0)
	if at > 0 {
		// With at == 0 the left part is empty until the insert that follows
		// gives it its fence.
		s.refence(b)
	}
	s.insertBucket(b+1, right)
	if pos <= at {
		return b, pos
	}
	return b + 1, pos - at
}

// insertBucket inserts bk at bucket index b and reindexes; bucket b-1 may
// have changed too (the left part of a split). An empty bk gets its fence
// from the insert that follows.
func (s *Set[T]) insertBucket(b int, bk bucket[T]) {
	var fence T
	if s.shift > 0 {
		bk.row = s.newRow()
	}
	s.fences = slices.Insert(s.fences, b, fence)
	if s.key != nil {
		s.fkeys = slices.Insert(s.fkeys, b, 0)
	}
	if b <= 1 && len(s.buckets) >= frontMin {
		s.insertFront(b, bk)
	} else {
		s.dir = slices.Insert(s.dir, s.lo+b, bk)
		s.buckets = s.dir[s.lo:]
		s.reindex(s.lo+max(b-1, 0), len(s.dir)-1)
	}
	if len(bk.items) > 0 {
		s.refence(b)
		s.resample(b, 0)
	}
}

// frontMin is the number of buckets from which a bucket added at the
// front takes a slot of the front room. Shifting every other bucket and
// rebuilding the Fenwick tree made the two splits of 1000 inserts at the
// head of 1M items a quarter of their time.
const frontMin = 64

// insertFront inserts bk at bucket index b <= 1 by moving the buckets
// before it into the front room, making that room first when there is
// none: about n/8B slots, so that making it again, an O(n/B) rebuild,
// takes as many more inserts at the front.
func (s *Set[T]) insertFront(b int, bk bucket[T]) {
	if s.lo == 0 {
		// The capacity follows the bucket count, not dir's capacity, which
		// grew by the room at every remaking (without bound when a queue
		// adds at the front and removes at the back) and, after
		// WithCapacity, made each remaking copy the whole hint.
		nb := len(s.buckets)
		room := nb / 8
		dir := make([]bucket[T], room+nb, 2*room+nb)
		copy(dir[room:], s.buckets)
		s.dir, s.lo = dir, room
		s.reindex(0, len(s.sizes))
	}
	s.lo--
	s.buckets = s.dir[s.lo:]
	copy(s.buckets[:b], s.buckets[1:b+1])
	s.buckets[b] = bk
	// Nodes lo..lo+b now hold buckets 0..b; bucket b-1 may have changed
	// too, so each takes the difference from what its node held.
	for k := range b + 1 {
		i := s.lo + k
		s.sizes.add(i, len(s.buckets[k].items)-(s.sizes.prefix(i+1)-s.sizes.prefix(i)))
	}
}

// refence sets the fence of the non-empty bucket b to its last item.
func (s *Set[T]) refence(b int) {
	bk := &s.buckets[b]
	s.fences[b] = bk.items[len(bk.items)-1]
	if s.key != nil {
		s.fkeys[b] = bk.keys[len(bk.keys)-1]
	}
}

// own returns bucket b, copying its arrays first when the Set shares them
// with a clone.
func (s *Set[T]) own(b int) *bucket[T] {
	bk := &s.buckets[b]
	if bk.owner != s.owner {
		room := headroom(s.bucketSize)
		bk.items = cloneWithRoom(bk.items, room)
		bk.keys = cloneWithRoom(bk.keys, room)
		bk.owner = s.owner
	}
	return bk
}

// Remove removes item and returns the index it had and true, or (-1, false)
// when it is absent. It costs O(log n + B), plus an amortized O(n/B²) for
// merges.
func (s *Set[T]) Remove(item T) (index int, removed bool) {
	b, pos, found := s.find(item, s.hint, true)
	if !found {
		return -1, false
	}
	index = s.before(b) + pos
	s.hint = b
	s.delete(b, pos, pos+1)
	return index, true
}

// RemoveAt removes the item at index i and returns it, or returns false when
// i is out of range. It costs O(log n + B), plus an amortized O(n/B²) for
// merges.
func (s *Set[T]) RemoveAt(i int) (item T, ok bool) {
	if uint(i) >= uint(s.n) {
		return item, false
	}
	b, pos := s.seek(i)
	item = s.buckets[b].items[pos]
	s.delete(b, pos, pos+1)
	return item, true
}

// PopMin removes and returns the smallest item, or returns false when the
// Set is empty. It costs what RemoveAt(0) does: O(log n + B), plus an
// amortized O(n/B²) for merges.
func (s *Set[T]) PopMin() (item T, ok bool) { return s.RemoveAt(0) }

// PopMax removes and returns the largest item, or returns false when the
// Set is empty. It costs what RemoveAt(Len()-1) does.
func (s *Set[T]) PopMax() (item T, ok bool) { return s.RemoveAt(s.n - 1) }

// RemoveRange removes the items at indices [start, start+n), cut at Len, and
// returns how many it removed: none when start < 0, n <= 0 or start >= Len.
// A range inside one bucket costs O(log n + B), as RemoveAt does. A longer
// one rebuilds the buckets it touches from the items they keep, with a
// neighbour's when those would make less than a quarter of a bucket, in
// O(log n + B + n/B); the k removed items cost O(k/B) more. Either may
// compact the Set, an O(n) pass that writes pay for in advance (see bound).
func (s *Set[T]) RemoveRange(start, n int) int {
	if start < 0 || n <= 0 || start >= s.n {
		return 0
	}
	n = min(n, s.n-start)
	b0, p0 := s.seek(start)
	b1, p1 := s.seek(start + n - 1)
	if b0 == b1 {
		s.delete(b0, p0, p1+1)
		return n
	}
	left, right := s.buckets[b0].items[:p0], s.buckets[b1].items[p1+1:]
	b1++
	var before, after []T // a neighbour's items, when the kept ones are few
	if keep := len(left) + len(right); keep > 0 && keep < s.bucketSize/4 {
		if b0 > 0 {
			b0--
			before = s.buckets[b0].items
		} else if b1 < len(s.buckets) {
			after = s.buckets[b1].items
			b1++
		}
	}
	s.rebuild(b0, b1, slices.Concat(before, left, right, after))
	return n
}

// delete removes the items at positions [pos, end) of bucket b and restores
// the bucket invariants: no empty buckets, none below a quarter full while a
// neighbour can take its items.
func (s *Set[T]) delete(b, pos, end int) {
	bk := s.own(b)
	bk.items = slices.Delete(bk.items, pos, end)
	if s.key != nil {
		bk.keys = slices.Delete(bk.keys, pos, end)
	}
	s.resize(b, pos-end)
	s.n -= end - pos
	s.writes++
	s.run, s.last = 0, -1
	switch {
	case len(bk.items) == 0:
		s.dropBucket(b)
	case len(bk.items) < s.bucketSize/4 && len(s.buckets) > 1:
		s.merge(b)
	default:
		if pos == len(bk.items) {
			s.refence(b)
		}
		s.resample(b, pos)
		// A run can leave a bucket of a few items beside the one it
		// filled (see split); removals from that one, as when the run is
		// undone, never reach it, so they merge it here.
		edge := s.edge()
		if b+1 < len(s.buckets) && len(s.buckets[b+1].items) < edge {
			s.merge(b + 1)
		}
		if b > 0 && len(s.buckets[b-1].items) < edge {
			s.merge(b - 1)
		}
	}
	s.bound()
}

// dropBucket removes bucket b and reindexes; bucket b-1 may have changed
// too (the left part of a merge).
func (s *Set[T]) dropBucket(b int) {
	if s.shift > 0 {
		s.freeRow(s.buckets[b].row)
	}
	s.dir = slices.Delete(s.dir, s.lo+b, s.lo+b+1)
	s.buckets = s.dir[s.lo:]
	s.fences = slices.Delete(s.fences, b, b+1)
	if s.key != nil {
		s.fkeys = slices.Delete(s.fkeys, b, b+1)
	}
	if s.lo > len(s.buckets) {
		// The Set has shrunk to under an eighth of the buckets it had when
		// the room was made: give the room back, an O(n/B) rebuild that
		// as many drops paid for.
		s.dropRoom()
		s.reindex(0, len(s.sizes))
		return
	}
	s.reindex(s.lo+max(b-1, 0), len(s.dir)+1)
}

// dropRoom moves the buckets to the start of dir, leaving no front room;
// the caller reindexes. It keeps dir, and the Fenwick tree over it, within
// a constant factor of the buckets a Set has now rather than once had.
func (s *Set[T]) dropRoom() {
	k := copy(s.dir, s.buckets)
	clear(s.dir[k:])
	s.dir, s.lo = s.dir[:k], 0
	s.buckets = s.dir
}

// merge joins the underfull bucket b with its smaller neighbour, or, when the
// two hold more than three quarters of a bucket, splits their items evenly
// between them so that neither is underfull and neither is about to split.
func (s *Set[T]) merge(b int) {
	l := b - 1
	if b == 0 || (b+1 < len(s.buckets) && len(s.buckets[b+1].items) < len(s.buckets[b-1].items)) {
		l = b
	}
	left, right := s.buckets[l], s.buckets[l+1]
	total := len(left.items) + len(right.items)
	room := headroom(s.bucketSize)
	items := concat(left.items, right.items, room)
	keys := concat(left.keys, right.keys, room)
	if total <= s.bucketSize*3/4 {
		s.buckets[l] = bucket[T]{items: items, keys: keys, owner: s.owner, row: left.row}
		s.refence(l)
		s.resample(l, 0)
		s.dropBucket(l + 1)
		return
	}
	mid := total / 2
	s.buckets[l] = bucket[T]{items: cloneWithRoom(items[:mid], room), owner: s.owner, row: left.row}
	s.buckets[l+1] = bucket[T]{items: cloneWithRoom(items[mid:], room), owner: s.owner, row: right.row}
	if s.key != nil {
		s.buckets[l].keys = cloneWithRoom(keys[:mid], room)
		s.buckets[l+1].keys = cloneWithRoom(keys[mid:], room)
	}
	s.refence(l)
	s.refence(l + 1)
	s.resample(l, 0)
	s.resample(l+1, 0)
	s.resize(l, mid-len(left.items))
	s.resize(l+1, total-mid-len(right.items))
}

// bound keeps the bucket count at most 6⌈n/B⌉+1 whatever the writes. Runs
// may leave buckets of a few items (see split), and delete merges those it
// comes across, but some patterns of writes keep it from them (reviews
// found three: TestShortRunsMakeNoTinyBuckets, TestUndoneRuns*,
// TestRunsSplitAway). Past the bound, compact joins neighbours into
// buckets of at most 3B/4 items in one O(n) pass, which leaves at most
// 8n/3B+1 buckets; it takes Ω(n) writes to reach the bound again, so the
// pass costs O(1) per write, amortized.
func (s *Set[T]) bound() {
	// nb > 6⌈n/B⌉+1 without dividing by B: ⌈n/B⌉ <= m ⟺ n <= m·B for an
	// integer m.
	if nb := len(s.buckets); nb >= 2 && s.n <= (nb-2)/6*s.bucketSize {
		s.compact()
	}
}

// compact joins each run of neighbouring buckets that together hold at
// most 3B/4 items into one bucket.
func (s *Set[T]) compact() {
	room := headroom(s.bucketSize)
	out := 0
	for b := 0; b < len(s.buckets); {
		e, total := b+1, len(s.buckets[b].items)
		for e < len(s.buckets) && total+len(s.buckets[e].items) <= s.bucketSize*3/4 {
			total += len(s.buckets[e].items)
			e++
		}
		bk := s.buckets[b]
		if e > b+1 {
			joined := bucket[T]{items: make([]T, 0, total+room), owner: s.owner, row: bk.row}
			if s.key != nil {
				joined.keys = make([]uint64, 0, total+room)
			}
			for _, x := range s.buckets[b:e] {
				joined.items = append(joined.items, x.items...)
				joined.keys = append(joined.keys, x.keys...)
				if s.shift > 0 && x.row != bk.row {
					s.freeRow(x.row)
				}
			}
			bk = joined
		}
		s.buckets[out] = bk
		s.fences[out] = s.fences[e-1]
		if s.key != nil {
			s.fkeys[out] = s.fkeys[e-1]
		}
		if e > b+1 {
			s.resample(out, 0)
		}
		out++
		b = e
	}
	clear(s.buckets[out:])
	clear(s.fences[out:])
	s.dir, s.fences = s.dir[:s.lo+out], s.fences[:out]
	s.buckets = s.dir[s.lo:]
	s.dropRoom() // a Set compacts after shrinking: its room may be larger than its buckets
	if s.key != nil {
		s.fkeys = s.fkeys[:out]
	}
	s.reindex(0, len(s.sizes))
}

// Contains reports whether an item equal to item is in the Set. It costs
// O(log n).
func (s *Set[T]) Contains(item T) bool {
	_, found := s.IndexOf(item)
	return found
}

// IndexOf returns the index of item and true, or (-1, false) when it is
// absent. It costs O(log n).
func (s *Set[T]) IndexOf(item T) (index int, found bool) {
	b, pos, found := s.find(item, noHint, false)
	if !found {
		return -1, false
	}
	return s.before(b) + pos, true
}

// find returns the bucket and position of item, and whether it is present,
// as locate does.
func (s *Set[T]) find(item T, h int, write bool) (b, pos int, found bool) {
	kx := s.keyOf(item)
	b, pos = s.locate(item, kx, h, write)
	return b, pos, b < len(s.buckets) && s.compareItem(b, pos, item, kx) == 0
}

// Rank returns the number of items less than item, whether or not item is
// present: the index item has or would have. It costs O(log n).
func (s *Set[T]) Rank(item T) int {
	b, pos := s.locate(item, s.keyOf(item), noHint, false)
	if b == len(s.buckets) {
		return s.n
	}
	return s.before(b) + pos
}

// Ceiling returns the smallest item >= x and its index, or (-1, zero,
// false) when every item is less than x. It costs O(log n).
func (s *Set[T]) Ceiling(x T) (index int, item T, ok bool) {
	b, pos := s.locate(x, s.keyOf(x), noHint, false)
	if b == len(s.buckets) {
		return -1, item, false
	}
	return s.before(b) + pos, s.buckets[b].items[pos], true
}

// Floor returns the largest item <= x and its index, or (-1, zero, false)
// when every item is greater than x. It costs O(log n).
func (s *Set[T]) Floor(x T) (index int, item T, ok bool) {
	b, pos, found := s.find(x, noHint, false)
	if found {
		return s.before(b) + pos, s.buckets[b].items[pos], true
	}
	if pos == 0 { // the item before x is the last of the bucket before
		if b == 0 {
			return -1, item, false
		}
		b--
		pos = len(s.buckets[b].items)
	}
	return s.before(b) + pos - 1, s.buckets[b].items[pos-1], true
}

// At returns the item at index i, or false when i < 0 or i >= Len. It costs
// O(log(n/B)). It is small enough to inline (cost 78 of a budget of 80): check
// with go build -gcflags=-m=2 after changing it or fenwick.find.
func (s *Set[T]) At(i int) (item T, ok bool) {
	if uint(i) >= uint(s.n) {
		return item, false
	}
	b, pos := s.sizes.find(i)
	return s.dir[b].items[pos], true
}

// Slice returns a new slice of the items at indices [start, start+n), cut at
// Len. It returns an empty slice when start < 0, n <= 0 or start >= Len, and
// never panics. It costs O(log(n/B) + n).
func (s *Set[T]) Slice(start, n int) []T {
	return s.AppendRange(nil, start, n)
}

// AppendRange appends the items Slice(start, n) would return to dst and
// returns the extended slice; with a dst of enough capacity it does not
// allocate.
func (s *Set[T]) AppendRange(dst []T, start, n int) []T {
	if start < 0 || n <= 0 || start >= s.n {
		return dst
	}
	n = min(n, s.n-start)
	b, pos := s.sizes.find(start) // a slot of dir, as in At
	if items := s.dir[b].items[pos:]; len(items) >= n {
		// One bucket: append sizes dst without zeroing what it copies
		// over, which slices.Grow would (Slice(·, 100) at 1M: -15%).
		return append(dst, items[:n]...)
	}
	dst = slices.Grow(dst, n)
	for ; n > 0; b, pos = b+1, 0 {
		items := s.dir[b].items[pos:]
		items = items[:min(n, len(items))]
		dst = append(dst, items...)
		n -= len(items)
	}
	return dst
}

// ToSlice returns all items in order in a new slice. It costs O(n).
func (s *Set[T]) ToSlice() []T {
	return s.AppendRange(make([]T, 0, s.n), 0, s.n)
}

// Min returns the smallest item, or false when the Set is empty. It costs
// O(1).
func (s *Set[T]) Min() (T, bool) {
	if s.n == 0 {
		var zero T
		return zero, false
	}
	return s.buckets[0].items[0], true
}

// Max returns the largest item, or false when the Set is empty. It costs
// O(1).
func (s *Set[T]) Max() (T, bool) {
	if s.n == 0 {
		var zero T
		return zero, false
	}
	return s.fences[len(s.fences)-1], true
}

// All returns an iterator over (index, item) pairs in ascending order. The
// Set must not be modified during the iteration; if it is, the iteration
// goes on with some items seen twice or missed, but yields only items that
// were in the Set and does not panic. An iterator may be ranged over more
// than once, and by several goroutines while nothing writes. A full
// iteration costs O(n).
func (s *Set[T]) All() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) { s.ascend(0, 0, yield) }
}

// Values returns an iterator over the items in ascending order, with the same
// rules as All.
func (s *Set[T]) Values() iter.Seq[T] {
	return func(yield func(T) bool) {
		for b := 0; b < len(s.buckets); b++ {
			items, w, pos := s.buckets[b].items, s.writes, 0
		again:
			for k, x := range items {
				if !yield(x) {
					return
				}
				if s.writes != w { // see ascend
					if b >= len(s.buckets) {
						return
					}
					pos += k + 1
					items, w = s.tail(b, pos), s.writes
					goto again
				}
			}
		}
	}
}

// Ascend returns an iterator over the items >= from in ascending order, with
// their indices, under the same rules as All. Each range over it starts
// with an O(log n) search.
func (s *Set[T]) Ascend(from T) iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		b, pos := s.locate(from, s.keyOf(from), noHint, false)
		s.ascend(b, pos, yield)
	}
}

// ascend yields the items from position pos of bucket b on, with their
// indices. After a write made by yield it takes the bucket again: the write
// may have shifted, dropped or replaced it, and the slice taken before could
// then hold a freed slot's zero value. (When yield inlines and writes
// nothing, the compiler drops the test.)
func (s *Set[T]) ascend(b, pos int, yield func(int, T) bool) {
	if b >= len(s.buckets) {
		return
	}
	i := s.before(b) + pos
	for ; b < len(s.buckets); b, pos = b+1, 0 {
		items, w := s.tail(b, pos), s.writes
	again:
		for k, x := range items {
			if !yield(i, x) {
				return
			}
			i++
			if s.writes != w {
				if b >= len(s.buckets) {
					return
				}
				pos += k + 1
				items, w = s.tail(b, pos), s.writes
				goto again
			}
		}
	}
}

// tail returns the items of bucket b from position pos on; none when pos is
// past its end, as it can be after a write.
func (s *Set[T]) tail(b, pos int) []T {
	items := s.buckets[b].items
	return items[min(pos, len(items)):]
}

// Backward returns an iterator over (index, item) pairs in descending order,
// under the same rules as All.
func (s *Set[T]) Backward() iter.Seq2[int, T] {
	return func(yield func(int, T) bool) { s.descend(len(s.buckets)-1, math.MaxInt, yield) }
}

// Descend returns an iterator over the items <= from in descending order,
// with their indices, under the same rules as All. Each range over it
// starts with an O(log n) search.
func (s *Set[T]) Descend(from T) iter.Seq2[int, T] {
	return func(yield func(int, T) bool) {
		b, pos, found := s.find(from, noHint, false)
		switch {
		case found:
			s.descend(b, pos, yield)
		case pos == 0:
			s.descend(b-1, math.MaxInt, yield)
		default:
			s.descend(b, pos-1, yield)
		}
	}
}

// descend yields the items from position pos of bucket b down, with their
// indices; a pos past the bucket's end means its last item. Like ascend, it
// takes the bucket again after a write.
func (s *Set[T]) descend(b, pos int, yield func(int, T) bool) {
	if b < 0 || b >= len(s.buckets) {
		return
	}
	pos = min(pos, len(s.buckets[b].items)-1)
	i := s.before(b) + pos
	for b >= 0 {
		if b = min(b, len(s.buckets)-1); b < 0 { // buckets were dropped
			return
		}
		items, w := s.buckets[b].items, s.writes
		items = items[:min(pos, len(items)-1)+1]
	again:
		for k := len(items) - 1; k >= 0; k-- {
			if !yield(i, items[k]) {
				return
			}
			i--
			if s.writes != w {
				if b >= len(s.buckets) {
					break
				}
				items, w = s.buckets[b].items, s.writes
				items = items[:min(k, len(items))]
				goto again
			}
		}
		b, pos = b-1, math.MaxInt
	}
}

// Clone returns a copy of the Set that shares its buckets copy-on-write: it
// costs O(n/B), and each Set copies a shared bucket when it first writes it
// (both do, as neither knows whether the other still holds it). Clone counts as a write to s; afterwards s and the clone are
// independent and may be used by different goroutines.
func (s *Set[T]) Clone() *Set[T] {
	// The clone starts without a front room, which its own first split at
	// the front makes if it needs one.
	c := &Set[T]{
		dir:    slices.Clone(s.buckets),
		fences: slices.Clone(s.fences),
		fkeys:  slices.Clone(s.fkeys),
		n:      s.n,
		owner:  new(token),
		config: s.config,
	}
	c.buckets = c.dir
	c.reindex(0, 0)
	if s.shift > 0 {
		// Copy only the rows in use, renumbered: s.rows and s.free grow
		// with the most buckets s ever had, not with its Len.
		c.rows = make([]T, len(s.buckets)*rowLen)
		for b := range c.buckets {
			r := c.buckets[b].row
			copy(c.rows[b*rowLen:(b+1)*rowLen], s.rows[r:r+rowLen])
			c.buckets[b].row = b * rowLen
		}
	}
	s.owner = new(token)
	return c
}

// Clear removes all items, keeping the Set's options. It costs O(n/B).
func (s *Set[T]) Clear() {
	// The rows of dropped buckets were cleared when they were freed, and
	// there may be many more of them than buckets (see Clone).
	if s.shift > 0 {
		for _, bk := range s.buckets {
			clear(s.rows[bk.row : bk.row+rowLen])
		}
	}
	clear(s.dir)
	clear(s.fences)
	s.dir, s.lo, s.fences, s.fkeys = s.dir[:0], 0, s.fences[:0], s.fkeys[:0]
	s.buckets = s.dir
	s.rows, s.free = s.rows[:0], s.free[:0]
	s.sizes = s.sizes[:0]
	s.n, s.hint, s.last, s.run = 0, 0, -1, 0
	s.writes++
	s.owner = new(token)
}

// Stats describes a Set's layout.
type Stats struct {
	Len        int    // number of items
	Buckets    int    // number of buckets
	BucketSize int    // maximum items per bucket
	MinFill    int    // length of the shortest bucket (0 when empty)
	MaxFill    int    // length of the longest bucket
	Kernel     string // search path in use: "generic", "avx2" or "avx512"
	Bytes      int    // bytes held by item, key and index arrays, at capacity
}

// Stats returns the Set's layout. It costs O(n/B).
func (s *Set[T]) Stats() Stats {
	var zero T
	st := Stats{Len: s.n, Buckets: len(s.buckets), BucketSize: s.bucketSize, Kernel: s.kernel}
	itemSize, wordSize := int(unsafe.Sizeof(zero)), int(unsafe.Sizeof(uint64(0)))
	for i, b := range s.buckets {
		if i == 0 || len(b.items) < st.MinFill {
			st.MinFill = len(b.items)
		}
		st.MaxFill = max(st.MaxFill, len(b.items))
		st.Bytes += cap(b.items)*itemSize + cap(b.keys)*wordSize
	}
	st.Bytes += cap(s.dir)*int(unsafe.Sizeof(bucket[T]{})) + (cap(s.fences)+cap(s.rows))*itemSize +
		cap(s.fkeys)*wordSize + (cap(s.sizes)+cap(s.free))*int(unsafe.Sizeof(0))
	return st
}
