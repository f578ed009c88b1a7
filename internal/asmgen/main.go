// Command asmgen writes bucket_amd64.s and its Go declarations: the AVX2 and
// AVX-512 lower-bound kernels of package sortedset. It lives in its own module
// so that the library does not depend on avo. Run it through go generate in
// the repository root:
//
//	go generate ./...
//
// Every kernel is a hybrid. A slice of 128 keys or more is first cut to one
// of 16 parts by comparing the probe with the 15 keys at the parts' ends,
// independent loads that a cold bucket pays for in one round of cache misses.
// A branchless binary search (CMOV) then narrows to a block of at most
// -vectors registers of elements; that costs one dependent load per halving
// but no mispredictions. One SIMD pass then
// counts the block's elements that are less than the probe: since the slice
// is sorted, that count is the rest of the lower bound. The loop bounds
// depend only on the slice's length, never on its contents, so every branch
// in a kernel is predictable for a bucket of a given length.
package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The SIMD count covers a block of at most -vectors registers' worth of
// keys: 16 int64 or 32 int32 keys for AVX2, 32 int64 or 64 int32 keys for
// AVX-512. Measured on int64 blocks of 4..128 keys (the -blocks mode with
// the throwaway BenchmarkBlockSize, 2-core Zen VM, -count 6), four compares
// beat both fewer (more dependent loads in the narrowing) and more (the
// count dominates): AVX2 geomean 29-31 ns at 8-16 keys vs 47-79 ns at
// 32-128; AVX-512 22 ns at 32 keys vs 28-41 ns at 8 or 64-128.
var (
	vectors = flag.Int("vectors", 4, "SIMD block size in registers")
	// -prefetch was measured off: at 1M int64 with 65536 random probes it
	// moved IndexOf and churn by under 10% (within the noise of this 2-core
	// VM) and slowed hot searches of 64..512 keys by about as much.
	prefetch = flag.Bool("prefetch", false, "prefetch both probes of the next narrowing step")
	// -blocks 8,16,32,64 writes only int64 kernels, one per block size in
	// keys, named lowerBoundInt64<ISA>B<size>: a throwaway file for choosing
	// the block size by benchmark, never committed.
	blocks     = flag.String("blocks", "", "measurement mode: comma-separated block sizes in keys")
	fixedBlock int
	suffix     string
)

// The sampling step (see sample) splits slices of at least sampleMin keys
// into fanout parts; the generic kernel uses the same numbers.
const (
	fanout    = 16
	sampleMin = 8 * fanout
)

type order int

const (
	signed order = iota
	unsigned
	float
)

// elem describes one key type.
type elem struct {
	name  string // Int64, Uint64, ...
	typ   string // the Go type
	size  int    // bytes
	order order
}

var elems = []elem{
	{"Int64", "int64", 8, signed},
	{"Uint64", "uint64", 8, unsigned},
	{"Int32", "int32", 4, signed},
	{"Uint32", "uint32", 4, unsigned},
	{"Float64", "float64", 8, float},
}

// Comparison predicates. VPCMP[U]{D,Q} and VCMPPD compare their first source
// (the broadcast probe) with the second (the elements); "x > e" is "e < x".
const (
	predIntNLE   = 6    // x > e
	predFloatNLE = 0x16 // NLE_UQ: !(x <= e), so true for x > e and for a NaN e
)

func main() {
	flag.Parse()
	ConstraintExpr("!purego")

	// maskTable holds 32 bytes of ones then 32 of zeros: the 32 bytes that
	// start at offset 32-r*size mask the first r lanes of a YMM register, for
	// dwords and quadwords alike. The AVX2 kernels load the tail of a block
	// with it (VPMASKMOV never touches the masked-out memory).
	maskTable := GLOBL("lbmask", RODATA|NOPTR)
	for i := 0; i < 32; i += 8 {
		DATA(i, U64(^uint64(0)))
	}
	for i := 32; i < 64; i += 8 {
		DATA(i, U64(0))
	}

	if *blocks != "" {
		for _, b := range strings.Split(*blocks, ",") {
			n, err := strconv.Atoi(b)
			if err != nil {
				panic(err)
			}
			fixedBlock, suffix = n, "B"+b
			avx2(elems[0], maskTable)
			avx512(elems[0])
		}
		Generate()
		return
	}
	for _, e := range elems {
		avx2(e, maskTable)
	}
	for _, e := range elems {
		avx512(e)
	}
	prefetchLines()
	Generate()
}

