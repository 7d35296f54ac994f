// heapsites allocates known amounts from known functions, keeps some of it
// alive, and writes its own heap profile with runtime/pprof, so that a test
// can compare hotalloc's view of the runtime's sampled heap profile with the
// program's own. It is driven line by line on stdin:
//
//	run          -> allocate, retain and drop, then runtime.GC(); prints "done"
//	profile PATH -> pprof.WriteHeapProfile to PATH (as of the last GC); prints "written"
//	quit         -> exit
//
// What "run" does, per function (all amounts are allocated bytes):
//
//	allocChunks     192 MiB in 4 KiB slices, dropped
//	buildList        96 MiB of 64-byte nodes from newNode, inlined into it, dropped
//	retainBlocks     48 MiB in 8 KiB slices, kept until exit
//	retainStrings    24 MiB in 1 KiB slices, kept until exit
//	allocRecords     16 MiB in 512-byte slices, dropped
//	churn            16 MiB in 2 KiB slices, freed
//
// The amounts halve from one function to the next, so that sampling at the
// default rate (one sample per 512 KiB) cannot swap their order.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
)

const mib = 1 << 20

var (
	sink     [][]byte
	kept     [][]byte
	keptToo  [][]byte
	listHead *node
)

type node struct {
	next    *node
	payload [7]uint64
}

//go:noinline
func allocChunks() {
	for i := 0; i < 192*mib/4096; i++ {
		sink = append(sink[:0], make([]byte, 4096))
	}
}

// newNode is small enough to be inlined into buildList.
func newNode(next *node) *node {
	return &node{next: next}
}

//go:noinline
func buildList() {
	for round := 0; round < 96; round++ {
		var head *node
		for i := 0; i < mib/64; i++ {
			head = newNode(head)
		}
		listHead = head
	}
	listHead = nil
}

//go:noinline
func allocRecords() {
	for i := 0; i < 16*mib/512; i++ {
		sink = append(sink[:0], make([]byte, 512))
	}
}

//go:noinline
func retainBlocks() {
	for i := 0; i < 48*mib/8192; i++ {
		kept = append(kept, make([]byte, 8192))
	}
}

//go:noinline
func retainStrings() {
	for i := 0; i < 24*mib/1024; i++ {
		keptToo = append(keptToo, make([]byte, 1024))
	}
}

//go:noinline
func churn() {
	var tmp [][]byte
	for i := 0; i < 16*mib/2048; i++ {
		tmp = append(tmp, make([]byte, 2048))
	}
	sink = tmp[:1]
	sink = nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	fmt.Printf("ready %d %s\n", os.Getpid(), runtime.Version())
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "run":
			allocChunks()
			buildList()
			allocRecords()
			retainBlocks()
			retainStrings()
			churn()
			sink = nil
			runtime.GC()
			fmt.Println("done")
		case "profile":
			f, err := os.Create(arg)
			if err == nil {
				err = pprof.WriteHeapProfile(f)
				f.Close()
			}
			if err != nil {
				fmt.Println("error", err)
				continue
			}
			fmt.Println("written")
		case "quit":
			return
		}
	}
}
