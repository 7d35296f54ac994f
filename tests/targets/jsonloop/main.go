// jsonloop does N encoding/json round trips (marshal, then unmarshal into a
// fresh value) of an order shaped like an API payload, and prints the loop's
// wall time in nanoseconds: a realistic allocation pattern (many small and
// mid-sized objects, strings, slices, a map) for tools/bench.sh.
//
//	jsonloop N
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

type line struct {
	SKU      string  `json:"sku"`
	Name     string  `json:"name"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
}

type order struct {
	ID       string            `json:"id"`
	Customer string            `json:"customer"`
	Created  time.Time         `json:"created"`
	Lines    []line            `json:"lines"`
	Labels   map[string]string `json:"labels"`
	Notes    []string          `json:"notes"`
}

func main() {
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: jsonloop N")
		os.Exit(2)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	start := time.Now()
	for i := 0; i < n; i++ {
		o := order{ID: "ord-" + strconv.Itoa(i), Customer: "cust-" + strconv.Itoa(i%977), Created: base,
			Labels: map[string]string{"region": "eu", "tier": strconv.Itoa(i % 3)}}
		for j := 0; j < 1+i%6; j++ {
			o.Lines = append(o.Lines, line{SKU: "sku-" + strconv.Itoa(j*31+i%17), Name: "widget",
				Quantity: j + 1, Price: float64(j) * 1.25})
		}
		if i%4 == 0 {
			o.Notes = []string{"gift", "leave at door"}
		}
		buf, err := json.Marshal(&o)
		if err != nil {
			panic(err)
		}
		var back order
		if err := json.Unmarshal(buf, &back); err != nil || back.ID != o.ID {
			panic(fmt.Sprint("round trip failed: ", err))
		}
	}
	fmt.Println(time.Since(start).Nanoseconds())
}
