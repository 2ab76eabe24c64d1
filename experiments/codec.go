package experiments

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the newest version of the record payload this package writes; it reads every version
// from 1 up to it. Any change to the payload's fields, additive or not, bumps it: decoding is strict (unknown
// fields are errors) so that an older kfp-argo never rewrites a newer record and silently drops what it did
// not know. Version 2 adds the degraded-record markers (compaction.droppedTasks, droppedMetrics,
// taskCounts, truncatedText); a record that needs none of them is still written as version 1, so that
// older kfp-argo builds keep reading the records they can. Version 3 adds run.pipelineVersion and
// run.recurringRun (runs of uploaded pipelines); a run without them is written as before.
const SchemaVersion = 3

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
	// MaxJSONBytes is the largest record JSON: the decoder expands a gzip payload at most this far, and the
	// encoder never writes a record whose JSON is larger. One limit on both sides, so that a record that
	// compresses very well cannot be written and then never read. Zero means DefaultLimits' value.
	MaxJSONBytes int
}

// DefaultLimits keeps records readable with kubectl up to 256 KiB and stores up to 700 KiB of gzip
// (about 933 KiB as base64), leaving the rest of the 1 MiB for labels, annotations and managedFields; a
// record's JSON is at most 64 MiB.
func DefaultLimits() Limits {
	return Limits{PlainBytes: 256 << 10, MaxBytes: 700 << 10, MaxJSONBytes: 64 << 20}
}

// withDefaults fills a zero MaxJSONBytes from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.MaxJSONBytes <= 0 {
		l.MaxJSONBytes = DefaultLimits().MaxJSONBytes
	}
	return l
}

// Bounds of the run-level text in a record that had to be cut to its summary (Encoding.TruncatedText).
const (
	maxSummaryError       = 4 << 10
	maxSummaryWarnings    = 20
	maxSummaryWarningSize = 1 << 10
)

// Encoding says how a record was stored.
type Encoding struct {
	// Compacted: task rows are stored as arrays under named columns instead of objects.
	Compacted bool
	// Compressed: the payload is gzip in binaryData.
	Compressed bool
	// DroppedTaskOutputs counts task rows whose outputs were left out to fit; the run's metrics, which
	// are computed from outputs, are kept.
	DroppedTaskOutputs int
	// DroppedTasks counts task rows left out to fit (failed and unfinished rows are kept first);
	// TaskCounts then holds every row's state, so the run-level summary stays whole.
	DroppedTasks int
	TaskCounts   map[State]int
	// DroppedMetrics counts metrics left out to fit (the first by name are kept).
	DroppedMetrics int
	// TruncatedText: the run's error and warnings were cut (only when even the summary did not fit).
	TruncatedText bool
	// Bytes is the size of the stored payload (before base64).
	Bytes int
}

// Degraded reports whether the record lost detail to fit: task outputs, task rows, metrics or text.
func (e Encoding) Degraded() bool {
	return e.DroppedTaskOutputs > 0 || e.DroppedTasks > 0 || e.DroppedMetrics > 0 || e.TruncatedText
}

// String is the value of AnnotationRecordEncoding: "json", "json+columns", "json+columns+gzip", with
// "+outputs-dropped", "+tasks-dropped", "+metrics-dropped", "+text-truncated" for what had to go.
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
	if e.DroppedTasks > 0 {
		s += "+tasks-dropped"
	}
	if e.DroppedMetrics > 0 {
		s += "+metrics-dropped"
	}
	if e.TruncatedText {
		s += "+text-truncated"
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
	// Schema version 2.
	DroppedTasks   int           `json:"droppedTasks,omitempty"`
	TaskCounts     map[State]int `json:"taskCounts,omitempty"`
	DroppedMetrics int           `json:"droppedMetrics,omitempty"`
	TruncatedText  bool          `json:"truncatedText,omitempty"`
}

// needsV3 reports whether r uses a field of schema version 3.
func (r *Run) needsV3() bool { return r.PipelineVersion != "" || r.RecurringRun != "" }

// needsV2 reports whether c uses a field of schema version 2.
func (c *compaction) needsV2() bool {
	return c != nil && (c.DroppedTasks > 0 || c.TaskCounts != nil || c.DroppedMetrics > 0 || c.TruncatedText)
}

// taskColumns is the column order of compacted task rows for SchemaVersion 1. Times are Unix seconds
// (Argo records seconds) and an empty displayName means "same as name". A function, not a variable, so
// that nothing can change the schema at run time.
func taskColumns() []string {
	return []string{"id", "parent", "name", "displayName", "iteration", "type", "state", "cached",
		"exitHook", "startedAt", "finishedAt", "pod", "attempts", "error", "outputs"}
}

