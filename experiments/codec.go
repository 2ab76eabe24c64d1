package experiments

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// SchemaVersion is the version of the record payload this package writes and the only one it reads.
// Any change to the payload's fields, additive or not, bumps it: decoding is strict (unknown fields are
// errors) so that an older kfp-argo never rewrites a newer record and silently drops what it did not know.
const SchemaVersion = 1

// Payload keys in a record ConfigMap. Exactly one is present.
const (
	// DataKey holds the record as JSON text in data.
	DataKey = "record.json"
	// BinaryDataKey holds the gzip of the record's JSON in binaryData (base64 on the wire).
	BinaryDataKey = "record.json.gz"
)

// ConfigMapLimit is the API server's limit on a ConfigMap (data, binaryData and metadata together).
const ConfigMapLimit = 1 << 20

// Limits decide when a payload is compacted and compressed.
type Limits struct {
	// PlainBytes is the largest payload kept as plain, readable JSON.
	PlainBytes int
	// MaxBytes is the largest payload stored at all; it leaves room under ConfigMapLimit for metadata
	// and base64 (binaryData grows by 4/3 on the wire).
	MaxBytes int
}

// DefaultLimits keeps records readable with kubectl up to 256 KiB and stores up to 700 KiB of gzip
// (about 933 KiB as base64), leaving the rest of the 1 MiB for labels, annotations and managedFields.
func DefaultLimits() Limits {
	return Limits{PlainBytes: 256 << 10, MaxBytes: 700 << 10}
}

// Encoding says how a record was stored.
type Encoding struct {
	// Compacted: task rows are stored as arrays under named columns instead of objects.
	Compacted bool
	// Compressed: the payload is gzip in binaryData.
	Compressed bool
	// DroppedTaskOutputs counts task rows whose outputs were left out to fit; the run's metrics, which
	// are computed from outputs, are kept.
	DroppedTaskOutputs int
	// Bytes is the size of the stored payload (before base64).
	Bytes int
}

// String is the value of AnnotationRecordEncoding: "json", "json+columns", "json+columns+gzip", with
// "+outputs-dropped" when task outputs had to go.
func (e Encoding) String() string {
	s := "json"
	if e.Compacted {
		s += "+columns"
	}
	if e.Compressed {
		s += "+gzip"
	}
	if e.DroppedTaskOutputs > 0 {
		s += "+outputs-dropped"
	}
	return s
}

// Record is an *Experiment or a *Run.
type Record interface {
	recordKind() string
}

// Payload is what goes into a record ConfigMap.
type Payload struct {
	Data       map[string]string
	BinaryData map[string][]byte
	Encoding   Encoding
}

// envelope is the one JSON document a record ConfigMap holds.
type envelope struct {
	SchemaVersion int         `json:"schemaVersion"`
	Kind          string      `json:"kind"`
	Compaction    *compaction `json:"compaction,omitempty"`
	Experiment    *Experiment `json:"experiment,omitempty"`
	Run           *Run        `json:"run,omitempty"`
	// TaskColumns and TaskRows replace run.tasks when compacted.
	TaskColumns []string            `json:"taskColumns,omitempty"`
	TaskRows    [][]json.RawMessage `json:"taskRows,omitempty"`
}

// compaction is the record saying what was done to make it fit.
type compaction struct {
	TaskRows           string `json:"taskRows,omitempty"`
	Compression        string `json:"compression,omitempty"`
	DroppedTaskOutputs int    `json:"droppedTaskOutputs,omitempty"`
}

// taskColumns is the column order of compacted task rows for SchemaVersion 1. Times are Unix seconds
// (Argo records seconds) and an empty displayName means "same as name". A function, not a variable, so
// that nothing can change the schema at run time.
func taskColumns() []string {
	return []string{"id", "parent", "name", "displayName", "iteration", "type", "state", "cached",
		"exitHook", "startedAt", "finishedAt", "pod", "attempts", "error", "outputs"}
}

// ErrTooLarge is returned when a record does not fit a ConfigMap even compacted, compressed and without
// task outputs.
const ErrTooLarge = sentinel("record too large for a ConfigMap")

// ErrUnsupportedSchema is returned for a payload whose schemaVersion this build does not read.
const ErrUnsupportedSchema = sentinel("unsupported record schemaVersion")

