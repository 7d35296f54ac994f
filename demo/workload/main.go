// The demo workload for `make demo`: a small in-memory service that keeps a
// session cache in a map, renders JSON responses, and buffers request
// bodies, so its allocations spread over many size classes.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"
)

type session struct {
	ID      string
	User    string
	Created time.Time
	Tags    []string
	Scores  map[string]int
}

type response struct {
	Status  string     `json:"status"`
	Session *session   `json:"session"`
	Items   []int      `json:"items"`
	Meta    [][]string `json:"meta"`
}

// lastBody keeps request bodies reachable past the loop iteration, as a
// server handing them to another goroutine would.
var lastBody []byte

func main() {
	fmt.Printf("demo workload pid %d\n", os.Getpid())
	go heapProfileOnSignal()
	rng := rand.New(rand.NewSource(1))
	cache := map[string]*session{}
	var out bytes.Buffer
	for i := 0; ; i++ {
		// A new session, sometimes evicting old ones.
		id := "s" + strconv.Itoa(rng.Intn(50000))
		s := &session{ID: id, User: "user-" + strconv.Itoa(rng.Intn(1000)), Created: time.Now(),
			Scores: map[string]int{}}
		for j := 0; j < rng.Intn(6); j++ {
			s.Tags = append(s.Tags, "tag"+strconv.Itoa(j))
			s.Scores["k"+strconv.Itoa(j)] = j
		}
		cache[id] = s
		if len(cache) > 20000 {
			cache = map[string]*session{}
		}

		// Render a response.
		r := response{Status: "ok", Session: s, Items: make([]int, rng.Intn(200))}
		for j := 0; j < 3; j++ {
			r.Meta = append(r.Meta, []string{"a", "b", strconv.Itoa(j)})
		}
		out.Reset()
		_ = json.NewEncoder(&out).Encode(&r)

		// A request body buffer, occasionally a large one.
		body := make([]byte, 64+rng.Intn(4096))
		if i%500 == 0 {
			body = make([]byte, 64<<10)
		}
		lastBody = body

		if i%2000 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Like a service with a profiling endpoint, the workload writes its own heap
// profile on request (SIGUSR1, to heap.pb.gz in the temporary directory).
// Referencing runtime/pprof is also what keeps the runtime's allocation
// sampling on: without it the linker sets MemProfileRate to 0, and hotalloc
// would have no sites and no live heap to show.
func heapProfileOnSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	for range sig {
		path := filepath.Join(os.TempDir(), "heap.pb.gz")
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			continue
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		f.Close()
		fmt.Printf("wrote %s\n", path)
	}
}
