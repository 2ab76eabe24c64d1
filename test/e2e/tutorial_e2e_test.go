//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTutorial runs every `$ kfp-argo ...` command of docs/tutorial.md against the e2e control plane, in
// order, and compares what it prints with the output the tutorial shows, by shape: the same lines with the
// same words, where numbers (ages, durations, times) may differ. So the tutorial cannot go stale.
// KFP_ARGO_TUTORIAL_UPDATE=1 rewrites the tutorial's outputs with what the commands printed (review the diff).
func TestTutorial(t *testing.T) {
	root := repoRoot()
	doc := filepath.Join(root, "docs", "tutorial.md")
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := env.cli.Binary()
	if err != nil {
		t.Fatal(err)
	}
	steps := tutorialSteps(string(text))
	if len(steps) < 8 {
		t.Fatalf("only %d commands found in %s", len(steps), doc)
	}
	update := os.Getenv("KFP_ARGO_TUTORIAL_UPDATE") != ""
	updated := string(text)
	for _, s := range steps {
		args, err := splitCommand(s.command)
		if err != nil {
			t.Fatalf("%q: %v", s.command, err)
		}
		args = args[1:]
		if len(args) > 0 && (args[0] == "submit" || args[0] == "run" || args[0] == "experiment") {
			args = append(args, "--kubeconfig", env.cluster.Kubeconfig(), "-n", env.ns)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "KUBECONFIG=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err = cmd.Run()
		cancel()
		code := exitCode(t, s.command, err)
		got := strings.TrimRight(out.String(), "\n")
		if code != s.exit {
			t.Errorf("$ %s\nexit code %d, the tutorial says %d\n%s", s.command, code, s.exit, got)
		}
		if update {
			updated = strings.Replace(updated, s.block, s.render(got), 1)
			continue
		}
		if a, b := shape(got), shape(s.output); a != b {
			t.Errorf("$ %s\nprinted:\n%s\nthe tutorial shows:\n%s", s.command, got, s.output)
		}
	}
	if update {
		if err := os.WriteFile(doc, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tutorialStep is one `$ kfp-argo ...` line of a console block and the output lines under it.
type tutorialStep struct {
	command string
	output  string
	exit    int    // from a `# exit N` line after the output
	block   string // the step's text in the document
}

func (s tutorialStep) render(output string) string {
	out := "$ " + s.command + "\n"
	if output != "" {
		out += output + "\n"
	}
	if s.exit != 0 {
		out += fmt.Sprintf("# exit %d\n", s.exit)
	}
	return out
}

var exitLine = regexp.MustCompile(`^# exit (\d+)$`)

// tutorialSteps reads the ```console blocks: each `$ kfp-argo` line starts a step; lines up to the next `$ `
// line or the block's end are its output. Other `$` commands (make, export) are not run.
func tutorialSteps(doc string) []tutorialStep {
	var steps []tutorialStep
	in := false
	var cur *tutorialStep
	flush := func() {
		if cur != nil {
			cur.output = strings.TrimRight(cur.output, "\n")
			steps = append(steps, *cur)
			cur = nil
		}
	}
	for _, line := range strings.SplitAfter(doc, "\n") {
		trimmed := strings.TrimRight(line, "\n")
		switch {
		case !in && trimmed == "```console":
			in = true
		case in && trimmed == "```":
			flush()
			in = false
		case in && strings.HasPrefix(trimmed, "$ "):
			flush()
			if c := strings.TrimPrefix(trimmed, "$ "); strings.HasPrefix(c, "kfp-argo ") {
				cur = &tutorialStep{command: c, block: line}
			}
		case in && cur != nil:
			cur.block += line
			if m := exitLine.FindStringSubmatch(trimmed); m != nil {
				fmt.Sscan(m[1], &cur.exit)
				continue
			}
			cur.output += line
		}
	}
	return steps
}

// exitCode is the exit code of command, which ran with err; the test fails if
// it did not run to an exit.
func exitCode(t *testing.T, command string, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return 0
}

// splitCommand splits a command line as sh would for plain words and '...' / "..." quotes.
func splitCommand(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c", c)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

var (
	numbers = regexp.MustCompile(`[0-9]+`)
	// durations are HumanDuration's and Go's forms: 5s, 2m3s, 45m, 1.5s.
	durations = regexp.MustCompile(`^(9\.)?9[smhd](9[smhd])*$`)
	// uids and digests print as hex.
	hexes = regexp.MustCompile(`[0-9a-f]{8,}`)
)

// shape is output with what changes from run to run made equal: hex ids, numbers, durations and column
// widths (a table's columns are compared as words).
func shape(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = hexes.ReplaceAllString(l, "<hex>")
		l = numbers.ReplaceAllString(l, "9")
		words := strings.Fields(l)
		for i, w := range words {
			if durations.MatchString(w) {
				words[i] = "<duration>"
			}
		}
		lines = append(lines, strings.Join(words, " "))
	}
	return strings.Join(lines, "\n")
}
