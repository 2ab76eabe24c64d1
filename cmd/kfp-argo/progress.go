package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kfp-argo/kfp-argo/experiments"
)

// progress shows a watched run: on a terminal a block redrawn in place, elsewhere (CI logs, pipes) one plain
// line per change, so that logs stay readable and hold no escape sequences.
type progress struct {
	w        io.Writer
	terminal bool
	now      func() time.Time
	drawn    int    // lines of the block drawn last (terminal)
	lastKey  string // what the last plain line said, without the clock
}

func (p *progress) show(r experiments.Run) {
	state := string(r.State)
	if r.Error != "" && r.State.Terminal() {
		state += ": " + r.Error
	}
	running := runningTasks(r)
	elapsed := "-"
	if !r.StartedAt.IsZero() {
		end := r.FinishedAt
		if end.IsZero() {
			end = p.now()
		}
		elapsed = duration.HumanDuration(end.Sub(r.StartedAt))
	}
	if !p.terminal {
		key := state + "|" + r.Progress() + "|" + strings.Join(running, ",")
		if key == p.lastKey {
			return
		}
		p.lastKey = key
		line := fmt.Sprintf("%s run/%s %s, %s, elapsed %s", p.now().UTC().Format(time.RFC3339), r.Name, state, r.Progress(), elapsed)
		if len(running) > 0 {
			line += ", running: " + strings.Join(running, ", ")
		}
		fmt.Fprintln(p.w, line)
		return
	}
	lines := []string{
		fmt.Sprintf("run/%s  %s  elapsed %s", r.Name, state, elapsed),
		"  " + r.Progress(),
	}
	if len(running) > 0 {
		lines = append(lines, "  running: "+strings.Join(running, ", "))
	}
	if p.drawn > 0 {
		// Cursor up to the block's first line, then clear to the end of the screen.
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
	}
	for _, l := range lines {
		fmt.Fprintln(p.w, l)
	}
	p.drawn = len(lines)
}

// runningTasks names the tasks running now (pods and other leaves, not the DAGs around them).
func runningTasks(r experiments.Run) []string {
	parents := map[string]bool{}
	for _, t := range r.Tasks {
		parents[t.Parent] = true
	}
	var out []string
	for _, t := range r.Tasks {
		if t.State == experiments.StateRunning && !parents[t.ID] {
			name := t.DisplayName
			if name == "" {
				name = t.Name
			}
			for _, i := range t.Iteration {
				name += fmt.Sprintf("[%d]", i)
			}
			out = append(out, name)
		}
	}
	return out
}
