package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/experiments"
)

// BenchmarkRunsPage1000 renders the runs page of an experiment with 1,000 finished runs (5 parameters, 3
// metrics each) from a fake clientset: the server's own cost, without the API server's.
func BenchmarkRunsPage1000(b *testing.B) {
	var runs []fakeRun
	for i := range 1000 {
		runs = append(runs, fakeRun{name: fmt.Sprintf("run-%04d", i), exp: "big", phase: wfv1.WorkflowSucceeded, created: t0.Add(time.Duration(i) * time.Second),
			params: map[string]string{"lr": fmt.Sprint(0.001 * float64(i)), "epochs": "10", "batch": "64", "model": "resnet", "seed": fmt.Sprint(i)},
			tasks:  []fakeTask{{name: "train", phase: wfv1.NodeSucceeded, outputs: map[string]string{"loss": fmt.Sprint(1 / float64(i+1)), "acc": "0.9", "f1": "0.8"}}}})
	}
	c := newCluster(b, []experiments.Experiment{{Name: "big"}}, runs)
	h := c.server(b).Handler()
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ns/"+testNS+"/experiments/big", nil))
		if rec.Code != 200 || strings.Count(rec.Body.String(), `<tr data-state="SUCCEEDED">`) != 1000 {
			b.Fatalf("%d %.300s", rec.Code, rec.Body.String())
		}
		size = rec.Body.Len()
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(size)/1e6, "MB/page")
	b.ReportMetric(float64(ms.HeapSys)/1e6, "heap-sys-MB")
}
