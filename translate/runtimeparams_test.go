package translate

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
			if a.Value != nil && (a.Value.String() == wrapperProgram || a.Value.String() == wrapperArtifactsProgram || a.Value.String() == launcherScript) {
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
				if s == wrapperProgram || s == wrapperArtifactsProgram || s == launcherScript {
					t.Errorf("%s: template %s carries a %d-byte command item", f, tmpl.Name, len(s))
				}
			}
			rendered := replaceIn(t, tmpl.Container.Command, scope, true)
			var want string
			switch {
			case len(rendered) >= 3 && rendered[0] == "python3" && rendered[1] == "-c":
				want = wrapperProgram
				if rendered[2] == wrapperArtifactsProgram {
					want = wrapperArtifactsProgram
				}
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
	if uses[wrapperProgram] == 0 || uses[wrapperArtifactsProgram] == 0 || uses[launcherScript] == 0 {
		t.Errorf("wrapper used %d times, with artifacts %d times, launcher %d times: the test misses one", uses[wrapperProgram], uses[wrapperArtifactsProgram], uses[launcherScript])
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

// TestWrapperProgramRunsTheWrapper: each build of the compressed program python3 runs decodes to its wrapper
// byte for byte, decoded here as the program says and by python3 itself; the encoded text needs no escaping in
// JSON and holds nothing Argo or kfp-argo's markers read.
func TestWrapperProgramRunsTheWrapper(t *testing.T) {
	const prefix = "import base64,zlib;exec(zlib.decompress(base64.b85decode('"
	const suffix = "'.translate(str.maketrans('" + b85Safe + "','" + b85Unsafe + "'))),-15))"
	for name, build := range map[string]struct{ program, script string }{
		"plain":          {wrapperProgram, wrapperScript},
		"with artifacts": {wrapperArtifactsProgram, wrapperArtifactsScript},
	} {
		t.Run(name, func(t *testing.T) {
			encoded, ok := strings.CutPrefix(build.program, prefix)
			encoded, ok2 := strings.CutSuffix(encoded, suffix)
			if !ok || !ok2 {
				t.Fatalf("program %.80q…", build.program)
			}
			for _, r := range encoded {
				if strings.ContainsRune(b85Unsafe+"\"'\\", r) || r < 0x20 || r > 0x7e {
					t.Fatalf("encoded text holds %q", r)
				}
			}
			if quoted, _ := json.Marshal(encoded); len(quoted) != len(encoded)+2 {
				t.Errorf("JSON escapes the encoded wrapper: %d bytes for %d", len(quoted), len(encoded))
			}
			raw, err := fromBase85(strings.NewReplacer(",", "&", ".", "<", "/", ">", ":", "{", "[", "}", "]", "%", " ", "$").Replace(encoded))
			if err != nil {
				t.Fatal(err)
			}
			src, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if string(src) != build.script {
				t.Errorf("the program decodes to %d bytes that are not the wrapper (%d bytes)", len(src), len(build.script))
			}
			needTool(t, "python3")
			probe := strings.Replace(build.program, "exec(", "sys.stdout.buffer.write(", 1)
			out, err := exec.Command("python3", "-c", "import sys;"+probe).Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != build.script {
				t.Errorf("python3 decodes %d bytes that are not the wrapper", len(out))
			}
			if len(build.program) > len(build.script)*3/5 {
				t.Errorf("program %d bytes for a %d-byte wrapper", len(build.program), len(build.script))
			}
		})
	}
}

// fromBase85 decodes RFC 1924 base85 as Python's b85decode does, written from the RFC independently of base85.
func fromBase85(s string) ([]byte, error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
	var out []byte
	for i := 0; i < len(s); i += 5 {
		chunk := s[i:min(i+5, len(s))]
		n := len(chunk) - 1
		var v uint64
		for j := 0; j < 5; j++ {
			d := 84 // padding as b85decode pads: with the highest digit
			if j < len(chunk) {
				if d = strings.IndexByte(alphabet, chunk[j]); d < 0 {
					return nil, fmt.Errorf("%q is not a base85 digit", chunk[j])
				}
			}
			v = v*85 + uint64(d)
		}
		if v > 0xffffffff {
			return nil, fmt.Errorf("group %q overflows", chunk)
		}
		out = append(out, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		if n < 4 {
			out = out[:len(out)-4+n]
		}
	}
	return out, nil
}

// TestCompactPythonKeepsTheCode: the one-space indentation of both wrapper builds parses, in python3, to the
// same syntax tree as the sources.
func TestCompactPythonKeepsTheCode(t *testing.T) {
	needTool(t, "python3")
	for name, pair := range map[string][2]string{
		"plain":          {wrapperSource, wrapperScript},
		"with artifacts": {wrapperArtifactsSource + wrapperSource, wrapperArtifactsScript},
	} {
		dir := t.TempDir()
		for i, src := range pair {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, err := exec.Command("python3", "-c", `import ast,sys
a,b=(ast.dump(ast.parse(open(f).read())) for f in sys.argv[1:])
print("same" if a==b else "differ")`, filepath.Join(dir, "0"), filepath.Join(dir, "1")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "same" {
			t.Errorf("%s: %s %v", name, out, err)
		}
		if len(pair[1]) >= len(stripComments(pair[0])) {
			t.Errorf("%s: not compacted", name)
		}
	}
}

// TestArtifactHalfWhereNeeded: the wrapper a workflow carries has its artifact half exactly when a Python
// template's contract lists artifacts (without it, such a template would fail at run time), over the fixtures
// and the corpus; both builds occur.
func TestArtifactHalfWhereNeeded(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("..", "testdata", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[bool]int{}
	for _, f := range append(fixtures, corpusFiles(t, "valid")...) {
		p, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(p, corpusOptions(p))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		program := ""
		for _, a := range wf.Spec.Arguments.Parameters {
			if a.Name == WrapperParameter {
				program = a.Value.String()
			}
		}
		needs := false
		for _, tmpl := range wf.Spec.Templates {
			if tmpl.Container == nil {
				continue
			}
			for _, e := range tmpl.Container.Env {
				if e.Name != "KFP_ARGO_CONTRACT" {
					continue
				}
				v, _ := DecodeValue(e.Value)
				var ct contract
				if err := json.Unmarshal([]byte(v), &ct); err != nil {
					t.Fatalf("%s: %s: %v", f, tmpl.Name, err)
				}
				needs = needs || len(ct.Artifacts) > 0 || len(ct.OutputArtifacts) > 0
			}
		}
		if program == "" {
			continue
		}
		want := wrapperProgram
		if needs {
			want = wrapperArtifactsProgram
		}
		if program != want {
			t.Errorf("%s: contracts with artifacts: %v; the wrapper is the other build", f, needs)
		}
		seen[needs]++
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Errorf("builds seen: %v", seen)
	}
}

// TestScriptStandInsValidateAlike: what makes a stand-in for the runtime scripts give Argo's validator the same
// outcome (WithScriptStandIns) holds over the fixtures, the corpus and a synthetic pipeline: the scripts and
// the stand-in hold neither "{{" nor "}}"; every mention of a runtime parameter in a compiled workflow is its
// argument (no enum, no valueFrom) or a whole command or args item naming it; nothing takes all the workflow's
// parameters at once. And the validator accepts the workflow and its stand-in copy alike, and rejects a broken
// one with the same message.
func TestScriptStandInsValidateAlike(t *testing.T) {
	for name, s := range map[string]string{"wrapper": wrapperProgram, "wrapper with artifacts": wrapperArtifactsProgram, "launcher": launcherScript, "stand-in": scriptStandIn} {
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

// TestRuntimeScriptsSurviveKubeletExpansion: the scripts reach the container as a command item, which the
// kubelet expands before the process starts; what runs must be the script byte for byte. The wrapper programs
// stay as they are even with every name defined: their encoded text holds no "$" (the base85 alphabet has one;
// a "$$" in the artifact build became "$" on a real kubelet and broke every Python component with artifacts),
// and the one "$" of the mapping back is followed by a quote. The launcher's own "$(...)" are shell command substitutions:
// expanded with every name that Kubernetes' classic rule for environment variable names allows defined (the
// names kfp-argo, Argo and the SDK give containers), it stays as it is.
func TestRuntimeScriptsSurviveKubeletExpansion(t *testing.T) {
	classic := regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	for name, script := range map[string]string{"wrapper": wrapperProgram, "wrapper with artifacts": wrapperArtifactsProgram} {
		if got := kubeletExpand(script, func(string) (string, bool) { return "X", true }); got != script {
			t.Errorf("%s: the kubelet changes it", name)
		}
	}
	if got := kubeletExpand(launcherScript, func(n string) (string, bool) { return "X", classic.MatchString(n) }); got != launcherScript {
		t.Errorf("launcher: the kubelet changes it")
	}
}

func TestKubeletExpand(t *testing.T) {
	env := func(n string) (string, bool) {
		return map[string]string{"A": "1", "B_C": "2"}[n], n == "A" || n == "B_C"
	}
	for in, want := range map[string]string{
		"$$": "$", "$$(A)": "$(A)", "$(A)": "1", "x$(B_C)y": "x2y", "$(D)": "$(D)", "$(A": "$(A", "a$b": "a$b",
		"$": "$", "$$$": "$$", "$(A)$(A)": "11", "$((n - 1))": "$((n - 1))",
	} {
		if got := kubeletExpand(in, env); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
