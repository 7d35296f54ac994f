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
//	keys         insert known keys, known times, into maps keyed by int32,
//	             uint64, a pointer, a string and a 4- and a 12-byte array;
//	             report each map's function and its keys (decimal, the
//	             pointer in hex, the string, an array's bytes in hex)
//	reuse        grow map A, drop it, collect it, then make maps at another
//	             line until one gets A's address, and grow that one less;
//	             report the address, both creation lines and both growths
//	quit         exit
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"runtime/metrics"
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

	signedKeys   map[int32]int
	unsignedKeys map[uint64]int
	pointerKeys  map[*[32]int64]int
	stringKeys   map[string]int
	arrayKeys    map[[2]uint16]int
	wideKeys     map[[3]uint32]int
	reused       []map[int64]int64
	dropped      map[int64]int64
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
	GCCycles       uint64            `json:"gc_cycles"`        // completed while the map grew
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
	gcs := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(gcs)
	before := gcs[0].Value.Uint64()
	m := make(map[int64]int64)
	kept = m
	for i := 0; i < n; i++ {
		m[int64(i)] = int64(i)
	}
	metrics.Read(gcs)
	g := derive(m)
	g.GCCycles = gcs[0].Value.Uint64() - before
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

type mapKeys struct {
	Function string     `json:"function"`
	Kind     string     `json:"kind"` // int, pointer, string, bytes
	Keys     []keyCount `json:"keys"`
}

//go:noinline
func int32Keys() mapKeys {
	signedKeys = make(map[int32]int)
	for i := 0; i < 5; i++ {
		signedKeys[-7]++
	}
	for i := 0; i < 2; i++ {
		signedKeys[3]++
	}
	return mapKeys{"main.int32Keys", "int", []keyCount{{"-7", 5}, {"3", 2}}}
}

//go:noinline
func uint64Keys() mapKeys {
	unsignedKeys = make(map[uint64]int)
	for i := 0; i < 4; i++ {
		unsignedKeys[^uint64(0)]++
	}
	return mapKeys{"main.uint64Keys", "int", []keyCount{{"18446744073709551615", 4}}}
}

//go:noinline
func ptrKeys() mapKeys {
	pointerKeys = make(map[*[32]int64]int)
	p := &objSink[0]
	*p = new([32]int64)
	for i := 0; i < 3; i++ {
		pointerKeys[*p]++
	}
	return mapKeys{"main.ptrKeys", "pointer", []keyCount{{fmt.Sprintf("%#x", uintptr(unsafe.Pointer(*p))), 3}}}
}

//go:noinline
func strKeys() mapKeys {
	stringKeys = make(map[string]int)
	quoted := "tab\t\"q\"\\\n\x01"
	long := strings.Repeat("0123456789", 10)
	for i := 0; i < 6; i++ {
		stringKeys[quoted]++
	}
	for i := 0; i < 2; i++ {
		stringKeys[long]++
	}
	return mapKeys{"main.strKeys", "string", []keyCount{{quoted, 6}, {long, 2}}}
}

//go:noinline
func arrKeys() mapKeys {
	arrayKeys = make(map[[2]uint16]int)
	for i := 0; i < 3; i++ {
		arrayKeys[[2]uint16{1, 0xffff}]++
	}
	return mapKeys{"main.arrKeys", "bytes", []keyCount{{"0100ffff", 3}}}
}

//go:noinline
func wideArrKeys() mapKeys {
	wideKeys = make(map[[3]uint32]int)
	for i := 0; i < 2; i++ {
		wideKeys[[3]uint32{1, 2, 0xdeadbeef}]++
	}
	return mapKeys{"main.wideArrKeys", "bytes", []keyCount{{"0100000002000000efbeadde", 2}}}
}

type reuseReport struct {
	Address  string `json:"address"` // empty: no map got A's address
	LineA    int    `json:"line_a"`
	LineB    int    `json:"line_b"`
	GrowthsA growth `json:"a"`
	GrowthsB growth `json:"b"`
	Attempts int    `json:"attempts"`
}

func mapAddress(m map[int64]int64) uintptr { return *(*uintptr)(unsafe.Pointer(&m)) }

// Map A is on the heap (through a global) and, once this returns, nothing
// refers to it.
//
//go:noinline
func growAndDropA() (uintptr, int, growth) {
	dropped = make(map[int64]int64)
	_, _, line, _ := runtime.Caller(0)
	for i := 0; i < 1000; i++ {
		dropped[int64(i)] = 1
	}
	addr, g := mapAddress(dropped), derive(dropped)
	dropped = nil
	return addr, line - 1, g // the make is the line above Caller
}

//go:noinline
func makeB() (map[int64]int64, int) {
	m := make(map[int64]int64)
	_, _, line, _ := runtime.Caller(0)
	return m, line - 1
}

// A map's address is its identity only while it lives: the next map made
// at that address is another map, from another line.
func reuse() reuseReport {
	want, lineA, grownA := growAndDropA()
	r := reuseReport{Address: fmt.Sprintf("%#x", want), LineA: lineA, GrowthsA: grownA}
	runtime.GC()
	runtime.GC()
	for r.Attempts = 1; r.Attempts <= 1_000_000; r.Attempts++ {
		b, lineB := makeB()
		reused = append(reused, b) // keeps the slot taken: the next attempt gets another
		if mapAddress(b) != want {
			continue
		}
		for i := 0; i < 20; i++ {
			b[int64(i)] = 1
		}
		r.LineB, r.GrowthsB = lineB, derive(b)
		return r
	}
	r.Address = ""
	return r
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
		case "keys":
			reply([]mapKeys{int32Keys(), uint64Keys(), ptrKeys(), strKeys(), arrKeys(), wideArrKeys()})
		case "reuse":
			reply(reuse())
		case "quit":
			return
		}
	}
}
