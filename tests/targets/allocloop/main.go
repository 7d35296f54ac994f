// allocloop allocates N 24-byte objects in a tight loop and prints how long
// the loop took, in nanoseconds: the benchmark workload for the overhead of
// tracing (traced vs untraced runs of the same binary).
//
//	allocloop [N]   (default 20,000,000)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

type obj struct{ a, b, c int64 }

var sink *obj

func main() {
	n := 20_000_000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		sink = &obj{a: int64(i)}
	}
	fmt.Println(time.Since(start).Nanoseconds())
}
