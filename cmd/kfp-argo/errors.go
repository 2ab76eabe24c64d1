package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/experiments"
)

// Exit codes other than 1 (any failure). README "Exit codes" documents them.
const (
	// exitInterrupted: Ctrl-C or SIGTERM stopped the command (128 + SIGINT, as shells report it).
	exitInterrupted = 130
)

// exitError is an error that ends the process with its own exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode is the process exit code of a command's error.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// explain says an error about one named run or experiment in the user's words: what is wrong and what to
// do, without ConfigMap names or the API server's error chain. Other errors pass unchanged.
func explain(err error, kind, name, ns string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, experiments.ErrNotFound) && apierrors.IsNotFound(err),
		kind == "run" && errors.Is(err, argo.ErrNotFound) && !errors.Is(err, experiments.ErrNotFound):
		// The record (and for a run its Workflow) is not there; other not-found errors (a task without a
		// pod, a Workflow that is not a run) already say what is missing.
		if !errors.Is(err, experiments.ErrNotFound) {
			err = fmt.Errorf("%w: %w", experiments.ErrNotFound, err)
		}
		return &userError{fmt.Sprintf("%s %q not found in namespace %q", kind, name, ns), err}
	case errors.Is(err, experiments.ErrAlreadyExists) && kind == "experiment":
		return &userError{fmt.Sprintf("experiment %q already exists in namespace %q", name, ns), err}
	}
	return err
}

// userError shows msg but keeps the error it explains for errors.Is (scripts and tests match sentinels).
type userError struct {
	msg   string
	cause error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.cause }

// noCluster replaces client-go's answer to a missing kubeconfig (which points at KUBERNETES_MASTER) by what
// to do.
func noCluster(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if clientcmd.IsEmptyConfig(e) {
			return errors.New("no cluster configured: set KUBECONFIG or use --kubeconfig")
		}
	}
	return err
}

// groupCommand makes a command that only holds subcommands refuse an unknown one (`run lst`) with cobra's
// suggestions, instead of printing its help and exiting 0.
func groupCommand(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only for the root command
		}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?"
			for _, x := range s {
				msg += "\n\t" + x
			}
		}
		return fmt.Errorf("%s\nRun '%s --help' for usage", msg, c.CommandPath())
	}
	return cmd
}
