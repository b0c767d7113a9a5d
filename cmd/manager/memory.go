package main

import (
	"os"
	"runtime/debug"
	"strconv"

	"github.com/go-logr/logr"
)

// memoryLimitShare is the part of the container's memory limit given to the Go runtime as its
// soft limit (GOMEMLIMIT). The rest is for what the runtime's limit does not cover: thread
// stacks beyond the heap's accounting, SQLite's page cache, the kernel's page tables.
const memoryLimitShare = 0.9

// softMemoryLimit decides the Go runtime's soft memory limit from the container's limit in
// bytes (MEMORY_LIMIT, from the downward API) unless GOMEMLIMIT is set: then the runtime
// already read it. It returns 0 for no change.
func softMemoryLimit(containerLimit string, gomemlimitSet bool) int64 {
	if gomemlimitSet || containerLimit == "" {
		return 0
	}
	limit, err := strconv.ParseInt(containerLimit, 10, 64)
	if err != nil || limit <= 0 {
		return 0
	}
	return int64(float64(limit) * memoryLimitShare)
}

func setMemoryLimit(log logr.Logger) {
	_, set := os.LookupEnv("GOMEMLIMIT")
	if soft := softMemoryLimit(os.Getenv("MEMORY_LIMIT"), set); soft > 0 {
		debug.SetMemoryLimit(soft)
		log.Info("Set the Go runtime's soft memory limit", "bytes", soft, "containerLimit", os.Getenv("MEMORY_LIMIT"))
	}
}
