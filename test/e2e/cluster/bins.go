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

// Argo4Module provides the CRDs of the Argo 4 lane (Options.Argo = Argo4); it
// matches hack/e2e/argo4 and test/argo4.
const Argo4Module = "github.com/argoproj/argo-workflows/v4@v4.0.7"

// Argo4BinDirEnv overrides where Start looks for Argo 4's workflow-controller.
const Argo4BinDirEnv = "KFP_ARGO_E2E_ARGO4_BIN"

// findBinDir asks hack/e2e/build.sh where its cache directory is, so the key
// logic lives in one place.
func findBinDir() (string, error) {
	return buildDir(BinDirEnv)
}

// findArgo4BinDir is findBinDir for Argo 4's workflow-controller
// (`build.sh --argo4`).
func findArgo4BinDir() (string, error) {
	return buildDir(Argo4BinDirEnv, "--argo4")
}

func buildDir(env string, args ...string) (string, error) {
	if d := os.Getenv(env); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w (or set %s)", err, env)
	}
	args = append([]string{filepath.Join(root, "hack", "e2e", "build.sh")}, append(args, "--print-dir")...)
	out, err := exec.Command("bash", args...).Output()
	if err != nil {
		return "", fmt.Errorf("hack/e2e/build.sh %s: %w", strings.Join(args[1:], " "), err)
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
func findCRDDir(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	// Outside any module, so neither the root go.mod nor a go.work matters.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w: %s", module, err, stderr.String())
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
