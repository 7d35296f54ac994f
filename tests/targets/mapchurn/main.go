// mapchurn builds N small maps of 9 keys each, which takes each map through
// creation and two growths (to a small group, then to a table): hotalloc's
// always-on map probes fire several times per map and the table growth puts
// two timeline events in the ring buffer. The benchmark of the daemon's cost
// per event (tools/bench.sh). Prints the loop's wall time in nanoseconds.
//
//	mapchurn N
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

var sink map[int]int

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: mapchurn N")
		os.Exit(2)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		m := make(map[int]int)
		for k := 0; k < 9; k++ {
			m[k] = i
		}
		sink = m
	}
	fmt.Println(time.Since(start).Nanoseconds())
}
