package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// addKustomization renders the kustomization in dir as `kubectl apply -k` does (kustomize's
// defaults: files under dir only, no plugins, no Helm) and files each object it renders. The
// bounds of -f hold: every file kustomize reads is a regular file of at most
// MaxManifestBytes, all of them and the rendered output at most *budget together (which it
// decreases), and the objects count towards MaxObjects. Remote resources (URLs, git
// repositories) are refused rather than fetched: their size cannot be bounded before reading.
func (in *input) addKustomization(dir string, budget *int64) error {
	file, err := kustomizationFile(dir)
	if err != nil {
		return err
	}
	fs := &boundedFS{FileSystem: filesys.MakeFsOnDisk(), budget: budget}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, dir)
	switch {
	case fs.err != nil:
		return fs.err // a bound, which names the file
	case err != nil:
		return usagef("-k %s: %v", dir, err)
	}
	for i, r := range resources.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return usagef("-k %s: rendering %s: %v", dir, r.CurId(), err)
		}
		if *budget -= int64(len(y)); *budget < 0 {
			return usagef("-k %s: the inputs together hold more than %d MiB, the limit", dir, MaxInputBytes>>20)
		}
		if err := in.addDocument(location{File: file, Document: i + 1, Rendered: true}, y); err != nil {
			return err
		}
	}
	return nil
}

// kustomizationFile returns the kustomization file of dir, for messages and reports.
func kustomizationFile(dir string) (string, error) {
	if info, err := os.Stat(dir); err != nil {
		return "", usagef("-k %s: %v", dir, errors.Unwrap(err))
	} else if !info.IsDir() {
		return "", usagef("-k %s: not a directory: -k names the directory of a kustomization", dir)
	}
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name), nil
		}
	}
	return "", usagef("-k %s: no %s in the directory", dir, strings.Join(konfig.RecognizedKustomizationFileNames(), ", "))
}

// boundedFS is the disk as kustomize reads it, with eval's bounds, and without remote
// resources. The first bound breached is kept in err: kustomize wraps the errors it is given.
type boundedFS struct {
	filesys.FileSystem
	budget *int64
	err    error
}

func (b *boundedFS) ReadFile(path string) ([]byte, error) {
	if b.err == nil {
		b.err = b.check(path)
	}
	if b.err != nil {
		return nil, b.err
	}
	data, err := b.FileSystem.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if *b.budget -= int64(len(data)); *b.budget < 0 || len(data) > MaxManifestBytes {
		b.err = usagef("%s: more than the limit of the inputs (%d MiB each, %d MiB together)", path, MaxManifestBytes>>20, MaxInputBytes>>20)
		return nil, b.err
	}
	if slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)) {
		if b.err = refuseRemote(path, data); b.err != nil {
			return nil, b.err
		}
	}
	return data, nil
}

// check refuses what is not a regular file or is larger than the bounds before it is read.
func (b *boundedFS) check(path string) error {
	info, err := os.Stat(path)
	switch {
	case err != nil:
		return nil // kustomize reports it, naming the file
	case !info.Mode().IsRegular():
		return usagef("%s: not a regular file (%s): only files are read", path, info.Mode().Type())
	case info.Size() > MaxManifestBytes || info.Size() > *b.budget:
		return usagef("%s: more than the limit of the inputs (%d MiB each, %d MiB together)", path, MaxManifestBytes>>20, MaxInputBytes>>20)
	}
	return nil
}

// refuseRemote refuses a kustomization that names a resource, base or component that is not
// a file or directory beside it: kustomize would fetch it over the network.
func refuseRemote(path string, data []byte) error {
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil // kustomize reports it, naming the file
	}
	for _, ref := range slices.Concat(k.Resources, k.Components, k.Bases) {
		local := filepath.Join(filepath.Dir(path), ref)
		if _, err := os.Stat(local); err != nil || strings.Contains(ref, "://") {
			return usagef("%s: %q names no file or directory beside it, and eval -k does not fetch remote resources (vendor them, or pipe kustomize build to -f -)", path, ref)
		}
	}
	return nil
}

// renderedAt is the location's text for an object rendered from a kustomization.
func (l location) renderedAt() string {
	return fmt.Sprintf("%s: rendered object %d", l.File, l.Document)
}
