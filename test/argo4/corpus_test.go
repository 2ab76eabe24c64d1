package argo4

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	wfv3 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kfp-argo/kfp-argo/translate"
)

// corpusDir is KFP's public test data, shared beside the repository (not copied into it).
const corpusDir = "../../../shared/kfp-ir/valid"

func corpusFiles(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not found at %s (it lives in ../shared/kfp-ir beside the repository): %v", corpusDir, err)
	}
	var files []string
	err := filepath.WalkDir(corpusDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// compileOptions supplies what a user must: a location for each required input artifact and, when values
// is set, a value for each required parameter (a CronWorkflow cannot ask for them at submit time).
func compileOptions(p *translate.Pipeline, values bool) translate.Options {
	opts := translate.Options{InputArtifacts: map[string]string{}, Parameters: map[string]any{}}
	if in := p.Spec.Root.InputDefinitions; in != nil {
		for name, def := range in.Artifacts {
			if !def.IsOptional && !def.IsArtifactList {
				opts.InputArtifacts[name] = "gs://kfp-argo-corpus/inputs/" + name
			}
		}
		for name, def := range in.Parameters {
			if values && def.DefaultValue == nil && !def.IsOptional {
				opts.Parameters[name] = translate.StandInValue(def.ParameterType, "sample")
			}
		}
	}
	return opts
}

// TestCorpusArgo4Validator compiles every corpus pipeline as each kind (Workflow, WorkflowTemplate,
// CronWorkflow), prints it for Argo 4, decodes the bytes strictly into Argo 4's types and runs Argo 4's
// validator, and checks the bytes with the apiserver's schema and CEL validation for Argo 4's full CRDs.
// Every pipeline that compiles must pass, as every kind.
func TestCorpusArgo4Validator(t *testing.T) {
	ctx := context.Background()
	files := corpusFiles(t)
	rules := argo4Rules(t)
	var passed, notCompiled int
	for _, f := range files {
		rel, _ := filepath.Rel(corpusDir, f)
		p, err := translate.LoadFile(f)
		if err != nil {
			t.Errorf("%s: load: %v", rel, err)
			continue
		}
		wf, err := translate.Compile(p, compileOptions(p, false))
		if err != nil {
			// translate's own corpus test says which pipelines must compile; this one checks what does.
			notCompiled++
			t.Logf("%-70s does not compile: %v", rel, err)
			continue
		}
		if err := checkPipeline(ctx, rules, p, wf); err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		passed++
	}
	t.Logf("%d/%d corpus pipelines pass Argo v4.0.7's validator and its CRDs' schema and CEL rules as Workflow, WorkflowTemplate and CronWorkflow (%d do not compile)", passed, len(files), notCompiled)
	if passed == 0 {
		t.Error("no corpus pipeline was validated")
	}
}

// checkPipeline validates one compiled pipeline as all three kinds with Argo 4's validator and its CRDs' rules.
func checkPipeline(ctx context.Context, rules *CRDRules, p *translate.Pipeline, wf *wfv3.Workflow) error {
	wt, err := translate.ToWorkflowTemplate(wf)
	if err != nil {
		return err
	}
	// A CronWorkflow carries a value for every required parameter.
	withValues, err := translate.Compile(p, compileOptions(p, true))
	if err != nil {
		return fmt.Errorf("compile with sample values: %w", err)
	}
	cron, err := translate.ToCronWorkflow(withValues, translate.CronOptions{Schedules: []string{"0 3 * * *"}})
	if err != nil {
		return err
	}
	for _, obj := range []any{wf, wt, cron} {
		manifest, err := Manifest(obj)
		if err != nil {
			return err
		}
		errs, err := rules.Check(ctx, manifest)
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			return fmt.Errorf("%T rejected by Argo 4's CRD schema and CEL rules:\n%s", obj, strings.Join(errs, "\n"))
		}
	}
	wf4, err := Workflow(wf)
	if err != nil {
		return err
	}
	if err := ValidateWorkflow(ctx, wf4); err != nil {
		return fmt.Errorf("Workflow rejected by Argo 4's validator: %w", err)
	}
	wt4, err := WorkflowTemplate(wt)
	if err != nil {
		return err
	}
	if err := ValidateWorkflowTemplate(ctx, wt4); err != nil {
		return fmt.Errorf("WorkflowTemplate rejected by Argo 4's validator: %w", err)
	}
	cw4, err := CronWorkflow(cron)
	if err != nil {
		return err
	}
	if err := ValidateCronWorkflow(ctx, cw4); err != nil {
		return fmt.Errorf("CronWorkflow rejected by Argo 4's validator: %w", err)
	}
	return nil
}
