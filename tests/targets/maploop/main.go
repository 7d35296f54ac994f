// maploop inserts N times into a map[string]int (runtime.mapassign_faststr)
// cycling over 1,000 short keys, and prints the loop's wall time in
// nanoseconds: the benchmark of hotalloc's insert probes (tools/bench.sh).
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

var sink map[string]int

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	m := make(map[string]int)
	sink = m
	start := time.Now()
	for i := 0; i < n; i++ {
		m[keys[i%len(keys)]]++
	}
	fmt.Println(time.Since(start).Nanoseconds())
}
