package experiments

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompare(t *testing.T) {
	runs := []Run{
		{Name: "lr-01", Experiment: "sweep", State: StateSucceeded, Parameters: map[string]string{"lr": "0.1", "epochs": "3"},
			Metrics: map[string]float64{"train.accuracy": 0.93, "train.loss": 0.2}},
		{Name: "lr-1", Experiment: "sweep", State: StateFailed, Parameters: map[string]string{"lr": "1", "epochs": "3"},
			Metrics: map[string]float64{"train.loss": 0}},
		{Name: "lr-001", Experiment: "sweep", State: StateRunning, Parameters: map[string]string{"lr": "0.01", "epochs": "3", "seed": "7"}},
	}
	want := Comparison{
		Runs: []ComparedRun{{"lr-01", "sweep", StateSucceeded}, {"lr-1", "sweep", StateFailed}, {"lr-001", "sweep", StateRunning}},
		Parameters: []ComparisonRow{
			{Name: "epochs", Values: []CellValue{{"3", true}, {"3", true}, {"3", true}}},
			{Name: "lr", Values: []CellValue{{"0.1", true}, {"1", true}, {"0.01", true}}, Differs: true},
			{Name: "seed", Values: []CellValue{{"", false}, {"", false}, {"7", true}}, Differs: true},
		},
		Metrics: []ComparisonRow{
			{Name: "train.accuracy", Values: []CellValue{{"0.93", true}, {"", false}, {"", false}}, Differs: true},
			// A metric of 0 is a value, not a missing one.
			{Name: "train.loss", Values: []CellValue{{"0.2", true}, {"0", true}, {"", false}}, Differs: true},
		},
	}
	if diff := cmp.Diff(want, Compare(runs)); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
	if got := Compare(nil); len(got.Runs) != 0 || got.Parameters != nil || got.Metrics != nil {
		t.Errorf("Compare(nil) = %+v", got)
	}
}
