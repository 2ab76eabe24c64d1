package main

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

func childFailed(b *builder, node string) string {
	return fmt.Sprintf("child '%s' failed", b.wf.NodeID(node))
}

// cases returns each golden input as the sequence of Workflow snapshots the mapping sees, in order.
func cases() map[string][]*builder {
	c := map[string][]*builder{}
	params := map[string]string{"learning_rate": "0.1", "epochs": "3", "dataset": "gs://data/iris.csv"}
	std := map[string]string{"preprocess": "preprocess", "train": "train-model|Train model", "evaluate": "evaluate"}

	// Submitted, not yet picked up by the controller: no status at all.
	c["pending"] = []*builder{newWF("train-pending-q8x2m", "train", std, params)}

	{
		const w = "train-run-4k9zt"
		b := newWF(w, "train", std, params).phase(wfv1.WorkflowRunning, 1, -1, "")
		b.node(w, DAG, "root", R, "", "", 1, -1).
			node(w+".preprocess", Pod, "system-container-impl", S, w, w, 2, 20, out("num_rows", "1200")).
			node(w+".train", Pod, "system-container-impl-2", R, w, w+".preprocess", 21, -1).
			node(w+".evaluate", Pod, "system-container-impl-3", P, w, w+".preprocess", 21, -1, msg("ContainerCreating"))
		c["running-dag"] = []*builder{b}
	}

	succeeded := func(w string) *builder {
		b := newWF(w, "train", std, params).phase(wfv1.WorkflowSucceeded, 1, 95, "")
		b.node(w, DAG, "root", S, "", "", 1, 95).
			node(w+".preprocess", Pod, "system-container-impl", S, w, w, 2, 20, out("num_rows", "1200", "split", "train"), meta("dataset", "", map[string]any{})).
			node(w+".train", Pod, "system-container-impl-2", S, w, w+".preprocess", 21, 21, cacheHit(),
				out("model_version", "3"),
				inertMeta("metrics", "system.Metrics", map[string]any{"accuracy": 0.93, "loss": 0.21, "note": "{{not a tag}}"}),
				meta("model", "system.Model", map[string]any{"framework": "torch", "size_mb": 12.5})).
			node(w+".evaluate", Pod, "system-container-impl-3", S, w, w+".train", 22, 94,
				metrics("val_metrics", map[string]any{"f1": 0.81}),
				metrics("test_metrics", map[string]any{"f1": 0.78, "threshold": "0.5"}),
				meta("roc", "system.ClassificationMetrics", map[string]any{"auc": 0.88,
					"confusionMatrix": map[string]any{"categories": []string{"a", "b"}, "rows": []any{map[string]any{"row": []int{5, 1}}}}}))
		return b
	}
	c["succeeded-metrics"] = []*builder{succeeded("train-ok-7hd2c")}
	c["compressed-nodes"] = []*builder{succeeded("train-big-c0mpz").compress()}
	// Built from a finished Workflow with no earlier record: the history still shows RUNNING.
	c["late-first-look"] = []*builder{succeeded("train-late-l8t3r")}

	{
		const w = "train-fail-p2m9d"
		b := newWF(w, "train", map[string]string{"preprocess": "preprocess", "train": "train-model", "evaluate": "evaluate", "notify": "notify"}, params)
		b.phase(wfv1.WorkflowFailed, 1, 60, childFailed(b, w+".train"))
		b.node(w, DAG, "root", F, "", "", 1, 60, msg(childFailed(b, w+".train"))).
			node(w+".preprocess", Pod, "system-container-impl", S, w, w, 2, 20).
			node(w+".train", Pod, "system-container-impl-2", F, w, w+".preprocess", 21, 58, msg("Error (exit code 1): ValueError: learning rate must be positive")).
			node(w+".evaluate", Skip, "system-container-impl-3", O, w, w+".train", 59, 59, msg("omitted: depends condition not met")).
			node(w+".notify", Skip, "system-container-impl-4", K, w, w+".preprocess", 21, 21, msg("when 'false == true' evaluated false"))
		c["failed"] = []*builder{b}
	}

	{
		b := newWF("train-error-t5b7w", "train", std, params)
		b.phase(wfv1.WorkflowError, 0, 0, "invalid spec: templates.root.tasks.train template reference root.missing not found")
		c["error"] = []*builder{b}
	}

	{
		const w = "train-term-h3n6v"
		run := newWF(w, "train", std, params).phase(wfv1.WorkflowRunning, 1, -1, "")
		run.node(w, DAG, "root", R, "", "", 1, -1).
			node(w+".preprocess", Pod, "system-container-impl", S, w, w, 2, 20).
			node(w+".train", Pod, "system-container-impl-2", R, w, w+".preprocess", 21, -1)
		asked := run.copy()
		asked.wf.Spec.Shutdown = wfv1.ShutdownStrategyTerminate
		done := asked.copy().phase(wfv1.WorkflowFailed, 1, 130, "Stopped with strategy 'Terminate'")
		done.node(w, DAG, "root", F, "", "", 1, 130, msg("Stopped with strategy 'Terminate'"))
		n := done.wf.Status.Nodes[done.wf.NodeID(w+".train")]
		n.Phase, n.FinishedAt, n.Message = F, at(129), "workflow shutdown with strategy:  Terminate"
		done.wf.Status.Nodes[n.ID] = n
		c["terminate"] = []*builder{run, asked, done}
	}

	{
		const w = "train-stop-e9k1x"
		names := map[string]string{"exit-handler-1": "exit-handler-1", "exit-handler-1.onExit": "print-op|Send notification", "train": "train-model"}
		run := newWF(w, "train", names, params).phase(wfv1.WorkflowRunning, 1, -1, "")
		run.node(w, DAG, "root", R, "", "", 1, -1).
			node(w+".exit-handler-1", DAG, "comp-exit-handler-1", R, w, w, 2, -1).
			node(w+".exit-handler-1.train", Pod, "system-container-impl", R, w+".exit-handler-1", w+".exit-handler-1", 3, -1)
		asked := run.copy()
		asked.wf.Spec.Shutdown = wfv1.ShutdownStrategyStop
		done := asked.copy().phase(wfv1.WorkflowFailed, 1, 90, "Stopped with strategy 'Stop'")
		done.node(w, DAG, "root", F, "", "", 1, 90, msg("Stopped with strategy 'Stop'"))
		for _, name := range []string{w + ".exit-handler-1", w + ".exit-handler-1.train"} {
			n := done.wf.Status.Nodes[done.wf.NodeID(name)]
			n.Phase, n.FinishedAt, n.Message = F, at(80), "workflow shutdown with strategy:  Stop"
			done.wf.Status.Nodes[n.ID] = n
		}
		done.node(w+".exit-handler-1.onExit", Pod, "system-container-impl-2", S, w, w+".exit-handler-1", 81, 89, hooked())
		c["stop-exit-handler"] = []*builder{run, asked, done}
	}

	{
		const w = "train-pause-z4f8d"
		names := map[string]string{"a": "ingest", "b": "featurize", "c": "train-model"}
		run := newWF(w, "train", names, params).phase(wfv1.WorkflowRunning, 1, -1, "")
		run.node(w, DAG, "root", R, "", "", 1, -1).
			node(w+".a", Pod, "system-container-impl", S, w, w, 2, 10).
			node(w+".b", Pod, "system-container-impl-2", R, w, w+".a", 11, -1)
		paused := run.copy()
		suspend := true
		paused.wf.Spec.Suspend = &suspend
		paused.node(w+".b", Pod, "system-container-impl-2", S, w, "", 11, 30)
		resumed := paused.copy()
		resumed.wf.Spec.Suspend = nil
		resumed.node(w+".c", Pod, "system-container-impl-3", R, w, w+".b", 400, -1)
		done := resumed.copy().phase(wfv1.WorkflowSucceeded, 1, 460, "")
		done.node(w, DAG, "root", S, "", "", 1, 460)
		done.node(w+".c", Pod, "system-container-impl-3", S, w, "", 400, 459)
		c["suspend"] = []*builder{run, paused, resumed, done}
	}

	{
		const w = "train-retry-m3k8s"
		b := newWF(w, "train", map[string]string{"download": "download-data", "train": "train-model"}, params)
		b.phase(wfv1.WorkflowFailed, 1, 200, childFailed(b, w+".train"))
		b.node(w, DAG, "root", F, "", "", 1, 200, msg(childFailed(b, w+".train"))).
			node(w+".download", Retry, "", S, w, w, 1, 40, out("rows", "5000")).
			node(w+".download(0)", Pod, "system-container-impl", F, w, w+".download", 1, 10, retried(), msg("Error (exit code 1): connection reset by peer")).
			node(w+".download(1)", Pod, "system-container-impl", F, w, w+".download", 12, 20, retried(), msg("Error (exit code 1): connection reset by peer")).
			node(w+".download(2)", Pod, "system-container-impl", S, w, w+".download", 22, 40, retried(), out("rows", "5000")).
			node(w+".train", Retry, "", F, w, w+".download", 41, 199, msg("No more retries left")).
			node(w+".train(0)", Pod, "system-container-impl-2", F, w, w+".train", 41, 100, retried(), msg("OOMKilled (exit code 137)")).
			node(w+".train(1)", Pod, "system-container-impl-2", F, w, w+".train", 102, 199, retried(), msg("OOMKilled (exit code 137)"))
		c["retry"] = []*builder{b}
	}

	{
		const w = "sweep-loop-v6c1n"
		b := newWF(w, "sweep", map[string]string{"for-loop-2": "for-loop-2", "train": "train-model", "square": "square"}, params)
		b.phase(wfv1.WorkflowSucceeded, 1, 300, "")
		fl := w + ".for-loop-2"
		b.node(w, DAG, "root", S, "", "", 1, 300).
			node(fl, Group, "comp-for-loop-2", S, w, w, 1, 290)
		for i, lr := range []string{"0.01", "0.1", "1.0"} {
			it := fmt.Sprintf("%s(%d:%s)", fl, i, lr)
			b.node(it, DAG, "comp-for-loop-2", S, w, fl, 1, 250+i)
			acc := map[string]any{"accuracy": []float64{0.71, 0.88, 0.52}[i]}
			if i < 2 {
				b.node(it+".train", Pod, "system-container-impl", S, it, it, 2+i, 200+i, metrics("metrics", acc))
				continue
			}
			b.node(it+".train", Retry, "", S, it, it, 2, 252, metrics("metrics", acc)).
				node(it+".train(0)", Pod, "system-container-impl", F, it, it+".train", 2, 100, retried(), msg("Error (exit code 1)")).
				node(it+".train(1)", Pod, "system-container-impl", S, it, it+".train", 101, 252, retried(), metrics("metrics", acc))
		}
		b.node(w+".square", Group, "system-container-impl-2", S, w, w, 1, 30)
		for i, v := range []string{"1", "2", "3"} {
			sq := map[string]string{"1": "1", "2": "4", "3": "9"}[v]
			b.node(fmt.Sprintf("%s.square(%d:%s)", w, i, v), Pod, "system-container-impl-2", S, w, w+".square", 2, 20+i, out("Output", sq))
		}
		c["loop"] = []*builder{b}
	}

	{
		const w = "train-exit-r7w2q"
		names := map[string]string{"onExit": "exit-handler|Exit handler", "notify": "notify-slack|Notify", "train": "train-model", "train.onExit": "cleanup"}
		b := newWF(w, "train", names, params)
		b.wf.Spec.OnExit = "exit-handler"
		b.phase(wfv1.WorkflowFailed, 1, 120, childFailed(b, w+".train"))
		b.node(w, DAG, "root", F, "", "", 1, 100, msg(childFailed(b, w+".train"))).
			node(w+".train", Pod, "system-container-impl", F, w, w, 2, 90, msg("Error (exit code 2)")).
			node(w+".train.onExit", Pod, "cleanup", S, w, w+".train", 91, 99, hooked()).
			node(w+".onExit", DAG, "exit-handler", S, "", "", 101, 119, hooked()).
			node(w+".onExit.notify", Pod, "system-container-impl-2", S, w+".onExit", w+".onExit", 102, 118, out("sent", "true"))
		c["exit-hooks"] = []*builder{b}
	}

	{
		const w = "pipeline-nested-b4j6h"
		names := map[string]string{"outer": "outer-dag|Outer", "inner": "inner-dag|Inner", "fetch": "fetch", "prep": "prep", "train": "train-model"}
		b := newWF(w, "nested", names, params).phase(wfv1.WorkflowRunning, 1, -1, "")
		b.node(w, DAG, "root", R, "", "", 1, -1).
			node(w+".fetch", Pod, "system-container-impl", S, w, w, 2, 10, out("rows", "77")).
			node(w+".outer", DAG, "comp-outer-dag", R, w, w+".fetch", 11, -1).
			node(w+".outer.prep", Pod, "system-container-impl-2", S, w+".outer", w+".outer", 12, 20).
			node(w+".outer.inner", DAG, "comp-inner-dag", R, w+".outer", w+".outer.prep", 21, -1).
			node(w+".outer.inner.train", Pod, "system-container-impl-3", R, w+".outer.inner", w+".outer.inner", 22, -1)
		c["nested-dag"] = []*builder{b}
	}

	{
		const w = "train-offl-s2d5g"
		run := newWF(w, "train", std, params).phase(wfv1.WorkflowRunning, 1, -1, "")
		run.node(w, DAG, "root", R, "", "", 1, -1).
			node(w+".preprocess", Pod, "system-container-impl", S, w, w, 2, 20).
			node(w+".train", Pod, "system-container-impl-2", R, w, w+".preprocess", 21, -1)
		off := run.copy().offload()
		done := off.copy().phase(wfv1.WorkflowSucceeded, 1, 300, "")
		c["offloaded"] = []*builder{run, off, done}
		c["offloaded-first-look"] = []*builder{run.copy().offload()}
	}

	// finalThenRetried is a run that failed, then ran again and succeeded; retryCount is the
	// kfp-argo.io/retry-count annotation of the later snapshots ("" for none).
	finalThenRetried := func(w, retryCount string) []*builder {
		failed := newWF(w, "train", std, params)
		failed.phase(wfv1.WorkflowFailed, 1, 60, childFailed(failed, w+".train"))
		failed.node(w, DAG, "root", F, "", "", 1, 60, msg(childFailed(failed, w+".train"))).
			node(w+".preprocess", Pod, "system-container-impl", S, w, w, 2, 20).
			node(w+".train", Pod, "system-container-impl-2", F, w, w+".preprocess", 21, 58, msg("Error (exit code 1)"))
		again := failed.copy().phase(wfv1.WorkflowRunning, 1, -1, "")
		if retryCount != "" {
			again.wf.Annotations["kfp-argo.io/retry-count"] = retryCount
		}
		again.node(w, DAG, "root", R, "", "", 1, -1)
		again.node(w+".train", Pod, "system-container-impl-2", R, w, "", 500, -1)
		ok := again.copy().phase(wfv1.WorkflowSucceeded, 1, 600, "")
		ok.node(w, DAG, "root", S, "", "", 1, 600)
		ok.node(w+".train", Pod, "system-container-impl-2", S, w, "", 500, 599)
		return []*builder{failed, again, ok}
	}
	// Retried outside kfp-argo (no retry-count annotation): a RUNNING and then a SUCCEEDED status must
	// not undo the recorded FAILED.
	c["terminal-never-back"] = finalThenRetried("train-final-n5q2w", "")
	// The same through `kfp-argo run retry`, which sets the retry count: the run reopens.
	c["retry-reopen"] = finalThenRetried("train-rtry-k1j7c", "1")

	{
		const w = "hello-steps-x2x9k"
		b := plainWF(w).phase(wfv1.WorkflowSucceeded, 1, 40, "")
		b.wf.Spec.Entrypoint = "main"
		b.wf.Spec.Arguments.Parameters = []wfv1.Parameter{{Name: "greeting", Value: wfv1.AnyStringPtr("hi")}}
		b.node(w, Steps, "main", S, "", "", 1, 40).
			node(w+"[0]", SG, "", S, w, w, 1, 10).
			node(w+"[0].hello", Pod, "say", S, w, w+"[0]", 1, 10, out("Output", "hi")).
			node(w+"[1]", SG, "", S, w, w+"[0].hello", 11, 40).
			node(w+"[1].fan(0:a)", Pod, "say", S, w, w+"[1]", 11, 30, displayName("say a")).
			node(w+"[1].fan(1:b)", Pod, "say", S, w, w+"[1]", 11, 39)
		c["steps-plain-argo"] = []*builder{b}
	}

	{
		const w = "train-bad-y3u6e"
		b := newWF(w, "train", std, params).phase(wfv1.WorkflowRunning, 1, -1, "")
		b.wf.Annotations["kfp-argo.io/task-names"] = "{not json"
		b.wf.Annotations["kfp-argo.io/retry-count"] = "x"
		b.node(w, DAG, "root", R, "", "", 1, -1).
			node(w+".train", Pod, "system-container-impl", S, w, w, 2, 20,
				rawMeta("metrics", `{"metadata":{"accuracy":NaN},"schemaTitle":"system.Metrics"}`), out("loss", "Infinity", "epochs_done", "3"))
		c["bad-annotations"] = []*builder{b}
	}
	return c
}
