package experiments

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("very-long-pipeline-name-", 5)
	tests := []struct {
		in, want string
	}{
		{"my-pipeline", "my-pipeline"},
		{"Default", "Default"},
		{"", ""},
		{"lr sweep 3", "lr-sweep-3-96e96670"},
		{"Lr Sweep 3", "Lr-Sweep-3-da9ee217"},
		{"-leading", "leading-58a376df"},
		{"größe", "gr-e-d353a267"}, // runs of other characters become one "-"
		{"!!!", "x-e84c538e"},      // nothing left: the compiler's "x" placeholder
		{long, ""},                 // checked below: valid, cut, hashed
	}
	seen := map[string]string{}
	for _, tc := range tests {
		got := LabelValue(tc.in)
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("LabelValue(%q) = %q, not a label value: %v", tc.in, got, errs)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("LabelValue(%q) = LabelValue(%q) = %q", tc.in, other, got)
		}
		seen[got] = tc.in
	}
	if got := LabelValue(long); len(got) != 63 || !strings.HasPrefix(got, "very-long-pipeline-name-very") {
		t.Errorf("LabelValue(long) = %q (%d chars), want 63 chars starting with the name", got, len(got))
	}
}

func TestObjectNames(t *testing.T) {
	tests := []struct {
		experiment, want string
	}{
		{"default", "kfp-argo.experiment.default"},
		{"Default", "kfp-argo.experiment.default-"},
		{"DEFAULT", "kfp-argo.experiment.default-"},
		{"lr sweep", "kfp-argo.experiment.lr-sweep-"},
		{"a.b", "kfp-argo.experiment.a-b-"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		got := ExperimentObjectName(tc.experiment)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("ExperimentObjectName(%q) = %q, want prefix %q", tc.experiment, got, tc.want)
		}
		if errs := validation.IsDNS1123Subdomain(got); len(errs) > 0 {
			t.Errorf("ExperimentObjectName(%q) = %q: %v", tc.experiment, got, errs)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%q and %q share the object name %q", tc.experiment, other, got)
		}
		seen[got] = tc.experiment
	}
	for _, bad := range []string{"", "  ", "a\nb", strings.Repeat("x", 254), "bad\xffutf8", "\xc3"} {
		if err := ValidateExperimentName(bad); err == nil {
			t.Errorf("ValidateExperimentName(%q) = nil, want an error", bad)
		}
	}
	// Argo refuses Workflow names over 63 characters when it runs them (validate.ValidateWorkflow).
	for _, bad := range []string{"Upper", "has space", strings.Repeat("x", 250), strings.Repeat("x", 64), strings.Repeat("x", 240)} {
		if err := ValidateRunName(bad); err == nil {
			t.Errorf("ValidateRunName(%q) = nil, want an error", bad)
		}
	}
	if err := ValidateRunName(strings.Repeat("x", 63)); err != nil {
		t.Errorf("ValidateRunName(63 chars) = %v", err)
	}
	if err := ValidateRunName("train-x7k2p"); err != nil {
		t.Errorf("ValidateRunName(train-x7k2p) = %v", err)
	}
}
