package translate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
)

// TestYAMLAsTheSDKReadsIt: the IR is read with YAML 1.2's core schema, as PyYAML-written specs mean it.
func TestYAMLAsTheSDKReadsIt(t *testing.T) {
	spec := strings.Replace(minimal, `      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}`, `      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}
      letters: {parameterType: LIST, defaultValue: [X, Y, Z, n, yes, "on", off]}
      answer: {parameterType: STRING, defaultValue: n}
      big: {parameterType: NUMBER_INTEGER, defaultValue: 9007199254740993}
      hex: {parameterType: NUMBER_INTEGER, defaultValue: 0x1F}`, 1)
	p, err := Load("sdk.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	params := p.Spec.Root.InputDefinitions.Parameters
	letters, _ := json.Marshal(params["letters"].DefaultValue)
	if string(letters) != `["X","Y","Z","n","yes","on","off"]` {
		t.Errorf("letters default %s, want the strings as written", letters)
	}
	if params["answer"].DefaultValue != "n" {
		t.Errorf("answer default %#v, want the string n", params["answer"].DefaultValue)
	}
	if got := params["big"].DefaultValue; got != json.Number("9007199254740993") {
		t.Errorf("big default %#v, want the exact integer", got)
	}
	if got := params["hex"].DefaultValue; got != json.Number("31") {
		t.Errorf("hex default %#v, want 31", got)
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := argo.ValidateWorkflow(wf); err != nil {
		t.Fatal(err)
	}
	for _, a := range wf.Spec.Arguments.Parameters {
		want := map[string]string{"letters": `["X","Y","Z","n","yes","on","off"]`, "answer": "n", "big": "9007199254740993", "hex": "31"}[a.Name]
		if want != "" && a.Value.String() != want {
			t.Errorf("workflow argument %s = %s, want %s", a.Name, a.Value, want)
		}
	}
}

// TestYAMLStrictness: what YAML 1.1 readers let through silently is an error naming the file and the place.
func TestYAMLStrictness(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"duplicate task", "      eval:\n", "      train:\n        componentRef: {name: comp-a}\n        taskInfo: {name: again}\n      eval:\n",
			`dup.yaml: document 1: line 25: key "train" is repeated (first at line 19)`},
		{"duplicate field", "pipelineInfo: {name: minimal}", "pipelineInfo: {name: minimal, name: other}", `key "name" is repeated`},
		{"null argument", `command: [echo,`, `command: [echo, null,`, `deploymentSpec.executors["exec-a"].container.command[1]: null is not allowed in a list`},
		{"infinite number", "defaultValue: 0.1", "defaultValue: .inf", `".inf" is not a JSON number`},
		{"custom tag", "defaultValue: 0.1", "defaultValue: !python/object 0.1", "YAML tag !python/object is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := strings.Replace(minimal, tc.old, tc.new, 1)
			if spec == minimal {
				t.Fatal("the case does not change the spec")
			}
			_, err := Load("dup.yaml", []byte(spec))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dup.yaml") {
				t.Errorf("error %v, want one naming dup.yaml and %q", err, tc.want)
			}
		})
	}
}

// TestYAMLAliasBomb: aliases that would expand into billions of values are refused, not expanded.
func TestYAMLAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Load("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "aliases expand to more than") {
		t.Errorf("error %v", err)
	}
}

// TestListNumbersAsKFPPassesThem: the SDK writes float lists as [1.0, 2.0, 3.0]; KFP passes LIST values as
// protobuf Values, so a loop over it gives 1, 2 and 3 (which a condition's int() reads), not 1.0. Integers
// written as integers keep their digits.
func TestListNumbersAsKFPPassesThem(t *testing.T) {
	spec := strings.Replace(minimal, `      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}`, `      lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}
      trials: {parameterType: LIST, defaultValue: [1.0, 2.50, 3e2, 9007199254740993, {a: 1.0}]}`, 1)
	p, err := Load("floats.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range wf.Spec.Arguments.Parameters {
		if a.Name == "trials" && a.Value.String() != `[1,2.5,300,9007199254740993,{"a":1}]` {
			t.Errorf("trials = %s", a.Value)
		}
	}
}
