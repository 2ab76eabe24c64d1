//go:build e2e

// Package corpus finds KFP's IR corpus for the e2e lanes (../shared/kfp-ir/valid beside the repository, never
// copied into it, or $KFP_IR_CORPUS) and gives its pipelines what a user would to run them: a value for every
// required parameter, and the claim such a value names.
package corpus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierr "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
	"github.com/kfp-argo/kfp-argo/translate"
)

// Env names a KFP IR corpus other than ../shared/kfp-ir/valid.
const Env = "KFP_IR_CORPUS"

// path is where the corpus should be, whether or not it is there.
func path(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(Env); dir != "" {
		return dir
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "..", "shared", "kfp-ir", "valid")
}

// Dir is the corpus directory; the test is skipped when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	dir := path(t)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("KFP IR corpus not found at %s (set %s): %v", dir, Env, err)
	}
	return dir
}

// File is the path of one corpus pipeline, rel to the corpus directory; the test is skipped when it is not
// there.
func File(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(path(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("corpus pipeline %s not available: %v", rel, err)
	}
	return p
}

// Files lists the files under dir whose names end with one of exts, relative to dir, in name order.
func Files(t testing.TB, dir string, exts ...string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, e := range exts {
			if strings.HasSuffix(path, e) {
				rel, _ := filepath.Rel(dir, path)
				files = append(files, rel)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// ClaimName is the value SampleParameters gives a string parameter: pipelines that mount an existing claim
// take its name from one.
const ClaimName = "e2e"

// SampleParameters gives every root input without a default a value of its type, so the workflow can run.
func SampleParameters(p *translate.Pipeline) map[string]any {
	out := map[string]any{}
	if p.Spec.Root == nil || p.Spec.Root.InputDefinitions == nil {
		return out
	}
	for name, ps := range p.Spec.Root.InputDefinitions.Parameters {
		if ps.DefaultValue != nil || ps.IsOptional {
			continue
		}
		switch ps.ParameterType {
		case "NUMBER_INTEGER":
			out[name] = 3
		case "NUMBER_DOUBLE":
			out[name] = 1.5
		case "BOOLEAN":
			out[name] = true
		case "LIST":
			out[name] = []any{"a", "b"}
		case "STRUCT":
			out[name] = map[string]any{"k": "v"}
		default:
			out[name] = ClaimName
		}
	}
	return out
}

// EnsureClaim creates the claim named ClaimName in ns unless it exists; the cluster's provisioner binds it.
func EnsureClaim(ctx context.Context, kube kubernetes.Interface, ns string) error {
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: ClaimName},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil && !apierr.IsAlreadyExists(err) {
		return fmt.Errorf("claim %s: %w", ClaimName, err)
	}
	return nil
}
