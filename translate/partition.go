package translate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// maxDAGTasks is the most tasks a DAG template gets: Argo 4's CRD refuses more (CEL rule), and Argo's validator
// takes time quadratic in the tasks of one DAG.
const maxDAGTasks = 200

// absentValue stands for the output of a task that did not run, where a consumer reads it with ?. and ??: a
// part's output needs a default, and this text is one no task output can be (the runtime scripts make any
// output containing "%%kfp" inert).
const absentValue = "%%kfpabsent%%"

var (
	plainTaskRef = regexp.MustCompile(`\{\{tasks\.([A-Za-z0-9-]+)\.outputs\.(parameters|artifacts)\.([A-Za-z0-9_-]+)\}\}`)
	exprTaskRef  = regexp.MustCompile(`tasks\["([A-Za-z0-9-]+)"\]\.outputs\.parameters\["([A-Za-z0-9_-]+)"\]`)
	optTaskRef   = regexp.MustCompile(`tasks\["([A-Za-z0-9-]+)"\]\?\.outputs\?\.parameters\?\.\["([A-Za-z0-9_-]+)"\]`)
	anyTaskRef   = regexp.MustCompile(`tasks(?:\.|\[")([A-Za-z0-9-]+)`)
	dependsList  = regexp.MustCompile(`^[A-Za-z0-9-]+( && [A-Za-z0-9-]+)*$`)
)

// partitionDAGs nests every DAG template of more than maxDAGTasks tasks into parts of at most maxDAGTasks,
// repeatedly, so that no DAG is larger. It returns the names of the part templates (the run record skips their
// nodes). A DAG that uses a reference form partitioning cannot carry across parts stays whole.
func (c *compiler) partitionDAGs() ([]string, error) {
	var parts []string
	for i := 0; i < len(c.templates); i++ {
		for c.templates[i].DAG != nil && len(c.templates[i].DAG.Tasks) > c.maxDAGTasks {
			made, ok, err := c.partition(i)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			parts = append(parts, made...)
		}
	}
	return parts, nil
}

// dagTaskRefs is what one DAG task refers to among its siblings.
type dagTaskRefs struct {
	deps []int // from depends
	refs []int // from output references
}

