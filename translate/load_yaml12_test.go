package translate

import (
	"strings"
	"testing"
)

// TestLoadYAMLPlainScalars: the KFP SDK writes IR with PyYAML, whose YAML 1.1 resolver reads y, Y, n, N, yes
// and no as strings unless they are spelled true/false; a parameter named `y` (critical/mixed_parameters.yaml)
// must stay `y`, and a string default `n` must stay "n", not become booleans.
func TestLoadYAMLPlainScalars(t *testing.T) {
	spec := strings.NewReplacer(
		"lr: {parameterType: NUMBER_DOUBLE}", "y: {parameterType: STRING}",
		"lr: {componentInputParameter: lr}", "y: {componentInputParameter: y}",
		"lr: {runtimeValue: {constant: 0.5}}", "y: {runtimeValue: {constant: n}}",
		"lr: {parameterType: NUMBER_DOUBLE, defaultValue: 0.1}", "y: {parameterType: STRING, defaultValue: n}",
		"{{$.inputs.parameters['lr']}}", "{{$.inputs.parameters['y']}}",
	).Replace(minimal)
	p, err := Load("y.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	def, ok := p.Spec.Root.InputDefinitions.Parameters["y"]
	if !ok {
		t.Fatalf("root input y missing; inputs: %v", p.Spec.Root.InputDefinitions.Parameters)
	}
	if def.DefaultValue != "n" {
		t.Errorf("default of y = %#v, want \"n\"", def.DefaultValue)
	}
	if _, ok := p.Spec.Components["comp-a"].InputDefinitions.Parameters["y"]; !ok {
		t.Errorf("component input y missing: %v", p.Spec.Components["comp-a"].InputDefinitions.Parameters)
	}
	if c := p.Spec.Root.DAG.Tasks["eval"].Inputs.Parameters["y"]; c == nil || c.RuntimeValue == nil || c.RuntimeValue.Constant != "n" {
		t.Errorf("eval's constant for y: %#v", c)
	}
	// Real booleans and numbers keep their types.
	b, err := Load("b.yaml", []byte(strings.Replace(minimal, "lr: {runtimeValue: {constant: 0.5}}", "lr: {runtimeValue: {constant: true}}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Spec.Root.DAG.Tasks["eval"].Inputs.Parameters["lr"].RuntimeValue.Constant; got != true {
		t.Errorf("constant true = %#v, want the boolean true", got)
	}
}
