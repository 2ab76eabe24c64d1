package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// dsl.Collected of artifacts. Argo aggregates the output parameters of loop iterations but not their
// artifacts, so a collected artifact takes another road: the producing task (inside the loop) writes its
// artifact to a key under a prefix fixed at compile time, ".../<pod name>"; the consumer downloads the whole
// prefix as a folder, and picks its items, in iteration order, from the producers' metadata documents, which
// Argo does aggregate and which name each producing pod. Key-only artifacts like these need an S3-compatible
// artifact repository, the usual one for Argo.

// artifactChain follows an output artifact of a task through sub-pipeline outputs to the executor task that
// produces it; looped reports whether a loop lies on the way (then the value is a collected list).
func (c *compiler) artifactChain(dagPath string, tasks map[string]*TaskSpec, producer, key string) (execPath, execKey string, looped bool, err error) {
	for depth := 0; depth < 64; depth++ {
		t := tasks[producer]
		if t == nil {
			return "", "", false, fmt.Errorf("no task %q", producer)
		}
		looped = looped || t.ParameterIterator != nil || t.ArtifactIterator != nil
		comp := c.s.Components[t.ComponentRef.Name]
		if comp.DAG == nil {
			return fmt.Sprintf("%s.dag.tasks[%q]", dagPath, producer), key, looped, nil
		}
		if comp.DAG.Outputs == nil || comp.DAG.Outputs.Artifacts[key] == nil {
			return "", "", false, fmt.Errorf("sub-pipeline %q has no output artifact %q", t.ComponentRef.Name, key)
		}
		sels := comp.DAG.Outputs.Artifacts[key].ArtifactSelectors
		if len(sels) != 1 {
			// dsl.OneOf: the branch outputs are plain artifacts unless a loop was crossed.
			return "", key, looped, nil
		}
		dagPath = fmt.Sprintf("components[%q]", t.ComponentRef.Name)
		tasks, producer, key = comp.DAG.Tasks, sels[0].ProducerSubtask, sels[0].OutputArtifactKey
	}
	return "", "", false, fmt.Errorf("sub-pipelines nested too deep")
}

// collectPrefix is the key prefix of one collected output: one per producing task and output, per workflow.
func collectPrefix(execPath, key string) string {
	sum := sha256.Sum256([]byte(execPath))
	return "kfp-argo/{{workflow.uid}}/collected/" + hex.EncodeToString(sum[:])[:16] + "/" + paramName(key)
}

// planCollected finds, before any template is built, the producing tasks whose artifacts are collected, so
// their templates write to the shared prefix.
func (c *compiler) planCollected() error {
	c.collect = map[string]map[string]string{}
	visit := func(path string, dag *DAGSpec) error {
		for _, tn := range sortedMapKeys(dag.Tasks) {
			t := dag.Tasks[tn]
			if t.Inputs == nil {
				continue
			}
			for _, an := range sortedMapKeys(t.Inputs.Artifacts) {
				ref := t.Inputs.Artifacts[an].TaskOutputArtifact
				if ref == nil {
					continue
				}
				execPath, execKey, looped, err := c.artifactChain(path, dag.Tasks, ref.ProducerTask, ref.OutputArtifactKey)
				if err != nil || !looped || execPath == "" {
					continue // reported where the input is compiled
				}
				if c.collect[execPath] == nil {
					c.collect[execPath] = map[string]string{}
				}
				c.collect[execPath][execKey] = collectPrefix(execPath, execKey)
			}
		}
		return nil
	}
	if err := visit("root", c.s.Root.DAG); err != nil {
		return err
	}
	for _, name := range sortedMapKeys(c.s.Components) {
		if comp := c.s.Components[name]; comp.DAG != nil {
			if err := visit(fmt.Sprintf("components[%q]", name), comp.DAG); err != nil {
				return err
			}
		}
	}
	return nil
}

// collectedInput is the input artifact of a consumer that receives a collected list: the whole prefix.
func (c *compiler) collectedInput(sc scope, ref *TaskOutputArtifact, def *ArtifactSpec, ap string) (wfv1.ArtifactLocation, bool, error) {
	execPath, execKey, looped, err := c.artifactChain(sc.path, sc.tasks, ref.ProducerTask, ref.OutputArtifactKey)
	if err != nil {
		return wfv1.ArtifactLocation{}, false, pathErrorf(ap, "%v", err)
	}
	if !looped {
		if def.IsArtifactList {
			return wfv1.ArtifactLocation{}, false, unsupported(ap, "a List[Artifact] input given one artifact")
		}
		return wfv1.ArtifactLocation{}, false, nil
	}
	if !def.IsArtifactList {
		return wfv1.ArtifactLocation{}, false, pathErrorf(ap, "the artifacts of a loop form a list, but the input takes one artifact")
	}
	if execPath == "" {
		return wfv1.ArtifactLocation{}, false, unsupported(ap, "dsl.Collected over dsl.OneOf artifacts")
	}
	return wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: collectPrefix(execPath, execKey)}}, true, nil
}
