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
	waiting := waitingTasks(r)
	hint := logsHint(r)
	if !p.terminal {
		key := state + "|" + r.Progress() + "|" + strings.Join(running, ",") + "|" + strings.Join(waiting, ",")
		if key == p.lastKey {
			return
		}
		p.lastKey = key
		line := fmt.Sprintf("%s run/%s %s, %s, elapsed %s", p.now().UTC().Format(time.RFC3339), r.Name, state, r.Progress(), elapsed)
		if len(running) > 0 {
			line += ", running: " + strings.Join(running, ", ")
		}
		if len(waiting) > 0 {
			line += ", waiting: " + strings.Join(waiting, "; ")
		}
		fmt.Fprintln(p.w, line)
		if hint != "" {
			fmt.Fprintln(p.w, hint)
		}
		return
	}
	lines := []string{
		fmt.Sprintf("run/%s  %s  elapsed %s", r.Name, state, elapsed),
		"  " + r.Progress(),
	}
	if len(running) > 0 {
		lines = append(lines, "  running: "+strings.Join(running, ", "))
	}
	for _, w := range waiting {
		lines = append(lines, "  waiting: "+w)
	}
	if hint != "" {
		lines = append(lines, hint)
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
			out = append(out, taskLabel(t))
		}
	}
	return out
}

// taskLabel is how a task is named on screen: display name and loop iteration.
func taskLabel(t experiments.Task) string {
	name := t.DisplayName
	if name == "" {
		name = t.Name
	}
	for _, i := range t.Iteration {
		name += fmt.Sprintf("[%d]", i)
	}
	return name
}

// waitingTasks are the PENDING tasks that say why they wait ("train: Unschedulable: 0/1 nodes ...").
func waitingTasks(r experiments.Run) []string {
	var out []string
	for _, t := range r.Tasks {
		if t.State == experiments.StatePending && t.Waiting != "" {
			out = append(out, taskLabel(t)+": "+oneLine(t.Waiting, 100))
		}
	}
	return out
}

// logsHint is the last line of a run that did not succeed: the command that shows the failed task's log.
func logsHint(r experiments.Run) string {
	if !r.State.Terminal() || r.State == experiments.StateSucceeded {
		return ""
	}
	for _, t := range r.Tasks {
		if t.State == experiments.StateFailed && t.Pod != "" {
			return fmt.Sprintf("see the log: kfp-argo run logs %s --task %s", r.Name, t.Name)
		}
	}
	return ""
}
