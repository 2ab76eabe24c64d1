//go:build tools

// Package tools pins versitygw, the S3 gateway that serves the e2e cluster's
// artifact repository from a directory (posix backend).
package tools

import (
	_ "github.com/versity/versitygw/cmd/versitygw"
)
