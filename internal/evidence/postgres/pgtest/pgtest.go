// Package pgtest starts a throwaway PostgreSQL server for tests: initdb and pg_ctl on a
// temporary directory, listening on a free loopback port, stopped when the test ends.
//
// When PostgreSQL is not installed the test is skipped, except in CI (the CI variable set),
// where it fails: hack/install-test-deps.sh installs it. Run as root, the server runs as the
// postgres user, since initdb refuses root.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Server is a running test server.
type Server struct {
	dir   string
	port  int
	bin   string
	cred  *syscall.Credential
	dbSeq atomic.Int64
}

// FindBin returns the directory holding initdb and pg_ctl: on PATH, or the newest
// /usr/lib/postgresql/*/bin (where Debian puts them).
func FindBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("initdb not found on PATH nor in /usr/lib/postgresql/*/bin (run hack/install-test-deps.sh)")
	}
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return filepath.Dir(matches[0]), nil
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// Start starts a server for the test and stops it in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := FindBin()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("skipping PostgreSQL tests: %v", err)
	}
	s := &Server{bin: bin}
	if s.dir, err = os.MkdirTemp("", "evidence-pg-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(s.dir) })
	if err := s.dropRoot(); err != nil {
		t.Fatal(err)
	}
	if err := s.run(exec.Command(filepath.Join(bin, "initdb"), "-D", s.data(), "-U", "postgres", "--auth=trust",
		"--locale=C", "-E", "UTF8", "--no-sync")); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	if s.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=50", s.port, s.dir)
	if err := s.run(exec.Command(filepath.Join(bin, "pg_ctl"), "-D", s.data(), "-o", opts, "-l",
		filepath.Join(s.dir, "server.log"), "-w", "-t", "60", "start")); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		_ = s.run(exec.Command(filepath.Join(bin, "pg_ctl"), "-D", s.data(), "-m", "immediate", "-w", "stop"))
	})
	return s
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// dropRoot makes the server run as the postgres user when the test runs as root.
func (s *Server) dropRoot() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return os.Chown(s.dir, uid, gid)
}

func (s *Server) run(cmd *exec.Cmd) error {
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the connection URL of a database on the server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates a new empty database and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	name := fmt.Sprintf("evidence_%d", s.dbSeq.Add(1))
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	return s.URL(name)
}
