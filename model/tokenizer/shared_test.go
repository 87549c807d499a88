package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"lopper/internal/sharedtest"
)

var sharedTokenizers sync.Map // path → *Tokenizer, loaded once per test binary

// sharedTokenizer loads ../shared/<rel>, once per test binary.
func sharedTokenizer(tb testing.TB, rel string) *Tokenizer {
	tb.Helper()
	path := sharedtest.Path(tb, rel)
	if t, ok := sharedTokenizers.Load(path); ok {
		return t.(*Tokenizer)
	}
	t, err := Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	sharedTokenizers.Store(path, t)
	return t
}

type tokenCase struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

func readCases(tb testing.TB, path string) []tokenCase {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []tokenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c tokenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if c.IDs == nil {
			c.IDs = []int32{}
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return cases
}
