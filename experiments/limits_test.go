package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Issue 12 item 6: a record that compresses very well (2,500 tasks with 30 KiB outputs of one repeated
// character: about 75 MB of JSON, 267 KB of gzip) must not be written in a form the decoder refuses.
func TestEncodeNeverWritesWhatDecodeCannotRead(t *testing.T) {
	run := bigRun(2500)
	big := strings.Repeat("a", 30<<10)
	for i := range run.Tasks {
		run.Tasks[i].Outputs = map[string]string{"blob": big}
	}
	p, err := Encode(run, DefaultLimits())
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	rec, err := Decode(p.Data, p.BinaryData)
	if err != nil {
		t.Fatalf("Encode wrote a record (%s, %d bytes) that Decode refuses: %v", p.Encoding, p.Encoding.Bytes, err)
	}
	got := rec.(*Run)
	if got.State != run.State || len(got.Metrics) != len(run.Metrics) || got.Encoding.DroppedTaskOutputs == 0 {
		t.Errorf("decoded: state %s, %d metrics, %+v; want the state, every metric and outputs dropped", got.State, len(got.Metrics), got.Encoding)
	}
	// The same limit on both sides, whatever it is set to.
	lim := DefaultLimits()
	lim.MaxJSONBytes = 1 << 20
	run = bigRun(200)
	for i := range run.Tasks {
		run.Tasks[i].Outputs = map[string]string{"blob": strings.Repeat("b", 8<<10)}
	}
	p, err = Encode(run, lim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeWithLimits(p.Data, p.BinaryData, lim); err != nil {
		t.Errorf("MaxJSONBytes %d: Encode wrote what Decode refuses: %v", lim.MaxJSONBytes, err)
	}
}

// numericOutputs gives every task of run n numeric outputs (and their metrics), as a task with many scalar
// results has.
func numericOutputs(run *Run, n int) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range run.Tasks {
		t := &run.Tasks[i]
		t.Outputs = map[string]string{}
		for j := range n {
			v := fmt.Sprint(rng.Float64())
			key := fmt.Sprintf("metric_%02d", j)
			t.Outputs[key] = v
			run.Metrics[fmt.Sprintf("%s.%s", t.Name, key)] = rng.Float64()
		}
	}
}

// Issue 12 item 2: records too large for a ConfigMap degrade instead of failing: the state, timings and
// run-level summary are always written; per-task detail and metrics are cut, and the record says so.
func TestOversizedRecordsDegrade(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func() *Run
	}{
		{"5,000 tasks with 20 numeric outputs each", func() *Run { r := bigRun(5000); numericOutputs(r, 20); return r }},
		{"5,000 tasks with 250-character names", func() *Run {
			r := bigRun(5000)
			// Names as varied as the IDs: the hex of a hash, so that compression is not flattered.
			name := func(kind string, i int) string {
				var b strings.Builder
				for j := 0; b.Len() < 250; j++ {
					sum := sha256.Sum256([]byte(fmt.Sprint(kind, i, j)))
					b.WriteString(hex.EncodeToString(sum[:]))
				}
				return b.String()[:250]
			}
			for i := range r.Tasks {
				r.Tasks[i].Name, r.Tasks[i].DisplayName = name("n", i), name("d", i)
			}
			return r
		}},
		{"20,000 tasks", func() *Run { return bigRun(20000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := tc.run()
			p, err := Encode(run, DefaultLimits())
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if size := configMapSize(t, RunObjectName(run.Name), p); size > ConfigMapLimit {
				t.Fatalf("ConfigMap %d bytes > %d", size, ConfigMapLimit)
			}
			rec, err := Decode(p.Data, p.BinaryData)
			if err != nil {
				t.Fatal(err)
			}
			got := rec.(*Run)
			if got.State != run.State || !got.FinishedAt.Equal(run.FinishedAt) || len(got.History) != len(run.History) {
				t.Errorf("state %s finished %v history %d: the run-level record must be whole", got.State, got.FinishedAt, len(got.History))
			}
			enc := got.Encoding
			t.Logf("%s: %d of %d rows, %d of %d metrics kept (%s, %d bytes)", tc.name, len(got.Tasks), len(run.Tasks),
				len(got.Metrics), len(run.Metrics), enc, enc.Bytes)
			if len(got.Tasks)+enc.DroppedTasks != len(run.Tasks) || len(got.Metrics)+enc.DroppedMetrics != len(run.Metrics) {
				t.Errorf("kept %d+%d dropped rows of %d, %d+%d metrics of %d: the markers must count what is missing",
					len(got.Tasks), enc.DroppedTasks, len(run.Tasks), len(got.Metrics), enc.DroppedMetrics, len(run.Metrics))
			}
			if enc.DroppedTasks == 0 && enc.DroppedMetrics == 0 {
				t.Errorf("nothing dropped (%s): the case is meant to exceed the limit", enc)
			}
			counts := got.TaskCounts()
			if counts[StateSucceeded]+counts[StateFailed] != len(run.Tasks) {
				t.Errorf("task counts %v do not cover all %d tasks", counts, len(run.Tasks))
			}
			if !strings.Contains(got.Progress(), fmt.Sprint(len(run.Tasks))) {
				t.Errorf("progress %q does not count all %d tasks", got.Progress(), len(run.Tasks))
			}
			// Failed tasks are what one looks for: they are kept first.
			failed := 0
			for _, tk := range got.Tasks {
				if tk.State == StateFailed {
					failed++
				}
			}
			if len(got.Tasks) > 0 && failed != min(counts[StateFailed], len(got.Tasks)) {
				t.Errorf("%d failed rows kept of %d", failed, counts[StateFailed])
			}
			again, err := Encode(run, DefaultLimits())
			if err != nil || string(again.BinaryData[BinaryDataKey]) != string(p.BinaryData[BinaryDataKey]) {
				t.Errorf("encoding is not deterministic (%v)", err)
			}
		})
	}
}

// TestRecordLimits measures the limits docs/records.md states, for runs shaped like bigRun (task names of
// about 16 characters, two outputs and two metrics per task, poorly compressible IDs and values): how many
// tasks a record keeps whole, and how many it keeps as rows without outputs before rows are cut. It
// fails if the measured numbers fall below what the docs promise.
func TestRecordLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("measures by bisection: several seconds of gzip")
	}
	const (
		documentedWhole = 8000  // docs/records.md: every row and output
		documentedRows  = 13000 // docs/records.md: every row, outputs dropped
	)
	// largest returns the largest n in [lo, hi] (to within step) for which ok(n) holds, given ok(lo).
	largest := func(lo, hi, step int, ok func(n int) bool) int {
		for hi-lo > step {
			mid := (lo + hi) / 2
			if ok(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo
	}
	encoding := func(n int) Encoding {
		p, err := Encode(bigRun(n), DefaultLimits())
		if err != nil {
			t.Fatalf("%d tasks: %v", n, err)
		}
		return p.Encoding
	}
	whole := largest(documentedWhole, 2*documentedWhole, 500, func(n int) bool { return !encoding(n).Degraded() })
	rows := largest(documentedRows, 2*documentedRows, 500, func(n int) bool { return encoding(n).DroppedTasks == 0 })
	t.Logf("measured: %d tasks whole, %d tasks as rows without outputs (to within 500)", whole, rows)
	if whole < documentedWhole || encoding(documentedWhole).Degraded() {
		t.Errorf("%d tasks no longer fit whole: docs/records.md says %d", documentedWhole, documentedWhole)
	}
	if e := encoding(documentedRows); e.DroppedTasks > 0 {
		t.Errorf("%d tasks no longer keep every row (%s): docs/records.md says %d", documentedRows, e, documentedRows)
	}
}

// BenchmarkEncodeRecord is the cost of one record write's encoding (docs/benchmarks.md): a record that fits
// whole, and records that degrade (the encoder then tries smaller cuts until one fits).
func BenchmarkEncodeRecord(b *testing.B) {
	for _, bc := range []struct {
		name string
		run  func() *Run
	}{
		{"5000-tasks-whole", func() *Run { return bigRun(5000) }},
		{"20000-tasks-degraded", func() *Run { return bigRun(20000) }},
		{"5000x20-numeric-outputs-degraded", func() *Run { r := bigRun(5000); numericOutputs(r, 20); return r }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			run := bc.run()
			b.ReportAllocs()
			var p Payload
			for b.Loop() {
				var err error
				if p, err = Encode(run, DefaultLimits()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(p.Encoding.Bytes), "payload-bytes")
		})
	}
}
