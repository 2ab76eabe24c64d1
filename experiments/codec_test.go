package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-argo/kfp-argo/translate"
)

var ignoreEncoding = cmpopts.IgnoreFields(Run{}, "Encoding")

func sec(s int64) time.Time { return time.Unix(1767225600+s, 0).UTC() }

// bigRun builds a run of n tasks whose names, pods, outputs and metrics are as varied as real ones, so
// that compression is not flattered by repetition.
func bigRun(n int) *Run {
	rng := rand.New(rand.NewPCG(1, 2))
	r := &Run{
		Name: "big-run-x7k2p", DisplayName: "big run", Experiment: "scale test", PipelineName: "fan-out",
		PipelineDigest: "sha256:" + strings.Repeat("ab", 32), Parameters: map[string]string{"n": fmt.Sprint(n)},
		Workflow: WorkflowRef{Name: "big-run-x7k2p", UID: "0b7c6d1e-1111-2222-3333-444455556666"},
		State:    StateSucceeded, CreatedAt: sec(0), StartedAt: sec(1), FinishedAt: sec(9000),
		History: []StateChange{{State: StatePending, Time: sec(0)}, {State: StateRunning, Time: sec(1)},
			{State: StateSucceeded, Time: sec(9000)}},
		TaskSource: TaskSourceNodes, Metrics: map[string]float64{}, StorageState: StorageAvailable,
	}
	for i := range n {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		name := fmt.Sprintf("train-model-%d", i)
		t := Task{
			ID: fmt.Sprintf("big-run-x7k2p-%d", rng.Uint32()), Parent: "big-run-x7k2p-1843236511",
			Name: name, DisplayName: name, Iteration: []int{i}, Type: "Pod", State: StateSucceeded,
			Started: sec(int64(i)), Finished: sec(int64(i) + 1 + rng.Int64N(600)),
			Pod:      fmt.Sprintf("big-run-x7k2p-system-container-impl-%d", rng.Uint32()),
			Attempts: 1 + rng.IntN(2),
			Outputs:  map[string]string{"model_uri": "s3://bucket/" + hex.EncodeToString(sum[:12]), "loss": fmt.Sprint(rng.Float64())},
		}
		if i%50 == 0 {
			t.State, t.Error = StateFailed, "Error (exit code 1): "+hex.EncodeToString(sum[12:])
		}
		r.Tasks = append(r.Tasks, t)
		r.Metrics[name+".accuracy"] = rng.Float64()
		r.Metrics[name+".loss"] = rng.Float64()
	}
	return r
}

// configMapSize is the size of the object as the API server would store it (JSON, binaryData base64).
func configMapSize(t *testing.T, name string, p Payload) int {
	t.Helper()
	cm := corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kubeflow-user-example-com",
		Labels: map[string]string{translate.LabelManagedBy: translate.ManagedByValue, LabelKind: KindRun}}, Data: p.Data, BinaryData: p.BinaryData}
	b, err := json.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func TestEncodeRoundTrip(t *testing.T) {
	small := bigRun(3)
	mid := bigRun(300)
	tests := []struct {
		name   string
		rec    Record
		limits Limits
		want   string // Encoding.String()
	}{
		{"experiment", &Experiment{Name: "Default", DisplayName: "Default", CreatedAt: sec(0), StorageState: StorageAvailable}, DefaultLimits(), "json"},
		{"small run stays plain", small, DefaultLimits(), "json"},
		{"empty run", &Run{Name: "r", Experiment: "e", State: StatePending, StorageState: StorageAvailable}, DefaultLimits(), "json"},
		{"mid run compacted", mid, Limits{PlainBytes: 120 << 10, MaxBytes: 700 << 10}, "json+columns"},
		{"mid run compressed", mid, Limits{PlainBytes: 10 << 10, MaxBytes: 700 << 10}, "json+columns+gzip"},
		{"5000 tasks", bigRun(5000), DefaultLimits(), "json+columns+gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Encode(tc.rec, tc.limits)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := p.Encoding.String(); got != tc.want {
				t.Errorf("encoding = %s, want %s", got, tc.want)
			}
			if size := configMapSize(t, "kfp-argo.run.big-run-x7k2p", p); size > ConfigMapLimit {
				t.Errorf("ConfigMap is %d bytes, over the %d limit", size, ConfigMapLimit)
			}
			again, err := Encode(tc.rec, tc.limits)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, again); diff != "" {
				t.Errorf("encoding is not deterministic (-first +second):\n%s", diff)
			}
			got, err := Decode(p.Data, p.BinaryData)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.rec, got, ignoreEncoding); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if run, ok := got.(*Run); ok && run.Encoding.String() != tc.want {
				t.Errorf("decoded record says %s, want %s", run.Encoding, tc.want)
			}
		})
	}
}