// partition splits the DAG of template i into parts along its dependency graph. Tasks are placed by level (the
// longest path from a task without upstream): a run of levels forms a band, cut where a connected group inside
// it would exceed maxDAGTasks, and each band's connected groups are packed into parts. A part depends on exactly
// the parts holding tasks its own tasks depended on, so with equal task durations every task starts at the
// same step as in the whole DAG; a task can only wait longer for a slower task that shares its upstream part.
// Outputs crossing parts become part outputs and inputs.
func (c *compiler) partition(i int) ([]string, bool, error) {
	parent := c.templates[i]
	if parent.Parallelism != nil || parent.DAG.Target != "" || parent.DAG.FailFast != nil {
		// Limits and targets count the DAG's own tasks: parts would change what they count.
		return nil, false, nil
	}
	tasks := parent.DAG.Tasks
	index := map[string]int{}
	for j, t := range tasks {
		index[t.Name] = j
	}
	links := make([]dagTaskRefs, len(tasks))
	texts := make([][]string, len(tasks))
	for j, t := range tasks {
		if t.Depends != "" {
			if !dependsList.MatchString(t.Depends) {
				return nil, false, nil
			}
			for _, d := range strings.Split(t.Depends, " && ") {
				k, ok := index[d]
				if !ok {
					return nil, false, nil
				}
				links[j].deps = append(links[j].deps, k)
			}
		}
		if len(t.Dependencies) > 0 {
			return nil, false, nil
		}
		texts[j] = taskStrings(t)
		for _, s := range texts[j] {
			for _, m := range anyTaskRef.FindAllStringSubmatch(s, -1) {
				if k, ok := index[m[1]]; ok && k != j {
					links[j].refs = append(links[j].refs, k)
				}
			}
		}
	}
	part, ok := assignParts(links, c.maxDAGTasks)
	if !ok {
		return nil, false, nil
	}
	nparts := 0
	for _, p := range part {
		nparts = max(nparts, p+1)
	}
	names := make([]string, nparts)
	for p := range names {
		names[p] = c.reserveName(fmt.Sprintf("%s-part-%d", parent.Name, p+1))
	}
	taskName := func(p int) string { return fmt.Sprintf("part-%d", p+1) }

	type export struct {
		name, value string
		artifact    bool
		optional    bool
	}
	bodies := make([]wfv1.Template, nparts)
	for p := range bodies {
		bodies[p] = wfv1.Template{Name: names[p], DAG: &wfv1.DAGTemplate{}}
	}
	exports := make([]map[string]export, nparts) // part -> export name -> what
	imports := make([]map[string]int, nparts)    // part -> export name -> part it comes from
	partDeps := make([]map[int]bool, nparts)
	for p := 0; p < nparts; p++ {
		exports[p], imports[p], partDeps[p] = map[string]export{}, map[string]int{}, map[int]bool{}
	}
	// rewrite maps references to tasks of other parts in text s, seen from part p (-1: the parent's outputs).
	var failed bool
	rewrite := func(p int, s string) string {
		note := func(x, key string, e export) int {
			k, ok := index[x]
			if !ok {
				return -1
			}
			q := part[k]
			if q == p {
				return -1
			}
			exports[q][key] = e
			if p >= 0 {
				imports[p][key] = q
			}
			return q
		}
		inside := func(q int, key string, artifact bool) string {
			kind := "parameters"
			if artifact {
				kind = "artifacts"
			}
			if p >= 0 {
				return "inputs." + kind + "." + key
			}
			return "tasks." + taskName(q) + ".outputs." + kind + "." + key
		}
		s = optTaskRef.ReplaceAllStringFunc(s, func(m string) string {
			g := optTaskRef.FindStringSubmatch(m)
			key := g[1] + "--" + g[2] + "--opt"
			q := note(g[1], key, export{name: key, value: fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", g[1], g[2]), optional: true})
			if q < 0 {
				return m
			}
			ref := exprPath(inside(q, key, false))
			return fmt.Sprintf("(%[1]s == %[2]s ? nil : %[1]s)", ref, exprString(absentValue))
		})
		s = exprTaskRef.ReplaceAllStringFunc(s, func(m string) string {
			g := exprTaskRef.FindStringSubmatch(m)
			key := g[1] + "--" + g[2]
			q := note(g[1], key, export{name: key, value: fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", g[1], g[2])})
			if q < 0 {
				return m
			}
			return exprPath(inside(q, key, false))
		})
		s = plainTaskRef.ReplaceAllStringFunc(s, func(m string) string {
			g := plainTaskRef.FindStringSubmatch(m)
			key := g[1] + "--" + g[3]
			art := g[2] == "artifacts"
			q := note(g[1], key, export{name: key, value: m, artifact: art})
			if q < 0 {
				return m
			}
			return "{{" + inside(q, key, art) + "}}"
		})
		for _, m := range anyTaskRef.FindAllStringSubmatch(s, -1) {
			if k, ok := index[m[1]]; ok && part[k] != p {
				failed = true
			}
		}
		return s
	}
	for j, t := range tasks {
		p := part[j]
		var deps []string
		for _, k := range links[j].deps {
			if part[k] == p {
				deps = append(deps, tasks[k].Name)
			} else {
				partDeps[p][part[k]] = true
			}
		}
		for _, k := range links[j].refs {
			if part[k] != p {
				partDeps[p][part[k]] = true
			}
		}
		t.Depends = strings.Join(deps, " && ")
		moved, err := mapTaskStrings(t, func(s string) string { return rewrite(p, s) })
		if err != nil {
			return nil, false, err
		}
		bodies[p].DAG.Tasks = append(bodies[p].DAG.Tasks, moved)
	}
	outputs := parent.Outputs.DeepCopy()
	for j := range outputs.Parameters {
		if vf := outputs.Parameters[j].ValueFrom; vf != nil {
			vf.Parameter = rewrite(-1, vf.Parameter)
			vf.Expression = rewrite(-1, vf.Expression)
		}
	}
	for j := range outputs.Artifacts {
		outputs.Artifacts[j].From = rewrite(-1, outputs.Artifacts[j].From)
		outputs.Artifacts[j].FromExpression = rewrite(-1, outputs.Artifacts[j].FromExpression)
	}
	if failed {
		return nil, false, nil
	}

	// The parent's own inputs reach the parts that read them.
	newParent := parent
	newParent.DAG = &wfv1.DAGTemplate{}
	newParent.Outputs = *outputs
	for p := range bodies {
		body := &bodies[p]
		var text strings.Builder
		for _, t := range body.DAG.Tasks {
			for _, s := range taskStrings(t) {
				text.WriteString(s)
				text.WriteByte(0)
			}
		}
		all := text.String()
		task := wfv1.DAGTask{Name: taskName(p), Template: names[p]}
		for _, in := range parent.Inputs.Parameters {
			if strings.Contains(all, "inputs.parameters."+in.Name) || strings.Contains(all, "inputs.parameters["+exprString(in.Name)+"]") {
				body.Inputs.Parameters = append(body.Inputs.Parameters, wfv1.Parameter{Name: in.Name})
				task.Arguments.Parameters = append(task.Arguments.Parameters, wfv1.Parameter{Name: in.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + in.Name + "}}")})
			}
		}
		for _, in := range parent.Inputs.Artifacts {
			if strings.Contains(all, "inputs.artifacts."+in.Name) {
				if in.Optional {
					return nil, false, nil
				}
				body.Inputs.Artifacts = append(body.Inputs.Artifacts, wfv1.Artifact{Name: in.Name})
				task.Arguments.Artifacts = append(task.Arguments.Artifacts, wfv1.Artifact{Name: in.Name, From: "{{inputs.artifacts." + in.Name + "}}"})
			}
		}
		for _, key := range sortedMapKeys(imports[p]) {
			q := imports[p][key]
			e := exports[q][key]
			if e.artifact {
				body.Inputs.Artifacts = append(body.Inputs.Artifacts, wfv1.Artifact{Name: key})
				task.Arguments.Artifacts = append(task.Arguments.Artifacts, wfv1.Artifact{Name: key, From: fmt.Sprintf("{{tasks.%s.outputs.artifacts.%s}}", taskName(q), key)})
			} else {
				body.Inputs.Parameters = append(body.Inputs.Parameters, wfv1.Parameter{Name: key})
				task.Arguments.Parameters = append(task.Arguments.Parameters, wfv1.Parameter{Name: key, Value: wfv1.AnyStringPtr(fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", taskName(q), key))})
			}
		}
		var deps []string
		for q := range partDeps[p] {
			deps = append(deps, taskName(q))
		}
		sort.Strings(deps)
		task.Depends = strings.Join(deps, " && ")
		for _, key := range sortedMapKeys(exports[p]) {
			e := exports[p][key]
			if e.artifact {
				body.Outputs.Artifacts = append(body.Outputs.Artifacts, wfv1.Artifact{Name: key, From: e.value})
				continue
			}
			out := wfv1.Parameter{Name: key, ValueFrom: &wfv1.ValueFrom{Parameter: e.value}}
			if e.optional {
				out.ValueFrom.Default = wfv1.AnyStringPtr(absentValue)
			}
			body.Outputs.Parameters = append(body.Outputs.Parameters, out)
		}
		newParent.DAG.Tasks = append(newParent.DAG.Tasks, task)
	}
	// Task-name entries of a sub-pipeline are keyed by their DAG template: they follow their task.
	for j, t := range tasks {
		for _, suffix := range []string{"", ".onExit"} {
			key := parent.Name + "/" + t.Name + suffix
			if ref, ok := c.taskRefs[key]; ok {
				delete(c.taskRefs, key)
				c.taskRefs[names[part[j]]+"/"+t.Name+suffix] = ref
			}
		}
	}
	c.templates[i] = newParent
	c.templates = append(c.templates, bodies...)
	return names, true, nil
}

// exprPath writes a dotted Argo variable (inputs.parameters.x, tasks.t.outputs.parameters.x) as an expr-lang
// path that takes any parameter name.
func exprPath(dotted string) string {
	parts := strings.SplitN(dotted, ".", 5)
	var b strings.Builder
	b.WriteString(parts[0])
	for i, p := range parts[1:] {
		if (parts[0] == "inputs" && i == 1) || (parts[0] == "tasks" && (i == 0 || i == 3)) {
			b.WriteString("[" + exprString(p) + "]")
			continue
		}
		b.WriteString("." + p)
	}
	return b.String()
}

// assignParts gives each task a part number; false when the graph has a cycle (Argo's validator reports it).
func assignParts(links []dagTaskRefs, limit int) ([]int, bool) {
	n := len(links)
	preds := make([][]int, n)
	succs := make([][]int, n)
	indeg := make([]int, n)
	for j, l := range links {
		seen := map[int]bool{}
		for _, k := range append(append([]int(nil), l.deps...), l.refs...) {
			if !seen[k] {
				seen[k] = true
				preds[j] = append(preds[j], k)
				succs[k] = append(succs[k], j)
				indeg[j]++
			}
		}
	}
	level := make([]int, n)
	var order []int
	for j := 0; j < n; j++ {
		if indeg[j] == 0 {
			order = append(order, j)
		}
	}
	for h := 0; h < len(order); h++ {
		j := order[h]
		for _, s := range succs[j] {
			level[s] = max(level[s], level[j]+1)
			if indeg[s]--; indeg[s] == 0 {
				order = append(order, s)
			}
		}
	}
	if len(order) != n {
		return nil, false
	}
	sort.SliceStable(order, func(a, b int) bool { return level[order[a]] < level[order[b]] })

	// Bands: runs of levels, cut where a connected group of the band would pass maxDAGTasks.
	band := make([]int, n)
	root := make([]int, n)
	size := make([]int, n)
	var find func(int) int
	find = func(x int) int {
		for root[x] != x {
			root[x] = root[root[x]]
			x = root[x]
		}
		return x
	}
	// A level joins the current band when no group would pass the limit; otherwise the band ends before it,
	// so bands are whole levels and a part never waits for a task of its own level.
	current := 0
	for lo := 0; lo < len(order); {
		hi := lo
		for hi < len(order) && level[order[hi]] == level[order[lo]] {
			hi++
		}
		// Sizes of the groups the level's tasks would form, merging through shared upstream groups.
		merged := map[int]int{} // group root -> merged id
		var sizes []int
		var mergeInto func(a, b int)
		parentOf := []int{}
		findM := func(x int) int {
			for parentOf[x] != x {
				x = parentOf[x]
			}
			return x
		}
		mergeInto = func(a, b int) {
			a, b = findM(a), findM(b)
			if a != b {
				parentOf[a] = b
				sizes[b] += sizes[a]
			}
		}
		fits := true
		for _, j := range order[lo:hi] {
			id := len(sizes)
			sizes, parentOf = append(sizes, 1), append(parentOf, id)
			for _, k := range preds[j] {
				if band[k] != current {
					continue
				}
				r := find(k)
				m, ok := merged[r]
				if !ok {
					m = len(sizes)
					sizes, parentOf = append(sizes, size[r]), append(parentOf, m)
					merged[r] = m
				}
				mergeInto(m, id)
			}
			if sizes[findM(id)] > limit {
				fits = false
				break
			}
		}
		if !fits {
			current++
		}
		for _, j := range order[lo:hi] {
			root[j], size[j] = j, 1
			band[j] = current
			for _, k := range preds[j] {
				if band[k] == current {
					if r, q := find(k), find(j); r != q {
						root[r] = q
						size[q] += size[r]
					}
				}
			}
		}
		lo = hi
	}
	// Pack each band's groups into parts, first fit, in order of first appearance.
	part := make([]int, n)
	groupPart := map[int]int{}
	var fill []int // tasks in each part
	bandFirst := map[int]int{}
	for _, j := range order {
		r := find(j)
		p, ok := groupPart[r]
		if !ok {
			first, seen := bandFirst[band[j]]
			if !seen {
				first = len(fill)
				bandFirst[band[j]] = first
			}
			p = -1
			for q := first; q < len(fill); q++ {
				if fill[q]+size[r] <= limit {
					p = q
					break
				}
			}
			if p < 0 {
				p = len(fill)
				fill = append(fill, 0)
			}
			fill[p] += size[r]
			groupPart[r] = p
		}
		part[j] = p
	}
	return part, true
}

// taskStrings lists every string of a DAG task, where references to other tasks can be.
func taskStrings(t wfv1.DAGTask) []string {
	var out []string
	_, _ = mapTaskStrings(t, func(s string) string { out = append(out, s); return s })
	return out
}

// mapTaskStrings applies f to every string value of a DAG task.
func mapTaskStrings(t wfv1.DAGTask, f func(string) string) (wfv1.DAGTask, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return t, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return t, err
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case string:
			return f(x)
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return x
	}
	v = walk(v)
	raw, err = json.Marshal(v)
	if err != nil {
		return t, err
	}
	var out wfv1.DAGTask
	err = json.Unmarshal(raw, &out)
	return out, err
}
