package main

import (
	"strings"
	"testing"
)

// completions runs cobra's __complete for args and returns the candidates (without descriptions).
func (fc *fakeCluster) completions(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := fc.cli(append([]string{"__complete"}, args...)...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, ":") || l == "" || strings.HasPrefix(l, "Completion ended") {
			continue
		}
		name, _, _ := strings.Cut(l, "\t")
		got = append(got, name)
	}
	return got
}

func TestCompletion(t *testing.T) {
	fc := newFakeCluster()
	for _, args := range [][]string{{"submit", pipelineFile, "-r", "train-1", "-e", "lr sweep"}, {"submit", pipelineFile, "-r", "train-2"},
		{"submit", pipelineFile, "-r", "eval-1"}} {
		if _, err := fc.cli(args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "get", ""}, "eval-1 train-1 train-2"},
		{[]string{"run", "get", "tr"}, "train-1 train-2"},
		{[]string{"run", "get", "train-1", ""}, ""},                  // one run only
		{[]string{"run", "delete", "train-1", ""}, "eval-1 train-2"}, // many, each once
		{[]string{"run", "logs", "e"}, "eval-1"},
		{[]string{"experiment", "get", ""}, "Default lr sweep"},
		{[]string{"run", "list", "-e", "l"}, "lr sweep"},
		{[]string{"submit", pipelineFile, "-e", ""}, "Default lr sweep"},
		{[]string{"run", "list", "--state", "fa"}, "FAILED"},
		{[]string{"run", "list", "-o", ""}, "table wide json yaml name csv"},
		{[]string{"experiment", "list", "-o", "j"}, "json"},
		{[]string{"submit", pipelineFile, "-p", ""}, "text="},
		{[]string{"compile", pipelineFile, "-p", "t"}, "text="},
		{[]string{"compile", pipelineFile, "--kind", "c"}, "cronworkflow"},
		{[]string{"submit", pipelineFile, "--dry-run", ""}, "none client server"},
	} {
		if got := strings.Join(fc.completions(t, c.args...), " "); got != c.want {
			t.Errorf("complete %q: %q, want %q", c.args, got, c.want)
		}
	}
}
