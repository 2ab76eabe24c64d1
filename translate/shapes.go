package translate

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// maxTemplates is the most templates a Workflow gets: Argo 4's CRD refuses more (a CEL rule on spec.templates);
// Argo 3 has no such limit.
const maxTemplates = 200

// AnnotationSharedDAGs lists the DAG templates that stand for several IR sub-DAGs of the same shape (shareShapes):
// the tasks inside them carry the names of one of those sub-DAGs, so the run record finds each task's IR name
// by its path instead, "<DAG template>/<calling task>/.../<task>" in AnnotationTaskNames.
const AnnotationSharedDAGs = "kfp-argo.io/shared-dags"

// setTemplateList writes an annotation that lists template names (AnnotationDAGParts, AnnotationSharedDAGs) as
// a sorted JSON list; none, no annotation.
func setTemplateList(wf *wfv1.Workflow, annotation string, names []string) {
	if len(names) == 0 {
		return
	}
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	// A list of strings always marshals.
	list, _ := json.Marshal(sorted)
	wf.Annotations[annotation] = string(list)
}

// TemplateSet reads an annotation written by setTemplateList; absent or unreadable, it is empty (a Workflow
// from elsewhere, or an older kfp-argo).
func TemplateSet(annotations map[string]string, annotation string) map[string]bool {
	set := map[string]bool{}
	var list []string
	if raw := annotations[annotation]; raw != "" && json.Unmarshal([]byte(raw), &list) == nil {
		for _, name := range list {
			set[name] = true
		}
	}
	return set
}

