// mapslab exercises Go maps in ways whose ground truth it can tell itself,
// for hotalloc's map tests. It prints "ready PID GOVERSION", then runs one
// command per stdin line and prints one JSON line per command:
//
//	grow N       insert N distinct keys into a map made without a hint;
//	             report its growths as the runtime's own state implies them
//	correlate N  the same while two other goroutines allocate 256-byte objects
//	zipf M       M inserts of keys drawn from Zipf(s=1.1) over 10,000 strings
//	             (fixed seed); report the true top 10
//	stackheap    insert into one map that does not escape and one that does
//	many N       insert N distinct string keys into one map
//	quit         exit
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

var (
	kept     map[int64]int64
	escaped  map[int]int
	hot      map[string]int
	wide     map[string]int
	objSink  [64]*[32]int64
	stackLen int
)

// The runtime's map headers, for reading the final shape. Classic maps
// (up to Go 1.23): runtime.hmap. Swiss maps (1.24 on):
// internal/runtime/maps.Map and its tables.
type hmap struct {
	count int
	flags uint8
	B     uint8
}

type swissMap struct {
	used   uint64
	seed   uintptr
	dirPtr unsafe.Pointer
	dirLen int
}

type swissTable struct {
	used     uint16
	capacity uint16
}

func goMinor() int {
	v := strings.TrimPrefix(runtime.Version(), "go1.")
	n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return n
}

type growth struct {
	Function       string            `json:"function"`
	Len            int               `json:"len"`
	Growths        map[string]uint64 `json:"growths"`
	MinGrowthBytes uint64            `json:"min_growth_bytes"` // the arrays growth must allocate, at least
	LargeArrays    uint64            `json:"large_arrays"`     // of them, those over 32 KiB
}

// Derives the growths from the map's final shape. Classic: each growth
// doubled the bucket array (no deletes, so no same-size growth), so there
// were B of them; bucket = 8 tophash + 8 int64 keys + 8 int64 values +
// overflow pointer = 144 bytes, and makeBucketArray adds 2^(B-4) overflow
// buckets from B = 4. Swiss: the first insert allocated one group
// (to_small), the 9th a 16-slot table (to_table); the table then doubled up
// to its final capacity (table_grow), and each split turned one table into
// two of the same capacity, so splits = tables - 1. Slots are 16 bytes.
func derive(m map[int64]int64) growth {
	g := growth{Len: len(m), Growths: map[string]uint64{}}
	p := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if goMinor() < 24 {
		h := (*hmap)(p)
		g.Growths["grow"] = uint64(h.B)
		for b := 1; b <= int(h.B); b++ {
			n := uint64(1) << b
			if b >= 4 {
				n += uint64(1) << (b - 4)
			}
			g.MinGrowthBytes += (uint64(1) << b) * 144
			if n*144 > 32768 {
				g.LargeArrays++
			}
		}
		return g
	}
	sm := (*swissMap)(p)
	if sm.dirPtr == nil {
		return g
	}
	g.Growths["to_small"] = 1
	g.MinGrowthBytes = 8 * 16
	if sm.dirLen == 0 {
		return g
	}
	g.Growths["to_table"] = 1
	g.MinGrowthBytes += 16 * 16
	dir := unsafe.Slice((**swissTable)(sm.dirPtr), sm.dirLen)
	tables := map[*swissTable]bool{}
	capacity := uint16(0)
	for _, t := range dir {
		tables[t] = true
		if t.capacity > capacity {
			capacity = t.capacity
		}
	}
	for c := uint16(32); c <= capacity; c *= 2 {
		g.Growths["table_grow"]++
		g.MinGrowthBytes += uint64(c) * 16
	}
	if len(tables) > 1 {
		g.Growths["split"] = uint64(len(tables) - 1)
		g.MinGrowthBytes += uint64(len(tables)-1) * 2 * uint64(capacity) * 16
	}
	return g
}

//go:noinline
func growMap(n int) growth {
	m := make(map[int64]int64)
	kept = m
	for i := 0; i < n; i++ {
		m[int64(i)] = int64(i)
	}
	g := derive(m)
	g.Function = "main.growMap"
	return g
}

// correlate grows a map while two other goroutines allocate 256-byte
// objects, from before the growth starts until it is over and they have
// made at least 400,000 allocations (over 10,000 span refills).
func correlate(n int) growth {
	var stop atomic.Bool
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				objSink[(i+w*32)%len(objSink)] = new([32]int64)
				done.Add(1)
			}
		}(w)
	}
	for done.Load() < 1000 {
		runtime.Gosched()
	}
	g := growMap(n)
	for done.Load() < 400000 {
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	return g
}

type keyCount struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

//go:noinline
func zipf(inserts int) []keyCount {
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%05d", i)
	}
	counts := make([]int, len(keys))
	r := rand.New(rand.NewSource(42))
	z := rand.NewZipf(r, 1.1, 1, uint64(len(keys)-1))
	hot = make(map[string]int)
	for i := 0; i < inserts; i++ {
		k := z.Uint64()
		hot[keys[k]]++
		counts[k]++
	}
	top := make([]keyCount, len(keys))
	for i := range keys {
		top[i] = keyCount{keys[i], counts[i]}
	}
	sort.SliceStable(top, func(a, b int) bool { return top[a].Count > top[b].Count })
	return top[:10]
}

//go:noinline
func stackMap(n int) int {
	m := make(map[int]int) // does not escape: the header lives in this frame
	for i := 0; i < n; i++ {
		m[i] = 2 * i
	}
	return len(m)
}

//go:noinline
func heapMap(n int) {
	escaped = make(map[int]int) // escapes to the heap through the global
	for i := 0; i < n; i++ {
		escaped[i] = 2 * i
	}
}

//go:noinline
func many(n int) int {
	wide = make(map[string]int)
	for i := 0; i < n; i++ {
		wide["k"+strconv.Itoa(i)] = i
	}
	return len(wide)
}

func reply(v interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func main() {
	fmt.Printf("ready %d %s\n", os.Getpid(), runtime.Version())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		n := 0
		if len(f) > 1 {
			n, _ = strconv.Atoi(f[1])
		}
		switch f[0] {
		case "grow":
			reply(growMap(n))
		case "correlate":
			reply(correlate(n))
		case "zipf":
			reply(zipf(n))
		case "stackheap":
			stackLen = stackMap(4)
			heapMap(4)
			reply(map[string]int{"stack_len": stackLen, "heap_len": len(escaped)})
		case "many":
			reply(map[string]int{"len": many(n)})
		case "quit":
			return
		}
	}
}
