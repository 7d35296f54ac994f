// maploop inserts into a map[string]int (runtime.mapassign_faststr) cycling
// over 1,000 short keys: the benchmark of hotalloc's insert probes
// (tools/bench). Prints the loop's wall time in nanoseconds and the number of
// inserts.
//
//	maploop N       N inserts
//	maploop 20s     inserts for 20 seconds (for duty cycles: a run then
//	                spans a whole number of periods, whatever its phase)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

var sink map[string]int

func main() {
	n, err := strconv.Atoi(os.Args[1])
	var limit time.Duration
	if err != nil {
		if limit, err = time.ParseDuration(os.Args[1]); err != nil || limit <= 0 {
			fmt.Fprintln(os.Stderr, "usage: maploop N | maploop DURATION")
			os.Exit(2)
		}
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	m := make(map[string]int)
	sink = m
	start := time.Now()
	done := 0
	if limit > 0 {
		// The clock is read once per 4,096 inserts so that it costs nothing.
		for time.Since(start) < limit {
			for j := 0; j < 4096; j++ {
				m[keys[done%len(keys)]]++
				done++
			}
		}
	} else {
		for ; done < n; done++ {
			m[keys[done%len(keys)]]++
		}
	}
	fmt.Println(time.Since(start).Nanoseconds(), done)
}