// prefetchLines writes prefetchLines. A write moves the items after its
// position, the rest of a bucket that is often not in the cache; the Set
// asks for those lines while the search of the bucket waits for its own
// miss, so that the two rounds of misses overlap (see searchBucket).
func prefetchLines() {
	TEXT("prefetchLines", NOSPLIT, "func(p *byte, n int)")
	Pragma("noescape")
	Doc("prefetchLines asks for the n bytes at p to be brought into the cache, one PREFETCHT0 per 64-byte line. It does not wait for them, and a prefetch never faults.")
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	Label("line")
	TESTQ(n, n)
	JLE(LabelRef("asked"))
	PREFETCHT0(Mem{Base: p})
	ADDQ(U8(64), p)
	SUBQ(U8(64), n)
	JMP(LabelRef("line"))
	Label("asked")
	RET()
}

// blockSize is the block in keys for e's kernel on a register of regBytes.
func blockSize(e elem, regBytes int) int {
	if fixedBlock > 0 {
		return fixedBlock
	}
	return *vectors * regBytes / e.size
}

// prologue declares the function and narrows [base, base+n) to at most
// blockSize(e) elements with a branchless binary search. It returns the
// slice pointer, base, n and the probe (a GP register, or an XMM register
// for floats). Floats return 0 early for a NaN probe: nothing is less than
// NaN in cmp.Compare order.
func prologue(e elem, isa string, regBytes int) (ptr, base, n reg.GPVirtual, x reg.Register) {
	TEXT(fmt.Sprintf("lowerBound%s%s%s", e.name, isa, suffix), NOSPLIT, fmt.Sprintf("func(s []%s, x %s) int", e.typ, e.typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("lowerBound%s%s returns the number of elements of the sorted s that are less than x.", e.name, isa))
	ptr, n = GP64(), GP64()
	Load(Param("s").Base(), ptr)
	Load(Param("s").Len(), n)
	base = GP64()
	XORQ(base, base)
	switch {
	case e.order == float:
		xf := XMM()
		Load(Param("x"), xf)
		x = xf
		Comment("A NaN probe has no element below it.")
		UCOMISD(xf, xf)
		JPS(LabelRef("done"))
	case e.size == 8:
		x = GP64()
		Load(Param("x"), x)
	default:
		x = GP32()
		Load(Param("x"), x)
	}

	sample(e, ptr, base, n, x)

	Comment("Branchless binary search down to one block: base += half when s[base+half-1] < x.")
	Label("narrow")
	CMPQ(n, Imm(uint64(blockSize(e, regBytes))))
	JLE(LabelRef("count"))
	half, mid := GP64(), GP64()
	MOVQ(n, half)
	SHRQ(Imm(1), half)
	LEAQ(Mem{Base: base, Index: half, Scale: 1}, mid)
	if *prefetch {
		Comment("In a cold bucket every probe is a cache miss that the CMOV waits for.",
			"Prefetching both probes of the next step (one is where base stays,",
			"the other where it moves) overlaps those misses with this one.")
		q, a := GP64(), GP64()
		MOVQ(n, q)
		SUBQ(half, q)
		SHRQ(Imm(1), q)
		LEAQ(Mem{Base: base, Index: q, Scale: 1}, a)
		PREFETCHT0(Mem{Base: ptr, Index: a, Scale: uint8(e.size), Disp: -e.size})
		LEAQ(Mem{Base: mid, Index: q, Scale: 1}, a)
		PREFETCHT0(Mem{Base: ptr, Index: a, Scale: uint8(e.size), Disp: -e.size})
	}
	probe := Mem{Base: ptr, Index: mid, Scale: uint8(e.size), Disp: -e.size}
	switch e.order {
	case float:
		t := XMM()
		MOVSD(probe, t)
		Comment("CF is set when s[mid-1] < x or s[mid-1] is NaN: both sort below x.")
		UCOMISD(x, t)
		CMOVQCS(mid, base)
	case signed, unsigned:
		if e.size == 8 {
			CMPQ(probe, x)
		} else {
			CMPL(probe, x)
		}
		if e.order == signed {
			CMOVQLT(mid, base)
		} else {
			CMOVQCS(mid, base)
		}
	}
	SUBQ(half, n)
	JMP(LabelRef("narrow"))

	Label("count")
	Comment("Count the elements of s[base:base+n] that are less than x.")
	LEAQ(Mem{Base: ptr, Index: base, Scale: uint8(e.size)}, ptr)
	return ptr, base, n, x
}

// sample narrows a slice of at least sampleMin elements to one of fanout
// equal parts by counting how many of the fanout-1 keys at the parts' ends
// are less than x. The loads are independent, so a bucket that is not in the
// cache costs one round of misses here where a binary search pays one per
// halving. It is the generic lowerBound's first step, in the same terms.
func sample(e elem, ptr, base, n reg.GPVirtual, x reg.Register) {
	Comment("Sample fanout-1 evenly spaced keys at once: c of them are less than x.")
	CMPQ(n, Imm(sampleMin))
	JLT(LabelRef("narrow"))
	stride, step, p, c, lt := GP64(), GP64(), GP64(), GP64(), GP64()
	MOVQ(n, stride)
	SHRQ(Imm(uint64(log2(fanout))), stride)
	MOVQ(stride, step)
	SHLQ(Imm(uint64(log2(e.size))), step)
	LEAQ(Mem{Base: ptr, Index: step, Scale: 1, Disp: -e.size}, p)
	XORQ(c, c)
	for j := 1; j < fanout; j++ {
		switch e.order {
		case float:
			t := XMM()
			MOVSD(Mem{Base: p}, t)
			UCOMISD(x, t)
			SETCS(lt.As8())
		case signed, unsigned:
			if e.size == 8 {
				CMPQ(Mem{Base: p}, x)
			} else {
				CMPL(Mem{Base: p}, x)
			}
			if e.order == signed {
				SETLT(lt.As8())
			} else {
				SETCS(lt.As8())
			}
		}
		MOVBQZX(lt.As8(), lt)
		ADDQ(lt, c)
		if j < fanout-1 {
			ADDQ(step, p)
		}
	}
	Comment("x's lower bound is in part c: n = stride, or what is left for the last part.")
	last := GP64()
	IMUL3Q(Imm(fanout-1), stride, last)
	SUBQ(last, n)
	CMPQ(c, Imm(fanout-1))
	CMOVQNE(stride, n)
	IMULQ(stride, c)
	MOVQ(c, base)
}

func epilogue(base reg.GPVirtual) {
	Label("done")
	Store(base, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// avx2 writes the AVX2 kernel for e: four quadword or eight dword lanes per
// YMM compare, VMOVMSKPD/PS and POPCNT to count. AVX2 has no unsigned
// compare, so unsigned keys flip their sign bit on both sides.
func avx2(e elem, maskTable Mem) {
	ptr, base, n, x := prologue(e, "AVX2", 32)
	lanes := 32 / e.size

	xv, flip := YMM(), YMM()
	switch {
	case e.order == float:
		VBROADCASTSD(x, xv)
	case e.size == 8:
		xs := x.(reg.GPVirtual)
		if e.order == unsigned {
			sign := GP64()
			MOVQ(U64(1<<63), sign)
			XORQ(sign, xs)
			MOVQ(sign, flip.AsX())
			VPBROADCASTQ(flip.AsX(), flip)
		}
		MOVQ(xs, xv.AsX())
		VPBROADCASTQ(xv.AsX(), xv)
	default:
		xs := x.(reg.GPVirtual)
		if e.order == unsigned {
			sign := GP32()
			MOVL(U32(1<<31), sign)
			XORL(sign, xs)
			MOVD(sign, flip.AsX())
			VPBROADCASTD(flip.AsX(), flip)
		}
		MOVD(xs, xv.AsX())
		VPBROADCASTD(xv.AsX(), xv)
	}

	// lessMask sets each lane of t (loaded from src) to all ones when that
	// element is less than x, and leaves its bitmask count in cnt.
	less := func(src Op, t reg.VecVirtual) {
		switch {
		case e.order == float:
			VCMPPD(Imm(predFloatNLE), src, xv, t)
		case e.order == unsigned:
			if _, isMem := src.(Mem); isMem {
				VMOVDQU(src, t)
				src = t
			}
			VPXOR(flip, src, t)
			if e.size == 8 {
				VPCMPGTQ(t, xv, t)
			} else {
				VPCMPGTD(t, xv, t)
			}
		case e.size == 8:
			VPCMPGTQ(src, xv, t)
		default:
			VPCMPGTD(src, xv, t)
		}
	}
	movmsk := func(t reg.VecVirtual, r reg.GPVirtual) {
		if e.size == 8 {
			VMOVMSKPD(t, r)
		} else {
			VMOVMSKPS(t, r)
		}
	}

	Label("vector")
	CMPQ(n, Imm(uint64(lanes)))
	JLT(LabelRef("tail"))
	t, m := YMM(), GP32()
	less(Mem{Base: ptr}, t)
	movmsk(t, m)
	POPCNTL(m, m)
	ADDQ(m.As64(), base)
	ADDQ(Imm(32), ptr)
	SUBQ(Imm(uint64(lanes)), n)
	JMP(LabelRef("vector"))

	Label("tail")
	Comment("Fewer than a register's worth remain: a masked load reads only those.")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	off, mask, v := GP64(), YMM(), YMM()
	MOVQ(U64(32), off)
	SHLQ(Imm(uint64(log2(e.size))), n)
	SUBQ(n, off)
	tbl := GP64()
	LEAQ(maskTable, tbl)
	VMOVDQU(Mem{Base: tbl, Index: off, Scale: 1}, mask)
	switch {
	case e.order == float:
		VMASKMOVPD(Mem{Base: ptr}, mask, v)
	case e.size == 8:
		VPMASKMOVQ(Mem{Base: ptr}, mask, v)
	default:
		VPMASKMOVD(Mem{Base: ptr}, mask, v)
	}
	t2, m2 := YMM(), GP32()
	less(v, t2)
	Comment("The masked-out lanes read as zero, which may be less than x: drop them.")
	VPAND(mask, t2, t2)
	movmsk(t2, m2)
	POPCNTL(m2, m2)
	ADDQ(m2.As64(), base)
	epilogue(base)
}

// avx512 writes the AVX-512 kernel for e: eight quadword or sixteen dword
// lanes per ZMM compare into a mask register, KMOVW and POPCNT to count; the
// tail is a zero-masked load under a BZHI-made mask. It needs AVX512F, BMI2
// and POPCNT, and nothing from VL, BW or DQ.
func avx512(e elem) {
	ptr, base, n, x := prologue(e, "AVX512", 64)
	lanes := 64 / e.size

	xv := ZMM()
	switch {
	case e.order == float:
		VBROADCASTSD(x, xv)
	case e.size == 8:
		VPBROADCASTQ(x, xv)
	default:
		VPBROADCASTD(x, xv)
	}
	cmp := func(ops ...Op) {
		switch {
		case e.order == float:
			VCMPPD(append([]Op{Imm(predFloatNLE)}, ops...)...)
		case e.order == unsigned && e.size == 8:
			VPCMPUQ(append([]Op{Imm(predIntNLE)}, ops...)...)
		case e.order == unsigned:
			VPCMPUD(append([]Op{Imm(predIntNLE)}, ops...)...)
		case e.size == 8:
			VPCMPQ(append([]Op{Imm(predIntNLE)}, ops...)...)
		default:
			VPCMPD(append([]Op{Imm(predIntNLE)}, ops...)...)
		}
	}

	Label("vector")
	CMPQ(n, Imm(uint64(lanes)))
	JLT(LabelRef("tail"))
	k, m := K(), GP32()
	cmp(Mem{Base: ptr}, xv, k)
	KMOVW(k, m)
	POPCNTL(m, m)
	ADDQ(m.As64(), base)
	ADDQ(Imm(64), ptr)
	SUBQ(Imm(uint64(lanes)), n)
	JMP(LabelRef("vector"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	ones, lm := GP32(), GP32()
	MOVL(U32(0xffff), ones)
	BZHIL(n.As32(), ones, lm)
	kl, kc, v, m2 := K(), K(), ZMM(), GP32()
	KMOVW(lm, kl)
	Comment("A zero-masked load reads only the n remaining elements.")
	switch {
	case e.order == float:
		VMOVUPD_Z(Mem{Base: ptr}, kl, v)
	case e.size == 8:
		VMOVDQU64_Z(Mem{Base: ptr}, kl, v)
	default:
		VMOVDQU32_Z(Mem{Base: ptr}, kl, v)
	}
	cmp(v, xv, kl, kc)
	KMOVW(kc, m2)
	POPCNTL(m2, m2)
	ADDQ(m2.As64(), base)
	epilogue(base)
}

func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}
