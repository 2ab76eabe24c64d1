//go:build tools

// Package tools pins Argo's executor, which hack/e2e/images.sh builds into the
// argoexec image.
package tools

import _ "github.com/argoproj/argo-workflows/v3/cmd/argoexec"
