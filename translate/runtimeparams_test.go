package translate

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRuntimeScriptsOncePerWorkflow: the wrapper and the launcher are in the workflow once each, as workflow
// parameters, not in every template; what Argo's global substitution puts into each container's command is
// byte for byte the script (the pod stays self-contained), over the fixtures and the corpus.
func TestRuntimeScriptsOncePerWorkflow(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("..", "testdata", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := append(fixtures, corpusFiles(t, "valid")...)
	uses := map[string]int{}
	for _, f := range files {
		p, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(p, corpusOptions(p))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		args := map[string]int{}
		for _, a := range wf.Spec.Arguments.Parameters {
			if a.Value != nil && (a.Value.String() == wrapperScript || a.Value.String() == launcherScript) {
				args[a.Value.String()]++
				if !IsRuntimeParameter(a.Name) {
					t.Errorf("%s: argument %q holds a runtime script but is not a runtime parameter", f, a.Name)
				}
			}
		}
		scope := map[string]any{}
		for k, v := range globals(wf, nil) {
			scope[k] = v
		}
		for _, tmpl := range wf.Spec.Templates {
			if tmpl.Container == nil {
				continue
			}
			for _, s := range tmpl.Container.Command {
				if s == wrapperScript || s == launcherScript {
					t.Errorf("%s: template %s carries a %d-byte command item", f, tmpl.Name, len(s))
				}
			}
			rendered := replaceIn(t, tmpl.Container.Command, scope, true)
			var want string
			switch {
			case len(rendered) >= 3 && rendered[0] == "python3" && rendered[1] == "-c":
				want = wrapperScript
			case len(rendered) >= 4 && rendered[0] == "sh" && rendered[1] == "-c" && rendered[3] == "kfp-argo":
				want = launcherScript
			default:
				continue
			}
			if rendered[2] != want {
				t.Errorf("%s: template %s runs %d bytes that differ from the script (%d bytes)", f, tmpl.Name, len(rendered[2]), len(want))
			}
			if args[want] != 1 {
				t.Errorf("%s: template %s runs a script the workflow's arguments hold %d times", f, tmpl.Name, args[want])
			}
			uses[want]++
		}
	}
	if uses[wrapperScript] == 0 || uses[launcherScript] == 0 {
		t.Errorf("wrapper used %d times, launcher %d times: the test covers neither", uses[wrapperScript], uses[launcherScript])
	}
}

// TestRuntimeParameterNameTaken: a pipeline input that maps to a runtime parameter's name is refused, naming it.
func TestRuntimeParameterNameTaken(t *testing.T) {
	p, err := LoadFile(filepath.Join("..", "testdata", "pipelines", "python-io.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.Root.InputDefinitions.Parameters[WrapperParameter] = &ParameterSpec{ParameterType: TypeString, DefaultValue: "x"}
	_, err = Compile(p, Options{})
	if err == nil || !strings.Contains(err.Error(), WrapperParameter) {
		t.Fatalf("got %v, want an error naming %s", err, WrapperParameter)
	}
}
