package storetest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// The crash child's environment: the store address and the key directory.
const (
	crashAddrEnv = "ISMS_EVIDENCE_CRASH_CHILD_ADDR"
	crashKeysEnv = "ISMS_EVIDENCE_CRASH_CHILD_KEYS"
	crashBatch   = 100
)

// runCrashChild is the child's side of the crash test: it appends batches to the store at
// the parent's address and reports each commit on stdout until it is killed.
func runCrashChild(t *testing.T, b Backend) bool {
	addr := os.Getenv(crashAddrEnv)
	if addr == "" {
		return false
	}
	ctx := context.Background()
	keys, err := evidence.LoadOrCreateKeys(os.Getenv(crashKeysEnv), "storetest")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t, addr)
	l, err := evidence.Open(ctx, st, keys, evidence.Options{CheckpointEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		leaves := make([]evidence.Leaf, crashBatch)
		for j := range leaves {
			leaves[j] = transition("c1", fmt.Sprintf("ns/s-%d-%d", i, j), evidence.SubjectPassing, evidence.SubjectFailing, j, time.Now())
		}
		if _, err := l.Append(ctx, leaves); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", l.Head().Size)
	}
}

// testCrash kills a child writer with SIGKILL in the middle of its stream and checks that
// the reopened store holds whole batches only and verifies.
func testCrash(t *testing.T, b Backend) {
	addr := b.Create(t)
	keyDir := t.TempDir()
	keys, err := evidence.LoadOrCreateKeys(keyDir, "storetest")
	if err != nil {
		t.Fatal(err)
	}
	top := strings.SplitN(t.Name(), "/", 2)[0]
	cmd := exec.Command(os.Args[0], "-test.run", "^"+top+"$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), crashAddrEnv+"="+addr, crashKeysEnv+"="+keyDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	committed := readCommits(t, cmd, bufio.NewScanner(out), 20)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	st := b.Open(t, addr)
	defer func() { _ = st.Close() }()
	l, err := evidence.Open(context.Background(), st, keys, evidence.Options{})
	if err != nil {
		t.Fatalf("reopening after the crash: %v", err)
	}
	size := l.Head().Size
	t.Logf("child killed after reporting %d leaves; the reopened log has %d", committed, size)
	if size%crashBatch != 0 || size < committed {
		t.Fatalf("after the crash the log has %d leaves, want whole batches of %d and at least the %d reported", size, crashBatch, committed)
	}
	if _, err := evidence.VerifyStore(context.Background(), st, keys.VerifierKey); err != nil {
		t.Fatalf("log after the crash: %v", err)
	}
	if _, err := l.Append(context.Background(), []evidence.Leaf{marker(evidence.KindOperatorStarted, time.Now())}); err != nil {
		t.Fatalf("appending after the crash: %v", err)
	}
}

// readCommits waits for n commit reports, then a random few milliseconds more so the kill
// lands anywhere in a batch; it returns the last size reported.
func readCommits(t *testing.T, cmd *exec.Cmd, sc *bufio.Scanner, n int) uint64 {
	t.Helper()
	var last uint64
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	for seen := 0; seen < n && sc.Scan(); {
		if size, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			last, _ = strconv.ParseUint(size, 10, 64)
			seen++
		}
	}
	if last == 0 {
		_ = cmd.Process.Kill()
		t.Fatal("the child writer reported no commit")
	}
	time.Sleep(time.Duration(time.Now().UnixNano()%7) * time.Millisecond)
	go func() {
		for sc.Scan() { // keep the pipe drained so the child never blocks on stdout
		}
	}()
	return last
}
