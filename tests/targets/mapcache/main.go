// mapcache runs N operations on a bounded in-memory cache, the way a service
// caches sessions: a map[string]*entry of at most 50,000 entries, 80% reads
// and 20% writes over 200,000 keys, a write to a full cache evicting the
// oldest entry (a FIFO ring of keys). Writes allocate the entry and its
// value. Prints the loop's wall time in nanoseconds (tools/bench.sh).
//
//	mapcache N
package main

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"time"
)

const (
	capacity = 50_000
	keySpace = 200_000
)

type entry struct {
	value   []byte
	expires int64
	hits    int
}

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: mapcache N")
		os.Exit(2)
	}
	keys := make([]string, keySpace)
	for i := range keys {
		keys[i] = "session:" + strconv.Itoa(i*7919)
	}
	rng := rand.New(rand.NewSource(1))
	cache := make(map[string]*entry)
	order := make([]string, 0, capacity) // insertion order, for eviction
	oldest := 0
	hits := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		k := keys[rng.Intn(keySpace)]
		if rng.Intn(5) != 0 {
			if e, ok := cache[k]; ok {
				e.hits++
				hits++
			}
			continue
		}
		if e, ok := cache[k]; ok {
			e.value = append(e.value[:0], k...)
			continue
		}
		if len(cache) >= capacity {
			delete(cache, order[oldest])
			order[oldest] = k
			oldest = (oldest + 1) % capacity
		} else {
			order = append(order, k)
		}
		cache[k] = &entry{value: append(make([]byte, 0, 64), k...), expires: int64(i) + 1_000_000}
	}
	elapsed := time.Since(start)
	if hits == 0 {
		panic("the cache never hit")
	}
	fmt.Println(elapsed.Nanoseconds())
}
