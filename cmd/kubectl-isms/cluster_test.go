package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const twoClustersKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster: {server: https://dev.example.com:6443}
- name: prod
  cluster: {server: https://prod.example.com:6443}
users:
- name: alice
  user: {token: alice-token}
contexts:
- name: dev
  context: {cluster: dev, user: alice}
- name: prod
  context: {cluster: prod, user: alice}
current-context: dev
`

// Every command that reads the cluster takes kubectl's flags of cluster access, built in
// one place, and they mean what they mean to kubectl.
func TestClusterFlagsFollowKubectl(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(twoClustersKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClusterFlags()
	cmd := &cobra.Command{}
	c.addFlags(cmd.Flags())
	if err := cmd.ParseFlags([]string{"--kubeconfig", kubeconfig, "--context", "prod", "--as", "auditor",
		"--as-group", "isms-readers", "--token", "other-token", "--request-timeout", "5s"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.restConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://prod.example.com:6443" || cfg.Impersonate.UserName != "auditor" ||
		len(cfg.Impersonate.Groups) != 1 || cfg.Impersonate.Groups[0] != "isms-readers" ||
		cfg.BearerToken != "other-token" || cfg.Timeout.String() != "5s" {
		t.Errorf("rest config host %s, impersonate %+v, token %q, timeout %s", cfg.Host, cfg.Impersonate, cfg.BearerToken, cfg.Timeout)
	}

	for _, path := range [][]string{{"status"}, {"evidence", "log"}, {"frameworks"}, {"attest"}, {"attestations"}, {"version"}} {
		root := newRootCommand(nil, nil, nil)
		sub, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"kubeconfig", "context", "cluster", "user", "server", "token", "as", "as-group", "as-uid", "request-timeout"} {
			if sub.Flags().Lookup(name) == nil && sub.InheritedFlags().Lookup(name) == nil {
				t.Errorf("%v has no --%s", path, name)
			}
		}
		if sub.Flags().Lookup("namespace") != nil {
			t.Errorf("%v has a --namespace, which no command reads", path)
		}
	}
}

// cobra's completion scripts name the binary kubectl finds, and complete eval's formats.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"completion", shell}, nil, &out, &errOut); code != exitOK ||
			!strings.Contains(out.String(), "kubectl-isms") {
			t.Errorf("completion %s: exit code %d, %d bytes, stderr %s", shell, code, out.Len(), errOut.String())
		}
	}
	var out bytes.Buffer
	run(context.Background(), []string{"__complete", "eval", "-o", ""}, nil, &out, &bytes.Buffer{})
	if !strings.Contains(out.String(), "sarif\n") || !strings.Contains(out.String(), "junit\n") {
		t.Errorf("eval -o completes to %q", out.String())
	}
}
