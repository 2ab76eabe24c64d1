//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kfp-argo/kfp-argo/experiments"
)

// TestSlowAndFailingRecipes runs the "Slow and failing runs on the dev cluster" recipe of docs/e2e.md as
// written (its manifests and its kfp-argo commands, in order) and checks what each command's comment
// promises, so the recipe cannot go stale.
func TestSlowAndFailingRecipes(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "e2e.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, commands := recipe(t, string(doc), "## Slow and failing runs on the dev cluster")
	if len(files) != 2 || len(commands) != 4 {
		t.Fatalf("recipe: %d manifests and %d commands, the test knows 2 and 4: update it with the doc", len(files), len(commands))
	}
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runs := e2eRuns(t)
	ctx := context.Background()
	t.Cleanup(func() {
		for _, n := range []string{"slow-1", "failing-1"} {
			_ = runs.Delete(ctx, n)
		}
	})
	state := func(name string, want experiments.State, retries int) {
		t.Helper()
		waitUntil(t, 2*time.Minute, name+" "+string(want), func() bool {
			r, err := runs.Get(ctx, name)
			return err == nil && r.State == want && r.RetryCount == retries
		})
	}
	for i, c := range commands {
		args, err := splitCommand(c)
		if err != nil || len(args) < 2 || args[0] != "kfp-argo" {
			t.Fatalf("%q: not a kfp-argo command (%v)", c, err)
		}
		args = args[1:]
		for j, a := range args {
			if _, ok := files[a]; ok {
				args[j] = filepath.Join(dir, a)
			}
		}
		stdout, stderr, err := env.cli.Run(t, args...)
		code := exitCode(t, c, err)
		t.Logf("$ %s\n%s%s(exit %d)", c, stdout, stderr, code)
		switch i {
		case 0: // submit slow.yaml -r slow-1: RUNNING until stopped
			if code != 0 {
				t.Fatalf("%s: exit %d", c, code)
			}
			state("slow-1", experiments.StateRunning, 0)
		case 1: // run stop slow-1: CANCELING, then CANCELED; run retry starts it again
			if code != 0 {
				t.Fatalf("%s: exit %d", c, code)
			}
			state("slow-1", experiments.StateCanceled, 0)
			if _, stderr, err := env.cli.Run(t, "run", "retry", "slow-1"); err != nil {
				t.Fatalf("run retry slow-1: %v %s", err, stderr)
			}
			state("slow-1", experiments.StateRunning, 1)
			if _, stderr, err := env.cli.Run(t, "run", "terminate", "slow-1"); err != nil {
				t.Errorf("run terminate slow-1: %v %s", err, stderr)
			}
			state("slow-1", experiments.StateCanceled, 1)
		case 2: // submit failing.yaml --watch: ends FAILED, exit code 1; prints the run logs command
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if hint := "see the log: kfp-argo run logs failing-1 --task main"; code != 1 || lines[len(lines)-1] != hint {
				t.Errorf("%s: exit %d, last line of the output %q; the doc says exit 1 and %q", c, code, lines[len(lines)-1], hint)
			}
			// The command it names shows the task's pod (kwok: which says it is simulated).
			if _, stderr, err := env.cli.Run(t, "run", "logs", "failing-1", "--task", "main"); err == nil || !strings.Contains(stderr, "simulated") {
				t.Errorf("run logs failing-1 --task main: %v %s; want the one-line simulated-pod answer", err, stderr)
			}
			state("failing-1", experiments.StateFailed, 0)
		case 3: // run retry failing-1: attempt 2, which fails again
			if code != 0 {
				t.Fatalf("%s: exit %d", c, code)
			}
			state("failing-1", experiments.StateFailed, 1)
		}
	}
}

// recipe returns the heredoc files (`cat > NAME <<'YAML'` ... `YAML`) and the kfp-argo commands (comments
// stripped) of the first sh block after heading.
func recipe(t *testing.T, doc, heading string) (map[string]string, []string) {
	t.Helper()
	_, after, ok := strings.Cut(doc, heading+"\n")
	if !ok {
		t.Fatalf("docs/e2e.md has no %q", heading)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("no sh block under %q", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	heredoc := regexp.MustCompile(`^cat > (\S+) <<'(\w+)'$`)
	files := map[string]string{}
	var commands []string
	lines := strings.Split(block, "\n")
	for i := 0; i < len(lines); i++ {
		if m := heredoc.FindStringSubmatch(lines[i]); m != nil {
			var body strings.Builder
			for i++; i < len(lines) && lines[i] != m[2]; i++ {
				body.WriteString(lines[i] + "\n")
			}
			files[m[1]] = body.String()
			continue
		}
		cmd, _, _ := strings.Cut(lines[i], "#")
		if cmd = strings.TrimSpace(cmd); cmd != "" {
			commands = append(commands, cmd)
		}
	}
	return files, commands
}