func TestEncodeFiveThousandTasksSize(t *testing.T) {
	p, err := Encode(bigRun(5000), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	size := configMapSize(t, "kfp-argo.run.big-run-x7k2p", p)
	t.Logf("5000 tasks, 10000 metrics: payload %d bytes, ConfigMap %d bytes (%s)", p.Encoding.Bytes, size, p.Encoding)
	if size > ConfigMapLimit {
		t.Fatalf("ConfigMap %d bytes > %d", size, ConfigMapLimit)
	}
	if p.Encoding.DroppedTaskOutputs != 0 {
		t.Errorf("dropped outputs of %d tasks; 5000 tasks should fit whole", p.Encoding.DroppedTaskOutputs)
	}
}

func TestEncodeDropsOutputsLast(t *testing.T) {
	run := bigRun(2000)
	full, err := Encode(run, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	lim := Limits{PlainBytes: 1 << 10, MaxBytes: full.Encoding.Bytes - 1}
	p, err := Encode(run, lim)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if p.Encoding.DroppedTaskOutputs != 2000 || p.Encoding.String() != "json+columns+gzip+outputs-dropped" {
		t.Errorf("encoding = %+v (%s), want outputs of 2000 tasks dropped", p.Encoding, p.Encoding)
	}
	got, err := Decode(p.Data, p.BinaryData)
	if err != nil {
		t.Fatal(err)
	}
	gr := got.(*Run)
	if gr.Encoding.DroppedTaskOutputs != 2000 {
		t.Errorf("decoded record does not say outputs were dropped: %+v", gr.Encoding)
	}
	if len(gr.Tasks) != 2000 || gr.Tasks[7].Outputs != nil || len(gr.Metrics) != len(run.Metrics) {
		t.Errorf("want 2000 rows without outputs and all %d metrics, got %d rows, outputs %v, %d metrics",
			len(run.Metrics), len(gr.Tasks), gr.Tasks[7].Outputs, len(gr.Metrics))
	}

	// Below that, rows and metrics go (TestOversizedRecordsDegrade); only a cap under the run's summary
	// itself is an error.
	_, err = Encode(run, Limits{PlainBytes: 64, MaxBytes: 64})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Encode with a 64-byte cap: err = %v, want ErrTooLarge", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	gz, err := gzipBytes([]byte(`{"schemaVersion":1,"kind":"run","run":{"name":"r","experiment":"e","workflow":{"name":"r"},"state":"RUNNING","storageState":"AVAILABLE"}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    map[string]string
		bin     map[string][]byte
		is      error
		message string
	}{
		{"newer schema", map[string]string{DataKey: `{"schemaVersion":4,"kind":"run","run":{}}`}, nil,
			ErrUnsupportedSchema, "schemaVersion 4, this kfp-argo reads 1 to 3 (written by a newer kfp-argo"},
		{"version 3 fields in version 2", map[string]string{DataKey: `{"schemaVersion":2,"kind":"run","run":{"name":"r","experiment":"e","pipelineVersion":"v1","workflow":{"name":"r"},"state":"RUNNING","storageState":"AVAILABLE"}}`}, nil,
			nil, "schemaVersion 2 with fields of version 3"},
		{"version 2 fields in version 1", map[string]string{DataKey: `{"schemaVersion":1,"kind":"run","compaction":{"taskRows":"columns","droppedTasks":3},"run":{"name":"r","experiment":"e","workflow":{"name":"r"},"state":"RUNNING","storageState":"AVAILABLE"},"taskColumns":["id"],"taskRows":[]}`}, nil,
			nil, "schemaVersion 1 with fields of version 2"},
		{"no schema", map[string]string{DataKey: `{"kind":"run","run":{}}`}, nil, ErrUnsupportedSchema, "no schemaVersion"},
		{"unknown field", map[string]string{DataKey: `{"schemaVersion":1,"kind":"experiment","experiment":{"name":"x","storageState":"AVAILABLE","owner":"me"}}`}, nil,
			nil, `unknown field "owner"`},
		{"unknown kind", map[string]string{DataKey: `{"schemaVersion":1,"kind":"pipeline"}`}, nil, nil, `unknown kind "pipeline"`},
		{"no payload", map[string]string{"other": "x"}, nil, nil, "no data[record.json] or binaryData[record.json.gz]"},
		{"both payloads", map[string]string{DataKey: "{}"}, map[string][]byte{BinaryDataKey: gz}, nil, "both"},
		{"corrupt gzip", nil, map[string][]byte{BinaryDataKey: []byte("not gzip")}, nil, "binaryData[record.json.gz]"},
		{"trailing data", map[string]string{DataKey: `{"schemaVersion":1,"kind":"experiment","experiment":{"name":"x","storageState":"AVAILABLE"}} {}`}, nil, nil, "after top-level value"},
		{"unknown task column", map[string]string{DataKey: `{"schemaVersion":1,"kind":"run","compaction":{"taskRows":"columns"},"run":{"name":"r","experiment":"e","workflow":{"name":"r"},"state":"RUNNING","storageState":"AVAILABLE"},"taskColumns":["id","colour"],"taskRows":[["a","red"]]}`}, nil,
			nil, `unknown task column "colour"`},
		{"short task row", map[string]string{DataKey: `{"schemaVersion":1,"kind":"run","compaction":{"taskRows":"columns"},"run":{"name":"r","experiment":"e","workflow":{"name":"r"},"state":"RUNNING","storageState":"AVAILABLE"},"taskColumns":["id","name"],"taskRows":[["a"]]}`}, nil,
			nil, "task row 0 has 1 values for 2 columns"},
		{"run kind with experiment", map[string]string{DataKey: `{"schemaVersion":1,"kind":"run","experiment":{"name":"x","storageState":"AVAILABLE"}}`}, nil, nil, "want exactly a run object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := Decode(tc.data, tc.bin)
			if err == nil {
				t.Fatalf("Decode = %#v, want an error", rec)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
		})
	}
}

// TestSchemaVersion3OnlyWhenNeeded: a run of an uploaded pipeline version or of a recurring run is written as
// version 3 (an older build refuses it rather than dropping the fields), any other run as before, and both
// read back whole, also compacted.
func TestSchemaVersion3OnlyWhenNeeded(t *testing.T) {
	version := func(p Payload) int {
		var probe struct {
			SchemaVersion int `json:"schemaVersion"`
		}
		if err := json.Unmarshal([]byte(p.Data[DataKey]), &probe); err != nil {
			t.Fatalf("payload: %v", err)
		}
		return probe.SchemaVersion
	}
	plain := bigRun(2)
	p, err := Encode(plain, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if v := version(p); v != 1 {
		t.Errorf("run without version fields: schemaVersion %d, want 1", v)
	}
	for _, n := range []int{2, 1200} { // 1200 tasks: compacted into columns
		r := bigRun(n)
		r.PipelineVersion, r.RecurringRun = "v2", "nightly"
		p, err := Encode(r, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if p.Data[DataKey] != "" {
			if v := version(p); v != 3 {
				t.Errorf("%d tasks: schemaVersion %d, want 3", n, v)
			}
		}
		back, err := Decode(p.Data, p.BinaryData)
		if err != nil {
			t.Fatalf("%d tasks: %v", n, err)
		}
		if diff := cmp.Diff(r, back, ignoreEncoding); diff != "" {
			t.Errorf("%d tasks: round trip (-want +got):\n%s", n, diff)
		}
	}
}
