package eval

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"
)

// cpuName is the processor's model name from /proc/cpuinfo where there is
// one, else the architecture.
func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