// ErrTooLarge is returned when a record does not fit a ConfigMap even cut to its run-level summary (an
// experiment, or a run whose parameters and names alone are over the limit).
const ErrTooLarge = sentinel("record too large for a ConfigMap")

// ErrUnsupportedSchema is returned for a payload whose schemaVersion this build does not read.
const ErrUnsupportedSchema = sentinel("unsupported record schemaVersion")

// Encode turns a record into ConfigMap payload, compacting and compressing only as much as needed to stay
// within lim. A run that still does not fit degrades rather than fails (docs/records.md, "Compaction"):
// task outputs go first, then task rows and metrics are cut, with markers that say how many went and a count
// of every row's state; the run's state, times and history always stay. Encoding the same record twice
// gives the same bytes, which is how Store tells that nothing changed.
func Encode(rec Record, lim Limits) (Payload, error) {
	lim = lim.withDefaults()
	env := envelope{SchemaVersion: 1, Kind: rec.recordKind()}
	var run *Run
	switch r := rec.(type) {
	case *Experiment:
		env.Experiment = r
	case *Run:
		cp := *r
		run = &cp
		env.Run = run
		if run.needsV3() {
			env.SchemaVersion = 3
		}
	default:
		return Payload{}, fmt.Errorf("encode record: unsupported type %T", rec)
	}

	plain, err := json.Marshal(env)
	if err != nil {
		return Payload{}, fmt.Errorf("encode %s record: %w", env.Kind, err)
	}
	if len(plain) <= lim.PlainBytes || run == nil {
		if len(plain) > lim.MaxBytes || len(plain) > lim.MaxJSONBytes {
			return Payload{}, fmt.Errorf("encode %s record: %d bytes: %w", env.Kind, len(plain), ErrTooLarge)
		}
		return Payload{Data: map[string]string{DataKey: string(plain)}, Encoding: Encoding{Bytes: len(plain)}}, nil
	}

	e := runEncoder{lim: lim, run: *run}
	// 1-3: every row, as columns, then gzip.
	tasks := run.Tasks
	comp := compaction{}
	rows, err := compactTasks(tasks)
	if err != nil {
		return Payload{}, fmt.Errorf("encode run %q: %w", run.Name, err)
	}
	p, fit, err := e.try(rows, run.Metrics, comp)
	if err != nil || fit {
		return p, err
	}
	// 4: without task outputs (the metrics computed from them stay).
	stripped := make([]Task, len(tasks))
	for i, t := range tasks {
		if len(t.Outputs) > 0 {
			comp.DroppedTaskOutputs++
			t.Outputs = nil
		}
		stripped[i] = t
	}
	if comp.DroppedTaskOutputs > 0 {
		if rows, err = compactTasks(stripped); err != nil {
			return Payload{}, fmt.Errorf("encode run %q: %w", run.Name, err)
		}
		if p, fit, err = e.try(rows, run.Metrics, comp); err != nil || fit {
			return p, err
		}
	}
	// 5: the run-level summary plus as many metrics (at most half the room) and rows as fit.
	comp.TaskCounts = map[State]int{}
	for _, t := range stripped {
		comp.TaskCounts[t.State]++
	}
	metrics, err := e.fitMetrics(run.Metrics, comp)
	if err != nil {
		return Payload{}, err
	}
	comp.DroppedMetrics = len(run.Metrics) - len(metrics)
	if p, ok, err := e.fitTasks(stripped, rows, metrics, comp); err != nil || ok {
		return p, err
	}
	// 6: not even the summary fits: cut the run's own text.
	comp.TruncatedText = true
	e.run.Error = truncateText(e.run.Error, maxSummaryError)
	if len(e.run.Warnings) > maxSummaryWarnings {
		e.run.Warnings = e.run.Warnings[:maxSummaryWarnings]
	}
	warnings := make([]string, len(e.run.Warnings))
	for i, w := range e.run.Warnings {
		warnings[i] = truncateText(w, maxSummaryWarningSize)
	}
	e.run.Warnings = warnings
	if p, ok, err := e.fitTasks(stripped, rows, metrics, comp); err != nil || ok {
		return p, err
	}
	return Payload{}, fmt.Errorf("encode run %q: even its summary without tasks and metrics is over %d bytes: %w",
		run.Name, lim.MaxBytes, ErrTooLarge)
}

// runEncoder tries encodings of one run within limits.
type runEncoder struct {
	lim Limits
	run Run
	// sizes of the last try: the JSON and, when it was compressed, the gzip.
	jsonBytes, gzBytes int
}

