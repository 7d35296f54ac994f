// slicegrow grows slices and maps at known sites, with and without a size
// given up front, and reports its own ground truth: how many times each
// slice's capacity changed (every change is one runtime.growslice call), the
// bytes of the arrays it ended up in, and each site's file:line.
//
// It prints "ready PID GOVERSION", then reads commands from stdin and
// answers each with one JSON line:
//
//	append N   -> N appends to a slice without capacity, then N to one made
//	              with make([]int64, 0, N); counts of capacity changes
//	map N      -> an N-entry map made without a hint, then one with make(map, N)
//	busy SECS  -> {"size", "map_site"} at once, then for SECS seconds allocates
//	              objects of that size and regrows a map there; then {"done"}
//	small N    -> N slices of 16 appended from nothing; growths and time taken
//	quit       -> exit
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Results escape to these globals.
var (
	keepSlice []int64
	keepMap   map[int64]int64
	sink      []*[6]int64
)

type growth struct {
	Site    string `json:"site"`
	Growths int    `json:"growths"` // capacity changes
	Bytes   uint64 `json:"bytes"`   // sum of the new capacities x 8
	Copied  uint64 `json:"copied"`  // sum of the old lengths x 8
	Len     int    `json:"len"`
	Cap     int    `json:"cap"`
}

func record(g *growth, s []int64, before int, oldLen int) {
	if cap(s) != before {
		g.Growths++
		g.Bytes += uint64(cap(s)) * 8
		g.Copied += uint64(oldLen) * 8
	}
}

// The appends happen in these two, one line below their func line (which
// lineAfter reports), so the site is known without a hard-coded line number.
//
//go:noinline
func pushNoCap(s []int64, v int64) []int64 {
	return append(s, v)
}

//go:noinline
func pushPresized(s []int64, v int64) []int64 {
	return append(s, v)
}

// lineAfter is file:line of the line below function f's func line.
func lineAfter(f any) string {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	file, line := fn.FileLine(fn.Entry())
	return fmt.Sprintf("%s:%d", file[strings.LastIndex(file, "/")+1:], line+1)
}

func appendAll(s []int64, n int, push func([]int64, int64) []int64) growth {
	g := growth{Site: lineAfter(push)}
	for i := 0; i < n; i++ {
		before, oldLen := cap(s), len(s)
		s = push(s, int64(i))
		record(&g, s, before, oldLen)
	}
	g.Len, g.Cap = len(s), cap(s)
	keepSlice = s
	return g
}

type built struct {
	Site string `json:"site"`
	Len  int    `json:"len"`
	Ns   int64  `json:"ns"` // time taken
}

// Each map's make is one line below its func line.
//
//go:noinline
func mapNoHint(n int) map[int64]int64 {
	m := make(map[int64]int64)
	for i := 0; i < n; i++ {
		m[int64(i)] = int64(i)
	}
	return m
}

//go:noinline
func mapHint(n int) map[int64]int64 {
	m := make(map[int64]int64, n)
	for i := 0; i < n; i++ {
		m[int64(i)] = int64(i)
	}
	return m
}

func buildMap(n int, f func(int) map[int64]int64) built {
	start := time.Now()
	keepMap = f(n)
	return built{lineAfter(f), len(keepMap), time.Since(start).Nanoseconds()}
}

// busyMap is built up from nothing, over and over, by busy; its make is one
// line below its func line.
//
//go:noinline
func busyMap(n int) map[int64]int64 {
	m := make(map[int64]int64)
	for i := 0; i < n; i++ {
		m[int64(i)] = int64(i)
	}
	return m
}

// busy is a workload for the live view: mostly 48-byte objects, and a map
// regrown from empty. It first says which size and map site to expect.
func busy(d time.Duration, out *json.Encoder) {
	out.Encode(map[string]any{"size": unsafe.Sizeof([6]int64{}), "map_site": lineAfter(busyMap)})
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 20000; i++ {
			sink = append(sink, new([6]int64))
		}
		sink = sink[:0]
		keepMap = busyMap(5000)
	}
	out.Encode(map[string]bool{"done": true})
}

// small builds n slices of 16 elements from nothing: five growths each
// (capacity 1, 2, 4, 8, 16), for measuring what a probed growslice costs.
func small(n int) map[string]any {
	start := time.Now()
	growths := 0
	for i := 0; i < n; i++ {
		var s []int64
		for j := 0; j < 16; j++ {
			before := cap(s)
			s = pushNoCap(s, int64(j))
			if cap(s) != before {
				growths++
			}
		}
		keepSlice = s
	}
	return map[string]any{"growths": growths, "ns": time.Since(start).Nanoseconds()}
}

func main() {
	fmt.Printf("ready %d %s\n", os.Getpid(), runtime.Version())
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
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
		case "append":
			out.Encode(map[string]growth{
				"no_cap":   appendAll(nil, n, pushNoCap),
				"presized": appendAll(make([]int64, 0, n), n, pushPresized),
			})
		case "map":
			out.Encode(map[string]built{"no_hint": buildMap(n, mapNoHint), "hint": buildMap(n, mapHint)})
		case "small":
			out.Encode(small(n))
		case "busy":
			busy(time.Duration(n)*time.Second, out)
		case "quit":
			return
		}
	}
}
