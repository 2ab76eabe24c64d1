package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BinDirEnv overrides where Start looks for the binaries.
const BinDirEnv = "KFP_ARGO_E2E_BIN"

// ArgoModule is the module whose manifests provide the CRDs; it matches the
// version in go.mod and in hack/e2e/argo.
const ArgoModule = "github.com/argoproj/argo-workflows/v3@v3.7.18"

// findBinDir asks hack/e2e/build.sh where its cache directory is, so the key
// logic lives in one place.
func findBinDir() (string, error) {
	if d := os.Getenv(BinDirEnv); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w (or set %s)", err, BinDirEnv)
	}
	out, err := exec.Command("bash", filepath.Join(root, "hack", "e2e", "build.sh"), "--print-dir").Output()
	if err != nil {
		return "", fmt.Errorf("hack/e2e/build.sh --print-dir: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// RepoRoot walks up from the working directory to the directory holding
// hack/e2e/build.sh.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "e2e", "build.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hack/e2e/build.sh not found above the working directory")
		}
		dir = parent
	}
}

// findCRDDir locates Argo's full CRDs in the module cache, downloading the
// module if this machine has not extracted it yet.
func findCRDDir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", ArgoModule)
	// Outside any module, so neither the root go.mod nor a go.work matters.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w: %s", ArgoModule, err, stderr.String())
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	dir := filepath.Join(info.Dir, "manifests", "base", "crds", "full")
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
}