// try encodes the run with the given rows, metrics and compaction; fit says whether it is within the
// limits. Rows are always columns here: try is only used once the plain JSON was too large.
func (e *runEncoder) try(rows [][]json.RawMessage, metrics map[string]float64, comp compaction) (Payload, bool, error) {
	run := e.run
	run.Tasks, run.Metrics = nil, metrics
	comp.TaskRows = "columns"
	env := envelope{SchemaVersion: 1, Kind: KindRun, Compaction: &comp, Run: &run, TaskColumns: taskColumns(), TaskRows: rows}
	if comp.needsV2() {
		env.SchemaVersion = 2
	}
	if run.needsV3() {
		env.SchemaVersion = 3
	}
	enc := Encoding{Compacted: true, DroppedTaskOutputs: comp.DroppedTaskOutputs, DroppedTasks: comp.DroppedTasks,
		TaskCounts: comp.TaskCounts, DroppedMetrics: comp.DroppedMetrics, TruncatedText: comp.TruncatedText}
	// Marshalled for gzip first: only a record within a few bytes of PlainBytes needs the plain form too.
	comp.Compression = "gzip"
	compact, err := json.Marshal(env)
	if err != nil {
		return Payload{}, false, fmt.Errorf("encode run %q: %w", run.Name, err)
	}
	e.jsonBytes, e.gzBytes = len(compact), 0
	if len(compact)-len(`,"compression":"gzip"`) <= e.lim.PlainBytes {
		comp.Compression = ""
		plain, err := json.Marshal(env)
		if err != nil {
			return Payload{}, false, fmt.Errorf("encode run %q: %w", run.Name, err)
		}
		if len(plain) <= e.lim.PlainBytes && len(plain) <= e.lim.MaxJSONBytes {
			enc.Bytes = len(plain)
			return Payload{Data: map[string]string{DataKey: string(plain)}, Encoding: enc}, true, nil
		}
		comp.Compression = "gzip"
	}
	if len(compact) > e.lim.MaxJSONBytes {
		// What the decoder would refuse is not written, however well it compresses; the gzip is not even
		// needed to know.
		e.gzBytes = 0
		return Payload{}, false, nil
	}
	// The fastest gzip first: far over the limit, the best compression (several times slower on MBs of
	// JSON, and never a third smaller on these records) need not be tried.
	fast, err := gzipLevel(compact, gzip.BestSpeed)
	if err != nil {
		return Payload{}, false, fmt.Errorf("encode run %q: %w", run.Name, err)
	}
	e.gzBytes = len(fast)
	if len(fast) > e.lim.MaxBytes*3/2 {
		return Payload{}, false, nil
	}
	gz, err := gzipBytes(compact)
	if err != nil {
		return Payload{}, false, fmt.Errorf("encode run %q: %w", run.Name, err)
	}
	e.gzBytes = len(gz)
	if len(gz) > e.lim.MaxBytes {
		return Payload{}, false, nil
	}
	enc.Compressed = true
	enc.Bytes = len(gz)
	return Payload{BinaryData: map[string][]byte{BinaryDataKey: gz}, Encoding: enc}, true, nil
}

// shrink is how far a count must come down for a try of the given sizes to fit limits scaled by part,
// a little under the proportional estimate, since part of the record does not shrink.
func (e *runEncoder) shrink(n int, part float64) int {
	ratio := max(float64(e.jsonBytes)/(part*float64(e.lim.MaxJSONBytes)), float64(e.gzBytes)/(part*float64(e.lim.MaxBytes)))
	if ratio <= 1 {
		return n * 9 / 10
	}
	return min(int(float64(n)/ratio*0.95), n*9/10)
}

// fitMetrics keeps the first metrics by name that fit in half the room, with no task rows.
func (e *runEncoder) fitMetrics(metrics map[string]float64, comp compaction) (map[string]float64, error) {
	names := slices.Sorted(maps.Keys(metrics))
	kept := metrics
	for {
		_, fit, err := e.tryHalf(kept, comp)
		if err != nil || fit || len(kept) == 0 {
			return kept, err
		}
		n := e.shrink(len(kept), 0.5)
		kept = make(map[string]float64, n)
		for _, k := range names[:n] {
			kept[k] = metrics[k]
		}
		comp.DroppedMetrics = len(metrics) - n
	}
}

// tryHalf tries the run without task rows against half the limits.
func (e *runEncoder) tryHalf(metrics map[string]float64, comp compaction) (Payload, bool, error) {
	half := *e
	half.lim.MaxBytes, half.lim.MaxJSONBytes = e.lim.MaxBytes/2, e.lim.MaxJSONBytes/2
	comp.DroppedTasks = 1 // any count: the marker is there in the real record too
	p, fit, err := half.try(nil, metrics, comp)
	e.jsonBytes, e.gzBytes = half.jsonBytes, half.gzBytes
	return p, fit, err
}

