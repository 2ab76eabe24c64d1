//go:build tools

// Package tools pins the main packages built by hack/e2e/build.sh.
package tools

import _ "github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"
