package translate

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"io"
	"os/exec"
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
