package standin

import "testing"

func TestParseNodeName(t *testing.T) {
	for _, c := range []struct {
		node    string
		task    string
		attempt int
	}{
		{"wf-abc.consume", "consume", 0},
		{"wf-abc.flaky(2)", "flaky", 2},
		{"wf-abc.fan.item(3:d)", "item", 0},
		{"wf-abc.fan.item(0:1.5)(1)", "item", 1},
		{"wf-abc.outer.inner(0:a)", "inner", 0},
		{"wf-abc[0].step", "step", 0},
	} {
		task, attempt := ParseNodeName(c.node)
		if task != c.task || attempt != c.attempt {
			t.Errorf("ParseNodeName(%q) = %q, %d; want %q, %d", c.node, task, attempt, c.task, c.attempt)
		}
	}
}

func TestPlaceholder(t *testing.T) {
	for typ, want := range map[string]string{
		"NUMBER_INTEGER": "1",
		"NUMBER_DOUBLE":  "0.5",
		"BOOLEAN":        "true",
		"LIST":           "[]",
		"STRUCT":         "{}",
		"STRING":         "placeholder-out",
		"":               "placeholder-out",
	} {
		if got := Placeholder(typ, "out"); got != want {
			t.Errorf("Placeholder(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestKFPContractTypes(t *testing.T) {
	contract := `{"outputParameters":[{"name":"Output","type":"NUMBER_INTEGER","path":"/tmp/kfp/parameters/Output"}]}`
	plain := Task{MainEnv: map[string]string{"KFP_ARGO_CONTRACT": contract}}
	// The compiler's inert form: base64 between markers.
	inert := Task{MainEnv: map[string]string{"KFP_ARGO_CONTRACT": "%%kfpb64:eyJvdXRwdXRQYXJhbWV0ZXJzIjpbeyJuYW1lIjoiT3V0cHV0IiwidHlwZSI6IkxJU1QifV19%%"}}
	if got := KFPContractTypes(plain, "Output"); got != "NUMBER_INTEGER" {
		t.Errorf("plain contract: %q", got)
	}
	if got := KFPContractTypes(inert, "Output"); got != "LIST" {
		t.Errorf("inert contract: %q", got)
	}
	if got := KFPContractTypes(plain, "other"); got != "" {
		t.Errorf("unknown output: %q", got)
	}
	if got := KFPContractTypes(Task{}, "Output"); got != "" {
		t.Errorf("no contract: %q", got)
	}
}

func TestEvalJSONPath(t *testing.T) {
	obj := map[string]any{"metadata": map[string]any{"name": "pvc-1", "labels": map[string]any{"a": "b"}}, "spec": map[string]any{"n": int64(3)}}
	for expr, want := range map[string]string{
		"{.metadata.name}":   "pvc-1",
		"{.spec.n}":          "3",
		"{.metadata.labels}": `{"a":"b"}`,
	} {
		got, err := evalJSONPath(obj, expr)
		if err != nil || got != want {
			t.Errorf("evalJSONPath(%s) = %q, %v; want %q", expr, got, err, want)
		}
	}
	if _, err := evalJSONPath(obj, "{.missing}"); err == nil {
		t.Errorf("missing field: no error")
	}
}
