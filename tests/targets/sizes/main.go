// sizes allocates a known mix of objects over many size classes, scan and
// noscan, tiny and large, and reports what the runtime itself counted for
// that phase (runtime/metrics, read after runtime.GC() flushed every mcache).
//
// It is driven line by line on stdin so a test can read hotalloc's counters
// at the same quiescent points:
//
//	mark   -> GC, remember the runtime's counters, print "marked " and
//	          the counters since the program started, as JSON
//	phase  -> run the allocation mix, GC, print the deltas since mark as JSON
//	loop   -> allocate forever (for demos and benchmarks)
//	quit   -> exit
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
)

var sink []interface{}

type counters struct {
	BySize  map[string]uint64 `json:"by_size"` // object size of the class -> objects
	Objects uint64            `json:"objects"` // /gc/heap/allocs:objects
	Bytes   uint64            `json:"bytes"`   // /gc/heap/allocs:bytes
	Tiny    uint64            `json:"tiny"`    // /gc/heap/tiny/allocs:objects
	Large   uint64            `json:"large"`   // objects in the last (large) bucket
}

func read() counters {
	runtime.GC()
	s := []metrics.Sample{
		{Name: "/gc/heap/allocs-by-size:bytes"},
		{Name: "/gc/heap/allocs:objects"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/tiny/allocs:objects"},
	}
	metrics.Read(s)
	c := counters{BySize: map[string]uint64{}}
	h := s[0].Value.Float64Histogram()
	for i, n := range h.Counts {
		if i == len(h.Counts)-1 {
			c.Large = n
			continue
		}
		// Bucket i is [Buckets[i], Buckets[i+1]): one size class, whose
		// object size is the exclusive upper bound minus one.
		class := uint64(h.Buckets[i+1]) - 1
		c.BySize[strconv.FormatUint(class, 10)] = n
	}
	c.Objects = s[1].Value.Uint64()
	c.Bytes = s[2].Value.Uint64()
	c.Tiny = s[3].Value.Uint64()
	return c
}

func sub(a, b counters) counters {
	d := counters{BySize: map[string]uint64{}}
	for k, v := range a.BySize {
		if v-b.BySize[k] != 0 {
			d.BySize[k] = v - b.BySize[k]
		}
	}
	d.Objects = a.Objects - b.Objects
	d.Bytes = a.Bytes - b.Bytes
	d.Tiny = a.Tiny - b.Tiny
	d.Large = a.Large - b.Large
	return d
}

type s24 struct{ a, b, c *int } // 24 B scan
type s48 struct{ a [6]uintptr } // 48 B noscan
type s112 struct {
	p *int
	a [13]int
} // 112 B scan

// mix allocates over at least 10 size classes, scan and noscan, plus tiny and
// large objects. Everything escapes into sink so nothing is optimised away.
func mix(rounds int) {
	for r := 0; r < rounds; r++ {
		keep := make([]interface{}, 0, 4096)
		for i := 0; i < 2000; i++ {
			keep = append(keep,
				new(s24),
				new(s48),
				new(s112),
				make([]byte, 32),
				make([]byte, 200),  // 208 B noscan
				new([40]*int),      // 320 B scan
				make([]byte, 100),  // 112 B class, noscan
				make([]*int, 20),   // 160 B scan
				make([]byte, 500),  // 512 B noscan
				make([]byte, 1000), // 1024 B noscan
				make([]*int, 300),  // 2400 B -> 2688 class, scan
				make([]byte, 5000), // 5376 B noscan
			)
			if i%4 == 0 {
				x := new(int32) // pointer-free and < 16 B: tiny allocator
				*x = int32(i)
				keep = append(keep, x)
			}
			if i%50 == 0 {
				keep = append(keep, make([]byte, 40000), make([]*int, 10000)) // large
			}
		}
		sink = keep
	}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	var mark counters
	fmt.Printf("ready %d %s\n", os.Getpid(), runtime.Version())
	for in.Scan() {
		switch in.Text() {
		case "mark":
			mark = read()
			b, _ := json.Marshal(mark)
			fmt.Println("marked " + string(b))
		case "phase":
			mix(5)
			sink = nil
			d := sub(read(), mark)
			b, _ := json.Marshal(d)
			fmt.Println(string(b))
		case "loop":
			for {
				mix(1)
			}
		case "quit":
			return
		}
	}
}
