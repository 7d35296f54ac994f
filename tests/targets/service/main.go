// service is an ordinary, lightly loaded Go service for the benchmark of the
// daemon's own cost (tools/bench.sh): an HTTP server on a loopback port that
// renders a JSON document per request, and a client goroutine in the same
// process sending it RATE requests per second, for SECONDS seconds, then it
// exits. Only 127.0.0.1 is ever contacted.
//
//	service RATE SECONDS
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

type item struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Tags  []string `json:"tags"`
	Price float64  `json:"price"`
}

func handler(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	items := make([]item, 0, 20)
	for i := 0; i < 20; i++ {
		items = append(items, item{ID: n + i, Name: "item-" + strconv.Itoa(n+i), Tags: []string{"a", "b"},
			Price: float64(i) * 0.5})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "page": n})
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: service RATE SECONDS")
		os.Exit(2)
	}
	rate, err1 := strconv.Atoi(os.Args[1])
	seconds, err2 := strconv.Atoi(os.Args[2])
	if err1 != nil || err2 != nil || rate <= 0 || seconds <= 0 {
		fmt.Fprintln(os.Stderr, "service: RATE and SECONDS must be positive integers")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { _ = http.Serve(ln, http.HandlerFunc(handler)) }()
	url := "http://" + ln.Addr().String() + "/items?n="
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	served := 0
	for i := 0; time.Now().Before(deadline); i++ {
		<-tick.C
		resp, err := client.Get(url + strconv.Itoa(i))
		if err != nil {
			fmt.Fprintln(os.Stderr, "service:", err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		served++
	}
	fmt.Println(served)
}
