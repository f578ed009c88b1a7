package sortedset

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
)

// genOps generates command sequences. Item values come from a range small
// enough that adds and removes collide often, and adds outnumber removes so
// that sets grow past a few buckets.
func genOps() gopter.Gen {
	weights := []gen.WeightedGen{
		{Weight: 8, Gen: gen.Const(opAdd)},
		{Weight: 3, Gen: gen.Const(opRemove)},
		{Weight: 2, Gen: gen.Const(opRemoveAt)},
	}
	for k := opAt; k < numOps; k++ {
		weights = append(weights, gen.WeightedGen{Weight: 1, Gen: gen.Const(k)})
	}
	return gen.SliceOf(gopter.CombineGens(
		gen.Weighted(weights),
		gen.Int64Range(0, 400),
		gen.IntRange(0, 1<<20),
		gen.IntRange(0, 1<<20),
		gen.Bool(),
		gen.IntRange(0, 40),
	).Map(func(v []any) op {
		return op{Kind: v[0].(opKind), V: v[1].(int64), I: v[2].(int), N: v[3].(int), Side: v[4].(bool), Stop: v[5].(int)}
	}), reflect.TypeOf(op{}))
}

// 130 and 512 keep sample rows (see resample); 130 leaves a last part longer
// than the stride.
var propertyBucketSizes = []int{2, 3, 4, 7, 64, 130, 512}

func checkModel[T any](t *testing.T, d domain[T]) {
	for _, size := range propertyBucketSizes {
		t.Run(fmt.Sprintf("%s/B=%d", d.name, size), func(t *testing.T) {
			params := gopter.DefaultTestParameters()
			params.MinSuccessfulTests = 25
			params.MaxSize = 400
			if testing.Short() {
				params.MinSuccessfulTests = 15
			}
			properties := gopter.NewProperties(params)
			opts := []Option{WithBucketSize(size)}
			properties.Property("matches a sorted-slice model", prop.ForAll(func(ops []op) string {
				return runOps(d, opts, ops)
			}, genOps()))
			properties.TestingRun(t)
		})
	}
}

func TestModelInt64(t *testing.T)     { checkModel(t, int64Domain) }
func TestModelFloat64(t *testing.T)   { checkModel(t, float64Domain) }
func TestModelString(t *testing.T)    { checkModel(t, stringDomain) }
func TestModelStruct(t *testing.T)    { checkModel(t, memberDomain(false)) }
func TestModelStructKey(t *testing.T) { checkModel(t, memberDomain(true)) }