// shareShapes keeps a workflow within maxTemplates templates. The KFP SDK gives every condition, loop body and
// sub-pipeline call its own DAG component, so a large pipeline has hundreds of DAG templates that differ only in
// the names of their tasks and inputs (condition-7 runs process-12 then process-13, condition-9 runs process-20
// then process-21). When the workflow has more than maxTemplates templates, such DAG templates become one: the
// first of them, by template order, is kept as it is, and each task that called another one calls it instead,
// its arguments renamed to the kept template's inputs. Merging repeats until nothing merges, since callers can
// become alike in turn. Nothing else changes: the kept template does what each of them did with its own inputs,
// and its tasks run the same templates with the same arguments. The task-name entries of the tasks inside a
// shared template move to path keys (see AnnotationSharedDAGs). It returns the shared templates' names.
func (c *compiler) shareShapes(entrypoint string) ([]string, error) {
	if len(c.templates) <= c.maxTemplates {
		return nil, nil
	}
	original := map[string]*wfv1.Template{}
	for i := range c.templates {
		original[c.templates[i].Name] = c.templates[i].DeepCopy()
	}
	origRefs := make(map[string]TaskRef, len(c.taskRefs))
	for k, v := range c.taskRefs {
		origRefs[k] = v
	}
	final := map[string]string{} // merged template -> the template that stands for it
	shared := map[string]bool{}
	for {
		renamed, err := c.shareRound(entrypoint, shared)
		if err != nil {
			return nil, err
		}
		if len(renamed) == 0 {
			break
		}
		for from, to := range renamed {
			final[from] = to
		}
	}
	if len(shared) == 0 {
		return nil, nil
	}
	resolve := func(name string) string {
		for i := 0; i < len(final)+1; i++ {
			to, ok := final[name]
			if !ok {
				break
			}
			name = to
		}
		return name
	}
	current := map[string]*wfv1.Template{}
	for i := range c.templates {
		current[c.templates[i].Name] = &c.templates[i]
	}
	// Task-name entries of shared templates, and of those merged into them, move to path keys.
	for key := range c.taskRefs {
		if tmpl, _, ok := strings.Cut(key, "/"); ok && (shared[tmpl] || final[tmpl] != "") {
			delete(c.taskRefs, key)
		}
	}
	var walk func(o *wfv1.Template, prefix string, depth int) error
	walk = func(o *wfv1.Template, prefix string, depth int) error {
		f := current[resolve(o.Name)]
		if f == nil || f.DAG == nil || o.DAG == nil || len(f.DAG.Tasks) != len(o.DAG.Tasks) || depth > 100 {
			return fmt.Errorf("template %q: merged shapes do not line up (a kfp-argo bug)", o.Name)
		}
		for i, ot := range o.DAG.Tasks {
			ft := f.DAG.Tasks[i]
			if prefix != "" {
				for _, suffix := range []string{"", ".onExit"} {
					ref, ok := origRefs[o.Name+"/"+ot.Name+suffix]
					if !ok && suffix == "" {
						ref, ok = TaskRef{Task: ot.Name}, true
					}
					if ok {
						c.taskRefs[prefix+"/"+ft.Name+suffix] = ref
					}
				}
			}
			callee := original[ot.Template]
			if callee == nil || callee.DAG == nil || !shared[resolve(ot.Template)] {
				continue
			}
			at := prefix
			if at == "" {
				at = f.Name
			}
			if err := walk(callee, at+"/"+ft.Name, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for name, o := range original {
		if o.DAG != nil && final[name] == "" && !shared[name] {
			if err := walk(o, "", 0); err != nil {
				return nil, err
			}
		}
	}
	var names []string
	for name := range shared {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// shareRound merges, once, the DAG templates of the same shape; it returns which template each merged one went
// to, and marks the kept ones in shared.
func (c *compiler) shareRound(entrypoint string, shared map[string]bool) (map[string]string, error) {
	hooked := map[string]bool{}
	for _, t := range c.templates {
		if t.DAG == nil {
			continue
		}
		for _, task := range t.DAG.Tasks {
			for _, h := range task.Hooks {
				hooked[h.Template] = true
			}
		}
	}
	keep := map[[32]byte]int{}
	renamed := map[string]string{}
	args := map[string]map[string]string{} // merged template -> its input name -> the kept template's
	for i := range c.templates {
		t := &c.templates[i]
		if t.DAG == nil || t.Name == entrypoint || hooked[t.Name] {
			continue
		}
		sum, err := shapeHash(t)
		if err != nil {
			return nil, err
		}
		first, ok := keep[sum]
		if !ok {
			keep[sum] = i
			continue
		}
		kept := &c.templates[first]
		renamed[t.Name] = kept.Name
		shared[kept.Name] = true
		in := map[string]string{}
		for j, p := range t.Inputs.Parameters {
			in[p.Name] = kept.Inputs.Parameters[j].Name
		}
		for j, a := range t.Inputs.Artifacts {
			in["artifact:"+a.Name] = kept.Inputs.Artifacts[j].Name
		}
		args[t.Name] = in
	}
	if len(renamed) == 0 {
		return nil, nil
	}
	out := c.templates[:0]
	for _, t := range c.templates {
		if _, gone := renamed[t.Name]; gone {
			continue
		}
		if t.DAG != nil {
			for j := range t.DAG.Tasks {
				task := &t.DAG.Tasks[j]
				in, merged := args[task.Template]
				if !merged {
					continue
				}
				task.Template = renamed[task.Template]
				for k := range task.Arguments.Parameters {
					p := &task.Arguments.Parameters[k]
					if to, ok := in[p.Name]; ok {
						p.Name = to
					}
				}
				for k := range task.Arguments.Artifacts {
					a := &task.Arguments.Artifacts[k]
					if to, ok := in["artifact:"+a.Name]; ok {
						a.Name = to
					}
				}
			}
		}
		out = append(out, t)
	}
	c.templates = out
	for name := range renamed {
		delete(shared, name)
	}
	return renamed, nil
}

// shapeHash is the sha256 of a DAG template with its name left out and its tasks and inputs renamed by
// position, wherever the template names them: task names, depends, dependencies, input names, and the
// references inside Argo tags ({{tasks.X...}}, {{inputs.parameters.X}}, tasks["X"] in expressions). Text
// outside tags is never renamed (user text holding "{{" travels inert, so every tag is the compiler's), nor
// are string literals inside expressions: two templates hash alike only if they are alike but for those names.
func shapeHash(t *wfv1.Template) ([32]byte, error) {
	c := t.DeepCopy()
	c.Name = ""
	tasks, params, arts := map[string]string{}, map[string]string{}, map[string]string{}
	for i, task := range c.DAG.Tasks {
		tasks[task.Name] = fmt.Sprintf("@t%d", i)
	}
	for i, p := range c.Inputs.Parameters {
		params[p.Name] = fmt.Sprintf("@p%d", i)
		c.Inputs.Parameters[i].Name = params[p.Name]
	}
	for i, a := range c.Inputs.Artifacts {
		arts[a.Name] = fmt.Sprintf("@a%d", i)
		c.Inputs.Artifacts[i].Name = arts[a.Name]
	}
	for i := range c.DAG.Tasks {
		task := &c.DAG.Tasks[i]
		task.Name = tasks[task.Name]
		task.Depends = renameDependsTokens(task.Depends, tasks)
		for j, d := range task.Dependencies {
			if to, ok := tasks[d]; ok {
				task.Dependencies[j] = to
			}
		}
	}
	c.DAG.Target = renameDependsTokens(c.DAG.Target, tasks)
	raw, err := json.Marshal(c)
	if err != nil {
		return [32]byte{}, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return [32]byte{}, err
	}
	r := refRenamer{tasks: tasks, params: params, arts: arts}
	doc = r.walk(doc)
	canon, err := json.Marshal(doc)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(canon), nil
}

var dependsToken = regexp.MustCompile(`[A-Za-z0-9-]+`)

// renameDependsTokens renames the task names in a depends expression ("a && (b.Failed || c)"); the result
// suffixes (.Succeeded) are not names.
func renameDependsTokens(s string, tasks map[string]string) string {
	if s == "" {
		return s
	}
	return dependsToken.ReplaceAllStringFunc(s, func(tok string) string {
		if to, ok := tasks[tok]; ok {
			return to
		}
		return tok
	})
}

// refRenamer renames task and input references inside the Argo tags of every string of a JSON document.
type refRenamer struct{ tasks, params, arts map[string]string }

func (r refRenamer) walk(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = r.walk(e)
		}
	case []any:
		for i, e := range x {
			x[i] = r.walk(e)
		}
	case string:
		return r.text(x)
	}
	return v
}

// text renames inside each {{...}} of s.
func (r refRenamer) text(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+2])
		tag := s[i+2 : i+2+j]
		if strings.HasPrefix(tag, "=") {
			b.WriteString(r.expr(tag))
		} else {
			b.WriteString(r.simple(tag))
		}
		b.WriteString("}}")
		s = s[i+2+j+2:]
	}
}

