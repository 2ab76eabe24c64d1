package translate

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestNumbersThatWouldWrap: IR numbers and flags that Argo or Kubernetes keep as int32 are range-checked at
// compile time with their IR path or flag, instead of wrapping to negative values.
func TestNumbersThatWouldWrap(t *testing.T) {
	platform := "\n---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n        exec-a:\n          nodeAffinity:\n          - {weight: %s, matchExpressions: [{key: zone, operator: In, values: [a]}]}\n"
	for _, tc := range []struct {
		name, old, new string
		opts           Options
		want           string
	}{
		{name: "retry limit", old: "taskInfo: {name: train}", new: "taskInfo: {name: train}\n        retryPolicy: {maxRetryCount: 2147483648}",
			want: `root.dag.tasks["train"].retryPolicy: maxRetryCount 2.147483648e+09: expected 0 to 2147483647`},
		{name: "backoff factor", old: "taskInfo: {name: train}", new: "taskInfo: {name: train}\n        retryPolicy: {maxRetryCount: 2, backoffFactor: 1e20}",
			want: `root.dag.tasks["train"].retryPolicy: backoffFactor 1e+20: expected 1 to 2147483647`},
		{name: "ttl", opts: Options{TTL: 1000000 * time.Hour}, want: "--ttl in seconds 3.6e+09: expected 1 to 2147483647"},
		{name: "node affinity weight", old: "sdkVersion: kfp-2.14.3\n", new: "sdkVersion: kfp-2.14.3\n" + strings.Replace(platform, "%s", "101", 1),
			want: `nodeAffinity[0].weight: weight 101: expected 1 to 100`},
		{name: "node affinity weight overflow", old: "sdkVersion: kfp-2.14.3\n", new: "sdkVersion: kfp-2.14.3\n" + strings.Replace(platform, "%s", "4294967297", 1),
			want: `nodeAffinity[0].weight: weight 4.294967297e+09: expected 1 to 100`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load("wrap.yaml", []byte(strings.Replace(minimal, tc.old, tc.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile(p, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRecursiveDAGComponent: a DAG component that uses itself would recurse forever at run time; it is an
// error naming the component, whatever the template cache holds.
func TestRecursiveDAGComponent(t *testing.T) {
	spec := strings.Replace(minimal, "deploymentSpec:", `  comp-sub:
    dag:
      tasks:
        again:
          componentRef: {name: comp-sub}
          taskInfo: {name: again}
deploymentSpec:`, 1)
	spec = strings.Replace(spec, "      eval:\n", "      sub:\n        componentRef: {name: comp-sub}\n        taskInfo: {name: sub}\n      eval:\n", 1)
	p, err := Load("recursive.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(p, Options{})
	if err == nil || !strings.Contains(err.Error(), `components["comp-sub"]: the component uses itself`) {
		t.Errorf("error %v", err)
	}
}

// TestPipelineFileSizeCap: plain files have the same 64 MiB cap as archive members, checked before the whole
// file is read.
func TestPipelineFileSizeCap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // sparse: 1 GiB on paper, nothing on disk
		t.Fatal(err)
	}
	f.Close()
	if _, err := LoadFile(big); err == nil || err.Error() != big+": pipeline file is larger than 64 MiB" {
		t.Errorf("LoadFile: %v", err)
	}
	if _, err := Load("mem.yaml", make([]byte, maxPipelineBytes+1)); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("Load: %v", err)
	}
}

// wide builds a pipeline of n tasks of one component, with display names of the given length (0: the task's
// own name, as the SDK names tasks; negative: at least that many characters that do not compress).
func wide(n, displayLen int, description string) string {
	var b strings.Builder
	b.WriteString("components:\n  comp-a:\n    executorLabel: exec-a\ndeploymentSpec:\n  executors:\n    exec-a:\n      container: {image: alpine, command: [\"true\"]}\n")
	b.WriteString("pipelineInfo: {name: wide, description: " + strconv.Quote(description) + "}\nroot:\n  dag:\n    tasks:\n")
	for i := 0; i < n; i++ {
		display := fmt.Sprintf("t%d", i)
		if displayLen < 0 {
			// Display names that do not compress: a run of pseudo-random letters.
			sum := sha256.Sum256([]byte(display))
			display = fmt.Sprintf("task %d %s", i, base64.RawURLEncoding.EncodeToString(sum[:]))
			for len(display) < -displayLen {
				sum = sha256.Sum256(sum[:])
				display += base64.RawURLEncoding.EncodeToString(sum[:])
			}
		}
		if displayLen > 0 {
			display = fmt.Sprintf("task %d ", i)
			display += strings.Repeat("x", max(0, displayLen-len(display)))
		}
		fmt.Fprintf(&b, "      t%d:\n        componentRef: {name: comp-a}\n        taskInfo: {name: %q}\n", i, display)
	}
	b.WriteString("schemaVersion: 2.1.0\nsdkVersion: kfp-2.14.3\n")
	return b.String()
}

// TestObjectLimits: what the API server or Argo's controller would refuse is refused at compile time, with the
// limit named; what only needs an annotation bounded is bounded.
func TestObjectLimits(t *testing.T) {
	for _, tc := range []struct {
		name          string
		tasks, length int
		want          string
	}{
		{"annotations", 3000, -100, "annotations take"},
		{"workflow size", 25000, 0, "over the 1048576 that Argo's controller accepts by default (MAX_WORKFLOW_SIZE)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load("wide.yaml", []byte(wide(tc.tasks, tc.length, "d")))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Compile(p, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// Tasks named as the SDK names them need no task-name entries: 3,000 fit.
	p, err := Load("wide.yaml", []byte(wide(3000, 0, strings.Repeat("ü", 50_000))))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	desc := wf.Annotations[AnnotationDescription]
	if len(desc) > 4096 || !strings.HasSuffix(desc, "[truncated by kfp-argo]") || !utf8.ValidString(desc) {
		t.Errorf("description annotation: %d bytes, valid UTF-8 %v, ends %q", len(desc), utf8.ValidString(desc), desc[len(desc)-30:])
	}
	if n := len(wf.Annotations[AnnotationTaskNames]); n > 10 {
		t.Errorf("task-names annotation of identically named tasks is %d bytes", n)
	}
}

// TestTaskNamesCompressed: display names that differ from task names take an entry each; a large map is stored
// compressed, and decodes to the same entries.
func TestTaskNamesCompressed(t *testing.T) {
	p, err := Load("wide.yaml", []byte(wide(2000, 150, "d")))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := Compile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw := wf.Annotations[AnnotationTaskNames]
	if !strings.HasPrefix(raw, compressedTaskNamesPrefix) || len(raw) > 64<<10 {
		t.Fatalf("task-names annotation: %d bytes, starts %.40q", len(raw), raw)
	}
	names, err := DecodeTaskNames(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2000 || names["t1999"].DisplayName != fmt.Sprintf("task 1999 %s", strings.Repeat("x", 150-len("task 1999 "))) {
		t.Errorf("%d entries, t1999 = %+v", len(names), names["t1999"])
	}
	small, err := DecodeTaskNames(`{"a":{"task":"b","displayName":"c"}}`)
	if err != nil || small["a"].Task != "b" {
		t.Errorf("plain JSON: %v, %v", small, err)
	}
}
