package loadgen

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Mem is a process's resident memory from /proc/PID/status.
type Mem struct {
	RSSKB int64 // VmRSS
	HWMKB int64 // VmHWM, the peak RSS
}

// ReadMem reads VmRSS and VmHWM of a process.
func ReadMem(pid int) (Mem, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	var m Mem
	for _, line := range strings.Split(string(data), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch name {
		case "VmRSS":
			m.RSSKB = n
		case "VmHWM":
			m.HWMKB = n
		}
	}
	return m, nil
}
