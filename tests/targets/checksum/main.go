// checksum does a fixed, allocation-heavy computation (maps, slices,
// strings, GC) and prints a digest of the result. The digest depends only on
// the arguments, so a traced run must print exactly what an untraced run
// prints: the test that tracing never changes what a program computes.
//
//	checksum [ROUNDS]   (default 200)
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

func round(r int) []byte {
	m := map[string][]int{}
	for i := 0; i < 2000; i++ {
		k := "k" + strconv.Itoa((i*7919+r)%1500)
		m[k] = append(m[k], i*r)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		for _, v := range m[k] {
			b.WriteString(strconv.Itoa(v))
		}
	}
	big := make([]byte, 40000+r)
	copy(big, b.String())
	return big[:b.Len()]
}

func main() {
	rounds := 200
	if len(os.Args) > 1 {
		rounds, _ = strconv.Atoi(os.Args[1])
	}
	h := sha256.New()
	for r := 0; r < rounds; r++ {
		h.Write(round(r))
		if r%50 == 0 {
			runtime.GC()
		}
	}
	fmt.Printf("%x\n", h.Sum(nil))
}
