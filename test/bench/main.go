// Command bench measures isms-operator's evaluation loop on a local control plane: sweep time
// against the raw engine limit measured in the same run, drift-to-Finding latency under churn,
// the manager's memory, and the Findings' footprint in etcd. It prints a table and writes JSON.
//
//	make bench                      # 10k Deployments in 100 namespaces, the sample controls
//	make bench BENCH_ARGS="-objects 10000 -controls 50"
//	make bench BENCH_ARGS="-rest 10m"   # also the CPU at rest over a real default interval
//	make bench-peers                # the same estate, then Gatekeeper's audit on it (-peers)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/isms-operator/isms-operator/internal/policy"
)

// shortUnchangedInterval is -unchanged-interval in -short runs (and the test's): the idle
// window and the unchanged sweep add about that much to the run.
const shortUnchangedInterval = 10 * time.Second

func main() {
	cfg := Config{}
	flag.IntVar(&cfg.Objects, "objects", 10000, "Deployments to load (up to 100000).")
	flag.IntVar(&cfg.Namespaces, "namespaces", 100, "Namespaces to spread them over.")
	flag.Float64Var(&cfg.Violating, "violating", 0.1, "Fraction of Deployments that run a privileged container.")
	flag.IntVar(&cfg.Controls, "controls", 0, "Controls to evaluate: the samples, plus copies of those that target Deployments up to this many.")
	flag.IntVar(&cfg.Flips, "flips", 200, "Drift measurements: Deployments flipped into or out of violation.")
	flag.Float64Var(&cfg.ChurnPerSecond, "churn", 50, "Background updates per second during the drift measurement.")
	flag.StringVar(&cfg.ManagerBinary, "manager", "bin/manager", "The manager binary to measure.")
	flag.BoolVar(&cfg.Profile, "profile", false, "Write the manager's CPU profiles of the first evaluation and the re-sweep (go tool pprof).")
	flag.StringVar(&cfg.RepoRoot, "repo", ".", "The repository root (for the CRDs and sample controls).")
	out := flag.String("out", "bench-results", "Folder for the JSON results and the manager's log.")
	flag.StringVar(&cfg.Evidence, "evidence", "on", "The evidence ledger: on, off, or both (the run with it on, then the full sweep again with it off).")
	flag.DurationVar(&cfg.Soak, "soak", 0, "After the drift measurement, churn for this long (e.g. 10m) and sample the manager's heap and goroutines: neither may grow.")
	flag.DurationVar(&cfg.UnchangedInterval, "unchanged-interval", 0, "The interval set on every control to time a periodic sweep in which nothing changed (at least 5s; 0: 3x the full sweep + 30s, at least 1m).")
	flag.DurationVar(&cfg.Rest, "rest", 0, "Also measure the manager's CPU at rest over this long (e.g. 10m, rounded to whole default intervals) with the controls at the default interval.")
	peers := flag.Bool("peers", false, "Compare with Gatekeeper: one privileged-container policy each, the manager first, then Gatekeeper's audit, on one control plane (make bench-peers).")
	peer := PeerConfig{}
	flag.StringVar(&peer.GatekeeperBinary, "gatekeeper", "", "With -peers: Gatekeeper's binary (hack/install-gatekeeper.sh).")
	flag.StringVar(&peer.GatekeeperCRDs, "gatekeeper-crds", "", "With -peers: the folder of Gatekeeper's CRDs (hack/install-gatekeeper.sh --crds).")
	flag.DurationVar(&peer.AuditInterval, "audit-interval", 30*time.Second, "With -peers: Gatekeeper's --audit-interval (whole seconds; its default is 60s).")
	flag.IntVar(&peer.Flips, "peer-flips", 3, "With -peers: Deployments turned privileged, one at a time, to time until each side shows the violation.")
	short := flag.Bool("short", false, "A quick run that checks every figure is produced (1k objects, 20 flips, -unchanged-interval 10s unless set).")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel)))
	if *short {
		cfg.Objects, cfg.Namespaces, cfg.Flips, cfg.ChurnPerSecond = 1000, 10, 20, 20
		if cfg.UnchangedInterval == 0 {
			cfg.UnchangedInterval = shortUnchangedInterval
		}
	}
	var err error
	if *peers {
		err = runPeers(cfg, peer, *out)
	} else {
		err = run(cfg, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg Config, out string) error {
	if cfg.Objects < 1 || cfg.Objects > 100000 || cfg.Namespaces < 1 || cfg.Flips < 1 {
		return fmt.Errorf("-objects must be 1..100000, -namespaces and -flips at least 1")
	}
	if cfg.Evidence != "on" && cfg.Evidence != "off" && cfg.Evidence != "both" {
		return fmt.Errorf("-evidence must be on, off or both")
	}
	if cfg.UnchangedInterval != 0 && (cfg.UnchangedInterval < 5*time.Second || cfg.UnchangedInterval > 168*time.Hour) || cfg.Rest < 0 {
		return fmt.Errorf("-unchanged-interval must be 0 or 5s..168h, -rest at least 0")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make bench`")
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	cfg.WorkDir = filepath.Join(out, stamp)
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, cfg, func(msg string) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), msg)
	})
	if err != nil {
		err = fmt.Errorf("%w (manager log: %s)", err, filepath.Join(cfg.WorkDir, "manager.log"))
		if res != nil {
			res.Error = policy.Truncate(err.Error(), maxErrorLen)
			if path, werr := writeResults(cfg.WorkDir, "results.partial.json", res); werr == nil {
				fmt.Fprintf(os.Stderr, "bench: what was measured before the error: %s\n", path)
			}
		}
		return err
	}
	path, err := writeResults(cfg.WorkDir, "results.json", res)
	if err != nil {
		return err
	}
	printTable(os.Stdout, res)
	fmt.Printf("\nJSON: %s\n", path)
	return nil
}

func writeResults(dir, name string, res *Results) (string, error) {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, data, 0o644)
}

func runPeers(cfg Config, peer PeerConfig, out string) error {
	if cfg.Objects < 1 || cfg.Objects > 100000 || cfg.Namespaces < 1 || peer.Flips < 1 {
		return fmt.Errorf("-objects must be 1..100000, -namespaces and -peer-flips at least 1")
	}
	if peer.GatekeeperBinary == "" || peer.GatekeeperCRDs == "" {
		return fmt.Errorf("-peers needs -gatekeeper and -gatekeeper-crds: run `make bench-peers`")
	}
	if peer.AuditInterval < time.Second || peer.AuditInterval%time.Second != 0 {
		return fmt.Errorf("-audit-interval must be whole seconds, at least 1s")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make bench-peers`")
	}
	cfg.WorkDir = filepath.Join(out, "peers-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	start := time.Now()
	res, err := RunPeers(ctx, cfg, peer, func(msg string) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(start).Seconds(), msg)
	})
	if err != nil {
		return fmt.Errorf("%w (logs: %s)", err, cfg.WorkDir)
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.WorkDir, "results.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	printPeersTable(os.Stdout, res)
	fmt.Printf("\nJSON: %s\n", path)
	return nil
}
