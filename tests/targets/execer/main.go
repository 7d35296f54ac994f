// execer is a process that replaces itself. It prints "ready PID", then runs
// one command per stdin line:
//
//	alloc  allocate OBJECTS 64-byte objects, GC (flushing every mcache, so
//	       a tracer's counts are complete), print "allocated"
//	exec   exec PROGRAM ARGS... (the same pid runs another program, or
//	       itself again)
//	quit   exit (as does the end of stdin)
//
//	execer OBJECTS [PROGRAM ARGS...]
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

var sink [][]byte

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	fmt.Printf("ready %d\n", os.Getpid())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "alloc":
			for i := 0; i < n; i++ {
				sink = append(sink, make([]byte, 64))
				if len(sink) == 1024 {
					sink = sink[:0]
				}
			}
			runtime.GC()
			fmt.Println("allocated")
		case "exec":
			err := syscall.Exec(os.Args[2], os.Args[2:], os.Environ())
			fmt.Fprintln(os.Stderr, "exec:", err)
			os.Exit(1)
		case "quit":
			return
		}
	}
}
