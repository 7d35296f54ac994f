// placement_shapes exists for its machine code, not for what it does: probe
// placement tests take prologue bytes from it. It pulls in the runtime
// functions hotalloc hooks (map inserts by string and by int64 key, large
// allocations, GC) and adds a function whose 10 KB frame makes the compiler
// emit the huge-frame stack check (MOV R12,RSP; SUB; JB; CMP; JBE).
package main

import (
	"fmt"
	"os"
	"runtime"
)

var sink []byte

//go:noinline
func hugeFrame(n int) int {
	var buf [10240]byte
	for i := range buf {
		buf[i] = byte(i * n)
	}
	sum := 0
	for _, b := range buf {
		sum += int(b)
	}
	return sum
}

func main() {
	byName := map[string]int{}
	byID := map[int64]int{}
	for i, arg := range os.Args {
		byName[arg] = i
		byID[int64(i)] = len(arg)
	}
	sink = make([]byte, 64<<10)
	runtime.GC()
	fmt.Println(len(byName), len(byID), hugeFrame(len(os.Args)))
}