// simple renames a plain tag: tasks.X..., inputs.parameters.X, inputs.artifacts.X.
func (r refRenamer) simple(tag string) string {
	if rest, ok := strings.CutPrefix(tag, "tasks."); ok {
		name, tail, dotted := strings.Cut(rest, ".")
		if to, ok := r.tasks[name]; ok {
			if dotted {
				return "tasks." + to + "." + tail
			}
			return "tasks." + to
		}
		return tag
	}
	if rest, ok := strings.CutPrefix(tag, "inputs.parameters."); ok {
		if to, ok := r.params[rest]; ok {
			return "inputs.parameters." + to
		}
	}
	if rest, ok := strings.CutPrefix(tag, "inputs.artifacts."); ok {
		if to, ok := r.arts[rest]; ok {
			return "inputs.artifacts." + to
		}
	}
	return tag
}

var (
	exprDotRef = regexp.MustCompile(`^(tasks|inputs\.parameters|inputs\.artifacts)\.([A-Za-z0-9_-]+)`)
	exprKeyRef = regexp.MustCompile(`^(tasks|inputs\.parameters|inputs\.artifacts)\[`)
)

// expr renames references in an expression tag, outside its string literals: tasks.X, tasks["X"],
// inputs.parameters.X, inputs.parameters["X"] (and artifacts). A literal that is the key of such a reference is
// a name; any other literal is left alone.
func (r refRenamer) expr(tag string) string {
	var b strings.Builder
	for i := 0; i < len(tag); {
		ch := tag[i]
		if ch == '"' || ch == '\'' {
			end := literalEnd(tag, i)
			b.WriteString(tag[i:end])
			i = end
			continue
		}
		if i == 0 || !isIdentByte(tag[i-1]) {
			if m := exprKeyRef.FindStringSubmatch(tag[i:]); m != nil && i+len(m[0]) < len(tag) && (tag[i+len(m[0])] == '"' || tag[i+len(m[0])] == '\'') {
				start := i + len(m[0])
				end := literalEnd(tag, start)
				name := tag[start+1 : end-1]
				b.WriteString(m[0])
				if to, ok := r.names(m[1])[name]; ok && end-start >= 2 {
					b.WriteString(tag[start:start+1] + to + tag[end-1:end])
				} else {
					b.WriteString(tag[start:end])
				}
				i = end
				continue
			}
			if m := exprDotRef.FindStringSubmatch(tag[i:]); m != nil {
				b.WriteString(m[1] + ".")
				if to, ok := r.names(m[1])[m[2]]; ok {
					b.WriteString(to)
				} else {
					b.WriteString(m[2])
				}
				i += len(m[0])
				continue
			}
		}
		b.WriteByte(ch)
		i++
	}
	return b.String()
}

func (r refRenamer) names(kind string) map[string]string {
	switch kind {
	case "tasks":
		return r.tasks
	case "inputs.parameters":
		return r.params
	}
	return r.arts
}

// literalEnd is the index just past the string literal that starts at i (backslash escapes), or the end.
func literalEnd(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		}
	}
	return len(s)
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '.' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
