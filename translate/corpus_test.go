package translate

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
)

// corpusDir is KFP's public test data, shared beside the repository (not copied into it).
const corpusDir = "../../shared/kfp-ir"

func corpusFiles(t *testing.T, sub string) []string {
	t.Helper()
	dir := filepath.Join(corpusDir, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (it lives in ../shared/kfp-ir beside the repository): %v", dir, err)
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
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

// laterFeatures lists the features of a pipeline that are still outside what kfp-argo compiles: lists of
// artifacts (dsl.Collected of artifacts, List[Artifact] inputs and outputs, loops over artifacts). Everything
// else in the corpus, the kfp-kubernetes platform spec and workspaces included, must compile and validate.
func laterFeatures(p *Pipeline) []string {
	set := map[string]bool{}
	var walkComp func(c *ComponentSpec)
	walkComp = func(c *ComponentSpec) {
		if c == nil || c.DAG == nil {
			return
		}
		for _, t := range c.DAG.Tasks {
			if t.ArtifactIterator != nil {
				set["Collected"] = true
			}
		}
	}
	walkComp(p.Spec.Root)
	for _, c := range p.Spec.Components {
		walkComp(c)
		for _, defs := range []*InputsSpec{c.InputDefinitions} {
			if defs != nil {
				for _, a := range defs.Artifacts {
					if a.IsArtifactList {
						set["Collected"] = true
					}
				}
			}
		}
		if c.OutputDefinitions != nil {
			for _, a := range c.OutputDefinitions.Artifacts {
				if a.IsArtifactList {
					set["Collected"] = true
				}
			}
		}
	}
	return sortedMapKeys(set)
}

// cannotRun lists corpus files that use an IR feature kfp-argo can never map onto Argo, with the reason; they
// must fail with ErrUnsupported and this reason in the message.
var cannotRun = map[string]string{
	"valid/critical/modelcar.yaml": "OCI model-car artifacts",
}

// corpusOptions supplies what a user must: a location for every required pipeline input artifact.
func corpusOptions(p *Pipeline) Options {
	opts := Options{InputArtifacts: map[string]string{}}
	if in := p.Spec.Root.InputDefinitions; in != nil {
		for name, def := range in.Artifacts {
			if !def.IsOptional {
				opts.InputArtifacts[name] = "gs://kfp-argo-corpus/inputs/" + name
			}
		}
	}
	return opts
}

// TestCorpus compiles every file of the corpus: in-scope files must compile and pass Argo's validator; files
// using features of later issues may only fail with ErrUnsupported.
func TestCorpus(t *testing.T) {
	files := corpusFiles(t, "valid")
	var compiled, unsupportedN int
	for _, f := range files {
		rel, _ := filepath.Rel(corpusDir, f)
		p, err := LoadFile(f)
		if err != nil {
			t.Errorf("%s: load: %v", rel, err)
			continue
		}
		later := laterFeatures(p)
		wf, err := Compile(p, corpusOptions(p))
		if err == nil {
			err = argo.ValidateWorkflow(wf)
			if err == nil {
				// The other output kinds of the same pipeline must pass Argo's validator for their kind too.
				wt, _ := ToWorkflowTemplate(wf)
				err = argo.ValidateWorkflowTemplate(wt)
			}
			if err == nil {
				cron, cerr := ToCronWorkflow(wf, CronOptions{Schedules: []string{"0 3 * * *"}})
				switch {
				case cerr == nil:
					err = argo.ValidateCronWorkflow(cron)
				case !strings.Contains(cerr.Error(), "needs a value for every pipeline input"):
					err = cerr
				}
			}
			if err != nil {
				t.Errorf("%s: compiled but invalid: %v", rel, err)
				continue
			}
			compiled++
			t.Logf("%-75s compiled+valid", rel)
			continue
		}
		if reason, ok := cannotRun[rel]; ok && errors.Is(err, ErrUnsupported) && strings.Contains(err.Error(), reason) {
			unsupportedN++
			t.Logf("%-75s cannot run on Argo: %v", rel, err)
			continue
		}
		if len(later) > 0 && errors.Is(err, ErrUnsupported) {
			unsupportedN++
			t.Logf("%-75s not yet (%s): %v", rel, strings.Join(later, ", "), err)
			continue
		}
		t.Errorf("%s: %v (later features: %v)", rel, err, later)
	}
	t.Logf("corpus: %d files, %d compiled and valid, %d use features of later issues", len(files), compiled, unsupportedN)
}

// TestCorpusInvalid: every broken or non-pipeline file gets an error that names the file.
func TestCorpusInvalid(t *testing.T) {
	for _, f := range corpusFiles(t, "invalid") {
		_, err := LoadFile(f)
		if err == nil {
			t.Errorf("%s: loaded without error", f)
			continue
		}
		if !strings.HasPrefix(err.Error(), f) {
			t.Errorf("%s: error does not name the file: %v", f, err)
		}
		t.Logf("%s: %v", filepath.Base(f), err)
	}
}