// Encode turns a record into ConfigMap payload, compacting and compressing only as much as needed to stay
// within lim. Encoding the same record twice gives the same bytes, which is how Store tells that nothing
// changed.
func Encode(rec Record, lim Limits) (Payload, error) {
	env := envelope{SchemaVersion: SchemaVersion, Kind: rec.recordKind()}
	var run *Run
	switch r := rec.(type) {
	case *Experiment:
		env.Experiment = r
	case *Run:
		cp := *r
		run = &cp
		env.Run = run
	default:
		return Payload{}, fmt.Errorf("encode record: unsupported type %T", rec)
	}

	plain, err := json.Marshal(env)
	if err != nil {
		return Payload{}, fmt.Errorf("encode %s record: %w", env.Kind, err)
	}
	if len(plain) <= lim.PlainBytes || run == nil {
		if len(plain) > lim.MaxBytes {
			return Payload{}, fmt.Errorf("encode %s record: %d bytes: %w", env.Kind, len(plain), ErrTooLarge)
		}
		return Payload{Data: map[string]string{DataKey: string(plain)}, Encoding: Encoding{Bytes: len(plain)}}, nil
	}

	enc := Encoding{Compacted: true}
	tasks := run.Tasks
	for {
		env.Compaction = &compaction{TaskRows: "columns", DroppedTaskOutputs: enc.DroppedTaskOutputs}
		env.TaskColumns = taskColumns()
		env.TaskRows, err = compactTasks(tasks)
		if err != nil {
			return Payload{}, fmt.Errorf("encode run %q: %w", run.Name, err)
		}
		run.Tasks = nil
		compact, err := json.Marshal(env)
		if err != nil {
			return Payload{}, fmt.Errorf("encode run %q: %w", run.Name, err)
		}
		if len(compact) <= lim.PlainBytes {
			enc.Bytes = len(compact)
			return Payload{Data: map[string]string{DataKey: string(compact)}, Encoding: enc}, nil
		}
		env.Compaction.Compression = "gzip"
		compact, err = json.Marshal(env)
		if err != nil {
			return Payload{}, fmt.Errorf("encode run %q: %w", run.Name, err)
		}
		gz, err := gzipBytes(compact)
		if err != nil {
			return Payload{}, fmt.Errorf("encode run %q: %w", run.Name, err)
		}
		if len(gz) <= lim.MaxBytes {
			enc.Compressed = true
			enc.Bytes = len(gz)
			return Payload{BinaryData: map[string][]byte{BinaryDataKey: gz}, Encoding: enc}, nil
		}
		if enc.DroppedTaskOutputs > 0 {
			return Payload{}, fmt.Errorf("encode run %q: %d tasks, %d bytes compressed without task outputs: %w",
				run.Name, len(tasks), len(gz), ErrTooLarge)
		}
		// Outputs are the bulk that can go: the metrics computed from them stay in the record.
		stripped := make([]Task, len(tasks))
		for i, t := range tasks {
			if len(t.Outputs) > 0 {
				enc.DroppedTaskOutputs++
				t.Outputs = nil
			}
			stripped[i] = t
		}
		if enc.DroppedTaskOutputs == 0 {
			return Payload{}, fmt.Errorf("encode run %q: %d tasks, %d bytes compressed: %w",
				run.Name, len(tasks), len(gz), ErrTooLarge)
		}
		tasks = stripped
	}
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	// No name or mtime in the header, so equal input gives equal bytes.
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

func compactTasks(tasks []Task) ([][]json.RawMessage, error) {
	rows := make([][]json.RawMessage, len(tasks))
	for i, t := range tasks {
		display := t.DisplayName
		if display == t.Name {
			display = ""
		}
		vals := []any{t.ID, t.Parent, t.Name, display, t.Iteration, t.Type, t.State, t.Cached, t.ExitHook,
			unixOrZero(t.Started), unixOrZero(t.Finished), t.Pod, t.Attempts, t.Error, t.Outputs}
		row := make([]json.RawMessage, len(vals))
		for j, v := range vals {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("task %q column %d: %w", t.ID, j, err)
			}
			row[j] = b
		}
		rows[i] = row
	}
	return rows, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func expandTasks(columns []string, rows [][]json.RawMessage) ([]Task, error) {
	if len(columns) == 0 {
		return nil, errors.New("task rows without taskColumns")
	}
	known := map[string]bool{}
	for _, c := range taskColumns() {
		known[c] = true
	}
	seen := map[string]bool{}
	for _, c := range columns {
		if !known[c] {
			return nil, fmt.Errorf("unknown task column %q", c)
		}
		if seen[c] {
			return nil, fmt.Errorf("task column %q twice", c)
		}
		seen[c] = true
	}
	tasks := make([]Task, len(rows))
	for i, row := range rows {
		if len(row) != len(columns) {
			return nil, fmt.Errorf("task row %d has %d values for %d columns", i, len(row), len(columns))
		}
		t := &tasks[i]
		var started, finished int64
		for j, c := range columns {
			var dst any
			switch c {
			case "id":
				dst = &t.ID
			case "parent":
				dst = &t.Parent
			case "name":
				dst = &t.Name
			case "displayName":
				dst = &t.DisplayName
			case "iteration":
				dst = &t.Iteration
			case "type":
				dst = &t.Type
			case "state":
				dst = &t.State
			case "cached":
				dst = &t.Cached
			case "exitHook":
				dst = &t.ExitHook
			case "startedAt":
				dst = &started
			case "finishedAt":
				dst = &finished
			case "pod":
				dst = &t.Pod
			case "attempts":
				dst = &t.Attempts
			case "error":
				dst = &t.Error
			case "outputs":
				dst = &t.Outputs
			}
			if err := json.Unmarshal(row[j], dst); err != nil {
				return nil, fmt.Errorf("task row %d column %s: %w", i, c, err)
			}
		}
		t.Started, t.Finished = timeOrZero(started), timeOrZero(finished)
		if t.DisplayName == "" {
			t.DisplayName = t.Name
		}
	}
	return tasks, nil
}

// Decode reads a record ConfigMap's data and binaryData. It returns an *Experiment or a *Run; a
// schemaVersion other than SchemaVersion is an ErrUnsupportedSchema error that names both versions.
func Decode(data map[string]string, binaryData map[string][]byte) (Record, error) {
	text, hasText := data[DataKey]
	gz, hasGz := binaryData[BinaryDataKey]
	var raw []byte
	var enc Encoding
	switch {
	case hasText && hasGz:
		return nil, fmt.Errorf("decode record: both data[%s] and binaryData[%s] are set", DataKey, BinaryDataKey)
	case hasText:
		raw = []byte(text)
		enc.Bytes = len(raw)
	case hasGz:
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return nil, fmt.Errorf("decode record: binaryData[%s]: %w", BinaryDataKey, err)
		}
		// A record is never more than a few MiB uncompressed; the cap keeps a hostile ConfigMap from
		// exhausting memory.
		raw, err = io.ReadAll(io.LimitReader(zr, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("decode record: binaryData[%s]: %w", BinaryDataKey, err)
		}
		enc.Compressed = true
		enc.Bytes = len(gz)
	default:
		return nil, fmt.Errorf("decode record: no data[%s] or binaryData[%s]", DataKey, BinaryDataKey)
	}

	var probe struct {
		SchemaVersion *int   `json:"schemaVersion"`
		Kind          string `json:"kind"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if probe.SchemaVersion == nil {
		return nil, fmt.Errorf("decode record: no schemaVersion: %w", ErrUnsupportedSchema)
	}
	if *probe.SchemaVersion != SchemaVersion {
		hint := "written by a newer kfp-argo: upgrade kfp-argo to read it"
		if *probe.SchemaVersion < SchemaVersion {
			hint = "written by an older kfp-argo that this one cannot read"
		}
		return nil, fmt.Errorf("decode %s record: schemaVersion %d, this kfp-argo reads %d (%s): %w",
			probe.Kind, *probe.SchemaVersion, SchemaVersion, hint, ErrUnsupportedSchema)
	}

	var env envelope
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("decode %s record: %w", probe.Kind, err)
	}
	switch env.Kind {
	case KindExperiment:
		if env.Experiment == nil || env.Run != nil || env.TaskRows != nil {
			return nil, errors.New("decode experiment record: want exactly an experiment object")
		}
		return env.Experiment, nil
	case KindRun:
		if env.Run == nil || env.Experiment != nil {
			return nil, errors.New("decode run record: want exactly a run object")
		}
		run := env.Run
		if env.Compaction != nil {
			if env.Compaction.TaskRows != "" && env.Compaction.TaskRows != "columns" {
				return nil, fmt.Errorf("decode run record %q: unknown task row compaction %q", run.Name, env.Compaction.TaskRows)
			}
			enc.Compacted = env.Compaction.TaskRows == "columns"
			enc.DroppedTaskOutputs = env.Compaction.DroppedTaskOutputs
		}
		if enc.Compacted {
			if len(run.Tasks) > 0 {
				return nil, fmt.Errorf("decode run record %q: both tasks and taskRows", run.Name)
			}
			tasks, err := expandTasks(env.TaskColumns, env.TaskRows)
			if err != nil {
				return nil, fmt.Errorf("decode run record %q: %w", run.Name, err)
			}
			if len(tasks) > 0 {
				run.Tasks = tasks
			}
		} else if env.TaskRows != nil || env.TaskColumns != nil {
			return nil, fmt.Errorf("decode run record %q: taskRows without compaction", run.Name)
		}
		run.Encoding = enc
		return run, nil
	}
	return nil, fmt.Errorf("decode record: unknown kind %q (want %s or %s)", env.Kind, KindExperiment, KindRun)
}

// sentinel errors are constants, so no caller can reassign them.
type sentinel string

func (s sentinel) Error() string { return string(s) }
