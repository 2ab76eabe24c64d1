package translate

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
	"github.com/kfp-argo/kfp-argo/translate/synthir"
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
			if a.Value != nil && (a.Value.String() == wrapperProgram || a.Value.String() == launcherScript) {
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
				if s == wrapperProgram || s == launcherScript {
					t.Errorf("%s: template %s carries a %d-byte command item", f, tmpl.Name, len(s))
				}
			}
			rendered := replaceIn(t, tmpl.Container.Command, scope, true)
			var want string
			switch {
			case len(rendered) >= 3 && rendered[0] == "python3" && rendered[1] == "-c":
				want = wrapperProgram
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
	if uses[wrapperProgram] == 0 || uses[launcherScript] == 0 {
		t.Errorf("wrapper used %d times, launcher %d times: the test covers neither", uses[wrapperProgram], uses[launcherScript])
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

// TestWrapperProgramRunsTheWrapper: the compressed program python3 runs decodes to the wrapper byte for byte,
// and python3 itself, decoding it as the program does, gets the same bytes.
func TestWrapperProgramRunsTheWrapper(t *testing.T) {
	const prefix, suffix = "import base64,zlib;exec(zlib.decompress(base64.b64decode('", "')))"
	if !strings.HasPrefix(wrapperProgram, prefix) || !strings.HasSuffix(wrapperProgram, suffix) {
		t.Fatalf("program %.80q…", wrapperProgram)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(wrapperProgram, prefix), suffix))
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	src, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(src) != wrapperScript {
		t.Errorf("the program decodes to %d bytes that are not the wrapper (%d bytes)", len(src), len(wrapperScript))
	}
	needTool(t, "python3")
	probe := strings.Replace(wrapperProgram, "exec(", "sys.stdout.buffer.write(", 1)
	out, err := exec.Command("python3", "-c", "import sys;"+probe).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != wrapperScript {
		t.Errorf("python3 decodes %d bytes that are not the wrapper", len(out))
	}
	if len(wrapperProgram) > len(wrapperScript)/2 {
		t.Errorf("program %d bytes for a %d-byte wrapper", len(wrapperProgram), len(wrapperScript))
	}
}

// TestScriptStandInsValidateAlike: what makes a stand-in for the runtime scripts give Argo's validator the same
// outcome (WithScriptStandIns) holds over the fixtures, the corpus and a synthetic pipeline: the scripts and
// the stand-in hold neither "{{" nor "}}"; every mention of a runtime parameter in a compiled workflow is its
// argument (no enum, no valueFrom) or a whole command or args item naming it; nothing takes all the workflow's
// parameters at once. And the validator accepts the workflow and its stand-in copy alike, and rejects a broken
// one with the same message.
func TestScriptStandInsValidateAlike(t *testing.T) {
	for name, s := range map[string]string{"wrapper": wrapperProgram, "launcher": launcherScript, "stand-in": scriptStandIn} {
		if strings.Contains(s, "{{") || strings.Contains(s, "}}") {
			t.Fatalf("the %s holds {{ or }}: a stand-in for it could change what Argo's validator sees", name)
		}
	}
	fixtures, err := filepath.Glob(filepath.Join("..", "testdata", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := append(fixtures, corpusFiles(t, "valid")...)
	files = append(files, "synthetic")
	standIns := 0
	for _, f := range files {
		var p *Pipeline
		if f == "synthetic" {
			p, err = Load(f, synthir.Generate(300, 1))
		} else {
			p, err = LoadFile(f)
		}
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(p, corpusOptions(p))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, a := range wf.Spec.Arguments.Parameters {
			if IsRuntimeParameter(a.Name) && (len(a.Enum) > 0 || a.ValueFrom != nil) {
				t.Errorf("%s: runtime parameter %s has an enum or valueFrom", f, a.Name)
			}
		}
		raw, err := json.Marshal(wf.Spec.Templates)
		if err != nil {
			t.Fatal(err)
		}
		var templates any
		if err := json.Unmarshal(raw, &templates); err != nil {
			t.Fatal(err)
		}
		walkStrings(templates, "", func(key, s string) {
			if strings.Contains(s, "workflow.parameters.json") || strings.Contains(s, "workflow.parameters}}") {
				t.Errorf("%s: %q takes all the workflow's parameters", f, s)
			}
			if !strings.Contains(s, RuntimeParameterPrefix) {
				return
			}
			name, whole := strings.CutPrefix(s, "{{workflow.parameters.")
			name, closed := strings.CutSuffix(name, "}}")
			if !whole || !closed || !IsRuntimeParameter(name) || (key != "command" && key != "args") {
				t.Errorf("%s: a runtime parameter is used other than as a whole command item: %s: %q", f, key, s)
			}
		})

		check := *wf
		check.Spec = WithScriptStandIns(wf.Spec)
		for i, a := range check.Spec.Arguments.Parameters {
			if a.Value != nil && a.Value.String() == scriptStandIn {
				standIns++
			} else if a.Value != wf.Spec.Arguments.Parameters[i].Value {
				t.Errorf("%s: argument %s changed", f, a.Name)
			}
		}
		if err := argo.ValidateWorkflow(&check); err != nil {
			t.Errorf("%s: the stand-in copy is invalid: %v", f, err)
		}
		if f == "synthetic" {
			// Full validation of the workflow itself runs in every test that compiles one.
			if err := argo.ValidateWorkflow(wf); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			// One template broken: the validator names the task path it met it by first, which varies from run
			// to run, then the template and what is wrong with it.
			broken := wf.DeepCopy()
			var name string
			for i := range broken.Spec.Templates {
				if c := broken.Spec.Templates[i].Container; c != nil {
					c.Args = append(c.Args, "{{inputs.parameters.nope}}")
					name = broken.Spec.Templates[i].Name
					break
				}
			}
			errFull := argo.ValidateWorkflow(broken)
			check := *broken
			check.Spec = WithScriptStandIns(broken.Spec)
			errStandIn := argo.ValidateWorkflow(&check)
			at := "templates." + name + ": "
			if errFull == nil || errStandIn == nil || !strings.Contains(errFull.Error(), at) ||
				errFull.Error()[strings.Index(errFull.Error(), at):] != errStandIn.Error()[max(0, strings.Index(errStandIn.Error(), at)):] {
				t.Errorf("broken workflow: validator says %v, with stand-ins %v", errFull, errStandIn)
			}
		}
	}
	if standIns == 0 {
		t.Error("no runtime script was replaced")
	}
}

// walkStrings calls f with every string in a JSON value and the object key it is under (for list items, the
// list's key).
func walkStrings(v any, key string, f func(key, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			walkStrings(c, k, f)
		}
	case []any:
		for _, c := range x {
			walkStrings(c, key, f)
		}
	case string:
		f(key, x)
	}
}