// fitTasks keeps as many rows as fit, failed and unfinished rows first, in their order; rows are the tasks
// compacted.
func (e *runEncoder) fitTasks(tasks []Task, rows [][]json.RawMessage, metrics map[string]float64, comp compaction) (Payload, bool, error) {
	order := make([]int, len(tasks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return keepPriority(tasks[order[a]].State) < keepPriority(tasks[order[b]].State)
	})
	n := len(tasks)
	for {
		keep := slices.Clone(order[:n])
		slices.Sort(keep)
		kept := make([][]json.RawMessage, n)
		for i, j := range keep {
			kept[i] = rows[j]
		}
		comp.DroppedTasks = len(tasks) - n
		p, fit, err := e.try(kept, metrics, comp)
		if err != nil || fit {
			return p, fit, err
		}
		if n == 0 {
			return Payload{}, false, nil
		}
		n = e.shrink(n, 1)
	}
}

// keepPriority orders rows for keeping when not all fit: what went wrong, then what is still going on.
func keepPriority(s State) int {
	switch s {
	case StateFailed, StateCanceled, StateWorkflowDeleted:
		return 0
	case StateSucceeded, StateSkipped:
		return 2
	}
	return 1
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	for !utf8.ValidString(cut) && len(cut) > 0 {
		cut = cut[:len(cut)-1]
	}
	return cut + " ... (truncated)"
}

func gzipBytes(b []byte) ([]byte, error) { return gzipLevel(b, gzip.BestCompression) }

func gzipLevel(b []byte, level int) ([]byte, error) {
	var buf bytes.Buffer
	// No name or mtime in the header, so equal input gives equal bytes.
	zw, err := gzip.NewWriterLevel(&buf, level)
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

// Decode reads a record ConfigMap's data and binaryData within DefaultLimits. It returns an *Experiment or a
// *Run; a schemaVersion this build does not read is an ErrUnsupportedSchema error that names both versions.
func Decode(data map[string]string, binaryData map[string][]byte) (Record, error) {
	return DecodeWithLimits(data, binaryData, DefaultLimits())
}

// DecodeWithLimits is Decode of a record written with lim: its JSON may be up to lim.MaxJSONBytes.
func DecodeWithLimits(data map[string]string, binaryData map[string][]byte, lim Limits) (Record, error) {
	lim = lim.withDefaults()
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
		if len(raw) > lim.MaxJSONBytes {
			return nil, fmt.Errorf("decode record: data[%s] is %d bytes, over the %d-byte limit", DataKey, len(raw), lim.MaxJSONBytes)
		}
	case hasGz:
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return nil, fmt.Errorf("decode record: binaryData[%s]: %w", BinaryDataKey, err)
		}
		// The encoder writes no record over lim.MaxJSONBytes; the cap keeps a hostile ConfigMap from
		// exhausting memory.
		raw, err = io.ReadAll(io.LimitReader(zr, int64(lim.MaxJSONBytes)+1))
		if err != nil {
			return nil, fmt.Errorf("decode record: binaryData[%s]: %w", BinaryDataKey, err)
		}
		if len(raw) > lim.MaxJSONBytes {
			return nil, fmt.Errorf("decode record: binaryData[%s] expands to over the %d-byte limit", BinaryDataKey, lim.MaxJSONBytes)
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
	if v := *probe.SchemaVersion; v < 1 || v > SchemaVersion {
		hint := "written by a newer kfp-argo: upgrade kfp-argo to read it"
		if v < 1 {
			hint = "not a version any kfp-argo wrote"
		}
		return nil, fmt.Errorf("decode %s record: schemaVersion %d, this kfp-argo reads 1 to %d (%s): %w",
			probe.Kind, v, SchemaVersion, hint, ErrUnsupportedSchema)
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
		if run.needsV3() && env.SchemaVersion < 3 {
			return nil, fmt.Errorf("decode run record %q: schemaVersion %d with fields of version 3", run.Name, env.SchemaVersion)
		}
		if env.Compaction != nil {
			if env.Compaction.TaskRows != "" && env.Compaction.TaskRows != "columns" {
				return nil, fmt.Errorf("decode run record %q: unknown task row compaction %q", run.Name, env.Compaction.TaskRows)
			}
			if env.Compaction.needsV2() && env.SchemaVersion < 2 {
				return nil, fmt.Errorf("decode run record %q: schemaVersion %d with fields of version 2", run.Name, env.SchemaVersion)
			}
			c := env.Compaction
			enc.Compacted = c.TaskRows == "columns"
			enc.DroppedTaskOutputs, enc.DroppedTasks, enc.TaskCounts = c.DroppedTaskOutputs, c.DroppedTasks, c.TaskCounts
			enc.DroppedMetrics, enc.TruncatedText = c.DroppedMetrics, c.TruncatedText
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
