package translate

import (
	"crypto/sha256"
	"encoding/json"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// mergeIdentical keeps one template of each set that differ only by name, as KFP's compiler keeps one
// component per content hash: the SDK emits comp-x, comp-x-2, … with the same executor for each reuse of a
// component, and each would otherwise carry its own copy of the container, command and runtime contract.
// References to a dropped template move to the kept one (the first by name), which can make templates that
// refer to them identical in turn, so it repeats until nothing merges. Task names are untouched. A DAG
// template's task-name annotation entries count as part of its content: two DAGs whose tasks have different
// IR display names stay apart. The entrypoint is never merged.
func mergeIdentical(templates []wfv1.Template, entrypoint string, refs map[string]TaskRef) ([]wfv1.Template, error) {
	for {
		keep := map[[32]byte]string{}
		renamed := map[string]string{}
		for i := range templates {
			t := &templates[i]
			if t.Name == entrypoint {
				continue
			}
			sum, err := contentHash(t, refs)
			if err != nil {
				return nil, err
			}
			if first, ok := keep[sum]; ok {
				renamed[t.Name] = first
			} else {
				keep[sum] = t.Name
			}
		}
		if len(renamed) == 0 {
			return templates, nil
		}
		out := templates[:0]
		for _, t := range templates {
			if _, gone := renamed[t.Name]; gone {
				continue
			}
			if t.DAG != nil {
				for j := range t.DAG.Tasks {
					retarget(&t.DAG.Tasks[j], renamed)
				}
			}
			out = append(out, t)
		}
		templates = out
		for key := range refs {
			if tmpl, _, ok := strings.Cut(key, "/"); ok && renamed[tmpl] != "" {
				delete(refs, key)
			}
		}
	}
}

func retarget(task *wfv1.DAGTask, renamed map[string]string) {
	if to, ok := renamed[task.Template]; ok {
		task.Template = to
	}
	for ev, h := range task.Hooks {
		if to, ok := renamed[h.Template]; ok {
			h.Template = to
			task.Hooks[ev] = h
		}
	}
}

// contentHash is the sha256 of a template without its name, with the task-name entries of its DAG.
func contentHash(t *wfv1.Template, refs map[string]TaskRef) ([32]byte, error) {
	named := t.Name
	t.Name = ""
	raw, err := json.Marshal(t)
	t.Name = named
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write(raw)
	if t.DAG != nil {
		var entries []string
		for _, task := range t.DAG.Tasks {
			for _, suffix := range []string{"", ".onExit"} {
				if ref, ok := refs[named+"/"+task.Name+suffix]; ok {
					entries = append(entries, task.Name+suffix+"\x00"+ref.Task+"\x00"+ref.DisplayName)
				}
			}
		}
		sort.Strings(entries)
		h.Write([]byte("\x00refs\x00" + strings.Join(entries, "\x00")))
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
