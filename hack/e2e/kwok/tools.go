//go:build tools

// Package tools pins the main packages built by hack/e2e/build.sh.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
