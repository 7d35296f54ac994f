// maps_basic uses maps with every key shape the runtime specialises
// (string, 32-bit, 64-bit, pointer, and a struct key for the generic path),
// created with and without a size hint, so that every makemap*/mapassign*
// variant and the map growth code are linked into the binary.
//
// It prints "ready PID GOVERSION", then reads commands from stdin:
//
//	fill  -> insert 1000 keys into each map, print the lengths
//	quit  -> exit
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
)

type point struct{ x, y int16 }

var (
	byString map[string]int
	byInt32  map[int32]int
	byInt64  map[int64]int
	byPtr    map[*int]int
	byStruct map[point]int
	keep     []*int
)

// key is small enough to be inlined into fill, which gives the function
// table an inline tree to decode.
func key(i int) string { return "k" + strconv.Itoa(i) }

func fill(n int) {
	// A hint over 8 makes the compiler call makemap rather than makemap_small.
	byString = make(map[string]int, 64)
	byInt32 = make(map[int32]int)
	byInt64 = make(map[int64]int)
	byPtr = make(map[*int]int)
	byStruct = make(map[point]int, 16)
	keep = keep[:0]
	for i := 0; i < n; i++ {
		byString[key(i)] = i
		byInt32[int32(i)] = i
		byInt64[int64(i)<<20] = i
		p := new(int)
		keep = append(keep, p)
		byPtr[p] = i
		byStruct[point{int16(i), int16(-i)}] = i
	}
	delete(byInt64, 0)
	delete(byString, "k0")
	// The compiler turns this loop into a single runtime.mapclear call.
	for k := range byInt32 {
		delete(byInt32, k)
	}
}

func main() {
	fmt.Printf("ready %d %s\n", os.Getpid(), runtime.Version())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "fill":
			fill(1000)
			fmt.Println(len(byString), len(byInt32), len(byInt64), len(byPtr), len(byStruct))
		case "quit":
			return
		}
	}
}
