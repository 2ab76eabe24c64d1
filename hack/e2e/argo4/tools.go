//go:build tools

// Package tools pins the main package built by `hack/e2e/build.sh --argo4`.
package tools

import _ "github.com/argoproj/argo-workflows/v4/cmd/workflow-controller"
